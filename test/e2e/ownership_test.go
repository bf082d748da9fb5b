//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ownershipPolicy: everyday work allowed to everyone, teams isolated by
// ownership; admins act on everything; team "data" may not exec as root.
const ownershipPolicy = `
policy "default" {
  actions {
    allow = ["system.*", "options", "container.*", "exec.*", "image.*", "volume.*", "network.*", "commit"]
  }
  ownership {
    enforce = true
    others  = []
    unowned = "admins"
  }
}

team "web" {
  ous = ["web"]
}
policy "web" {
  extends = "default"
}

team "data" {
  ous = ["data"]
}
policy "data" {
  extends = "default"
  exec {
    allow_root_user = false
  }
}

team "admins" {
  ous = ["admins"]
}
policy "admins" {
  extends = "default"
  ownership {
    admin = true
  }
}
`

// waitReconciled waits until the plugin's log reports its n-th
// reconciliation with the daemon: the evidence that names and id
// prefixes resolve.
func waitReconciled(t *testing.T, p *Plugin, n int) {
	t.Helper()
	ok := waitFor(20*time.Second, func() bool {
		b, _ := os.ReadFile(p.LogFile)
		return strings.Count(string(b), "ownership reconciled with the daemon") >= n
	})
	if !ok {
		t.Fatalf("the plugin did not reconcile with the daemon (%d times):\n%s", n, tailFile(p.LogFile, 40))
	}
}

// inspectID is a container's full id, read on the Unix socket by an
// admin-like path: the test's own view, not a judged request.
func fullID(t *testing.T, c *Client, ref string) string {
	t.Helper()
	r := c.Docker("inspect", "--format", "{{.Id}}", ref)
	RequireOK(t, r)
	id := strings.TrimSpace(r.Stdout)
	if len(id) != 64 {
		t.Fatalf("inspect %s: id %q", ref, id)
	}
	return id
}

