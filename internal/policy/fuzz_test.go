package policy_test

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

// TestMain shortens the fuzzer's minimization of new corpus entries from
// 60 s to 2 s unless -fuzzminimizetime is given. Its last pass removes
// every substring in turn, O(n^2) runs: for inputs grown from the 3-4 KB
// seeds (default.hcl, the deep nesting) it never finishes, so each new
// entry kept a worker busy for the whole minute and with two workers
// FuzzLoad made 0 executions a second for most of a run.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		given := false
		flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
		if !given {
			if err := flag.Set("test.fuzzminimizetime", "2s"); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}

// FuzzLoad: the loader never panics, a Set comes only without errors, and
// the diagnostics can be printed. Sources are loaded from memory: a
// temporary directory and file per run cost five times the load itself.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"default.hcl", "teams/web.hcl", "teams/ops.hcl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "policies", p))
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, files, diags := policy.LoadSource("p.hcl", src)
		if (s != nil) == diags.HasErrors() {
			t.Fatalf("set=%v errors=%v", s != nil, diags.HasErrors())
		}
		if err := policy.WriteDiagnostics(io.Discard, files, diags); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecide: random requests through request.Parse and Decide never
// panic, and a request that does not parse is never allowed. Headers come
// as "Key: value" lines (corpus.HeaderText). Seeded with every recorded
// request (both daemons), every adversarial case (its method, URI,
// headers and body) and a few hand-written bodies.
func FuzzDecide(f *testing.F) {
	for _, s := range []struct{ uri, body string }{
		{"/v1.41/containers/create", `{"Image":`},
		{"/v1.24/containers/create", `{"Image":"x","Privileged":true}`},
		{"/v1.41/containers/create", `{"Image":"x","HostConfig":{"Privileged":true,"Binds":["/var/run/docker.sock:/s"]}}`},
		{"/v1.41/services/create", `{"TaskTemplate":{"ContainerSpec":{"Image":"x","Privileges":{"Seccomp":{"Mode":"unconfined"}},"Mounts":[{"Type":"bind","Source":"/"}]}}}`},
		{"/v1.41/volumes/create", `{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`},
	} {
		f.Add("POST", s.uri, "Content-Type: application/json\nContent-Length: "+strconv.Itoa(len(s.body))+"\n", []byte(s.body))
	}
	for _, e := range corpus.ForTest(f) {
		f.Add(e.Method, e.URI, corpus.HeaderText(e.Headers), e.BodyBytes())
	}
	for _, c := range corpus.Adversarial(f) {
		f.Add(c.RequestMethod(), c.URI, corpus.HeaderText(c.RequestHeaders()), c.RequestBody())
	}
	s := loadExamples(f)
	ids := []request.Identity{{}, {User: "nobody1"}, {User: "web-dev1", OrganizationalUnits: []string{"web"}}, {User: "ops-x"}}
	f.Fuzz(func(t *testing.T, method, uri, headers string, body []byte) {
		h := corpus.ParseHeaderText(headers)
		_, perr := request.Parse(method, uri, h, body)
		for _, id := range ids {
			d := s.DecideRequest(id, method, uri, h, body)
			if perr != nil && d.Allow {
				t.Fatalf("unparseable request allowed: %v", perr)
			}
			if d.Allow && len(d.Violations) > 0 && d.Mode != "audit" {
				t.Fatalf("allowed with violations in enforce mode")
			}
			if !d.Allow && len(d.Violations) == 0 {
				t.Fatalf("denied without a violation")
			}
			_ = d.Message()
			if _, err := json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
	})
}
