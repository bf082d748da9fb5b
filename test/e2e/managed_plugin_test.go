//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Portcullis as a managed (v2) plugin, installed the way docs/operations.md
// says: build/plugin/build.sh assembles the rootfs from config.json and runs
// `docker plugin create` against a daemon without authorization; the
// policy and audit mounts are pointed at host directories with `docker
// plugin set`; the plugin is enabled; then the daemon is restarted with
// --authorization-plugin naming it.

const (
	repoRoot       = "../.."
	shippedConfig  = repoRoot + "/config.json"
	shippedPolicy  = repoRoot + "/examples/policies"
	pluginBuildSh  = repoRoot + "/build/plugin/build.sh"
	managedTimeout = 5 * time.Minute // build.sh may compile the binary

	// pluginRunDir is where the daemon mounts a managed plugin's runtime
	// directory inside the plugin. On Linux that directory is
	// /run/docker/plugins/<id> on the host, whatever the daemon's
	// --exec-root (moby's getPluginExecRoot: socket paths must stay
	// under 108 bytes), so the plugin's socket is
	// /run/docker/plugins/<id>/<Interface.Socket> there.
	pluginRunDir = "/run/docker/plugins/"
)

// ManagedPlugin is Portcullis running as a managed plugin in Daemon, which
// uses it as its only authorization plugin.
type ManagedPlugin struct {
	Ref       string // plugin reference, "<name>:latest"; the daemon's denials name it
	ID        string // the plugin's id in the daemon
	Socket    string // the plugin's socket as the host sees it
	PolicyDir string // host directory mounted read-only at /etc/portcullis/policies
	AuditDir  string // host directory mounted at /var/log/portcullis
	Daemon    *Daemon
}

// DeniedMessage is the start of the message the daemon returns when the
// plugin denies a request.
func (m *ManagedPlugin) DeniedMessage() string {
	return "authorization denied by plugin " + m.Ref + ": portcullis:"
}

// RequireDenied fails the test unless r failed because this plugin denied
// it with a message containing every string in contains.
func (m *ManagedPlugin) RequireDenied(t testing.TB, r Result, contains ...string) {
	t.Helper()
	if r.ExitCode == 0 || r.Err != nil {
		t.Fatalf("want a denial by %s, got %s", m.Ref, r)
	}
	for _, s := range append([]string{m.DeniedMessage()}, contains...) {
		if !strings.Contains(r.Stderr, s) {
			t.Fatalf("want the denial to mention %q, got %s", s, r)
		}
	}
}

// AuditRecords returns the records in the audit file the plugin wrote to
// its mounted audit directory.
func (m *ManagedPlugin) AuditRecords(t testing.TB) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.AuditDir, "audit.log"))
	if err != nil {
		t.Fatalf("audit trail on the host: %v", err)
	}
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line is not JSON: %v: %.200s", err, sc.Text())
		}
		recs = append(recs, rec)
	}
	return recs
}

// shippedPolicyFiles returns the policy files in examples/policies (the
// tests beside them left out), flattened to one directory level.
func shippedPolicyFiles(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(shippedPolicy, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".hcl") || strings.HasSuffix(p, "_test.hcl") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(shippedPolicy, p)
		files[strings.ReplaceAll(rel, "/", "_")] = string(b)
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped policies in %s: %d files (%v)", shippedPolicy, len(files), err)
	}
	return files
}

// checkManifest checks that the shipped config.json is consistent: an
// authz plugin whose entrypoint serves on the socket its interface declares,
// in the directory the daemon mounts the plugin's runtime directory at. It
// returns the socket name.
func checkManifest(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Interface struct {
			Types  []string
			Socket string
		}
		Entrypoint []string
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	if !slices.Equal(cfg.Interface.Types, []string{"docker.authz/1.0"}) {
		t.Fatalf("config.json: Interface.Types = %q, want [docker.authz/1.0]", cfg.Interface.Types)
	}
	i := slices.Index(cfg.Entrypoint, "--socket")
	if cfg.Interface.Socket == "" || i < 0 || i+1 >= len(cfg.Entrypoint) || cfg.Entrypoint[i+1] != pluginRunDir+cfg.Interface.Socket {
		t.Fatalf("config.json: the entrypoint %q must serve on --socket %s%s (Interface.Socket)", cfg.Entrypoint, pluginRunDir, cfg.Interface.Socket)
	}
	return cfg.Interface.Socket
}

// buildManagedPlugin runs build/plugin/build.sh against d: it builds the
// static binary (or takes $PORTCULLIS_E2E_BINARY, which must be static),
// assembles the plugin directory from the shipped config.json and creates
// the plugin, disabled.
func buildManagedPlugin(t testing.TB, d *Daemon, ref, workDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), managedTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", pluginBuildSh)
	cmd.Env = append(d.Local().env(nil),
		"PLUGIN_NAME="+ref,
		"PLUGIN_DIR="+filepath.Join(workDir, "plugin"),
		"DOCKER="+dockerBin,
	)
	if p := os.Getenv(envBinary); p != "" {
		cmd.Env = append(cmd.Env, "PORTCULLIS_BINARY="+p)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build/plugin/build.sh: %v\n%s", err, out)
	}
	t.Logf("build/plugin/build.sh:\n%s", out)
}

