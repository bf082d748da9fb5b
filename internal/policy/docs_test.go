package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis/portcullis/internal/policy"
)

// The container block's attribute reference in docs/policy.md is
// generated from the declarations in controls.go, between these markers.
// go test ./internal/policy -run TestDocs -update rewrites it.
const (
	docsBegin = "<!-- BEGIN container attributes: generated from internal/policy/controls.go; go test ./internal/policy -run TestDocs -update -->\n"
	docsEnd   = "<!-- END container attributes -->\n"
)

// TestDocs fails when docs/policy.md's container attribute reference is
// not what the declarations say.
func TestDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "policy.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, docsBegin), strings.Index(doc, docsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", path, strings.TrimSpace(docsBegin), strings.TrimSpace(docsEnd))
	}
	got := doc[i+len(docsBegin) : j]
	want := policy.ControlsDoc()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc[:i+len(docsBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale (go test ./internal/policy -run TestDocs -update rewrites it):\n%s", path, cmp.Diff(got, want))
}
