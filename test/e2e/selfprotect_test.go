//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Self-protection: with the shipped default policy, nobody can switch
// Portcullis off through the API it guards.
//
// The daemon itself does not protect an authorization plugin: `docker
// plugin disable` of an enabled authz plugin removes it from the daemon's
// authorization chain (moby plugin/backend_linux.go, Manager.Disable), and
// from then on every request is allowed. The policy must deny it.

// TestSelfProtectManagedPlugin runs the shipped policies in a managed
// plugin and tries to disable, remove, reconfigure and upgrade that very
// plugin, with the CLI and on the raw API. Every attempt is denied by rule
// actions.denied (every plugin action that changes anything is denied by
// default) with the plugin_protect rule saying why, listing and inspecting
// it stay allowed, and the plugin still enforces afterwards.
func TestSelfProtectManagedPlugin(t *testing.T) {
	t.Parallel()
	m := StartManagedPlugin(t, shippedPolicyFiles(t))
	d := m.Daemon
	const rule = "[actions.denied]"

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"disable", []string{"plugin", "disable", m.Ref}},
		{"disable -f", []string{"plugin", "disable", "--force", m.Ref}},
		{"rm -f", []string{"plugin", "rm", "--force", m.Ref}},
		{"set", []string{"plugin", "set", m.Ref, "policies.source=/tmp"}},
		// No "plugin upgrade": with inspect allowed, the CLI itself refuses
		// to upgrade an enabled plugin before sending the upgrade; the API
		// case below sends it.
		{"install", []string{"plugin", "install", "--grant-all-permissions", "127.0.0.1:1/evil/allow-all:latest"}},
	} {
		t.Run("cli "+tt.name, func(t *testing.T) {
			m.RequireDenied(t, d.Docker(tt.args...), rule)
		})
	}
	t.Run("cli disable says why", func(t *testing.T) {
		m.RequireDenied(t, d.Docker("plugin", "disable", m.Ref), "[rule.plugin_protect]", "Portcullis itself is a plugin")
	})
	// Read-only actions are allowed.
	for _, args := range [][]string{{"plugin", "ls"}, {"plugin", "inspect", m.Ref}} {
		t.Run("cli "+strings.Join(args, " "), func(t *testing.T) {
			r := d.Docker(args...)
			RequireOK(t, r)
			if !strings.Contains(r.Stdout, strings.TrimSuffix(m.Ref, ":latest")) {
				t.Fatalf("%v does not show the plugin: %s", args, r)
			}
		})
	}

	// The endpoints themselves, in case the CLI's first call (often an
	// inspect) is what was denied above.
	name := strings.TrimSuffix(m.Ref, ":latest")
	for _, tt := range []struct {
		method, path, body string
	}{
		{"POST", "/plugins/" + name + "/disable?force=1", ""},
		{"DELETE", "/plugins/" + name + "?force=1", ""},
		{"POST", "/plugins/" + name + "/set", `["policies.source=/tmp"]`},
		{"POST", "/plugins/" + name + "/upgrade?remote=127.0.0.1:1/evil/allow-all:latest", `[]`},
		{"POST", "/plugins/" + name + ":latest/disable", ""},
	} {
		t.Run("api "+tt.method+" "+tt.path, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			resp, b, err := d.Do(tt.method, d.API(tt.path), nil, body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), m.DeniedMessage()) || !strings.Contains(string(b), rule) {
				t.Fatalf("%s %s: want 403 from %s naming %s, got %s: %s", tt.method, tt.path, m.Ref, rule, resp.Status, b)
			}
		})
	}

	// Still enabled and enforcing.
	m.RequireDenied(t, d.Docker("create", "--privileged", TestImage), "[container.privileged]")
}

// shippedPolicyWithSelfProtect returns the shipped policies, which must
// carry rule "self_protect" in policy "default".
func shippedPolicyWithSelfProtect(t testing.TB) map[string]string {
	t.Helper()
	files := shippedPolicyFiles(t)
	if !strings.Contains(files["default.hcl"], `rule "self_protect"`) {
		t.Fatal(`examples/policies/default.hcl has no rule "self_protect"`)
	}
	return files
}

// TestSelfProtectContainer runs a container named "portcullis", standing
// for a Portcullis run as a legacy plugin in a container, under the
// shipped default policy with rule self_protect: stopping, killing and
// removing it by name are denied with the rule's id, other containers
// are not affected, and it is still running at the end.
func TestSelfProtectContainer(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{PolicyFiles: shippedPolicyWithSelfProtect(t)})
	const rule = "[rule.self_protect]"

	RequireOK(t, e.Docker("run", "-d", "--name", "portcullis", e.Image, "sleep", "600"))
	RequireOK(t, e.Docker("run", "-d", "--name", "pe-other", e.Image, "sleep", "600"))
	// A name resolves once the plugin has first read the daemon's
	// objects (it started before the daemon): until then a reference
	// by name is judged as unowned. Wait for that, bounded.
	var r Result
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		r = e.Docker("inspect", "--format", "{{.Id}}", "portcullis")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "cannot be resolved yet") || time.Now().After(deadline) {
			break
		}
	}
	RequireOK(t, r)
	id := strings.TrimSpace(r.Stdout)

	for _, args := range [][]string{
		// By id and id prefix: the rule matches the name the target
		// resolves to, not the one the request spells.
		{"stop", id},
		{"kill", id[:12]},
		{"exec", id[:6], "kill", "1"},
		{"stop", "portcullis"},
		{"kill", "portcullis"},
		{"kill", "--signal", "TERM", "portcullis"},
		{"rm", "-f", "portcullis"},
		{"restart", "portcullis"},
		{"pause", "portcullis"},
		{"rename", "portcullis", "not-portcullis"},
		{"update", "--restart", "no", "portcullis"},
		{"exec", "portcullis", "kill", "1"},
		{"container", "stop", "/portcullis"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e.RequireDenied(t, e.Docker(args...), rule)
		})
	}

	r = e.Docker("inspect", "--format", "{{.State.Running}}", "portcullis")
	RequireOK(t, r)
	if strings.TrimSpace(r.Stdout) != "true" {
		t.Errorf("container portcullis is not running any more: %s", r)
	}
	// The rule is about that one container.
	RequireOK(t, e.Docker("kill", "pe-other"))
	RequireOK(t, e.Docker("rm", "-f", "pe-other"))
}
