package request

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// CodeUnknownField is the rule of a body field that the daemon types
// Portcullis was built with do not have, carrying a non-zero value. A
// daemon of another version may apply it (older daemons still apply some
// removed fields; newer ones add fields), and nobody judged it.
const CodeUnknownField = "request.unknown_field"

// unknownFields lists the body keys encoding/json would drop when decoding
// body into a value of type t, with a non-zero value, as paths
// ("HostConfig.Capabilities"). A key is known when encoding/json would
// match it to a field: exactly, or else by its case-folding rule
// (foldName), so "hostconfig" is HostConfig and "ſ" (long s) folds to
// "S", as the daemon's decoder sees them. Values of types with their own
// decoding (json.Unmarshaler, encoding.TextUnmarshaler), of interface
// type and json.RawMessage are not looked into. body has been decoded
// successfully already; an error here is a body that cannot be walked.
//
// The walk reads the body with its own scanner instead of json.Decoder's
// tokens (which allocate for every token and cost four times the decode
// itself): the body is valid JSON, since encoding/json decoded it, and the
// walk only has to find where each value begins and ends. Keys are read
// as encoding/json reads them (escapes and invalid UTF-8 by encoding/json
// itself). A body that is not valid JSON after all fails the walk.
func unknownFields(body []byte, t reflect.Type) ([]string, error) {
	w := walker{b: body}
	if err := w.value(walkTypeOf(t), ""); err != nil {
		return nil, err
	}
	w.ws()
	if w.i != len(w.b) {
		return nil, errors.New("unexpected content after JSON")
	}
	return w.found, nil
}

type walker struct {
	b     []byte
	i     int
	found []string
	depth int
}

// maxUnknownDepth bounds the walk; encoding/json itself stops at 10000.
const maxUnknownDepth = 10000

var errBodyEnd = errors.New("unexpected end of JSON")

// ws skips white space.
func (w *walker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space.
func (w *walker) peek() (byte, error) {
	w.ws()
	if w.i >= len(w.b) {
		return 0, errBodyEnd
	}
	return w.b[w.i], nil
}

// expect consumes c after white space.
func (w *walker) expect(c byte) error {
	got, err := w.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("unexpected %q in JSON, want %q", got, c)
	}
	w.i++
	return nil
}

// str moves past the string that starts at w.i (its opening quote).
func (w *walker) str() error {
	w.i++
	for w.i < len(w.b) {
		j := bytes.IndexAny(w.b[w.i:], "\"\\")
		if j < 0 {
			break
		}
		w.i += j
		if w.b[w.i] == '"' {
			w.i++
			return nil
		}
		w.i += 2 // an escape: the next byte is never the end
	}
	w.i = len(w.b)
	return errBodyEnd
}

// skip moves past one value and returns its bytes.
func (w *walker) skip() ([]byte, error) {
	c, err := w.peek()
	if err != nil {
		return nil, err
	}
	start := w.i
	switch c {
	case '"':
		if err := w.str(); err != nil {
			return nil, err
		}
	case '{', '[':
		depth := 0
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case '"':
				if err := w.str(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				return w.b[start:w.i], nil
			}
		}
		return nil, errBodyEnd
	case ',', ':', '}', ']':
		return nil, fmt.Errorf("unexpected %q in JSON", c)
	default: // a number or a literal
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return w.b[start:w.i], nil
			}
			w.i++
		}
	}
	return w.b[start:w.i], nil
}

// key reads an object key as encoding/json does. The bytes are the
// body's own when the key needs no decoding (no escape, valid UTF-8).
func (w *walker) key() ([]byte, error) {
	c, err := w.peek()
	if err != nil {
		return nil, err
	}
	if c != '"' {
		return nil, fmt.Errorf("unexpected %q in JSON, want a key", c)
	}
	start := w.i
	if err := w.str(); err != nil {
		return nil, err
	}
	raw := w.b[start:w.i]
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, err
	}
	return []byte(k), nil
}

// walkType is what the walk needs to know of a type, computed once.
type walkType struct {
	t      reflect.Type // pointers followed
	walk   bool         // not opaque, and can hold a struct
	fields *jsonFields  // t is a struct
	// elem caches walkTypeOf(t.Elem()) of a map, slice or array.
	elem atomic.Pointer[walkType]
}

func (wt *walkType) elemWalk() *walkType {
	if e := wt.elem.Load(); e != nil {
		return e
	}
	e := walkTypeOf(wt.t.Elem())
	wt.elem.Store(e)
	return e
}

