//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shippedPolicies returns the files of examples/policies (the set `make
// run` serves), keyed by their path below that directory with / as -.
func shippedPolicies(t testing.TB) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..", "examples", "policies")
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hcl") || strings.HasSuffix(path, "_test.hcl") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[strings.ReplaceAll(rel, "/", "-")] = string(b) // the harness writes one flat directory
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped policies in %s: %v (%d files)", root, err, len(files))
	}
	return files
}

// TestTeamsOverTLS: identities come from client certificates (CN = user,
// OU = team). The same `docker run` is judged by each caller's team
// policy, and users in no team get the default policy.
func TestTeamsOverTLS(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: shippedPolicies(t)})
	web := e.Daemon.As(t, "web-dev1", "web")
	data := e.Daemon.As(t, "data-dev1", "data")
	nobody := e.Daemon.As(t, "nobody1")

	plain := []string{"run", "--rm", e.Image, "true"}
	hardened := []string{"run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
		"--security-opt", "no-new-privileges", "--read-only", "--user", "1000:1000",
		"--memory", "64m", "--pids-limit", "100", "--label", "team=web",
		"--log-opt", "max-size=10m", e.Image, "true"}
	// Created, not run: the syslog driver would dial the address on start.
	dataSyslog := []string{"create", "--log-driver", "syslog", "--log-opt", "syslog-address=udp://logs.internal:514", e.Image, "true"}

	t.Run("plain run: allowed for nobody and data, denied for web", func(t *testing.T) {
		RequireOK(t, nobody.Docker(plain...))
		RequireOK(t, data.Docker(plain...))
		r := web.Docker(plain...)
		e.RequireDenied(t, r, `policy "web"`, "capabilities", "read")
	})
	t.Run("hardened run is allowed for web", func(t *testing.T) {
		RequireOK(t, web.Docker(hardened...))
	})
	t.Run("privileged is denied for every team", func(t *testing.T) {
		for name, c := range map[string]*Client{"web": web, "data": data, "nobody": nobody} {
			r := c.Docker("run", "--rm", "--privileged", e.Image, "true")
			e.RequireDenied(t, r, "container.privileged")
			if name == "nobody" && !strings.Contains(r.Stderr, `policy "default"`) {
				t.Errorf("a user in no team was not judged by the default policy: %s", r)
			}
		}
	})
	t.Run("data's syslog address is allowed for data only", func(t *testing.T) {
		RequireOK(t, data.Docker(dataSyslog...))
		e.RequireDenied(t, nobody.Docker(dataSyslog...), `policy "default"`, "logging.syslog_address")
		e.RequireDenied(t, web.Docker(dataSyslog...), `policy "web"`)
	})
	t.Run("a header cannot claim a team", func(t *testing.T) {
		// The CLI has no header flag; send the request with the user's
		// certificate and a forged header through the HTTP client.
		body := []byte(`{"Image":"` + e.Image + `","Cmd":["true"],"Labels":{"team":"web"}}`)
		resp, out, err := web.Do("POST", e.Daemon.API("/containers/create"),
			map[string][]string{"Content-Type": {"application/json"}, "X-Portcullis-Team": {"ops"}, "X-Team": {"ops"}},
			bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var msg struct{ Message string }
		_ = json.Unmarshal(out, &msg)
		if resp.StatusCode != 403 || !strings.Contains(msg.Message, `policy "web"`) {
			t.Fatalf("web user with an ops header: %s %s", resp.Status, out)
		}
	})

	// Every decision above is in the audit file with the caller's identity
	// and the team that judged it.
	seen := map[string]string{}
	recs := auditRecords(t, e)
	for _, r := range recs {
		if r.Phase == "request" && r.Identity != nil && r.Identity.User != "" {
			seen[r.Identity.User] = r.Identity.Team
		}
	}
	want := map[string]string{"web-dev1": "web", "data-dev1": "data", "nobody1": ""}
	for u, team := range want {
		got, ok := seen[u]
		if !ok || got != team {
			t.Errorf("audit: user %s recorded with team %q (present %v), want %q", u, got, ok, team)
		}
	}
}

// TestPolicyReload: changing the policy directory takes effect without
// restarting the plugin or the daemon; a broken change is refused and the
// loaded policy keeps judging.
func TestPolicyReload(t *testing.T) {
	t.Parallel()
	files := BaselinePolicy(t)
	e := NewEnv(t, Options{PolicyFiles: files, PluginArgs: []string{"--reload-interval", "200ms"}})
	pid := e.Plugin.PID()

	RequireOK(t, e.Docker("ps"))
	e.RequireDenied(t, e.Docker("volume", "create", "v1"), "actions.denied", "volume.create")

	// Allow volumes.
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(e.Plugin.PolicyDir, "default.hcl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.*", "volume.*"]
  }
}
`)
	eventually(t, 10*time.Second, "the reloaded policy allows volume create", func() bool {
		return e.Docker("volume", "create", "v1").ExitCode == 0
	})

	// A broken file is refused; the loaded policy stays.
	write(`policy "default" { actions { allow = [`)
	time.Sleep(1 * time.Second)
	RequireOK(t, e.Docker("volume", "create", "v2"))
	e.RequireDenied(t, e.Docker("run", "--rm", "--privileged", e.Image, "true"), "container.privileged")

	if e.Plugin.PID() != pid || !e.Plugin.Running() {
		t.Fatal("the plugin restarted")
	}
	var loads, failures int
	for _, r := range auditRecords(t, e) {
		switch r.Type {
		case "policy.load":
			loads++
		case "policy.reload_failed":
			failures++
		}
	}
	if loads < 2 || failures < 1 {
		t.Errorf("audit: %d policy.load and %d policy.reload_failed records, want >= 2 and >= 1", loads, failures)
	}
}

type auditRecord struct {
	Type     string
	ID       string
	Phase    string
	Decision string
	Action   string
	Policy   string
	Identity *struct {
		User string
		Team string
	}
}

func auditRecords(t testing.TB, e *Env) []auditRecord {
	t.Helper()
	data, err := e.Plugin.Audit()
	if err != nil {
		t.Fatalf("audit file: %v", err)
	}
	var out []auditRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