// TestOwnership: web's container, volume and network are web's. Data
// and a user in no team cannot act on them by any spelling of their
// names, before and after a rename, a plugin restart and a kill -9; web
// can; admins can; objects created while the plugin was away are
// unowned.
func TestOwnership(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": ownershipPolicy}})
	waitReconciled(t, e.Plugin, 1)
	web := e.Daemon.As(t, "web-dev1", "web")
	data := e.Daemon.As(t, "data-dev1", "data")
	loner := e.Daemon.As(t, "loner1")
	admin := e.Daemon.As(t, "admin1", "admins")

	RequireOK(t, web.Docker("run", "-d", "--name", "ow-web", e.Image, "sleep", "600"))
	RequireOK(t, web.Docker("volume", "create", "ow-webvol"))
	netCreated := web.Docker("network", "create", "--internal", "ow-webnet")
	RequireAllowed(t, netCreated)
	id := fullID(t, web, "ow-web")

	// Data's own container, to connect and to refer from.
	RequireOK(t, data.Docker("create", "--name", "ow-data", e.Image, "sleep", "600"))

	theirs := "belongs to team web"
	actions := func(ref string) [][]string {
		cp := []string{"cp", ref + ":/etc/hostname", "-"}
		if strings.HasPrefix(ref, "/") {
			// The CLI reads "/name:path" as a local path.
			cp = []string{"inspect", "--type", "container", ref}
		}
		return [][]string{
			{"exec", ref, "true"},
			{"inspect", ref},
			{"logs", ref},
			cp,
			{"stop", "-t", "0", ref},
			{"kill", ref},
			{"restart", "-t", "0", ref},
			{"pause", ref},
			{"update", "--cpu-shares", "512", ref},
			{"rename", ref, "ow-stolen"},
			{"commit", ref, "ow-stolen:1"},
			{"export", "-o", filepath.Join(e.Dir, "export.tar"), ref},
			{"rm", "-f", ref},
			{"create", "--volumes-from", ref, e.Image, "true"},
			{"create", "--network", "container:" + ref, e.Image, "true"},
			{"create", "--link", ref + ":alias", e.Image, "true"},
		}
	}
	// denyAll: every action, by every spelling, for data; the same
	// actions by name for the user in no team.
	denyAll := func(t *testing.T, name string) {
		t.Helper()
		for _, ref := range []string{name, "/" + name, id, id[:12]} {
			for _, args := range actions(ref) {
				e.RequireDenied(t, data.Docker(args...), theirs)
			}
		}
		for _, args := range actions(name) {
			e.RequireDenied(t, loner.Docker(args...), theirs)
		}
		e.RequireDenied(t, data.DockerOpts(DockerOpts{Timeout: 20 * time.Second}, "attach", name), theirs)
	}
	// denySome: a few actions by name and by id prefix (after a rename,
	// a restart, a kill -9: what changes is the store, not the actions).
	denySome := func(t *testing.T, name string) {
		t.Helper()
		for _, ref := range []string{name, id[:7]} {
			for _, args := range [][]string{{"exec", ref, "true"}, {"inspect", ref}, {"rm", "-f", ref},
				{"create", "--volumes-from", ref, e.Image, "true"}} {
				e.RequireDenied(t, data.Docker(args...), theirs)
			}
		}
	}
	webCan := func(t *testing.T, name string) {
		t.Helper()
		for _, ref := range []string{name, "/" + name, id, id[:12]} {
			RequireOK(t, web.Docker("exec", ref, "true"))
		}
		RequireOK(t, web.Docker("inspect", name))
		RequireOK(t, web.Docker("logs", name))
	}

	t.Run("container by name, id and prefix", func(t *testing.T) {
		denyAll(t, "ow-web")
		webCan(t, "ow-web")
	})

	t.Run("volume and network", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "-v", "ow-webvol:/x", e.Image, "true"},
			{"create", "--mount", "source=ow-webvol,target=/x", e.Image, "true"},
			{"volume", "inspect", "ow-webvol"},
			{"volume", "rm", "ow-webvol"},
		} {
			e.RequireDenied(t, data.Docker(args...), "volume", theirs)
		}
		RequireOK(t, web.Docker("volume", "inspect", "ow-webvol"))
		if netCreated.ExitCode != 0 {
			t.Logf("network create failed on this daemon (not a plugin decision): %s", netCreated)
			return
		}
		netID := strings.TrimSpace(netCreated.Stdout)
		for _, ref := range []string{"ow-webnet", netID, netID[:12]} {
			e.RequireDenied(t, data.Docker("network", "connect", ref, "ow-data"), "network", theirs)
			e.RequireDenied(t, data.Docker("network", "inspect", ref), theirs)
			e.RequireDenied(t, data.Docker("network", "rm", ref), theirs)
			e.RequireDenied(t, data.Docker("create", "--network", ref, e.Image, "true"), theirs)
		}
		// Web connecting data's container to web's network: the
		// container is data's.
		e.RequireDenied(t, web.Docker("network", "connect", "ow-webnet", "ow-data"), "belongs to team data")
		RequireOK(t, web.Docker("network", "inspect", "ow-webnet"))
	})

	t.Run("user in no team owns alone", func(t *testing.T) {
		RequireOK(t, loner.Docker("create", "--name", "ow-loner", e.Image, "true"))
		e.RequireDenied(t, web.Docker("inspect", "ow-loner"), "belongs to user loner1")
		e.RequireDenied(t, e.Daemon.As(t, "loner2").Docker("inspect", "ow-loner"), "belongs to user loner1")
		RequireOK(t, loner.Docker("inspect", "ow-loner"))
	})

	t.Run("admins act on all", func(t *testing.T) {
		RequireOK(t, admin.Docker("inspect", "ow-web"))
		RequireOK(t, admin.Docker("exec", id[:12], "true"))
		RequireOK(t, admin.Docker("volume", "inspect", "ow-webvol"))
	})

	name := "ow-web"
	t.Run("after a rename", func(t *testing.T) {
		r := web.Docker("rename", "ow-web", "ow-web2")
		RequireAllowed(t, r)
		if r.ExitCode != 0 {
			// Engine 29 refuses renames on a daemon with --bridge none
			// ("network bridge not found"): not a plugin decision.
			t.Skipf("the daemon refused the rename: %s", r.Stderr)
		}
		name = "ow-web2"
		denySome(t, name)
		e.RequireDenied(t, data.Docker("inspect", "ow-web"), "ownership.unowned") // the old name is nobody's now
		webCan(t, name)
	})

	t.Run("after a plugin restart", func(t *testing.T) {
		if err := e.Plugin.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := e.Plugin.Start(); err != nil {
			t.Fatal(err)
		}
		waitReconciled(t, e.Plugin, 2)
		denySome(t, name)
		webCan(t, name)
	})

	t.Run("after kill -9", func(t *testing.T) {
		RequireOK(t, web.Docker("create", "--name", "ow-web3", e.Image, "true"))
		e.Plugin.Kill()
		if err := e.Plugin.Start(); err != nil {
			t.Fatal(err)
		}
		waitReconciled(t, e.Plugin, 3)
		e.RequireDenied(t, data.Docker("rm", "ow-web3"), theirs)
		denySome(t, name)
		RequireOK(t, web.Docker("rm", "ow-web3"))
	})
}

