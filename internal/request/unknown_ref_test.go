package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/test/corpus"
)

// refUnknownFields is the walk as it was first written, on json.Decoder's
// tokens: the reference FuzzUnknownFields holds the scanner to.
func refUnknownFields(body []byte, t reflect.Type) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := refWalker{dec: dec}
	if err := w.value(t, ""); err != nil {
		return nil, err
	}
	return w.found, nil
}

type refWalker struct {
	dec   *json.Decoder
	found []string
	depth int
}

// value walks one JSON value that decodes into a value of type t.
func (w *refWalker) value(t reflect.Type, path string) error {
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
func (w *refWalker) object(path string, field func(key string) (reflect.Type, string, bool)) error {
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

func (w *refWalker) skip() error {
	var raw json.RawMessage
	return w.dec.Decode(&raw)
}

// bodyTypes are the types decodeBody decodes bodies into.
func bodyTypes() []reflect.Type {
	r := reflect.TypeFor[Request]()
	var out []reflect.Type
	for _, name := range []string{"Exec", "ExecStart", "ContainerUpdate", "CheckpointCreate", "VolumeCreate", "VolumeUpdate",
		"NetworkCreate", "NetworkConnect", "NetworkDisconnect", "ServiceSpec", "SwarmInit", "SwarmJoin", "SwarmUpdate",
		"SwarmUnlock", "NodeSpec", "SecretSpec", "ConfigSpec", "PluginPrivileges", "PluginSettings"} {
		f, ok := r.FieldByName(name)
		if !ok {
			panic("no Request field " + name)
		}
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		out = append(out, t)
	}
	return append(out, createBodyType)
}

// FuzzUnknownFields: on every body encoding/json decodes into a body
// type, the scanner finds exactly the unknown fields the json.Decoder
// walk finds, in the same order.
func FuzzUnknownFields(f *testing.F) {
	for _, e := range corpus.ForTest(f) {
		if b := e.BodyBytes(); len(b) > 0 {
			f.Add(b)
		}
	}
	for _, c := range corpus.Adversarial(f) {
		if b := c.RequestBody(); len(b) > 0 {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"Image":"bb","HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}}`,
		`{"Image":"bb","Foo":null,"Bar":"","Baz":0,"Q":[],"R":{},"S":false,"T":-0.0}`,
		`{"Image":"bb","Foo":1,"Bar":" ","Baz":[0],"Q":{"a":null},"R":true}`,
		"{\"HostConfig\":{\"\u017fysctls\":{\"a\":\"b\"},\"\u212aernelMemory\":1}}",
		`{"NetworkingConfig":{"EndpointsConfig":{"n":{"Foo":1,"Aliases":["a"]}}}}`,
		`{"HostConfig":{"Mounts":[{},{"Nope":1}]}}`,
		`{"HostConfig":{"X":1},"HostConfig":{}}`,
		` { "Ho\u0073tConfig" : { "Mounts" : [ { "N\"pe" : "a\\\"}]" } , null ] } , "\u00ff\ud800" : 1 } `,
		"{\"H\xffstConfig\":{\"Privileged\":true},\"\xc3\":[1e5,{\"a\":[]}]}",
		`{"TaskTemplate":{"ContainerSpec":{"Devices":["/dev/sda"],"Privileges":{"Seccomp":{"Profile":"e30="}}}}}`,
		`[{"Name":"x","Value":["y"],"Extra":1}]`,
		`null`, `[]`, `{}`, `[null]`, `{"Labels":{"a":"b"},"Healthcheck":null,"ExposedPorts":{"80/tcp":{}}}`,
	} {
		f.Add([]byte(s))
	}
	types := bodyTypes()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			if json.Unmarshal(body, reflect.New(typ).Interface()) != nil {
				continue // decodeJSON rejects it before any walk
			}
			got, err := unknownFields(body, typ)
			want, werr := refUnknownFields(body, typ)
			if (err != nil) != (werr != nil) || !slices.Equal(got, want) {
				t.Fatalf("%v %s: scanner %q, %v; json.Decoder walk %q, %v", typ, strconv.Quote(string(body)), got, err, want, werr)
			}
		}
	})
}
