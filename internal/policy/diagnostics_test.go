package policy_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis/portcullis/internal/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

// TestDiagnostics loads each testdata/diagnostics/*.hcl alone and compares
// the printed diagnostics with its .golden file.
func TestDiagnostics(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "diagnostics", "*.hcl"))
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			s, files, diags := policy.LoadFiles([]string{p})
			if s != nil || !diags.HasErrors() {
				t.Fatal("loaded without errors")
			}
			var buf bytes.Buffer
			if err := policy.WriteDiagnostics(&buf, files, diags); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(p, ".hcl")+".golden", buf.Bytes())
		})
	}
}
