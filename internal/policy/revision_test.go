package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
)

const revisionPolicy = `policy "default" {
  actions {
    allow = ["system.*"]
  }
}
`

func mustLoad(t *testing.T, dir string) *policy.Set {
	t.Helper()
	set, _, diags := policy.LoadDir(dir)
	if diags.HasErrors() || set == nil {
		t.Fatalf("LoadDir(%q): %v", dir, diags)
	}
	return set
}

// TestRevisionIgnoresHowTheDirectoryIsNamed: absolute, relative, "." and
// a symlink to the directory give one revision; a change of a file's
// contents or relative name changes it.
func TestRevisionIgnoresHowTheDirectoryIsNamed(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "policies")
	if err := os.MkdirAll(filepath.Join(dir, "teams"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.hcl"), []byte(revisionPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	want := mustLoad(t, dir).Revision()

	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(base); err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{"policies", "./policies/", "link", filepath.Join(base, "link"), filepath.Join(base, "policies", "teams", "..")} {
		if got := mustLoad(t, spelling).Revision(); got != want {
			t.Errorf("revision of %q is %s, of %q %s", spelling, got, dir, want)
		}
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, ".").Revision(); got != want {
		t.Errorf(`revision of "." is %s, want %s`, got, want)
	}
	if got, _, _ := policy.LoadFiles([]string{filepath.Join(dir, "default.hcl")}); got == nil || got.Revision() != want {
		t.Errorf("validate of the one file gives another revision than of its directory")
	}

	if err := os.Rename(filepath.Join(dir, "default.hcl"), filepath.Join(dir, "teams", "default.hcl")); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, dir).Revision(); got == want {
		t.Error("moving a file to another relative path kept the revision")
	}
}

// TestKubernetesConfigMapDirectory loads a directory laid out as a
// Kubernetes volume (files are symlinks into ..data, itself a symlink to
// a timestamped directory) and follows the atomic ..data swap.
func TestKubernetesConfigMapDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(ts, content string) {
		t.Helper()
		d := filepath.Join(dir, ts)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "default.hcl"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(ts, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write("..2026_01_01_00_00_00.1", revisionPolicy)
	if err := os.Symlink("..data/default.hcl", filepath.Join(dir, "default.hcl")); err != nil {
		t.Fatal(err)
	}
	first := mustLoad(t, dir)
	if got := first.Policies(); len(got) != 1 || got[0] != "default" {
		t.Fatalf("policies %v: the hidden directories were loaded too, or nothing", got)
	}
	write("..2026_01_02_00_00_00.2", revisionPolicy+"\n# changed\n")
	if second := mustLoad(t, dir); second.Revision() == first.Revision() {
		t.Error("the ..data swap was not seen")
	}
}

// TestAuditHealthCallsValue: only "record" and "summarize" load, and the
// diagnostic names the attribute.
func TestAuditHealthCallsValue(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{{"record", true}, {"summarize", true}, {"skip", false}, {"", false}} {
		dir := t.TempDir()
		src := "policy \"default\" {\n  audit_health_calls = \"" + tc.value + "\"\n  actions {\n    allow = [\"system.*\"]\n  }\n}\n"
		if err := os.WriteFile(filepath.Join(dir, "default.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, diags := policy.LoadDir(dir)
		if diags.HasErrors() == tc.ok {
			t.Errorf("audit_health_calls = %q: errors %v", tc.value, diags)
		}
		if !tc.ok && !strings.Contains(diags.Error(), "audit_health_calls") {
			t.Errorf("audit_health_calls = %q: the diagnostic does not name the attribute: %v", tc.value, diags)
		}
	}
}
