//go:build e2e

// Package e2e runs Portcullis against a real, private Docker daemon: the
// plugin binary built from ./cmd/portcullis, a dockerd with its own data and
// exec roots, and the docker CLI. README.md documents the helpers.
//
// The suite runs against one daemon per run, chosen by
// PORTCULLIS_E2E_DAEMON: "29" (the default, Docker Engine 29 built by
// build/engine/build.sh) or "20.10" (Debian's docker.io). `make e2e` runs it
// once for each.
//
// The tests need root; without it TestMain reports why and skips, except
// under CI=true, where it fails: nothing that should run in CI may pass by
// not running.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tools and artefacts shared by every test, set up once by TestMain.
var (
	portcullisBin string // the plugin binary under test
	dockerBin     string // the docker CLI
	dockerdBin    string // the Docker daemon
	// engineBinDir, when not "", holds the dockerd under test and the
	// containerd, containerd-shim-runc-v2 and runc built with it; it goes
	// first on the daemon's PATH so dockerd starts those and not the
	// system's.
	engineBinDir string
	// engine is the release line under test: "29" or "20.10".
	engine    string
	rootfsTar string // rootfs of the test image (see image_test.go)
)

// Environment variables that override what TestMain would pick.
const (
	// envBinary names a prebuilt plugin binary to use instead of building
	// ./cmd/portcullis.
	envBinary = "PORTCULLIS_E2E_BINARY"
	// envDocker names the docker CLI to use.
	envDocker = "PORTCULLIS_E2E_DOCKER"
	// envDockerd names the dockerd binary to use. Its containerd and
	// runc are those on PATH.
	envDockerd = "PORTCULLIS_E2E_DOCKERD"
	// envDaemon chooses the daemon under test: "29" (default) or "20.10".
	envDaemon = "PORTCULLIS_E2E_DAEMON"
)

// engineBuildSh builds Docker Engine 29 (or finds it cached) and prints the
// directory holding its binaries.
const engineBuildSh = "../../build/engine/build.sh"

// engines are the daemons the suite knows how to run, by release line.
var engines = map[string]bool{"29": true, "20.10": true}

func TestMain(m *testing.M) {
	if spec := os.Getenv(envRelay); spec != "" {
		os.Exit(runRelay(spec)) // started by startRelay: a relay, not tests
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "e2e: FAIL: CI=true and not root (euid is %d): these tests start a private dockerd and must run as root\n", os.Geteuid())
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: SKIP: these tests start a private dockerd and must run as root (euid is %d)\n", os.Geteuid())
		return 0
	}
	removeStaleSpecs()
	shared, err := os.MkdirTemp("", "portcullis-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(shared)

	if err := setup(shared); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setup: %v\n", err)
		return 1
	}
	return m.Run()
}

func setup(shared string) error {
	var err error
	if dockerBin, err = findTool(envDocker, "docker", "/usr/local/bin/docker", "/usr/bin/docker"); err != nil {
		return err
	}
	if err := chooseDaemon(); err != nil {
		return err
	}
	if portcullisBin, err = buildPlugin(shared); err != nil {
		return err
	}
	rootfsTar = filepath.Join(shared, "rootfs.tar")
	if err := writeRootfsTar(rootfsTar); err != nil {
		return fmt.Errorf("test image rootfs: %w", err)
	}
	return nil
}

// chooseDaemon sets dockerdBin, engineBinDir and engine from envDaemon and
// envDockerd, and checks that the dockerd found is of the line asked for.
func chooseDaemon() error {
	engine = os.Getenv(envDaemon)
	if engine == "" {
		engine = "29"
	}
	if !engines[engine] {
		return fmt.Errorf("$%s=%q: want 29 or 20.10", envDaemon, engine)
	}
	switch {
	case os.Getenv(envDockerd) != "":
		dockerdBin = os.Getenv(envDockerd)
	case engine == "29":
		dir, err := buildEngine()
		if err != nil {
			return err
		}
		engineBinDir = dir
		dockerdBin = filepath.Join(dir, "dockerd")
	default:
		var err error
		// Debian's docker.io, with the containerd and runc it depends on.
		if dockerdBin, err = findTool("", "dockerd", "/usr/sbin/dockerd", "/usr/bin/dockerd"); err != nil {
			return err
		}
	}
	out, err := exec.Command(dockerdBin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", dockerdBin, err)
	}
	v := dockerdVersion(string(out))
	if !strings.HasPrefix(v, engine+".") {
		return fmt.Errorf("$%s=%s but %s is version %q (%s)", envDaemon, engine, dockerdBin, v, strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(os.Stderr, "e2e: daemon under test: Docker Engine %s (%s)\n", v, dockerdBin)
	return nil
}

// dockerdVersion extracts "29.8.0" from "Docker version 29.8.0, build
// abc" and "20.10.24+dfsg1" from Debian's.
func dockerdVersion(out string) string {
	m := regexp.MustCompile(`version v?([0-9][^ ,]*)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// buildEngine runs build/engine/build.sh: a second when its binaries are
// cached, minutes when not (progress goes to stderr).
func buildEngine() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", engineBuildSh)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build Docker Engine 29 (%s): %w", engineBuildSh, err)
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("%s printed no directory", engineBuildSh)
	}
	dir := lines[len(lines)-1]
	for _, name := range []string{"dockerd", "containerd", "containerd-shim-runc-v2", "runc"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("engine build: %w", err)
		}
	}
	return dir, nil
}

// SkipOrFail skips the test, except under CI=true, where a check that
// cannot run fails: CI must not pass by not running something.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, cannot run: "+format, args...)
	}
	t.Skipf(format, args...)
}

// findTool returns the binary named by the environment variable env, else
// name on PATH, else the first of fallbacks that exists.
func findTool(env, name string, fallbacks ...string) (string, error) {
	if p := os.Getenv(env); env != "" && p != "" {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in %v (run test/e2e/deps.sh, or set %s)", name, fallbacks, env)
}

// buildPlugin builds ./cmd/portcullis into dir, unless envBinary names a
// prebuilt binary.
func buildPlugin(dir string) (string, error) {
	if p := os.Getenv(envBinary); p != "" {
		fmt.Fprintf(os.Stderr, "e2e: using prebuilt plugin %s from $%s\n", p, envBinary)
		return p, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build plugin: %w", err)
	}
	out := filepath.Join(dir, "portcullis")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/portcullis/portcullis/cmd/portcullis")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/portcullis: %w\n%s", err, b)
	}
	return out, nil
}

// removeStaleSpecs removes this suite's plugin specs left behind by a run
// that was killed: a spec whose socket file is gone. Every daemon asks
// every spec in /etc/docker/plugins whether it is a volume driver when it
// lists volumes, retrying one that does not answer for about 15 s, so a
// stale spec slows every later test (and the plugin's first reading of
// the daemon's volumes). Only portcullis-e2e-* specs are touched, and a
// spec is written only after its socket exists, so a concurrent run's
// live specs stay.
func removeStaleSpecs() {
	specs, _ := filepath.Glob(filepath.Join(specDir, "portcullis-e2e-*.spec"))
	for _, f := range specs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sock := strings.TrimPrefix(strings.TrimSpace(string(b)), "unix://")
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			if os.Remove(f) == nil {
				fmt.Fprintf(os.Stderr, "e2e: removed %s, left by an earlier run (its socket %s is gone)\n", f, sock)
			}
		}
	}
}
