//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cliPluginsBuildSh builds Docker Compose and buildx (or finds them cached)
// and prints the directory holding docker-compose and docker-buildx.
const cliPluginsBuildSh = "../../build/cli-plugins/build.sh"

var cliPlugins struct {
	once sync.Once
	dir  string
	err  error
}

// envCLIPlugins names a directory holding docker-compose and
// docker-buildx to use instead of building them.
const envCLIPlugins = "PORTCULLIS_E2E_CLI_PLUGINS"

// cliPluginDir is the directory of the docker CLI plugins the gateway's
// flow tests use, built on first use (`make e2e` builds them before the
// suite; a cached build costs well under a second).
func cliPluginDir(t *testing.T) string {
	t.Helper()
	cliPlugins.once.Do(func() {
		if dir := os.Getenv(envCLIPlugins); dir != "" {
			cliPlugins.dir = dir
			return
		}
		start := time.Now()
		cmd := exec.Command("bash", cliPluginsBuildSh)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			cliPlugins.err = fmt.Errorf("%s: %w", cliPluginsBuildSh, err)
			return
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		cliPlugins.dir = lines[len(lines)-1]
		fmt.Fprintf(os.Stderr, "e2e: docker CLI plugins in %s (%s)\n", cliPlugins.dir, time.Since(start).Round(time.Millisecond))
	})
	if cliPlugins.err != nil {
		t.Fatal(cliPlugins.err)
	}
	return cliPlugins.dir
}

// installPlugins puts docker-compose and docker-buildx into u's own
// DOCKER_CONFIG (~/.docker/cli-plugins): never into the system's plugin
// directories. Hard links where the file system allows (they stay root's,
// mode 0755), copies elsewhere.
func (e *gatewayEnv) installPlugins(t *testing.T, u *localUser) {
	t.Helper()
	src := cliPluginDir(t)
	dst := filepath.Join(u.Home, ".docker", "cli-plugins")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docker-compose", "docker-buildx"} {
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		if _, err := os.Stat(from); err != nil {
			t.Fatalf("docker CLI plugin: %v", err)
		}
		if os.Link(from, to) == nil {
			continue
		}
		if err := copyFile(from, to, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeTree writes files (path relative to dir → content) owned by u.
func writeTree(t *testing.T, u *localUser, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, u.UID, u.GID)
	}); err != nil {
		t.Fatal(err)
	}
}

// flowsPolicy: everyday work, volumes and networks for everyone; builds
// (image.build, BuildKit's session and grpc) for team "web" (Unix group
// <tag>web) only, whose containers must carry their team's label.
func flowsPolicy(tag, homes string) map[string]string {
	return map[string]string{"gateway.hcl": fmt.Sprintf(`
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.*", "network.*", "volume.*"]
    deny  = ["image.build", "session", "grpc"]
  }
  container {
    bind_allow = ["%[2]s/$user"]
  }
}
policy "web" {
  extends = "default"
  container {
    required_labels = { team = "$team" }
  }
  build {
    allow = true
  }
}
team "web" { groups = ["%[1]sweb"] }
`, tag, homes)}
}

// requestRecords are the request-phase records of user, in order.
func (e *gatewayEnv) requestRecords(t *testing.T, user string) []auditIdentity {
	t.Helper()
	var out []auditIdentity
	for _, r := range e.records(t) {
		if r.Identity != nil && r.Identity.User == user && r.Decision != "" && r.Phase == "request" {
			out = append(out, r)
		}
	}
	return out
}

// requireDecisions fails unless user has a request record of each action
// with decision want among recs.
func requireDecisions(t *testing.T, recs []auditIdentity, user, want string, actions ...string) {
	t.Helper()
	for _, a := range actions {
		found := false
		for _, r := range recs {
			if r.Action == a && r.Decision == want {
				found = true
				break
			}
		}
		if !found {
			var seen []string
			for _, r := range recs {
				seen = append(seen, r.Action+"="+r.Decision)
			}
			t.Errorf("no %s record of %s by %s; %s's records: %s", want, a, user, user, strings.Join(seen, " "))
		}
	}
}

// timed runs f and logs how long it took, for the build costs in the
// README.
func timed(t *testing.T, what string, f func() Result) Result {
	t.Helper()
	start := time.Now()
	r := f()
	t.Logf("%s: %s (exit %d)", what, time.Since(start).Round(time.Millisecond), r.ExitCode)
	return r
}

