// Package jsonfast decodes JSON into Go values the way encoding/json does,
// faster, for the plain form that Go clients write: every object key
// spelled exactly as its field's JSON name and present once. It is not a
// second definition of JSON decoding. Decode either produces exactly what
// json.Unmarshal produces for the same input, or reports that it did not
// decode and leaves the value zero, and the caller then uses encoding/json.
//
// It declines (returns false) on anything whose encoding/json meaning
// depends on rules it does not reimplement: a key that is not a field's
// exact name (encoding/json would match it case-insensitively or ignore
// it), a repeated key (encoding/json merges into the earlier value), a
// value of the wrong JSON type, a number that does not fit, nesting deeper
// than maxDepth, a field name two fields share, the ",string" option, and
// syntax errors, a Go array given more elements than it holds. Values of
// types with their own decoding (json.Unmarshaler,
// encoding.TextUnmarshaler), interfaces and json.Number are handed to
// json.Unmarshal one value at a time, which decodes them as it would in
// place; so are strings with escapes or non-ASCII bytes. The one
// exception is Docker's strslice.StrSlice (Cmd, Entrypoint, CapAdd...),
// whose UnmarshalJSON is short and is reproduced here.
//
// FuzzDecode checks the claim against encoding/json for the daemon's
// request types and for types built to exercise each rule above.
//
// Its one user is the plugin's reading of the daemon's AuthZ envelope
// (DecodeEnvelope), which the daemon writes with json.Marshal. Request
// bodies are never read with it: internal/request decodes them with
// encoding/json only, as the daemon does.
package jsonfast

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/strslice"
)

// maxDepth bounds nesting; deeper input is left to encoding/json.
const maxDepth = 200

// Decode decodes data, which must hold exactly one JSON value and white
// space around it, into the zero value v points to. It reports whether it
// did; when it did not, *v is zero again.
func Decode(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	elem := rv.Elem()
	d := decoder{data: data}
	d.space()
	ok := d.value(elem, planOf(elem.Type()), 0)
	if ok {
		d.space()
		ok = d.i == len(data)
	}
	if !ok {
		elem.SetZero()
	}
	return ok
}

type kind uint8

const (
	kDelegate kind = iota // json.Unmarshal on the value's bytes
	kString
	kBool
	kInt
	kUint
	kFloat
	kPointer
	kSlice
	kBytes // a slice of bytes: base64 in a string, or an array of numbers
	kMap
	kStruct
	kStrings   // []string, without reflection
	kStringMap // map[string]string, without reflection
	kArray     // a Go array, at most as many elements as it holds
	kStrSlice  // strslice.StrSlice: a string or an array of strings
)

// plan says how values of one type are decoded.
type plan struct {
	kind   kind
	typ    reflect.Type
	elem   *plan // pointer, slice and map elements
	fields map[string]*field
	nfield int
}

type field struct {
	index   []int // path through embedded structs
	ordinal int   // for spotting repeated keys
	plan    *plan
	decline bool // never decoded here (",string", or a name fields share)
}

var (
	plans               sync.Map // reflect.Type -> *plan
	plansMu             sync.Mutex
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
	stringsType         = reflect.TypeFor[[]string]()
	stringMapType       = reflect.TypeFor[map[string]string]()
	strSliceType        = reflect.TypeFor[strslice.StrSlice]()
)

func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	plansMu.Lock()
	defer plansMu.Unlock()
	building := map[reflect.Type]*plan{}
	p := build(t, building)
	for t, p := range building {
		plans.Store(t, p)
	}
	return p
}

// custom reports whether encoding/json hands values of t (or *t) to their
// own decoding method.
func custom(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType) ||
		t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType))
}

