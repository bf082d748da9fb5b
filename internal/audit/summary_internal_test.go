package audit

import (
	"reflect"
	"strings"
	"testing"
)

// TestSummaryEmpty checks that empty agrees with reflect.Value.IsZero, the
// test it replaced, for the zero summary and with each field set alone, so
// a field added to Summary and not to empty fails here.
func TestSummaryEmpty(t *testing.T) {
	if !(&Summary{}).empty() {
		t.Error("zero summary is not empty")
	}
	typ := reflect.TypeFor[Summary]()
	for i := range typ.NumField() {
		var s Summary
		f := reflect.ValueOf(&s).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 0, 0)) // empty, not nil
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		default:
			t.Fatalf("field %s: no case for %s", typ.Field(i).Name, f.Kind())
		}
		if got, want := s.empty(), reflect.ValueOf(s).IsZero(); got != want {
			t.Errorf("with %s set: empty() = %v, IsZero = %v", typ.Field(i).Name, got, want)
		}
	}
}

// TestMountsBinds compares the bind parsing of mounts with the
// strings.Split version it replaced, on every short string made of the
// parts that matter.
func TestMountsBinds(t *testing.T) {
	old := func(b string) Mount {
		parts := strings.Split(b, ":")
		mt := Mount{Type: "bind"}
		switch len(parts) {
		case 1:
			mt.Type, mt.Target = "volume", parts[0]
		default:
			mt.Source, mt.Target = parts[0], parts[1]
			if len(parts) > 2 {
				for _, o := range strings.Split(parts[2], ",") {
					if o == "ro" {
						mt.ReadOnly = true
					}
				}
			}
		}
		if mt.Source != "" && !strings.HasPrefix(mt.Source, "/") {
			mt.Type = "volume"
		}
		return mt
	}
	parts := []string{"", "/", "a", ":", "ro", ",", "rw"}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		got := mounts([]string{prefix}, nil)
		if want := old(prefix); len(got) != 1 || got[0] != want {
			t.Fatalf("bind %q: got %+v, want %+v", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for _, p := range parts {
			gen(prefix+p, n-1)
		}
	}
	gen("", 6)
}
