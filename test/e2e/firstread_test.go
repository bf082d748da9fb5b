//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestOwnershipFirstReadingPrompt: after the plugin starts with no state
// beside a running daemon, the daemon's containers are known as soon as
// the container list answers, without waiting for the volume list (which
// the daemon answers only after asking every plugin spec in
// /etc/docker/plugins whether it is a volume driver, about 15 s for each
// that does not answer; other tests' plugins leave such specs). Evidence
// of the reading: a container created before is judged "has no recorded
// owner" rather than "cannot be resolved yet".
func TestOwnershipFirstReadingPrompt(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": ownershipPolicy}})
	waitReconciled(t, e.Plugin, 1)
	web := e.Daemon.As(t, "web-dev1", "web")
	RequireOK(t, web.Docker("create", "--name", "fr-web", e.Image, "true"))

	before, _ := os.ReadFile(e.Plugin.LogFile)
	n := strings.Count(string(before), "ownership reconciled with the daemon")
	if err := e.Plugin.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(e.Plugin.StateDir); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.Plugin.Start(); err != nil {
		t.Fatal(err)
	}
	r := web.Docker("container", "inspect", "fr-web")
	first := time.Since(start)
	e.RequireDenied(t, r, "has no recorded owner")
	t.Logf("first judged request after the plugin started: %v", first)
	if first > 5*time.Second {
		t.Errorf("the first reading took %v after the plugin started", first)
	}
	waitReconciled(t, e.Plugin, n+1)
	t.Logf("full reconciliation (volumes included) after %v", time.Since(start))
}