func build(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p // recursive type: filled in below
	}
	p := &plan{typ: t}
	building[t] = p
	if t == strSliceType {
		// Its UnmarshalJSON (reproduced in value, checked by FuzzDecode):
		// an array of strings, or one string as an array of one; null
		// is nil.
		p.kind = kStrSlice
		return p
	}
	if custom(t) || t == numberType {
		return p // kDelegate
	}
	switch {
	case t == stringsType:
		p.kind = kStrings
		return p
	case t == stringMapType:
		p.kind = kStringMap
		return p
	}
	switch t.Kind() {
	case reflect.String:
		p.kind = kString
	case reflect.Bool:
		p.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.kind = kInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.kind = kUint
	case reflect.Float32, reflect.Float64:
		p.kind = kFloat
	case reflect.Pointer:
		p.kind, p.elem = kPointer, build(t.Elem(), building)
	case reflect.Array:
		p.kind, p.elem = kArray, build(t.Elem(), building)
	case reflect.Slice:
		switch {
		case t.Elem().Kind() != reflect.Uint8:
			p.kind, p.elem = kSlice, build(t.Elem(), building)
		case !custom(t.Elem()):
			p.kind, p.elem = kBytes, build(t.Elem(), building)
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && !custom(t.Key()) {
			p.kind, p.elem = kMap, build(t.Elem(), building)
		}
	case reflect.Struct:
		if fields, ok := structFields(t, building); ok {
			p.kind, p.fields, p.nfield = kStruct, fields, len(fields)
		}
	}
	return p
}

