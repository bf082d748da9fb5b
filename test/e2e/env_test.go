//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Options configures NewEnv. The zero value is a plugin with the baseline
// policy (testdata/policies), a daemon on a Unix socket and the test image.
type Options struct {
	// TLS also serves the daemon on tcp://127.0.0.1 with --tlsverify, for
	// Daemon.As.
	TLS bool
	// PolicyFiles are the plugin's policy files (name to content). Nil
	// means BaselinePolicy; to add to it, start from BaselinePolicy(t).
	PolicyFiles map[string]string
	// PluginArgs are extra `portcullis serve` arguments.
	PluginArgs []string
	// DaemonArgs are extra dockerd arguments.
	DaemonArgs []string
	// DaemonLogLevel is dockerd's --log-level (default "info").
	DaemonLogLevel string
	// NoImage skips importing TestImage.
	NoImage bool
	// Observe puts an Observer (an allow-all plugin that keeps what the
	// daemon forwards) before the plugin in the daemon's chain.
	Observe bool
	// NoFollow starts the plugin without following the daemon for
	// ownership (--docker-host none), so that only the test's own requests
	// reach the plugin.
	NoFollow bool
}

// Env is one plugin and one private daemon that consults it.
type Env struct {
	Dir    string // a short directory under /tmp holding everything
	Plugin *Plugin
	Daemon *Daemon
	Image  string // TestImage, or "" with NoImage
	// Observer sees every request before Plugin does (Options.Observe),
	// else nil.
	Observer *Observer
}

// NewEnv starts a plugin under a unique name, a private daemon using it as
// its only authorization plugin, and imports the test image. Everything is
// torn down when the test ends, pass or fail.
func NewEnv(t testing.TB, opts Options) *Env {
	t.Helper()
	dir := ShortTempDir(t)
	e := &Env{Dir: dir}
	if opts.PolicyFiles == nil {
		opts.PolicyFiles = BaselinePolicy(t)
	}
	dockerHost := "unix://" + filepath.Join(dir, "d", "docker.sock")
	if opts.NoFollow {
		dockerHost = "none"
	}
	e.Plugin = StartPlugin(t, PluginConfig{
		Dir:         filepath.Join(dir, "p"),
		PolicyFiles: opts.PolicyFiles,
		Args:        opts.PluginArgs,
		// The daemon started below, which the plugin follows for
		// ownership (it retries until the daemon answers).
		DockerHost: dockerHost,
	})
	var pki *PKI
	if opts.TLS {
		pki = NewPKI(t, filepath.Join(dir, "tls"))
	}
	plugins := []string{e.Plugin.Name}
	if opts.Observe {
		e.Observer = StartObserver(t, filepath.Join(dir, "o"))
		plugins = []string{e.Observer.Name, e.Plugin.Name}
	}
	e.Daemon = StartDaemon(t, DaemonConfig{
		Dir:          filepath.Join(dir, "d"),
		AuthzPlugins: plugins,
		PKI:          pki,
		Args:         opts.DaemonArgs,
		LogLevel:     opts.DaemonLogLevel,
	})
	if !opts.NoImage {
		e.Daemon.ImportImage(t, TestImage)
		e.Image = TestImage
	}
	return e
}

// baselinePolicyDir holds the policy NewEnv uses by default.
const baselinePolicyDir = "testdata/policies"

// BaselinePolicy returns the files of the e2e baseline policy: a "default"
// policy allowing system, container, exec and image actions, with the
// built-in defaults for everything else (privileged denied).
func BaselinePolicy(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(baselinePolicyDir, "*.hcl"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("baseline policy: no files in %s (%v)", baselinePolicyDir, err)
	}
	files := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = string(b)
	}
	return files
}

// Docker runs the docker CLI on the daemon's Unix socket.
func (e *Env) Docker(args ...string) Result { return e.Daemon.Docker(args...) }

// DeniedMessage is the start of the message the daemon returns when
// this env's plugin denies a request.
func (e *Env) DeniedMessage() string {
	return "authorization denied by plugin " + e.Plugin.Name + ": portcullis:"
}

// RequireOK fails the test unless the CLI exited 0.
func RequireOK(t testing.TB, r Result) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("want success, got %s", r)
	}
}

// RequireAllowed fails the test if a plugin denied the command. The command
// may still have failed for another reason.
func RequireAllowed(t testing.TB, r Result) {
	t.Helper()
	if r.Err != nil || r.Denied() {
		t.Fatalf("want the plugin to allow, got %s", r)
	}
}

// RequireDenied fails the test unless the command failed because the env's
// plugin denied it with a message containing every string in contains.
func (e *Env) RequireDenied(t testing.TB, r Result, contains ...string) {
	t.Helper()
	if r.ExitCode == 0 || r.Err != nil {
		t.Fatalf("want a denial by %s, got %s", e.Plugin.Name, r)
	}
	if !strings.Contains(r.Stderr, e.DeniedMessage()) {
		t.Fatalf("want stderr to contain %q, got %s", e.DeniedMessage(), r)
	}
	for _, s := range contains {
		if !strings.Contains(r.Stderr, s) {
			t.Fatalf("want the denial to mention %q, got %s", s, r)
		}
	}
}
