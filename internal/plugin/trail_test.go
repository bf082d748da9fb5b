package plugin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) records(t *testing.T) []audit.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestTrail: the id in a denial is the audit record's id, and a response
// record links back to its request's decision, with the team and the id
// of what was created.
func TestTrail(t *testing.T) {
	var buf lockedBuffer
	a, err := sink.New(sink.Config{PluginVersion: "test", Sinks: []sink.NamedSink{{Name: "buf", Sink: sink.NewWriterSink(&buf), Required: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(plugin.NewTrail(a)))
	cert := selfSigned(t, "web-dev1", "web")
	req := func(body string) authorization.Request {
		return authorization.Request{
			User: "web-dev1", UserAuthNMethod: "TLS", RequestMethod: "POST", RequestURI: "/v1.41/containers/create?name=c1",
			RequestBody: []byte(body), RequestHeaders: map[string]string{"Content-Type": "application/json"},
			RequestPeerCertificates: []*authorization.PeerCertificate{(*authorization.PeerCertificate)(cert)},
		}
	}

	denied := p.AuthZReq(req(`{"Image":"bb","Env":["PASSWORD=hunter2"],"HostConfig":{"Privileged":true}}`))
	if denied.Allow {
		t.Fatal("privileged create allowed")
	}
	i := strings.LastIndex(denied.Msg, "(decision ")
	if i < 0 {
		t.Fatalf("no decision id in %q", denied.Msg)
	}
	denyID := strings.TrimSuffix(denied.Msg[i+len("(decision "):], ")")

	allowed := req(`{"Image":"bb"}`)
	if res := p.AuthZReq(allowed); !res.Allow {
		t.Fatalf("plain create: %+v", res)
	}
	allowed.ResponseStatusCode = 201
	allowed.ResponseBody = []byte(`{"Id":"4f2a","Warnings":[]}`)
	if res := p.AuthZRes(allowed); !res.Allow {
		t.Fatalf("response: %+v", res)
	}

	recs := buf.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	d, ok, res := recs[0], recs[1], recs[2]
	if d.ID != denyID || d.Decision != audit.Deny || d.Phase != audit.PhaseRequest || len(d.Violations) == 0 || d.Violations[0].Rule != "container.privileged" {
		t.Errorf("deny record %+v (message id %s)", d, denyID)
	}
	if d.Identity == nil || d.Identity.Team != "web" || d.Policy != "web" {
		t.Errorf("deny record identity %+v policy %q", d.Identity, d.Policy)
	}
	line, _ := json.Marshal(d)
	if strings.Contains(string(line), "hunter2") {
		t.Errorf("a secret reached the audit trail: %s", line)
	}
	if res.Phase != audit.PhaseResponse || res.RequestID != ok.ID || res.StatusCode != 201 || res.CreatedID != "4f2a" {
		t.Errorf("response record %+v, want request_id %s", res, ok.ID)
	}
	if res.Identity == nil || res.Identity.Team != "web" {
		t.Errorf("response record identity %+v", res.Identity)
	}
	if res.Action != "container.create" || res.Method != "POST" || res.URI != ok.URI || res.APIVersion != ok.APIVersion {
		t.Errorf("response record route %s %s %s %s, want the request's %s %s %s %s",
			res.Action, res.Method, res.URI, res.APIVersion, ok.Action, ok.Method, ok.URI, ok.APIVersion)
	}

	// A response whose request the trail never saw is described from its
	// own method and URI.
	stray := req(`{"Image":"bb"}`)
	stray.RequestURI = "/v1.41/containers/web1/stop?t=3"
	stray.ResponseStatusCode = 204
	if res := p.AuthZRes(stray); !res.Allow {
		t.Fatalf("stray response: %+v", res)
	}
	recs = buf.records(t)
	if s := recs[len(recs)-1]; s.Action != "container.stop" || s.Target == nil || s.RequestID != "" {
		t.Errorf("stray response record %+v", s)
	}
}
