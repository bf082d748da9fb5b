//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
)

// maxForwardedBody is 20.10's (and 28's) limit: it forwards a JSON request
// body to authorization plugins only when it is smaller than this, and a
// larger one reaches the plugin as no body at all. Engine 29's limit and
// behaviour differ: use Daemon.BodyForwarding (facts_test.go, where
// TestFactBodySize checks both).
const maxForwardedBody = 1 << 20

// TestCLIDecisions checks the built-in policy's decisions as the docker
// CLI sees them.
func TestCLIDecisions(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{})
	tests := []struct {
		name string
		args []string
		// deny lists what the denial must mention; nil means the plugin
		// must allow and the command succeed.
		deny   []string
		stdout string // with deny == nil, a substring stdout must hold
	}{
		{
			name: "plain run is allowed",
			args: []string{"run", "--rm", e.Image, "true"},
		},
		{
			name:   "run as another user is allowed",
			args:   []string{"run", "--rm", "--user", "1000:1000", e.Image, "id"},
			stdout: "uid=1000",
		},
		{
			name: "privileged run is denied",
			args: []string{"run", "--rm", "--privileged", "--name", "pe-denied-privileged", e.Image, "true"},
			deny: []string{"privileged"},
		},
		{
			name: "privileged create is denied",
			args: []string{"create", "--privileged", "--name", "pe-denied-create", e.Image, "true"},
			deny: []string{"privileged"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Docker(tt.args...)
			if tt.deny != nil {
				e.RequireDenied(t, r, tt.deny...)
				return
			}
			RequireAllowed(t, r)
			RequireOK(t, r)
			if !strings.Contains(r.Stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", r.Stdout, tt.stdout)
			}
		})
	}
	// Nothing the plugin denied may exist, and --rm removed the rest.
	r := e.Docker("ps", "-a", "--format", "{{.Names}}")
	RequireOK(t, r)
	if got := strings.TrimSpace(r.Stdout); got != "" {
		t.Errorf("containers left after the run: %q", got)
	}
}

// createBody is a container create body for the test image, privileged or
// not, with an Env value of pad bytes.
func createBody(t *testing.T, privileged bool, pad int) []byte {
	t.Helper()
	body := map[string]any{
		"Image":      TestImage,
		"Cmd":        []string{"true"},
		"HostConfig": map[string]any{"Privileged": privileged},
	}
	if pad > 0 {
		body["Env"] = []string{"PAD=" + strings.Repeat("x", pad)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createBodyOfSize is createBody padded to exactly size bytes.
func createBodyOfSize(t *testing.T, privileged bool, size int) []byte {
	t.Helper()
	base := len(createBody(t, privileged, 1)) - 1
	body := createBody(t, privileged, size-base)
	if len(body) != size {
		t.Fatalf("body is %d bytes, want %d", len(body), size)
	}
	return body
}

// chunkedRequest is a complete HTTP/1.1 request whose body is sent with
// Transfer-Encoding: chunked in 64 KiB chunks, with no Content-Length.
func chunkedRequest(method, path, contentType string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", method, path, contentType)
	for len(body) > 0 {
		n := min(len(body), 64<<10)
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// TestContainerLifecycle runs the everyday commands the built-in policy
// allows: run -d, ps, exec, logs, rm.
func TestContainerLifecycle(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{})
	const name = "pe-lifecycle"

	r := e.Docker("run", "-d", "--name", name, e.Image, "sh", "-c", "echo ready; exec sleep 300")
	RequireAllowed(t, r)
	RequireOK(t, r)
	id := strings.TrimSpace(r.Stdout)
	t.Cleanup(func() { e.Docker("rm", "-f", id) })

	t.Run("ps lists it", func(t *testing.T) {
		r := e.Docker("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}")
		RequireAllowed(t, r)
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, id+" "+name) {
			t.Errorf("ps does not list %s %s:\n%s", id, name, r.Stdout)
		}
	})
	t.Run("exec", func(t *testing.T) {
		r := e.Docker("exec", id, "true")
		RequireAllowed(t, r)
		RequireOK(t, r)
		r = e.Docker("exec", id, "echo", "from-exec")
		RequireOK(t, r)
		if strings.TrimSpace(r.Stdout) != "from-exec" {
			t.Errorf("exec stdout = %q, want from-exec", r.Stdout)
		}
	})
	t.Run("logs", func(t *testing.T) {
		var r Result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			r = e.Docker("logs", id)
			RequireAllowed(t, r)
			RequireOK(t, r)
			if strings.Contains(r.Stdout, "ready") {
				return
			}
		}
		t.Errorf("logs never showed %q: %s", "ready", r)
	})
	t.Run("rm -f", func(t *testing.T) {
		r := e.Docker("rm", "-f", id)
		RequireAllowed(t, r)
		RequireOK(t, r)
	})
}

// TestAuditFile checks that the plugin wrote its audit file.
func TestAuditFile(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{})
	RequireOK(t, e.Docker("run", "--rm", e.Image, "true"))
	denied := e.Docker("run", "--rm", "--privileged", e.Image, "true")
	e.RequireDenied(t, denied, "privileged")
	m := regexp.MustCompile(`\(decision ([0-9a-f-]{36})\)`).FindStringSubmatch(denied.Stderr)
	if m == nil {
		t.Fatalf("the denial names no decision id: %s", denied)
	}
	// Stopping the plugin writes what it still holds and a stop record.
	if err := e.Plugin.Stop(); err != nil {
		t.Fatalf("stop plugin: %v", err)
	}
	lines := auditLines(t, e.Plugin)
	if len(lines) < 4 {
		t.Fatalf("audit file has %d records", len(lines))
	}
	started := false
	for _, l := range lines {
		if l.Rec.Type == audit.TypeDecision {
			break
		}
		started = started || l.Rec.Type == audit.TypePluginStart
	}
	if last := lines[len(lines)-1].Rec.Type; !started || last != audit.TypePluginStop {
		t.Errorf("plugin.start before the first decision: %v; last record %q, want plugin.stop", started, last)
	}
	byID := map[string]audit.Record{}
	var allowedCreate, response *audit.Record
	for i := range lines {
		r := &lines[i].Rec
		if r.Version != audit.SchemaVersion || r.ID == "" || time.Time(r.Time).IsZero() {
			t.Errorf("record without version, id or time: %s", lines[i].Line)
		}
		byID[r.ID] = *r
		if r.Type == audit.TypeDecision && r.Phase == audit.PhaseRequest && r.Action == "container.create" && r.Decision == audit.Allow {
			allowedCreate = r
		}
	}
	if allowedCreate == nil {
		t.Fatal("no record of the allowed container create")
	}
	for i := range lines {
		if r := &lines[i].Rec; r.Phase == audit.PhaseResponse && r.RequestID == allowedCreate.ID {
			response = r
		}
	}
	if response == nil || response.StatusCode != 201 || response.CreatedID == "" {
		t.Errorf("the allowed create's response record is missing or incomplete: %+v", response)
	}
	d, ok := byID[m[1]]
	if !ok {
		t.Fatalf("no record with the denial's decision id %s", m[1])
	}
	if d.Decision != audit.Deny || d.Action != "container.create" || len(d.Violations) == 0 || !strings.Contains(d.Violations[0].Rule, "privileged") {
		t.Errorf("denial record: %+v", d)
	}
}