var walkTypes sync.Map // reflect.Type -> *walkType

func walkTypeOf(t reflect.Type) *walkType {
	if v, ok := walkTypes.Load(t); ok {
		return v.(*walkType)
	}
	for t.Kind() == reflect.Pointer && !opaque(t) {
		t = t.Elem()
	}
	wt := &walkType{t: t, walk: !opaque(t) && hasFields(t)}
	if wt.walk && t.Kind() == reflect.Struct {
		wt.fields = fieldsOf(t)
	}
	v, _ := walkTypes.LoadOrStore(t, wt)
	return v.(*walkType)
}

var (
	unmarshalerT     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageT      = reflect.TypeFor[json.RawMessage]()
)

// opaque reports whether encoding/json hands values of t to something
// other than its struct, map and slice decoding.
func opaque(t reflect.Type) bool {
	if t == rawMessageT || t.Kind() == reflect.Interface {
		return true
	}
	return t.Implements(unmarshalerT) || t.Implements(textUnmarshalerT) ||
		reflect.PointerTo(t).Implements(unmarshalerT) || reflect.PointerTo(t).Implements(textUnmarshalerT)
}

var fieldsReach sync.Map // reflect.Type -> bool

// hasFields reports whether values of t can hold a struct whose keys
// encoding/json matches to fields; a value without one ([]string,
// map[string]string) has no key that could be unknown and is skipped
// whole.
func hasFields(t reflect.Type) bool {
	if v, ok := fieldsReach.Load(t); ok {
		return v.(bool)
	}
	v := reaches(t)
	fieldsReach.Store(t, v)
	return v
}