// TestGatewayCompose: `docker compose up -d` and `down` of a project
// with a named volume and a network, by a local user through the gateway,
// with the real Compose CLI plugin. Each request is judged as that user
// (the team's required label applies to the services Compose creates) and
// recorded with the user's name. What the test asserts is the plugin's
// decisions and the identity in its records; a container that cannot
// start on this machine fails `up`, not the test, as long as the plugin
// did not deny.
func TestGatewayCompose(t *testing.T) {
	// The project's network is a bridge on this host, its subnet taken
	// from the daemon's address pools, checked against the host's routes,
	// where every other test daemon's bridges are too: the default pools
	// (31 subnets of /16 and /20) run out when several suites run at once
	// ("all predefined address pools have been fully subnetted", "could
	// not find an available, non-overlapping IPv4 address pool"). The
	// same private range in /28s does not.
	e := newGatewayEnvPolicy(t, flowsPolicy, "--default-address-pool", "base=172.16.0.0/12,size=28")
	alice := e.user(t, "a", "web")
	e.installPlugins(t, alice)
	r := e.as(alice, "", nil, nil, "compose", "version")
	RequireOK(t, r)
	t.Logf("compose: %s", strings.TrimSpace(r.Stdout))

	project := e.tag + "proj"
	compose := func(labels string) string {
		return fmt.Sprintf(`name: %s
services:
  app:
    image: %s
    command: ["sleep", "300"]
%s    volumes:
      - data:/data
    networks:
      - back
volumes:
  data: {}
networks:
  back:
    internal: true
`, project, e.Image, labels)
	}
	dir := filepath.Join(alice.Home, "proj")
	writeTree(t, alice, dir, map[string]string{"compose.yaml": compose("")})
	up := []string{"compose", "--progress", "plain", "up", "-d"}
	down := []string{"compose", "--progress", "plain", "down", "-v"}
	t.Cleanup(func() {
		// Whatever a failed run left behind.
		e.as(alice, dir, nil, nil, down...)
	})

	t.Run("the team's rule applies to what compose creates", func(t *testing.T) {
		r := e.as(alice, dir, nil, nil, up...)
		e.RequireDenied(t, r, "labels.required", `label "team" is required`)
		recs := e.requestRecords(t, alice.Name)
		requireDecisions(t, recs, alice.Name, "allow", "network.create", "volume.create")
		requireDecisions(t, recs, alice.Name, "deny", "container.create")
		RequireOK(t, e.as(alice, dir, nil, nil, down...))
	})

	t.Run("up and down", func(t *testing.T) {
		writeTree(t, alice, dir, map[string]string{"compose.yaml": compose("    labels:\n      team: web\n")})
		mark := len(e.requestRecords(t, alice.Name))
		r := timed(t, "compose up -d", func() Result { return e.as(alice, dir, nil, nil, up...) })
		RequireAllowed(t, r)
		if r.ExitCode != 0 {
			t.Logf("compose up -d failed, not for the plugin (a container that cannot start here): %s", r)
		}
		recs := e.requestRecords(t, alice.Name)[mark:]
		requireDecisions(t, recs, alice.Name, "allow", "network.create", "volume.create", "container.create", "container.start")
		// Compose names what it creates after the project.
		r = e.Docker("volume", "ls", "--format", "{{.Name}}")
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, project+"_data") {
			t.Errorf("volume %s_data not created: %q", project, r.Stdout)
		}
		r = e.Docker("network", "ls", "--format", "{{.Name}}")
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, project+"_back") {
			t.Errorf("network %s_back not created: %q", project, r.Stdout)
		}

		mark = len(e.requestRecords(t, alice.Name))
		r = timed(t, "compose down -v", func() Result { return e.as(alice, dir, nil, nil, down...) })
		RequireOK(t, r)
		recs = e.requestRecords(t, alice.Name)[mark:]
		requireDecisions(t, recs, alice.Name, "allow", "container.remove", "network.remove", "volume.remove")
		r = e.Docker("ps", "-a", "--filter", "label=com.docker.compose.project="+project, "--format", "{{.Names}}")
		RequireOK(t, r)
		if strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("containers left after down: %q", r.Stdout)
		}
	})
}

