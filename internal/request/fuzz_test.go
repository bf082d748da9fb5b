package request_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// FuzzParse: arbitrary method, URI, content type and body never panic, and
// a request that parses without error has its decoded body where the
// action says it is.
func FuzzParse(f *testing.F) {
	f.Add("POST", "/v1.41/containers/create?name=x", "application/json", []byte(`{"Image":"bb","HostConfig":{"Privileged":true,"Binds":["/:/h"]}}`))
	f.Add("POST", "/v01.041/containers/%63reate", "application/json; charset=utf-8", []byte(`{"image":"bb","hostconfig":{"privileged":true},"HostConfig":{"CapAdd":"ALL"}}`))
	f.Add("POST", "/containers/create", "application/json", []byte(`{"Image":"bb","Privileged":true}`))
	f.Add("POST", "/containers/x/exec", "application/json", []byte(`{"User":"0:0","Privileged":true,"Cmd":["sh"]}`))
	f.Add("POST", "/v1.23/containers/x/start", "", []byte(nil))
	f.Add("POST", "http://h/v1.41/plugins/pull?remote=x/auth", "application/json", []byte(`[]`))
	f.Add("GET", "/v1.41/containers/a/b/json", "", []byte(nil))
	f.Add("DELETE", "/containers/x/checkpoints/y", "", []byte(nil))
	f.Add("POST", "/services/create", "application/json", []byte(`{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"Type":"bind","Source":"/"}]}}}`))
	f.Fuzz(func(t *testing.T, method, uri, ct string, body []byte) {
		r, err := request.Parse(method, uri, map[string]string{"Content-Type": ct}, body)
		if err != nil {
			if _, ok := request.AsError(err); !ok {
				t.Fatalf("error %v is not a *request.Error", err)
			}
			return
		}
		if r == nil {
			t.Fatal("nil request without error")
		}
		if len(body) > 0 && r.Action == "container.create" && r.ContainerCreate == nil {
			t.Fatal("create with body parsed but not decoded")
		}
		if len(body) == 0 && r.Action == "container.create" {
			t.Fatal("create without body accepted")
		}
		if r.Action == "container.start" && len(body) > 0 {
			t.Fatal("start with body accepted")
		}
	})
}
