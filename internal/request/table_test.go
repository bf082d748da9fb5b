package request

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestRouteTable walks the route table (and the rows outside it): every
// route whose body is JSON the daemon reads has a decoder and nothing
// else has one; rows that share an action agree on everything about it
// but their path and target; every decoder fills exactly one decoded-body
// field of Request, of the type it declares; every such field is filled
// by some decoder.
func TestRouteTable(t *testing.T) {
	all := []*route{}
	for i := range routes {
		all = append(all, &routes[i])
	}
	all = append(all, specialRoutes()...)

	first := map[Action]*route{}
	filled := map[string]bool{}
	for _, rt := range all {
		name := rt.method + " " + rt.prefix + "…" + rt.suffix + " (" + string(rt.action) + ")"
		switch rt.body.kind {
		case bodyRequired, bodyOptional:
			if rt.body.decode == nil {
				t.Errorf("%s: a JSON body and no decoder", name)
				continue
			}
		default:
			if rt.body.decode != nil || rt.body.unjudged != "" {
				t.Errorf("%s: a decoder or an unjudged reason on a route whose body is not decoded", name)
			}
		}
		if rt.body.unjudged != "" && len(rt.body.unjudged) < 40 {
			t.Errorf("%s: the reason no check reads the body is too short to be one: %q", name, rt.body.unjudged)
		}
		if f, ok := first[rt.action]; ok {
			if f.body.kind != rt.body.kind || f.body.decode != rt.body.decode || f.body.unjudged != rt.body.unjudged ||
				f.creates != rt.creates || funcPtr(f.names) != funcPtr(rt.names) {
				t.Errorf("%s: differs from the action's first row in body, creates or names", name)
			}
		} else {
			first[rt.action] = rt
		}
		if byAction[rt.action] == nil {
			t.Errorf("%s: not in byAction", name)
		}
		if d := rt.body.decode; d != nil {
			filled[checkDecoder(t, name, d)] = true
		}
	}
	for _, f := range decodedFields() {
		if !filled[f.Name] {
			t.Errorf("Request.%s is a decoded body that no route's decoder fills", f.Name)
		}
	}
	if len(filled) < 15 {
		t.Fatalf("only %d decoded-body fields filled; the walk is broken", len(filled))
	}
}

// checkDecoder runs d on the empty value of its JSON kind and returns the
// one field of Request it filled.
func checkDecoder(t *testing.T, name string, d *decoder) string {
	t.Helper()
	body := "{}"
	if d.typ.Kind() == reflect.Slice {
		body = "[]"
	}
	r := &Request{Query: url.Values{}}
	if err := d.decode(r, []byte(body)); err != nil {
		t.Errorf("%s: decoding %s: %v", name, body, err)
		return ""
	}
	rv := reflect.ValueOf(r).Elem()
	var set []string
	for _, f := range decodedFields() {
		v := rv.FieldByIndex(f.Index)
		if v.IsNil() {
			continue
		}
		set = append(set, f.Name)
		typ := f.Type
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ != d.typ {
			t.Errorf("%s: fills Request.%s (%s), declares %s", name, f.Name, typ, d.typ)
		}
	}
	if len(set) != 1 {
		t.Errorf("%s: decoding %s fills %v, want exactly one decoded body", name, body, set)
		return ""
	}
	return set[0]
}

// decodedFields are Request's decoded-body fields: those after
// ContentType, by the struct's declared order.
func decodedFields() []reflect.StructField {
	rt := reflect.TypeFor[Request]()
	var out []reflect.StructField
	after := false
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if after {
			out = append(out, f)
		}
		after = after || f.Name == "ContentType"
	}
	return out
}

func funcPtr(f func(*Request, *Names)) uintptr {
	if f == nil {
		return 0
	}
	return reflect.ValueOf(f).Pointer()
}

// TestNames pins what the audit record shows of requests whose route reads
// names from the query or the body.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		method, uri, body string
		want              Names
	}{
		{"POST", "/containers/create?name=web", `{"Image":"bb"}`, Names{Container: "web", Image: "bb"}},
		{"POST", "/containers/c1/exec", `{"Cmd":["sh"]}`, Names{Container: "c1"}},
		{"POST", "/commit?container=c1&repo=r&tag=t", "", Names{Container: "c1", Image: "r:t"}},
		{"POST", "/images/create?fromImage=bb&tag=1", "", Names{Image: "bb:1"}},
		{"POST", "/images/create?fromSrc=-&repo=mine", "", Names{Image: "mine"}},
		{"POST", "/build?t=x:1", "", Names{Image: "x:1"}},
		{"POST", "/images/bb/tag?repo=r&tag=2", "", Names{Image: "bb", Object: "r:2"}},
		{"POST", "/volumes/create", `{"Name":"v1"}`, Names{Volume: "v1"}},
		{"POST", "/networks/create", `{"Name":"n1"}`, Names{Network: "n1"}},
		{"POST", "/networks/n1/connect", `{"Container":"c1"}`, Names{Network: "n1", Container: "c1"}},
		{"POST", "/networks/n1/disconnect", `{"Container":"c1"}`, Names{Network: "n1", Container: "c1"}},
		{"POST", "/services/create", `{"Name":"s1"}`, Names{Object: "s1"}},
		{"POST", "/services/s1/update?rollback=previous", `{"Name":"s1"}`, Names{Object: "s1"}},
		{"DELETE", "/containers/c1/checkpoints/cp", "", Names{Container: "c1"}},
		{"GET", "/exec/e1/json", "", Names{Exec: "e1"}},
		{"GET", "/info", "", Names{}},
	} {
		h := map[string]string{"Content-Length": "0"}
		if tc.body != "" {
			h = map[string]string{"Content-Type": "application/json"}
		}
		r, err := Parse(tc.method, tc.uri, h, []byte(tc.body))
		if err != nil && !strings.Contains(err.Error(), CodeBodyMissing) {
			t.Fatalf("%s %s: %v", tc.method, tc.uri, err)
		}
		if got := r.Names(); got != tc.want {
			t.Errorf("%s %s: Names() = %+v, want %+v", tc.method, tc.uri, got, tc.want)
		}
	}
}