// StartManagedPlugin starts a daemon without authorization, creates the
// plugin in it with build/plugin/build.sh, mounts policyFiles and an audit
// directory into it, enables it, and restarts the daemon with the plugin as
// its authorization plugin. Cleanup stops the daemon and removes its data
// root with the plugin in it: with the shipped policy the plugin denies
// its own removal, as it should.
func StartManagedPlugin(t testing.TB, policyFiles map[string]string) *ManagedPlugin {
	t.Helper()
	socket := checkManifest(t)
	dir := ShortTempDir(t)
	m := &ManagedPlugin{
		Ref:       "portcullis-e2e-" + randomHex(4) + ":latest",
		PolicyDir: filepath.Join(dir, "pol"),
		AuditDir:  filepath.Join(dir, "aud"),
	}
	if err := os.MkdirAll(m.PolicyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(m.AuditDir, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, content := range policyFiles {
		if err := os.WriteFile(filepath.Join(m.PolicyDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	workDir := filepath.Join(dir, "build")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// 1. A daemon with no authorization plugin: installing one is root's
	// work on the host, before any policy applies.
	d := StartDaemon(t, DaemonConfig{Dir: dir})
	buildManagedPlugin(t, d, m.Ref, workDir)
	stateDir := filepath.Join(dir, "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	RequireOK(t, d.Docker("plugin", "set", m.Ref, "policies.source="+m.PolicyDir, "audit.source="+m.AuditDir,
		"state.source="+stateDir, "PORTCULLIS_DOCKER_HOST=unix:///host"+d.Socket))
	RequireOK(t, d.Docker("plugin", "enable", m.Ref))
	r := d.Docker("plugin", "inspect", "--format", "{{.Id}} {{.Enabled}}", m.Ref)
	RequireOK(t, r)
	id, enabled, _ := strings.Cut(strings.TrimSpace(r.Stdout), " ")
	if enabled != "true" || len(id) != 64 {
		t.Fatalf("plugin %s after enable: id %q, enabled %q", m.Ref, id, enabled)
	}
	m.ID = id
	m.Socket = filepath.Join(pluginRunDir, id, socket)

	// 2. The same daemon (same data root, so the same enabled plugin),
	// restarted with the plugin as its authorization plugin.
	if err := d.Stop(); err != nil {
		t.Fatalf("stop dockerd: %v", err)
	}
	if first := filepath.Join(dir, "data0"); d.DataRoot != first {
		// StartDaemon picks data<i> by the storage driver's place in its
		// list; once a driver is chosen it is data0.
		if err := os.Rename(d.DataRoot, first); err != nil {
			t.Fatal(err)
		}
	}
	m.Daemon = StartDaemon(t, DaemonConfig{Dir: dir, AuthzPlugins: []string{m.Ref}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("plugin %s lines in dockerd's log:\n%s", m.Ref, grepLines(m.Daemon.Log(), "plugin="+m.ID, 80))
		}
	})
	return m
}

// grepLines returns the last n lines of s that contain needle.
func grepLines(s, needle string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, needle) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// TestManagedPlugin installs Portcullis as a managed plugin with the
// shipped example policies and checks that the daemon enforces them: a
// privileged run is denied with the plugin's message, a plain run is
// allowed, the decisions are in the audit trail in the host directory
// mounted into the plugin, and `portcullis status` reports the plugin
// healthy on its socket.
func TestManagedPlugin(t *testing.T) {
	t.Parallel()
	m := StartManagedPlugin(t, shippedPolicyFiles(t))
	d := m.Daemon
	d.ImportImage(t, TestImage)

	r := d.Docker("run", "--rm", "--privileged", "--name", "pe-managed-priv", TestImage, "true")
	m.RequireDenied(t, r, `denied by policy "default"`, "[container.privileged]")

	r = d.Docker("run", "--rm", "--name", "pe-managed-plain", TestImage, "echo", "managed-ok")
	RequireAllowed(t, r)
	RequireOK(t, r)
	if !strings.Contains(r.Stdout, "managed-ok") {
		t.Errorf("plain run: stdout %q", r.Stdout)
	}

	// The audit trail is on the host, in the directory mounted at
	// /var/log/portcullis.
	var sawStart, sawDeny, sawAllow bool
	for _, rec := range m.AuditRecords(t) {
		switch {
		case rec["type"] == "plugin.start":
			sawStart = true
		case rec["type"] == "decision" && rec["action"] == "container.create" && rec["decision"] == "deny":
			rules := fmt.Sprint(rec["violations"])
			if !strings.Contains(rules, "container.privileged") {
				t.Errorf("deny record without the rule: %v", rec)
			}
			if tgt, _ := rec["target"].(map[string]any); tgt["container"] != "pe-managed-priv" {
				t.Errorf("deny record target %v, want container pe-managed-priv", rec["target"])
			}
			sawDeny = true
		case rec["type"] == "decision" && rec["action"] == "container.create" && rec["decision"] == "allow" && rec["phase"] == "request":
			sawAllow = true
		}
	}
	if !sawStart || !sawDeny || !sawAllow {
		t.Errorf("audit trail in %s: plugin.start %v, denied create %v, allowed create %v", m.AuditDir, sawStart, sawDeny, sawAllow)
	}

	// Health check of a managed plugin from the host, on the socket the
	// daemon uses.
	out, err := exec.Command(portcullisBin, "status", "--socket", m.Socket).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "healthy:") {
		t.Errorf("portcullis status --socket %s: %v\n%s", m.Socket, err, out)
	}
	// The plugin sees the policies at /etc/portcullis/policies, validate
	// on the host at m.PolicyDir: one revision.
	val, err := exec.Command(portcullisBin, "validate", m.PolicyDir).CombinedOutput()
	rev := regexp.MustCompile(`revision ([0-9a-f]{12})`).FindSubmatch(val)
	if err != nil || rev == nil {
		t.Fatalf("validate %s: %v\n%s", m.PolicyDir, err, val)
	}
	if !strings.Contains(string(out), string(rev[1])) {
		t.Errorf("the managed plugin serves another revision than validate prints (%s):\n%s", rev[1], out)
	}
}
