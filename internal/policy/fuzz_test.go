package policy_test

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
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

// FuzzDecide: random create bodies through request.Parse and Decide never
// panic, and a body that does not parse is never allowed.
func FuzzDecide(f *testing.F) {
	for _, e := range readCorpus(f) {
		if e.Method == "POST" && e.body() != nil {
			f.Add(e.URI, []byte(e.body()))
		}
	}
	s := loadExamples(f)
	ids := []request.Identity{{}, {User: "nobody1"}, {User: "web-dev1", OrganizationalUnits: []string{"web"}}, {User: "ops-x"}}
	f.Fuzz(func(t *testing.T, uri string, body []byte) {
		h := map[string]string{"Content-Type": "application/json", "Content-Length": "1"}
		_, perr := request.Parse("POST", uri, h, body)
		for _, id := range ids {
			d := s.DecideRequest(id, "POST", uri, h, body)
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
