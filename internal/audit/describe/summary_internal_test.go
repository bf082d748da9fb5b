package describe

import (
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/request"
)

// TestSummaryEmpty checks that empty agrees with reflect.Value.IsZero, the
// test it replaced, for the zero summary and with each field set alone, so
// a field added to Summary and not to empty fails here.
func TestSummaryEmpty(t *testing.T) {
	if !empty(&audit.Summary{}) {
		t.Error("zero summary is not empty")
	}
	typ := reflect.TypeFor[audit.Summary]()
	for i := range typ.NumField() {
		var s audit.Summary
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
		if got, want := empty(&s), reflect.ValueOf(s).IsZero(); got != want {
			t.Errorf("with %s set: empty() = %v, IsZero = %v", typ.Field(i).Name, got, want)
		}
	}
}

// TestMountsBinds checks, on every short string made of the parts that
// matter, that the summary reads a bind as request.ParseBind (the
// daemon's reading, which the policy judges) does: a spec it refuses is
// described as invalid with the same reason, any other with its type,
// source, target and read-only flag.
func TestMountsBinds(t *testing.T) {
	parts := []string{"", "/", "a", ":", "ro", ",", "rw", "z", "nocopy", "shared"}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		got := mounts([]string{prefix}, nil)
		b, err := request.ParseBind(prefix)
		want := audit.Mount{Type: string(b.Type), Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly}
		if err != nil {
			want = audit.Mount{Type: audit.MountInvalid, Spec: prefix, Invalid: err.Error()}
		}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("bind %q: got %+v, want %+v", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for _, p := range parts {
			gen(prefix+p, n-1)
		}
	}
	gen("", 5)
}
