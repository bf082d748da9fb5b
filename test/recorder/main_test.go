package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/test/corpus"
)

// Every body the daemon may forward is recorded so that BodyBytes gives
// back exactly those bytes, readable JSON where that is lossless.
func TestRecordedBodyRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		asJSON     bool
	}{
		{"the CLI's form", `{"Image":"bb","Cmd":["true"]}` + "\n", true},
		{"no trailing newline", `{"Image":"bb"}`, false},
		{"two newlines", `{"Image":"bb"}` + "\n\n", false},
		{"not compact", `{"Image": "bb"}` + "\n", false},
		{"not JSON", "Image=bb\n", false},
		{"invalid UTF-8", "{\"Image\":\"\xff\"}\n", false},
		{"escapes kept", `{"Image":"\u0062b"}` + "\n", true},
		{"no body", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "t.jsonl")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			step := filepath.Join(dir, "step")
			if err := os.WriteFile(step, []byte("run-x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := &recorder{out: f, stepFile: step}
			req := authorization.Request{RequestMethod: "POST", RequestURI: "/v1.52/containers/create",
				RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestBody: body}
			if res := r.AuthZReq(req); !res.Allow {
				t.Fatalf("not allowed: %+v", res)
			}
			f.Close()
			entries, err := corpus.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			e := entries[0]
			if !bytes.Equal(e.BodyBytes(), body) {
				t.Errorf("BodyBytes %q, want %q", e.BodyBytes(), body)
			}
			if (len(e.Body) > 0) != tc.asJSON {
				t.Errorf("kept as JSON: %v, want %v (%+v)", len(e.Body) > 0, tc.asJSON, e)
			}
			want := corpus.Entry{Step: "run-x", Name: "run-x POST /v1.52/containers/create", Method: "POST",
				URI: "/v1.52/containers/create", Headers: req.RequestHeaders, Recording: "t.jsonl",
				Body: e.Body, BodyBase64: e.BodyBase64}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("entry %+v, want %+v", e, want)
			}
		})
	}
}

// A record that cannot be written denies the request: a recording never
// silently misses traffic.
func TestRecorderDeniesWhenItCannotWrite(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // writes now fail
	r := &recorder{out: f}
	if res := r.AuthZReq(authorization.Request{RequestMethod: "GET", RequestURI: "/_ping"}); res.Allow || res.Msg == "" {
		t.Fatalf("allowed without a record: %+v", res)
	}
}
