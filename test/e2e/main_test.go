//go:build e2e

// Package e2e runs Portcullis against a real, private Docker daemon: the
// plugin binary built from ./cmd/portcullis, a dockerd with its own data and
// exec roots, and the docker CLI. README.md documents the helpers.
//
// The tests need root; without it TestMain reports why and skips.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Tools and artefacts shared by every test, set up once by TestMain.
var (
	portcullisBin string // the plugin binary under test
	dockerBin     string // the docker CLI
	dockerdBin    string // the Docker daemon
	rootfsTar     string // rootfs of the test image (see image_test.go)
)

// Environment variables that override what TestMain would pick.
const (
	// envBinary names a prebuilt plugin binary to use instead of building
	// ./cmd/portcullis.
	envBinary = "PORTCULLIS_E2E_BINARY"
	// envDocker names the docker CLI to use.
	envDocker = "PORTCULLIS_E2E_DOCKER"
	// envDockerd names the dockerd binary to use.
	envDockerd = "PORTCULLIS_E2E_DOCKERD"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintf(os.Stderr, "e2e: SKIP: these tests start a private dockerd and must run as root (euid is %d)\n", os.Geteuid())
		return 0
	}
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
	if dockerdBin, err = findTool(envDockerd, "dockerd", "/usr/sbin/dockerd", "/usr/bin/dockerd"); err != nil {
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

// findTool returns the binary named by the environment variable env, else
// name on PATH, else the first of fallbacks that exists.
func findTool(env, name string, fallbacks ...string) (string, error) {
	if p := os.Getenv(env); p != "" {
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
