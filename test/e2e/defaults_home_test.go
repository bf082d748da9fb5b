//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultsHomeBind: the shipped default gives each caller their own
// home (/home/$user, $user from the TLS certificate's CN) and nobody
// else's; a request with no identity (the Unix socket) gets none, only
// the scratch root /srv/scratch. /tmp is nobody's.
// -v "$PWD":/app from a project in the caller's home is allowed, as a
// uid:gid with no-new-privileges (or read-only), and denied elsewhere.
func TestDefaultsHomeBind(t *testing.T) {
	t.Parallel()
	const alice, bob = "defaults-alice", "defaults-bob"
	var proj [2]string
	for i, u := range []string{alice, bob} {
		home := filepath.Join("/home", u)
		if _, err := os.Stat(home); err == nil {
			t.Fatalf("%s exists; remove it (left by an earlier run?)", home)
		}
		proj[i] = filepath.Join(home, "proj")
		if err := os.MkdirAll(proj[i], 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
	}
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": shippedDefault(t)}, PluginArgs: []string{"--host-root", "/"}})
	a := e.Daemon.As(t, alice)
	run := func(src string, extra ...string) []string {
		args := append([]string{"run", "--rm", "-u", "1000:1000", "--security-opt", "no-new-privileges"}, extra...)
		return append(args, "-v", src+":/app", e.Image, "true")
	}
	RequireOK(t, a.Docker(run(proj[0])...))
	RequireOK(t, a.Docker("run", "--rm", "-v", proj[0]+":/app:ro", e.Image, "true"))
	e.RequireDenied(t, a.Docker(run(proj[0][:len(proj[0])-len("/proj")]+"/../"+bob+"/proj")...), "mounts.bind")
	e.RequireDenied(t, a.Docker(run(proj[1])...), "mounts.bind", "/home/"+alice)
	e.RequireDenied(t, a.Docker(run("/opt/defaults-elsewhere")...), "mounts.bind")
	// /tmp, shared by every user, is no bind root; the denial lists the
	// caller's own roots.
	e.RequireDenied(t, a.Docker(run("/tmp")...), "mounts.bind", "(/home/"+alice+", /srv/scratch)")
	// No identity (the Unix socket without the gateway): no home, only
	// the scratch root. The source does not exist here: the daemon
	// refuses that --mount (it creates nothing) after the plugin allowed it.
	e.RequireDenied(t, e.Docker(run(proj[0])...), "mounts.bind")
	e.RequireDenied(t, e.Docker(run("/tmp")...), "mounts.bind", "(/srv/scratch)")
	RequireAllowed(t, e.Docker("run", "--rm", "--mount", "type=bind,source=/srv/scratch/defaults-home-absent,target=/s,readonly", e.Image, "true"))
}
