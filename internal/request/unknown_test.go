package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

func TestUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		action Action
		body   string
		want   []string
	}{
		{"container.create", `{"Image":"bb","HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}}`, []string{"HostConfig.Capabilities"}},
		{"container.create", `{"Image":"bb","Foo":null,"Bar":"","Baz":0,"Q":[],"R":{},"S":false,"T":-0.0}`, nil},
		{"container.create", `{"Image":"bb","Foo":1,"Bar":" ","Baz":[0],"Q":{"a":null},"R":true}`, []string{"Bar", "Baz", "Foo", "Q", "R"}},
		{"container.create", `{"image":"bb","hostconfig":{"privileged":false,"BINDS":[]}}`, nil},
		{"container.create", "{\"HostConfig\":{\"\u017fysctls\":{\"a\":\"b\"},\"\u212aernelMemory\":1}}", nil},
		{"container.create", `{"NetworkingConfig":{"EndpointsConfig":{"n":{"Foo":1,"Aliases":["a"]}}}}`, []string{`NetworkingConfig.EndpointsConfig["n"].Foo`}},
		{"container.create", `{"HostConfig":{"Mounts":[{},{"Nope":1}]}}`, []string{"HostConfig.Mounts[1].Nope"}},
		{"container.create", `{"HostConfig":{"X":1},"HostConfig":{}}`, []string{"HostConfig.X"}},
		{"container.create", `{"Labels":{"Anything":"x"},"Cmd":"sh","Healthcheck":{"Test":["x"],"Extra":2}}`, []string{"Healthcheck.Extra"}},
		{"service.create", `{"TaskTemplate":{"ContainerSpec":{"Devices":["/dev/sda"],"Privileges":{"Seccomp":{"Profile":"e30="}}}}}`, []string{"TaskTemplate.ContainerSpec.Devices"}},
		{"plugin.pull", `[{"Name":"x","Value":["y"],"Extra":1}]`, []string{"[0].Extra"}},
		{"container.exec", `null`, nil},
	} {
		r := &Request{Action: tc.action}
		if err := decodeBody(r, byAction[tc.action].body.decode, []byte(tc.body)); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		got := slices.Clone(r.UnknownFields)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: unknown %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestUnknownFieldsFold: a key is known exactly when encoding/json decodes
// it into a field. Every field name of the create and service types, in
// several spellings, is decoded by encoding/json into a fresh value; the
// field is set if and only if the walker calls the key known.
func TestUnknownFieldsFold(t *testing.T) {
	spell := func(n string) []string {
		return []string{n, strings.ToLower(n), strings.ToUpper(n),
			strings.ReplaceAll(strings.ReplaceAll(n, "s", "\u017f"), "k", "\u212a"),
			strings.ReplaceAll(n, "i", "\u0131"), n + "x"}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[container.HostConfig](), reflect.TypeFor[container.Config](), reflect.TypeFor[swarm.ContainerSpec]()} {
		fs := fieldsOf(typ)
		for _, f := range fs.list {
			for _, key := range spell(f.name) {
				body, _ := json.Marshal(map[string]json.RawMessage{key: sample(t, f.typ)})
				v := reflect.New(typ)
				if err := json.Unmarshal(body, v.Interface()); err != nil {
					continue // not a value this field takes; nothing to compare
				}
				set := !v.Elem().IsZero()
				_, known := fs.lookup(key)
				if set != known {
					t.Errorf("%v key %q: encoding/json sets a field: %v; walker knows it: %v", typ, key, set, known)
				}
			}
		}
	}
}

// sample is a non-zero JSON value of type t.
func sample(t *testing.T, typ reflect.Type) json.RawMessage {
	v := reflect.New(typ).Elem()
	fill(v)
	b, err := json.Marshal(v.Interface())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i))
		}
	}
}

// The unknown-field walk alone over a 1 MiB create body.
func BenchmarkUnknownFieldsLarge(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"image":"bb","Env":[`)
	for i := 0; body.Len() < 1<<20-200; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `"VAR_%06d=%s"`, i, strings.Repeat("v", 80))
	}
	body.WriteString(`],"HostConfig":{"Binds":["/srv:/srv"],"Memory":1048576}}`)
	data := body.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := unknownFields(data, createBodyType); err != nil {
			b.Fatal(err)
		}
	}
}