func reaches(t reflect.Type) bool {
	if opaque(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return reaches(t.Elem())
	case reflect.Struct:
		return true
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// value walks one JSON value that decodes into a value of the type wt
// describes.
func (w *walker) value(wt *walkType, path string) error {
	if !wt.walk {
		_, err := w.skip()
		return err
	}
	t := wt.t
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxUnknownDepth {
		return errors.New("the body nests too deeply")
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.object(path, wt.fields, nil)
	case reflect.Map:
		return w.object(path, nil, wt.elemWalk())
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !opaque(t.Elem()) {
			_, err := w.skip() // []byte: base64
			return err
		}
		c, err := w.peek()
		if err != nil {
			return err
		}
		if c != '[' {
			_, err := w.skip() // null, or a value encoding/json rejected already
			return err
		}
		w.i++
		if c, err := w.peek(); err != nil {
			return err
		} else if c == ']' {
			w.i++
			return nil
		}
		for i := 0; ; i++ {
			if err := w.value(wt.elemWalk(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
			c, err := w.peek()
			if err != nil {
				return err
			}
			w.i++
			switch c {
			case ',':
			case ']':
				return nil
			default:
				return fmt.Errorf("unexpected %q in JSON array", c)
			}
		}
	}
	_, err := w.skip()
	return err
}

// object walks a JSON object: a struct's (fields set) or a map's whose
// values are of type elem.
func (w *walker) object(path string, fields *jsonFields, elem *walkType) error {
	c, err := w.peek()
	if err != nil {
		return err
	}
	if c != '{' {
		_, err := w.skip() // null
		return err
	}
	w.i++
	if c, err := w.peek(); err != nil {
		return err
	} else if c == '}' {
		w.i++
		return nil
	}
	for {
		key, err := w.key()
		if err != nil {
			return err
		}
		if err := w.expect(':'); err != nil {
			return err
		}
		if fields == nil {
			err = w.value(elem, path+"["+strconv.Quote(string(key))+"]")
		} else if i := fields.index(key); i >= 0 {
			if fw := fields.walkOf(i); fw.walk {
				err = w.value(fw, join(path, fields.list[i].name))
			} else {
				_, err = w.skip()
			}
		} else {
			var raw []byte
			raw, err = w.skip()
			if err == nil && !zeroJSON(raw) {
				w.found = append(w.found, join(path, string(key)))
			}
		}
		if err != nil {
			return err
		}
		c, err := w.peek()
		if err != nil {
			return err
		}
		w.i++
		switch c {
		case ',':
		case '}':
			return nil
		default:
			return fmt.Errorf("unexpected %q in JSON object", c)
		}
	}
}

// zeroJSON reports whether a JSON value is a zero value: null, false, a
// number equal to zero, "", [] or {}.
func zeroJSON(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return true
	}
	switch raw[0] {
	case 'n', 'f':
		return true
	case 't':
		return false
	case '"':
		return len(raw) == 2
	case '[', '{':
		inner := bytes.TrimSpace(raw[1 : len(raw)-1])
		return len(inner) == 0
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return err == nil && f == 0
}

// jsonField is one field as encoding/json sees it.
type jsonField struct {
	name string
	typ  reflect.Type
}

type jsonFields struct {
	list    []jsonField
	byExact map[string]int
	byFold  map[string]int
	// walks caches walkTypeOf of each field's type (filled on first use).
	walks []atomic.Pointer[walkType]
}

// index is lookup's field index, without allocating for a key spelled
// exactly; -1 when no field matches.
func (fs *jsonFields) index(key []byte) int {
	if i, ok := fs.byExact[string(key)]; ok {
		return i
	}
	if i, ok := fs.byFold[foldName(string(key))]; ok {
		return i
	}
	return -1
}

// walkOf is walkTypeOf(fs.list[i].typ), cached.
func (fs *jsonFields) walkOf(i int) *walkType {
	if wt := fs.walks[i].Load(); wt != nil {
		return wt
	}
	wt := walkTypeOf(fs.list[i].typ)
	fs.walks[i].Store(wt)
	return wt
}

// lookup finds the field encoding/json decodes key into: the exact name
// first, then the first field whose folded name matches
// (encoding/json/decode.go object).
func (fs *jsonFields) lookup(key string) (jsonField, bool) {
	if i, ok := fs.byExact[key]; ok {
		return fs.list[i], true
	}
	if i, ok := fs.byFold[foldName(key)]; ok {
		return fs.list[i], true
	}
	return jsonField{}, false
}

var fieldCache sync.Map // reflect.Type -> *jsonFields

// fieldsOf lists t's fields with encoding/json's rules
// (encoding/json/encode.go typeFields): exported fields and the fields of
// embedded structs without a name tag, a shallower field hiding deeper
// ones of the same name, at the same depth a tagged one winning, and
// names still shared dropped.
func fieldsOf(t reflect.Type) *jsonFields {
	if v, ok := fieldCache.Load(t); ok {
		return v.(*jsonFields)
	}
	type cand struct {
		jsonField
		depth  int
		tagged bool
	}
	var cands []cand
	var walk func(t reflect.Type, depth int, visited map[reflect.Type]bool)
	walk = func(t reflect.Type, depth int, visited map[reflect.Type]bool) {
		if visited[t] {
			return
		}
		visited[t] = true
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if !isValidTag(name) {
				name = ""
			}
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
				if name == "" && ft.Kind() == reflect.Struct {
					walk(ft, depth+1, visited)
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if name == "" {
				name = sf.Name
			}
			cands = append(cands, cand{jsonField{name, sf.Type}, depth, tagged})
		}
	}
	walk(t, 0, map[reflect.Type]bool{})
	byName := map[string][]int{}
	var order []string
	for i, c := range cands {
		if _, ok := byName[c.name]; !ok {
			order = append(order, c.name)
		}
		byName[c.name] = append(byName[c.name], i)
	}
	fs := &jsonFields{byExact: map[string]int{}, byFold: map[string]int{}}
	for _, name := range order {
		idx := byName[name]
		best, n := -1, 0
		for _, i := range idx {
			c := cands[i]
			switch {
			case best < 0 || c.depth < cands[best].depth:
				best, n = i, 1
			case c.depth == cands[best].depth && c.tagged && !cands[best].tagged:
				best, n = i, 1
			case c.depth == cands[best].depth && c.tagged == cands[best].tagged:
				n++
			}
		}
		if n > 1 {
			continue // encoding/json drops names that stay ambiguous
		}
		fs.byExact[name] = len(fs.list)
		if _, ok := fs.byFold[foldName(name)]; !ok {
			fs.byFold[foldName(name)] = len(fs.list)
		}
		fs.list = append(fs.list, cands[best].jsonField)
	}
	fs.walks = make([]atomic.Pointer[walkType], len(fs.list))
	v, _ := fieldCache.LoadOrStore(t, fs)
	return v.(*jsonFields)
}

// isValidTag is encoding/json's rule for a usable name in a tag.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldName is encoding/json's (encoding/json/fold.go): ASCII upper case,
// every other rune the smallest of its simple case folding orbit.
func foldName(in string) string {
	var b strings.Builder
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
