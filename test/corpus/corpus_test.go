package corpus

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Both recordings are in the repository, read, and hold the requests the
// tests and benchmarks pick by step.
func TestRecordings(t *testing.T) {
	for _, name := range Recordings {
		entries := Named(t, name)
		steps := map[string]bool{}
		for _, e := range entries {
			if e.Recording != name {
				t.Errorf("%s: entry says it is from %s", name, e.Recording)
			}
			steps[e.Step] = true
		}
		for _, s := range []string{"version", "run", "run-hardened", "run-host-binds", "stop", "exec-privileged", "build"} {
			if !steps[s] {
				t.Errorf("%s: no step %s", name, s)
			}
		}
	}
}

func TestHeaderTextRoundTrips(t *testing.T) {
	for _, h := range []map[string]string{
		{},
		{"Content-Type": "application/json", "Content-Length": "12"},
		{"X-Odd": "a: b", "Empty": ""},
	} {
		if got := ParseHeaderText(HeaderText(h)); !reflect.DeepEqual(got, h) {
			t.Errorf("%v -> %q -> %v", h, HeaderText(h), got)
		}
	}
	if got := ParseHeaderText("no colon\n\nA:b"); !reflect.DeepEqual(got, map[string]string{"no colon": "", "A": "b"}) {
		t.Errorf("got %v", got)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"unknown field", `{"name":"x","method":"GET","uri":"/","expect":"allow"}`, "unknown field"},
		{"no uri", `{"name":"x","method":"GET"}`, "no method or URI"},
		{"both bodies", `{"name":"x","method":"POST","uri":"/","body":{},"body_base64":"e30K"}`, "both"},
		{"bad base64", `{"name":"x","method":"POST","uri":"/","body_base64":"%%"}`, "body_base64"},
	} {
		p := filepath.Join(t.TempDir(), "t.jsonl")
		if err := os.WriteFile(p, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// The adversarial cases read, each with a file (control) and headers.
func TestAdversarialLoads(t *testing.T) {
	cases := Adversarial(t)
	if len(cases) < 100 {
		t.Fatalf("only %d adversarial cases", len(cases))
	}
	for _, c := range cases {
		if c.File == "" || c.RequestMethod() == "" {
			t.Fatalf("case %+v", c)
		}
	}
}
