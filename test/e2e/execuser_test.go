//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestOwnershipExecImageUser: a container created with no user runs as
// its image's USER (the daemon copies it into the container's config at
// create), and a plain exec runs as that user: the plugin reads it from
// the image and judges the exec by it. With exec.allow_root_user = false
// (team data), a plain exec into a container whose image sets USER 1000
// is allowed and runs as 1000, while -u root into it is denied; a plain
// exec into a container whose image sets no USER is root exec.
func TestOwnershipExecImageUser(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": ownershipPolicy}})
	waitReconciled(t, e.Plugin, 1)
	data := e.Daemon.As(t, "data-dev1", "data") // exec.allow_root_user = false

	// An image whose USER is 1000: the test image, committed with a change.
	RequireOK(t, data.Docker("create", "--name", "eu-src", e.Image, "true"))
	RequireOK(t, data.Docker("commit", "--change", "USER 1000", "eu-src", "portcullis-e2e/user1000:1"))
	RequireOK(t, data.Docker("run", "-d", "--name", "eu-1000", "portcullis-e2e/user1000:1", "sleep", "600"))
	RequireOK(t, data.Docker("run", "-d", "--name", "eu-root", e.Image, "sleep", "600"))
	if u := data.Docker("inspect", "--format", "{{.Config.User}}", "eu-1000"); strings.TrimSpace(u.Stdout) != "1000" {
		t.Fatalf("the daemon did not copy the image's USER into the container: %s", u)
	}

	// The plugin reads the image's user when it sees the container's
	// create event; until then the user is unknown and judged as root
	// (empty_user_is_root). Evidence it was read: the plain exec is
	// allowed (bounded wait).
	var r Result
	if !waitFor(10*time.Second, func() bool { r = data.Docker("exec", "eu-1000", "id", "-u"); return r.ExitCode == 0 }) {
		t.Fatalf("plain exec into a container whose image sets USER 1000: %s\n%s", r, r.Stderr)
	}
	if got := strings.TrimSpace(r.Stdout); got != "1000" {
		t.Errorf("plain exec ran as %q, want 1000", got)
	}
	e.RequireDenied(t, data.Docker("exec", "-u", "root", "eu-1000", "true"), "exec.root")
	e.RequireDenied(t, data.Docker("exec", "eu-root", "true"), "exec.root", "so root")
	e.RequireDenied(t, data.Docker("exec", "-u", "0", "eu-root", "true"), "exec.root")

}
