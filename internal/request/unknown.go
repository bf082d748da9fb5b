package request

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
func unknownFields(body []byte, t reflect.Type) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec}
	if err := w.value(t, ""); err != nil {
		return nil, err
	}
	return w.found, nil
}

type walker struct {
	dec   *json.Decoder
	found []string
	depth int
}

// maxUnknownDepth bounds the walk; encoding/json itself stops at 10000.
const maxUnknownDepth = 10000

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
	v := reaches(t, map[reflect.Type]bool{})
	fieldsReach.Store(t, v)
	return v
}

func reaches(t reflect.Type, seen map[reflect.Type]bool) bool {
	if opaque(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return reaches(t.Elem(), seen)
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

// value walks one JSON value that decodes into a value of type t.
func (w *walker) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer && !opaque(t) {
		t = t.Elem()
	}
	if opaque(t) || !hasFields(t) {
		return w.skip()
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxUnknownDepth {
		return errors.New("the body nests too deeply")
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.object(path, func(key string) (reflect.Type, string, bool) {
			f, ok := fieldsOf(t).lookup(key)
			if !ok {
				return nil, "", false
			}
			return f.typ, join(path, f.name), true
		})
	case reflect.Map:
		return w.object(path, func(key string) (reflect.Type, string, bool) {
			return t.Elem(), path + "[" + strconv.Quote(key) + "]", true
		})
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !opaque(t.Elem()) {
			return w.skip() // []byte: base64
		}
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if tok != json.Delim('[') {
			return nil // null, or a value encoding/json rejected already
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err = w.dec.Token() // ']'
		return err
	}
	return w.skip()
}

// object walks a JSON object whose keys field resolves.
func (w *walker) object(path string, field func(key string) (reflect.Type, string, bool)) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return nil // null
	}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if ft, p, ok := field(key); ok {
			if err := w.value(ft, p); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return err
		}
		if !zeroJSON(raw) {
			w.found = append(w.found, join(path, key))
		}
	}
	_, err = w.dec.Token() // '}'
	return err
}

func (w *walker) skip() error {
	var raw json.RawMessage
	return w.dec.Decode(&raw)
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
