//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shippedDefault is examples/policies/default.hcl, with edits applied
// (old, new pairs) that must each match once.
func shippedDefault(t testing.TB, edits ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "policies", "default.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(edits); i += 2 {
		if strings.Count(s, edits[i]) != 1 {
			t.Fatalf("default.hcl: %q does not occur once", edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return s
}

// shippedBindAllow is the bind_allow line of the shipped default; tests
// that bind a temporary directory add it with allowBind.
const shippedBindAllow = `bind_allow = ["/home/$user", "/srv/$team", "/srv/scratch"]`

// allowBind is the edit (for shippedDefault) that adds paths to the
// shipped default's bind roots.
func allowBind(paths ...string) []string {
	line := strings.TrimSuffix(shippedBindAllow, "]")
	for _, p := range paths {
		line += fmt.Sprintf(", %q", p)
	}
	return []string{shippedBindAllow, line + "]"}
}

// TestDefaultsSetuidThroughBind: under the shipped default policy, a
// container that may run as root gets no writable host path, in every
// form (-v, --mount, a service mount, a local volume with bind options);
// read-only is allowed, and so is a writable bind for a uid:gid with
// no-new-privileges. With the bind allowed, root in the container could
// leave a setuid-root program for any host user (moby/moby#36020).
func TestDefaultsSetuidThroughBind(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(ShortTempDir(t), "w")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // for uid 1000 in the container
		t.Fatal(err)
	}
	// Volumes that bind host paths allowed too, to judge that form, and
	// the test's directory a bind root (the shipped roots are the
	// caller's home and team directory, and the scratch root).
	def := shippedDefault(t, append(allowBind(dir),
		"volume_host_paths  = false", "volume_host_paths  = true",
		"host_paths = false", "host_paths = true")...)
	e := NewEnv(t, Options{PolicyFiles: map[string]string{"default.hcl": def}, PluginArgs: []string{"--host-root", "/"}})

	const escalate = "cp /bin/busybox /w/sh && chmod 4755 /w/sh"
	t.Run("-v writable as the image's user", func(t *testing.T) {
		e.RequireDenied(t, e.Docker("run", "--rm", "-v", dir+":/w", e.Image, "sh", "-c", escalate), "mounts.root_writable", "to fix: mount it read-only")
	})
	t.Run("-v writable as root", func(t *testing.T) {
		e.RequireDenied(t, e.Docker("run", "--rm", "-u", "0:0", "--security-opt", "no-new-privileges", "-v", dir+":/w:rw", e.Image, "sh", "-c", escalate), "mounts.root_writable")
	})
	t.Run("-v writable as uid 1000 without no-new-privileges", func(t *testing.T) {
		e.RequireDenied(t, e.Docker("run", "--rm", "-u", "1000:1000", "-v", dir+":/w", e.Image, "true"), "mounts.root_writable", "no-new-privileges")
	})
	t.Run("--mount type=bind writable", func(t *testing.T) {
		e.RequireDenied(t, e.Docker("run", "--rm", "--mount", "type=bind,source="+dir+",target=/w", e.Image, "sh", "-c", escalate), "mounts.root_writable")
	})
	t.Run("--mount readonly but not recursively", func(t *testing.T) {
		r := e.Docker("run", "--rm", "--mount", "type=bind,source="+dir+",target=/w,readonly,bind-recursive=writable", e.Image, "true")
		e.RequireDenied(t, r, "mounts.root_writable")
	})
	t.Run("service mount writable", func(t *testing.T) {
		// Judged before the daemon looks for a swarm: the plugin's
		// answer is the one that counts.
		body := `{"Name":"esc","TaskTemplate":{"ContainerSpec":{"Image":"` + e.Image + `","Mounts":[{"Type":"bind","Source":"` + dir + `","Target":"/w"}]}}}`
		resp, out, err := e.Daemon.Do("POST", e.Daemon.API("/services/create"), http.Header{"Content-Type": {"application/json"}}, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "mounts.root_writable") {
			t.Fatalf("service create: %d %s", resp.StatusCode, out)
		}
	})
	t.Run("local volume with bind options", func(t *testing.T) {
		e.RequireDenied(t, e.Docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device="+dir, "esc"), "mounts.root_writable")
		e.RequireDenied(t, e.Docker("run", "--rm", "--mount", "type=volume,target=/w,volume-opt=type=none,volume-opt=o=bind,volume-opt=device="+dir, e.Image, "true"), "mounts.root_writable")
	})
	t.Run("read-only is allowed in every form", func(t *testing.T) {
		RequireOK(t, e.Docker("run", "--rm", "-v", dir+":/w:ro", e.Image, "true"))
		RequireOK(t, e.Docker("run", "--rm", "--mount", "type=bind,source="+dir+",target=/w,readonly", e.Image, "true"))
		RequireOK(t, e.Docker("volume", "create", "-o", "type=none", "-o", "o=bind,ro", "-o", "device="+dir, "rov"))
		r := e.Docker("run", "--rm", "-v", dir+":/w:ro", e.Image, "sh", "-c", escalate)
		RequireAllowed(t, r)
		if r.ExitCode == 0 {
			t.Fatalf("wrote through a read-only bind: %s", r)
		}
		if _, err := os.Stat(filepath.Join(dir, "sh")); err == nil {
			t.Fatal("the setuid program reached the host")
		}
	})
	t.Run("a uid:gid with no-new-privileges may write", func(t *testing.T) {
		RequireOK(t, e.Docker("run", "--rm", "-u", "1000:1000", "--security-opt", "no-new-privileges", "-v", dir+":/w", e.Image, "sh", "-c", "echo ok > /w/f"))
		fi, err := os.Stat(filepath.Join(dir, "f"))
		if err != nil || fi.Mode()&os.ModeSetuid != 0 {
			t.Fatalf("stat: %v %v", fi, err)
		}
	})
	t.Run("docker cp into that container is denied", func(t *testing.T) {
		// The daemon would extract the archive as root, setuid bits kept,
		// through the writable bind.
		RequireOK(t, e.Docker("create", "--name", "defaults-cp", "-u", "1000:1000", "--security-opt", "no-new-privileges", "-v", dir+":/w", e.Image, "true"))
		// The request docker cp sends, sent directly: the CLI first
		// checks the destination, which on some daemons fails for a
		// container that has not started (its binds are mounted only
		// when it runs), before anything reaches the plugin. The
		// plugin's decision on the extraction is what this checks.
		hdr := http.Header{"Content-Type": {"application/x-tar"}}
		resp, out, err := e.Daemon.Do("PUT", e.Daemon.API("/containers/defaults-cp/archive?path=/w"), hdr, strings.NewReader(strings.Repeat("\x00", 1024)))
		if err != nil || resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "container.archive.put") || !strings.Contains(string(out), "docker exec -i") {
			t.Fatalf("PUT archive into defaults-cp: %v %v %.400s, want a container.archive.put denial that says to use docker exec -i", err, resp, out)
		}
		// Copying out stays allowed: the recorded traffic's cp-from step
		// (internal/policy's corpus test) pins that for the shipped
		// policies.
	})
}

// TestDefaultsSocketBinds: a socket under an allowed path is denied as a
// bind source, read-only too: the private daemon's own API socket (learnt
// from its command line), the directory holding it, and any other Unix
// socket; a plain file beside them is allowed.
func TestDefaultsSocketBinds(t *testing.T) {
	t.Parallel()
	base := ShortTempDir(t)
	other := filepath.Join(base, "agent.sock")
	l, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	plain := filepath.Join(base, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// /tmp allowed, as the shipped default did before it had per-user
	// roots and as a team may: the daemon's socket lies below it.
	e := NewEnv(t, Options{PolicyFiles: map[string]string{"default.hcl": shippedDefault(t, allowBind("/tmp")...)}, PluginArgs: []string{"--host-root", "/"}})
	if !strings.HasPrefix(e.Daemon.Socket, "/tmp/") {
		t.Fatalf("the daemon's socket %s is not below /tmp, which this policy allows", e.Daemon.Socket)
	}
	// The plugin started before this daemon and learns the daemons'
	// sockets from the process table at most once a second: until it
	// has, the daemon's socket is still denied (as an unknown socket,
	// mounts.socket); wait, bounded, for it to be judged as the
	// daemon's, then check the directory that holds it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.Docker("run", "--rm", "-v", e.Daemon.Socket+":/s:ro", e.Image, "true")
		if strings.Contains(r.Stderr, "mounts.docker_socket") || time.Now().After(deadline) {
			e.RequireDenied(t, r, "mounts.docker_socket", e.Daemon.Socket)
			break
		}
		e.RequireDenied(t, r, "mounts.socket", e.Daemon.Socket)
		time.Sleep(500 * time.Millisecond)
	}
	e.RequireDenied(t, e.Docker("run", "--rm", "-v", filepath.Dir(e.Daemon.Socket)+":/d:ro", e.Image, "true"), "mounts.docker_socket", "contains the socket")
	e.RequireDenied(t, e.Docker("run", "--rm", "--mount", "type=bind,source="+other+",target=/a.sock,readonly", e.Image, "true"), "mounts.socket", "to fix:")
	RequireOK(t, e.Docker("run", "--rm", "-v", plain+":/p:ro", e.Image, "true"))
}

// TestDefaultsBuild: the one-line build setting gives a team builds (the
// classic builder, judged by its query) while the default denies them
// and says how to get them.
func TestDefaultsBuild(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"default.hcl": shippedDefault(t),
		"builders.hcl": `team "builders" {
  users = ["defaults-builder"]
}
policy "builders" {
  extends = "default"
  build {
    allow = true
  }
}
`,
	}
	e := NewEnv(t, Options{TLS: true, PolicyFiles: files})
	ctx := ShortTempDir(t)
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM "+e.Image+"\nRUN echo built > /built\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	classic := DockerOpts{Env: []string{"DOCKER_BUILDKIT=0"}}
	builder := e.Daemon.As(t, "defaults-builder")
	other := e.Daemon.As(t, "defaults-other")

	RequireOK(t, builder.DockerOpts(classic, "build", "-t", "defaults-built:1", ctx))
	r := builder.DockerOpts(classic, "build", "--network", "host", "-t", "defaults-built:2", ctx)
	e.RequireDenied(t, r, "build.network_mode", "to fix:")
	r = other.DockerOpts(classic, "build", "-t", "defaults-built:3", ctx)
	e.RequireDenied(t, r, "actions.denied", "image.build", "build { allow = true }")
}