// TestGatewayBuild: `docker buildx build` (BuildKit: the CLI plugin
// upgrades POST /session and POST /grpc to HTTP/2 through the gateway)
// and the classic builder (`DOCKER_BUILDKIT=0 docker build`, POST /build
// with the context as a tar stream), of FROM the imported test image +
// COPY + RUN, by a user whose team may build and by one whose may not.
// The daemon needs no registry: the image FROM names is in its image
// store (the graphdriver store the harness configures; moby's BuildKit
// resolves an image it has locally without asking a registry).
func TestGatewayBuild(t *testing.T) {
	e := newGatewayEnvPolicy(t, flowsPolicy)
	alice := e.user(t, "a", "web")
	dave := e.user(t, "d", "")
	for _, u := range []*localUser{alice, dave} {
		e.installPlugins(t, u)
	}
	r := e.as(alice, "", nil, nil, "buildx", "version")
	RequireOK(t, r)
	t.Logf("buildx: %s", strings.TrimSpace(r.Stdout))

	ctxFor := func(u *localUser, say string) string {
		dir := filepath.Join(u.Home, "build")
		writeTree(t, u, dir, map[string]string{
			"Dockerfile": "FROM " + e.Image + "\nCOPY hello.txt /hello.txt\nRUN true\n",
			"hello.txt":  say,
		})
		return dir
	}
	// The daemon runs with --bridge none: a build's RUN steps get no
	// network (BuildKit's default would look for the "bridge" network).
	build := func(u *localUser, classic bool, tag, dir string) Result {
		if classic {
			return e.as(u, "", nil, []string{"DOCKER_BUILDKIT=0"}, "build", "--network", "none", "-t", tag, dir)
		}
		return e.as(u, "", nil, []string{"BUILDKIT_PROGRESS=plain"}, "buildx", "build", "--network", "none", "-t", tag, dir)
	}

	for _, classic := range []bool{false, true} {
		name := map[bool]string{false: "buildx (BuildKit)", true: "classic builder"}[classic]
		actions := map[bool][]string{false: {"session", "grpc"}, true: {"image.build"}}[classic]
		t.Run(name, func(t *testing.T) {
			say := fmt.Sprintf("built by %s through the gateway (%s)\n", alice.Name, name)
			tag := fmt.Sprintf("%s-built-%v:1", e.tag, classic)
			t.Cleanup(func() { e.Docker("rmi", "-f", tag) })
			mark := len(e.requestRecords(t, alice.Name))
			r := timed(t, name, func() Result { return build(alice, classic, tag, ctxFor(alice, say)) })
			RequireOK(t, r)
			requireDecisions(t, e.requestRecords(t, alice.Name)[mark:], alice.Name, "allow", actions...)
			r = e.as(alice, "", nil, nil, "run", "--rm", "--label", "team=web", tag, "cat", "/hello.txt")
			RequireOK(t, r)
			if r.Stdout != say {
				t.Errorf("built image's /hello.txt: %q, want %q", r.Stdout, say)
			}

			// A user whose policy gives no builds is denied, by name.
			// buildx probes the daemon's BuildKit (POST /grpc, h2c); when
			// that is refused it falls back to a BuildKit of its own in a
			// privileged container (docker-container driver, image
			// moby/buildkit:buildx-stable-1, pulled, or the local one when
			// the pull fails): here the test image under that name, so
			// that the fallback gets as far as the container the policy
			// denies.
			if !classic {
				RequireOK(t, e.Docker("tag", e.Image, "moby/buildkit:buildx-stable-1"))
			}
			r = build(dave, classic, e.tag+"-denied:1", ctxFor(dave, "no\n"))
			recs := e.requestRecords(t, dave.Name)
			if classic {
				e.RequireDenied(t, r, "actions.denied")
				requireDecisions(t, recs, dave.Name, "deny", "image.build")
			} else {
				e.RequireDenied(t, r, "privileged")
				requireDecisions(t, recs, dave.Name, "deny", "grpc", "container.create")
			}
			if out := e.Docker("image", "inspect", e.tag+"-denied:1"); out.ExitCode == 0 {
				t.Errorf("a denied build produced an image")
			}
		})
	}
}
