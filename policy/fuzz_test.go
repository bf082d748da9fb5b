package policy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/policy/request"
)

// FuzzLoad: the loader never panics, and a Set comes only without errors.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"default.hcl", "teams/web.hcl", "teams/ops.hcl"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "policies", p))
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "p.hcl")
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		s, _, diags := policy.LoadFiles([]string{p})
		if (s != nil) == diags.HasErrors() {
			t.Fatalf("set=%v errors=%v", s != nil, diags.HasErrors())
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