// TestOwnershipUnowned: a container created while the daemon ran
// without the plugin (as after a crash between a create and its
// response, the plugin never saw its owner) is unowned: with unowned =
// "admins" only an admin acts on it.
func TestOwnershipUnowned(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	pki := NewPKI(t, filepath.Join(dir, "tls"))
	// First the daemon alone: the container is created with no plugin.
	d := StartDaemon(t, DaemonConfig{Dir: filepath.Join(dir, "d"), PKI: pki})
	d.ImportImage(t, TestImage)
	RequireOK(t, d.Docker("create", "--name", "ow-before", TestImage, "true"))
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if first := filepath.Join(dir, "d", "data0"); d.DataRoot != first {
		// StartDaemon picks data<i> by the storage driver's place in its
		// list; once a driver is chosen it is data0.
		if err := os.Rename(d.DataRoot, first); err != nil {
			t.Fatal(err)
		}
	}
	p := StartPlugin(t, PluginConfig{
		Dir:         filepath.Join(dir, "p"),
		PolicyFiles: map[string]string{"default.hcl": ownershipPolicy},
		DockerHost:  "unix://" + filepath.Join(dir, "d", "docker.sock"),
	})
	d = StartDaemon(t, DaemonConfig{Dir: filepath.Join(dir, "d"), PKI: pki, AuthzPlugins: []string{p.Name}})
	e := &Env{Dir: dir, Plugin: p, Daemon: d, Image: TestImage}
	waitReconciled(t, p, 1)

	web := d.As(t, "web-dev1", "web")
	admin := d.As(t, "admin1", "admins")
	e.RequireDenied(t, web.Docker("inspect", "ow-before"), "ownership.unowned", "only administrators")
	e.RequireDenied(t, web.Docker("rm", "ow-before"), "ownership.unowned")
	RequireOK(t, admin.Docker("inspect", "ow-before"))
	RequireOK(t, admin.Docker("rm", "ow-before"))
}

// TestOwnershipExecUser: an exec with no user runs as the container's
// user and is judged as that user, so it gets the same decision as
// naming that user with -u.
func TestOwnershipExecUser(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": ownershipPolicy}})
	waitReconciled(t, e.Plugin, 1)
	data := e.Daemon.As(t, "data-dev1", "data") // exec.allow_root_user = false
	web := e.Daemon.As(t, "web-dev1", "web")    // root exec allowed

	RequireOK(t, data.Docker("run", "-d", "--name", "ow-root", e.Image, "sleep", "600"))
	RequireOK(t, data.Docker("run", "-d", "--name", "ow-1000", "--user", "1000", e.Image, "sleep", "600"))

	// Into a root container: plain exec is root exec.
	e.RequireDenied(t, data.Docker("exec", "ow-root", "true"), "exec.root")
	e.RequireDenied(t, data.Docker("exec", "-u", "root", "ow-root", "true"), "exec.root")
	RequireOK(t, data.Docker("exec", "-u", "1000", "ow-root", "true"))
	// Into a container that runs as 1000: plain exec runs as 1000.
	RequireOK(t, data.Docker("exec", "ow-1000", "true"))
	e.RequireDenied(t, data.Docker("exec", "-u", "0", "ow-1000", "true"), "exec.root")

	RequireOK(t, web.Docker("run", "-d", "--name", "ow-webroot", e.Image, "sleep", "600"))
	RequireOK(t, web.Docker("exec", "ow-webroot", "true"))
	RequireOK(t, web.Docker("exec", "-u", "0", "ow-webroot", "true")) // the image has no /etc/passwd: 0, not root
}
