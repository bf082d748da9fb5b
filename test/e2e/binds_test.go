//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/audit"
)

// TestAuditMalformedBinds: for each bind specification the daemon
// refuses, the plugin (in audit mode, so that the request reaches the
// daemon) records that it would deny it as mounts.invalid, and describes
// the bind as invalid, with the reason the real daemon gives when it
// refuses the create. This checks request.ParseBind against the running
// daemon's parser (Engine 29 is moby v2, which the unit tests cannot
// import).
func TestAuditMalformedBinds(t *testing.T) {
	t.Parallel()
	policy := `
policy "default" {
  mode = "audit"
  actions { allow = ["system.*", "container.*"] }
  container { bind_allow = ["/tmp"] }
}
`
	e := NewEnv(t, Options{PolicyFiles: map[string]string{"default.hcl": policy}, NoFollow: true})
	binds := []string{
		"/a:/b:ro:x", "/tmp:ro", "/tmp:/m:ro,x", "/tmp:m:ro", "/tmp:/:ro", "/tmp:/m/..:ro",
		"/tmp:/m:ro,nocopy", "data:/m:rslave", ":/m", "/tmp::ro", "/tmp:/m:ro,ro",
	}
	refusals := map[string]string{}
	for _, raw := range binds {
		body, _ := json.Marshal(map[string]any{"Image": e.Image, "Cmd": []string{"true"}, "HostConfig": map[string]any{"Binds": []string{raw}}})
		resp, out, err := e.Daemon.Do("POST", e.Daemon.API("/containers/create"), http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("create with %q: %v", raw, err)
		}
		if resp.StatusCode == http.StatusCreated {
			t.Errorf("the daemon created a container with bind %q: %s", raw, out)
			continue
		}
		var msg struct{ Message string }
		_ = json.Unmarshal(out, &msg)
		if strings.Contains(msg.Message, "authorization denied") {
			t.Fatalf("bind %q denied in audit mode: %s", raw, msg.Message)
		}
		refusals[raw] = msg.Message
	}
	if err := e.Plugin.Stop(); err != nil {
		t.Fatalf("stop plugin: %v", err)
	}
	seen := map[string]bool{}
	for _, l := range auditLines(t, e.Plugin) {
		r := &l.Rec
		if r.Type != audit.TypeDecision || r.Phase != audit.PhaseRequest || r.Action != "container.create" || r.Summary == nil || len(r.Summary.Mounts) != 1 {
			continue
		}
		m := r.Summary.Mounts[0]
		daemonSays, ok := refusals[m.Spec]
		if !ok {
			t.Errorf("record of an unexpected create: %s", l.Line)
			continue
		}
		seen[m.Spec] = true
		if m.Type != audit.MountInvalid || m.Invalid == "" || !strings.Contains(daemonSays, m.Invalid) {
			t.Errorf("bind %q described as %+v; the daemon refused it with %q", m.Spec, m, daemonSays)
		}
		want := "bind " + strconv.Quote(m.Spec) + " is not valid: " + m.Invalid
		found := false
		for _, v := range r.Violations {
			found = found || v.Rule == "mounts.invalid" && v.Reason == want
		}
		if r.WouldDeny == nil || !*r.WouldDeny || !found {
			t.Errorf("bind %q: would_deny %v, violations %+v; want mounts.invalid %q", m.Spec, r.WouldDeny, r.Violations, want)
		}
	}
	for _, raw := range binds {
		if !seen[raw] && refusals[raw] != "" {
			t.Errorf("no record describes the create with bind %q", raw)
		}
	}
}
