package request_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

// FuzzParse: arbitrary method, URI, headers and body never panic, and a
// request that parses without error has its decoded body where the action
// says it is. Headers come as "Key: value" lines (corpus.HeaderText).
// Seeded with a few hand-written requests, every recorded request (both
// daemons) and every adversarial case, headers included.
func FuzzParse(f *testing.F) {
	for _, e := range corpus.ForTest(f) {
		f.Add(e.Method, e.URI, corpus.HeaderText(e.Headers), e.BodyBytes())
	}
	for _, c := range corpus.Adversarial(f) {
		f.Add(c.RequestMethod(), c.URI, corpus.HeaderText(c.RequestHeaders()), c.RequestBody())
	}
	f.Add("POST", "/v1.41/containers/create?name=x", "Content-Type: application/json\n", []byte(`{"Image":"bb","HostConfig":{"Privileged":true,"Binds":["/:/h"]}}`))
	f.Add("POST", "/v01.041/containers/%63reate", "Content-Type: application/json; charset=utf-8\n", []byte(`{"image":"bb","hostconfig":{"privileged":true},"HostConfig":{"CapAdd":"ALL"}}`))
	f.Add("POST", "/containers/create", "Content-Type: application/json\n", []byte(`{"Image":"bb","Privileged":true}`))
	f.Add("POST", "/containers/x/exec", "Content-Type: application/json\n", []byte(`{"User":"0:0","Privileged":true,"Cmd":["sh"]}`))
	f.Add("POST", "/v1.23/containers/x/start", "", []byte(nil))
	f.Add("POST", "http://h/v1.41/plugins/pull?remote=x/auth", "Content-Type: application/json\n", []byte(`[]`))
	f.Add("GET", "/v1.41/containers/a/b/json", "", []byte(nil))
	f.Add("DELETE", "/containers/x/checkpoints/y", "", []byte(nil))
	f.Add("POST", "/services/create", "Content-Type: application/json\n", []byte(`{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"Type":"bind","Source":"/"}]}}}`))
	f.Fuzz(func(t *testing.T, method, uri, headers string, body []byte) {
		r, err := request.Parse(method, uri, corpus.ParseHeaderText(headers), body)
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
