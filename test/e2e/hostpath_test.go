//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// servesHostRoot reports whether the plugin binary has the --host-root
// flag that wires internal/hostpath's resolver into evaluation.
func servesHostRoot(t *testing.T) bool {
	t.Helper()
	out, _ := exec.Command(portcullisBin, "serve", "-h").CombinedOutput()
	return strings.Contains(string(out), "-host-root")
}

// TestHostPathSymlink: a symlink inside a directory the policy allows
// binding, pointing at /etc, is judged as /etc: denied with -v and with
// --mount type=bind, below it too; a loop is denied as unresolvable; the
// real directory next to it is allowed.
func TestHostPathSymlink(t *testing.T) {
	t.Parallel()
	if !servesHostRoot(t) {
		SkipOrFail(t, "portcullis serve has no --host-root flag yet: the path resolver (internal/hostpath) is not wired into serve")
	}
	allowed := filepath.Join(ShortTempDir(t), "allowed")
	if err := os.MkdirAll(filepath.Join(allowed, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"etc": "/etc", "up": "../../../../../../etc", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(allowed, link)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"default.hcl": `policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.*"]
  }
  container {
    bind_allow = ["` + allowed + `"]
  }
}
`}
	e := NewEnv(t, Options{PolicyFiles: files, PluginArgs: []string{"--host-root", "/"}})

	RequireOK(t, e.Docker("run", "--rm", "-v", filepath.Join(allowed, "real")+":/m:ro", e.Image, "true"))
	RequireOK(t, e.Docker("run", "--rm", "--mount", "type=bind,source="+filepath.Join(allowed, "real")+",target=/m,readonly", e.Image, "true"))

	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"-v symlink to /etc", []string{"-v", filepath.Join(allowed, "etc") + ":/m"}, "/etc"},
		{"-v symlink to /etc read-only", []string{"-v", filepath.Join(allowed, "etc") + ":/m:ro"}, "/etc"},
		{"-v below the symlink", []string{"-v", filepath.Join(allowed, "etc", "passwd") + ":/m:ro"}, "/etc/passwd"},
		{"-v relative symlink climbing to /etc", []string{"-v", filepath.Join(allowed, "up") + ":/m"}, "/etc"},
		{"--mount type=bind symlink to /etc", []string{"--mount", "type=bind,source=" + filepath.Join(allowed, "etc") + ",target=/m"}, "/etc"},
		{"-v symlink loop", []string{"-v", filepath.Join(allowed, "loop") + ":/m"}, "mounts.unresolvable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"create"}, tc.args...)
			args = append(args, e.Image, "true")
			e.RequireDenied(t, e.Docker(args...), tc.mention)
		})
	}
}