// structFields lists the fields of t by exact JSON name, following
// encoding/json's rules for the cases it keeps: exported fields, json
// tags, "-", embedded structs and pointers to exported structs promoted
// (without a tag name). A name more than one field has is marked
// declined rather than resolved by depth and tags. ok is false (the type
// is delegated) for shapes whose rules are left to encoding/json: embedded
// fields of unexported types, tag names outside a safe alphabet, embedding
// deeper than a few levels.
func structFields(t reflect.Type, building map[reflect.Type]*plan) (map[string]*field, bool) {
	fields := map[string]*field{}
	var walk func(t reflect.Type, index []int, depth int) bool
	walk = func(t reflect.Type, index []int, depth int) bool {
		if depth > 4 {
			return false
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name != "" && !plainName(name) {
				return false
			}
			path := append(append([]int(nil), index...), i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() || ft.Kind() != reflect.Struct || sf.Type.Kind() == reflect.Pointer && sf.Type.Name() != "" {
					return false
				}
				if name == "" && ft.Kind() == reflect.Struct {
					if !walk(ft, path, depth+1) {
						return false
					}
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := &field{index: path, plan: build(sf.Type, building)}
			for _, o := range strings.Split(opts, ",") {
				if o == "string" {
					f.decline = true
				}
			}
			if prev, dup := fields[name]; dup {
				prev.decline = true
				continue
			}
			f.ordinal = len(fields)
			fields[name] = f
		}
		return true
	}
	if !walk(t, nil, 0) {
		return nil, false
	}
	return fields, true
}

// plainName accepts the tag names Docker's types use; anything else is
// left to encoding/json's own validity rules.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

type decoder struct {
	data []byte
	i    int
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.i < len(d.data) {
		return d.data[d.i]
	}
	return 0
}

// value decodes one value into v (zero) by p. White space before it has
// been skipped.
func (d *decoder) value(v reflect.Value, p *plan, depth int) bool {
	if depth > maxDepth {
		return false
	}
	c := d.peek()
	if p.kind == kDelegate {
		start := d.i
		if !d.skip(depth) {
			return false
		}
		return json.Unmarshal(d.data[start:d.i], v.Addr().Interface()) == nil
	}
	if c == 'n' {
		// null leaves a zero value zero, for every kind decoded here.
		return d.literal("null")
	}
	switch p.kind {
	case kString:
		s, ok := d.str()
		if ok {
			v.SetString(s)
		}
		return ok
	case kBool:
		switch c {
		case 't':
			v.SetBool(true)
			return d.literal("true")
		case 'f':
			return d.literal("false")
		}
		return false
	case kInt:
		lit, ok := d.integer()
		n, err := strconv.ParseInt(lit, 10, 64)
		if !ok || err != nil || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
		return true
	case kUint:
		lit, ok := d.integer()
		n, err := strconv.ParseUint(lit, 10, 64)
		if !ok || err != nil || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
		return true
	case kFloat:
		lit, _ := d.number()
		if lit == nil {
			return false
		}
		n, err := strconv.ParseFloat(string(lit), v.Type().Bits())
		if err != nil || v.OverflowFloat(n) {
			return false
		}
		v.SetFloat(n)
		return true
	case kPointer:
		e := reflect.New(p.typ.Elem())
		if !d.value(e.Elem(), p.elem, depth+1) {
			return false
		}
		v.Set(e)
		return true
	case kSlice:
		return d.slice(v, p, depth)
	case kStrings:
		ss, ok := d.strings()
		if ok {
			*(v.Addr().Interface().(*[]string)) = ss
		}
		return ok
	case kStrSlice:
		var ss []string
		if c == '"' {
			s, ok := d.str()
			if !ok {
				return false
			}
			ss = []string{s}
		} else if ss, _ = d.strings(); ss == nil {
			return false
		}
		v.Set(reflect.ValueOf(strslice.StrSlice(ss)))
		return true
	case kArray:
		return d.array(v, p, depth)
	case kStringMap:
		m, ok := d.stringMap()
		if ok {
			*(v.Addr().Interface().(*map[string]string)) = m
		}
		return ok
	case kBytes:
		if c == '[' {
			return d.slice(v, p, depth)
		}
		start := d.i
		raw, plain, ok := d.token()
		if !ok {
			return false
		}
		if !plain {
			return json.Unmarshal(d.data[start:d.i], v.Addr().Interface()) == nil
		}
		// As encoding/json: standard base64 into a new slice (empty, not
		// nil, for "").
		raw = raw[1 : len(raw)-1]
		b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
		n, err := base64.StdEncoding.Decode(b, raw)
		if err != nil {
			return false
		}
		v.SetBytes(b[:n])
		return true
	case kMap:
		return d.object(v, p, depth)
	case kStruct:
		return d.object(v, p, depth)
	}
	return false
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.i < len(lit) || string(d.data[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

func (d *decoder) slice(v reflect.Value, p *plan, depth int) bool {
	ok := d.list('[', ']', func(n int) bool {
		if n >= v.Cap() {
			v.Grow(1)
		}
		v.SetLen(n + 1)
		return d.value(v.Index(n), p.elem, depth+1)
	})
	if ok && v.IsNil() { // [] is an empty slice, not nil
		v.Set(reflect.MakeSlice(p.typ, 0, 0))
	}
	return ok
}

// array decodes a JSON array into a Go array, declining one with more
// elements than the array holds (encoding/json drops those); elements it
// does not reach stay zero, as in encoding/json.
func (d *decoder) array(v reflect.Value, p *plan, depth int) bool {
	return d.list('[', ']', func(n int) bool {
		return n < v.Len() && d.value(v.Index(n), p.elem, depth+1)
	})
}

// strings decodes an array of strings as encoding/json decodes it into
// a []string: empty (not nil) for [], "" for a null element.
func (d *decoder) strings() ([]string, bool) {
	out := []string{}
	ok := d.list('[', ']', func(int) bool {
		s, ok := d.nullableStr()
		out = append(out, s)
		return ok
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// stringMap decodes an object of strings as encoding/json decodes it into
// a map[string]string: a later key replaces an earlier one, a null value
// is "".
func (d *decoder) stringMap() (map[string]string, bool) {
	m := map[string]string{}
	ok := d.list('{', '}', func(int) bool {
		k, ok := d.str()
		if !ok || !d.colon() {
			return false
		}
		s, ok := d.nullableStr()
		m[k] = s
		return ok
	})
	if !ok {
		return nil, false
	}
	return m, true
}

// nullableStr reads a string, or null as "" (what encoding/json leaves in
// a string element for null).
func (d *decoder) nullableStr() (string, bool) {
	if d.peek() == 'n' {
		return "", d.literal("null")
	}
	return d.str()
}

// colon consumes the colon between an object key and its value, with the
// white space around it.
func (d *decoder) colon() bool {
	d.space()
	if d.peek() != ':' {
		return false
	}
	d.i++
	d.space()
	return true
}

// list reads a JSON array (open '[') or object (open '{') whose elements
// or members each reads, given its index, with white space around them
// skipped; the commas and closing bracket are read here.
func (d *decoder) list(open, close byte, each func(n int) bool) bool {
	if d.peek() != open {
		return false
	}
	d.i++
	d.space()
	if d.peek() == close {
		d.i++
		return true
	}
	for n := 0; ; n++ {
		d.space()
		if !each(n) {
			return false
		}
		d.space()
		switch d.peek() {
		case ',':
			d.i++
		case close:
			d.i++
			return true
		default:
			return false
		}
	}
}

// object decodes a JSON object into a map (string keys; a later key
// replaces an earlier one, as in encoding/json) or a struct (exact field
// names, each once).
func (d *decoder) object(v reflect.Value, p *plan, depth int) bool {
	if p.kind == kMap {
		if d.peek() != '{' {
			return false
		}
		v.Set(reflect.MakeMap(p.typ))
		elem := reflect.New(p.typ.Elem()).Elem()
		return d.list('{', '}', func(int) bool {
			key, ok := d.str()
			if !ok || !d.colon() {
				return false
			}
			elem.SetZero()
			if !d.value(elem, p.elem, depth+1) {
				return false
			}
			kv := reflect.New(p.typ.Key()).Elem()
			kv.SetString(key)
			v.SetMapIndex(kv, elem)
			return true
		})
	}
	var seenSmall [4]uint64
	seen := seenSmall[:]
	if p.nfield > 64*len(seenSmall) {
		seen = make([]uint64, (p.nfield+63)/64)
	}
	return d.list('{', '}', func(int) bool {
		raw, ok := d.rawKey()
		if !ok {
			return false
		}
		f := p.fields[string(raw)]
		if f == nil || f.decline || seen[f.ordinal/64]&(1<<(f.ordinal%64)) != 0 {
			return false
		}
		seen[f.ordinal/64] |= 1 << (f.ordinal % 64)
		return d.colon() && d.value(fieldByIndex(v, f.index), f.plan, depth+1)
	})
}

// fieldByIndex walks to a field, allocating embedded struct pointers on
// the way as encoding/json does (even when the value is null).
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for k, i := range index {
		if k > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v
}

// rawKey reads an object key that is printable ASCII without escapes.
func (d *decoder) rawKey() ([]byte, bool) {
	raw, plain, ok := d.token()
	if !ok || !plain {
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

// str reads a JSON string as encoding/json unquotes it.
func (d *decoder) str() (string, bool) {
	raw, plain, ok := d.token()
	if !ok {
		return "", false
	}
	if plain {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// token reads a string token, quotes included. plain reports that it is
// printable ASCII without escapes. It checks only where the string ends;
// a string that is not plain is validated by whoever unquotes it.
func (d *decoder) token() (raw []byte, plain, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	start := d.i
	d.i++
	// Most strings are plain: find the closing quote, then check what
	// lies before it eight bytes at a time.
	if j := bytes.IndexByte(d.data[d.i:], '"'); j >= 0 && plainASCII(d.data[d.i:d.i+j]) {
		d.i += j + 1
		return d.data[start:d.i], true, true
	}
	plain = true
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return d.data[start:d.i], plain, true
		case c == '\\':
			plain = false
			d.i += 2
		case c < 0x20 || c >= 0x80:
			plain = false
			d.i++
		default:
			d.i++
		}
	}
	return nil, false, false
}

// plainASCII reports whether b holds only printable ASCII other than
// the backslash (0x20-0x7f except 0x5c).
func plainASCII(b []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		ctl := (w - 0x20*ones) &^ w & highs // a byte below 0x20
		bs := w ^ 0x5c*ones
		bs = (bs - ones) &^ bs & highs // a backslash
		if (w&highs)|ctl|bs != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// number reads a number by JSON's grammar and reports whether it has
// neither fraction nor exponent.
func (d *decoder) number() (lit []byte, integer bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return nil, false
	}
	integer = true
	if d.peek() == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, false
		}
		integer = false
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false
		}
		integer = false
	}
	return d.data[start:d.i], integer
}

// integer reads a number without fraction or exponent (encoding/json
// does not put any other into an integer).
func (d *decoder) integer() (string, bool) {
	lit, integer := d.number()
	return string(lit), lit != nil && integer
}

func (d *decoder) digits() int {
	start := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// skip passes over one value, checking its syntax (strings that are not
// plain are checked by the json.Unmarshal that receives them).
func (d *decoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := d.peek(); {
	case c == '"':
		_, _, ok := d.token()
		return ok
	case c == 'n':
		return d.literal("null")
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == '-' || '0' <= c && c <= '9':
		lit, _ := d.number()
		return lit != nil
	case c == '[':
		return d.list('[', ']', func(int) bool { return d.skip(depth + 1) })
	case c == '{':
		return d.list('{', '}', func(int) bool {
			_, _, ok := d.token()
			return ok && d.colon() && d.skip(depth+1)
		})
	}
	return false
}
