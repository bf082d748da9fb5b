package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/describe"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/request"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var fixedTime = audit.Timestamp(time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC))

func parse(t testing.TB, method, uri, body string) *request.Request {
	t.Helper()
	// Content-Length 0 for no body, as clients send it: a POST without one
	// may carry a body the plugin cannot see (request.form_body).
	h := map[string]string{"Content-Type": "application/json", "Content-Length": "0"}
	var b []byte
	if body != "" {
		b = []byte(body)
		h["Content-Length"] = "1"
	}
	req, err := request.Parse(method, uri, h, b)
	if err != nil {
		t.Fatalf("parse %s %s: %v", method, uri, err)
	}
	return req
}

const createBody = `{
  "Image": "alpine:3.20", "User": "0:0", "Cmd": ["sh"],
  "Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2", "EMPTY=", "PASSTHROUGH"],
  "Labels": {"team": "payments", "api_token": "tok-123", "Vault-Key": "k-456"},
  "HostConfig": {
    "Privileged": true, "CapAdd": ["SYS_ADMIN"], "CapDrop": ["ALL"],
    "SecurityOpt": ["seccomp=unconfined"], "PidMode": "host", "IpcMode": "private",
    "UTSMode": "host", "NetworkMode": "host", "UsernsMode": "host", "CgroupnsMode": "host",
    "Binds": ["/:/host:ro", "/var/run/docker.sock:/var/run/docker.sock", "data:/data"],
    "Mounts": [{"Type": "bind", "Source": "/etc", "Target": "/etc2", "ReadOnly": true}],
    "Devices": [{"PathOnHost": "/dev/kmsg", "PathInContainer": "/dev/kmsg", "CgroupPermissions": "rwm"}],
    "PortBindings": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "53/udp": []},
    "LogConfig": {"Type": "splunk", "Config": {"splunk-token": "s3cr3t-log-token"}},
    "ReadonlyRootfs": true
  }
}`

func yes() *bool { b := true; return &b }

func intp(i int) *int { return &i }

var (
	eventTime = audit.Timestamp(time.Date(2025, 3, 14, 15, 9, 20, 0, time.UTC))
	gapFrom   = audit.Timestamp(time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC))
)

func goldenCases(t testing.TB) []struct {
	name string
	rec  *audit.Record
} {
	create := parse(t, "POST", "/v1.47/containers/create?name=web", createBody)
	exec := parse(t, "POST", "/v1.47/containers/web/exec", `{"Cmd":["mysql","--password=pw-789","-e","select 1"],"User":"root","Privileged":true,"Env":["MYSQL_PWD=pw-789"]}`)
	build := parse(t, "POST", `/v1.47/build?t=app:1&buildargs=%7B%22NPM_TOKEN%22%3A%22npm-abc%22%2C%22VERSION%22%3A%221.2%22%7D&labels=%7B%22secret_label%22%3A%22lab-999%22%2C%22owner%22%3A%22ops%22%7D&remote=https%3A%2F%2Fuser%3Agh-tok-000%40github.com%2Fo%2Fr.git`, "")
	id := "01959540-7d27-7000-8000-000000000001"
	ident := &audit.Identity{User: "alice", AuthNMethod: "TLS", Team: "payments", CertSubject: "CN=alice,OU=payments,O=example"}
	rec := func(r *audit.Record, req *request.Request) *audit.Record {
		if r.ID == "" {
			r.ID = id
		}
		r.Time = fixedTime
		describe.SetRequest(r, req)
		return r
	}
	return []struct {
		name string
		rec  *audit.Record
	}{
		{"allow", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeEnforce, Decision: audit.Allow,
			Identity: &audit.Identity{User: "bob", AuthNMethod: "TLS"}, Policy: "default",
			PolicyRevision: audit.PolicyRevision(map[string][]byte{"default.hcl": []byte("rule {}")}),
			DurationNS:     41200,
		}, parse(t, "GET", "/v1.47/containers/json?all=1", ""))},
		{"deny", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeEnforce, Decision: audit.Deny,
			Identity: ident, Policy: "default", PolicyRevision: "sha256:0f00",
			Violations: []audit.Violation{
				{Rule: "no_privileged", Field: "HostConfig.Privileged", Reason: "privileged containers are not allowed"},
				{Rule: "no_host_pid", Field: "HostConfig.PidMode", Reason: "the host PID namespace is not allowed"},
			},
			DurationNS: 187000,
		}, create)},
		{"audit_mode", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeAudit, Decision: audit.Allow,
			EnforcedDecision: audit.Deny, WouldDeny: yes(), Identity: ident, Policy: "default", PolicyRevision: "sha256:0f00",
			Violations: []audit.Violation{{Rule: "no_exec_privileged", Field: "Privileged", Reason: "privileged exec is not allowed"}},
			DurationNS: 52000,
		}, exec)},
		{"response", rec(&audit.Record{
			Type: audit.TypeDecision, ID: "01959540-7d27-7000-8000-000000000002", Phase: audit.PhaseResponse,
			Mode: audit.ModeEnforce, Decision: audit.Allow, Identity: ident, Policy: "default", PolicyRevision: "sha256:0f00",
			RequestID: id, StatusCode: 201,
			CreatedID:  audit.ParseCreatedID([]byte(`{"Id":"4f1c2b7d9e","Warnings":[]}`)),
			DurationNS: 900,
		}, parse(t, "POST", "/v1.47/containers/create?name=web", `{"Image":"alpine"}`))},
		{"masked_secrets", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeEnforce, Decision: audit.Allow,
			Identity: ident, Policy: "default", PolicyRevision: "sha256:0f00",
		}, build)},
		{"malformed_binds", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeEnforce, Decision: audit.Deny,
			Identity: ident, Policy: "default", PolicyRevision: "sha256:0f00",
			Violations: []audit.Violation{
				{Rule: "mounts.invalid", Field: "HostConfig.Binds[0]", Reason: `bind "/a:/b:ro:x" is not valid: invalid volume specification: '/a:/b:ro:x'`},
				{Rule: "mounts.invalid", Field: "HostConfig.Binds[1]", Reason: `bind "/src:ro" is not valid: invalid volume specification: '/src:ro'`},
				{Rule: "mounts.invalid", Field: "HostConfig.Binds[2]", Reason: `bind "/src:dst:ro" is not valid: invalid volume specification: '/src:dst:ro': invalid mount config for type "bind": invalid mount path: 'dst' mount path must be absolute`},
				{Rule: "mounts.invalid", Field: "HostConfig.Binds[3]", Reason: `bind "/src:/dst:ro,x" is not valid: invalid mode: ro,x`},
			},
			DurationNS: 61000,
		}, parse(t, "POST", "/v1.47/containers/create", `{"Image":"alpine","HostConfig":{"Binds":["/a:/b:ro:x","/src:ro","/src:dst:ro","/src:/dst:ro,x","/srv/x:/x:ro","data:/data:nocopy","/anon"]}}`))},
		{"plugin_start", rec(&audit.Record{Type: audit.TypePluginStart, Message: "portcullis listening on /run/docker/plugins/portcullis.sock"}, nil)},
		{"policy_reload_failed", rec(&audit.Record{
			Type: audit.TypePolicyReloadFailed, Message: "policy reload failed; keeping revision sha256:0f00",
			Diagnostics: []string{`policies/main.hcl:3,5-9: Unsupported argument; An argument named "privilegd" is not expected here.`},
		}, nil)},
		{"audit_loss", rec(&audit.Record{Type: audit.TypeAuditLoss, Dropped: 15, Message: "15 audit records were lost: the syslog queue and spool were full"}, nil)},
		{"audit_unavailable", rec(&audit.Record{
			Type: audit.TypeDecision, Phase: audit.PhaseRequest, Mode: audit.ModeEnforce, Decision: audit.Deny,
			OverriddenDecision: audit.Allow, Identity: &audit.Identity{User: "bob", AuthNMethod: "TLS"}, Policy: "default",
			PolicyRevision: "sha256:0f00",
			Violations:     []audit.Violation{{Rule: audit.RuleUnavailable, Reason: audit.UnavailableReason(errors.New("audit sink file: write audit file: no space left on device"))}},
			DurationNS:     38000,
		}, parse(t, "GET", "/v1.47/containers/json", ""))},
		{"audit_loss_file", rec(&audit.Record{
			Type: audit.TypeAuditLoss, Sink: "file", Dropped: 7,
			Losses: []audit.LossCount{
				{Type: audit.TypeDecision, Phase: audit.PhaseRequest, Decision: audit.Deny, Count: 5},
				{Type: audit.TypeDecision, Phase: audit.PhaseResponse, Decision: audit.Allow, Count: 2},
			},
			Message: "7 audit records were not written to file while it failed; it takes records again",
		}, nil)},
		{"plugin_crashed", rec(&audit.Record{
			Type: audit.TypePluginCrashed, PreviousInstance: "01959540-0000-7000-8000-00000000000a",
			LastRecordID: "01959540-7d27-7000-8000-0000000000ff",
			Message:      "the previous run (instance 01959540-0000-7000-8000-00000000000a) stopped without closing the audit trail (killed or crashed); the last record written is 01959540-7d27-7000-8000-0000000000ff",
		}, nil)},
		{"audit_retention", rec(&audit.Record{
			Type: audit.TypeAuditRetention, Files: []string{"audit-20250101T000000.000000000Z.log"},
			Message: "retention deleted 1 rotated audit files, rotated more than 720h0m0s ago",
		}, nil)},
		{"container_died", rec(&audit.Record{
			Type: audit.TypeContainerDied, EventTime: &eventTime, ExitCode: intp(137),
			Target:  &audit.Target{Container: "job", ID: "4f1c2b7d9e", OwnerTeam: "web", OwnerUser: "alice"},
			Message: "container job (owned by team web) exited with code 137",
		}, nil)},
		{"container_oom", rec(&audit.Record{
			Type: audit.TypeContainerOOM, EventTime: &eventTime,
			Target:  &audit.Target{Container: "job", ID: "4f1c2b7d9e", OwnerTeam: "web", OwnerUser: "alice"},
			Message: "container job (owned by team web): a process was killed for memory",
		}, nil)},
		{"events_gap", rec(&audit.Record{
			Type: audit.TypeEventsGap, GapFrom: &gapFrom, GapTo: &eventTime,
			Message: "the daemon no longer held all events between 2025-03-14T15:00:00.000000000Z and 2025-03-14T15:09:20.000000000Z: container lifecycle events in that interval may be missing from the trail",
		}, nil)},
		{"decision_summary", rec(&audit.Record{
			Type: audit.TypeDecisionSummary, Phase: audit.PhaseRequest, Decision: audit.Allow, Policy: "web",
			Identity: &audit.Identity{User: "alice", Team: "web"}, Action: "system.ping", Count: 1200,
			Message: "1200 allowed system.ping calls (request phase) since 2025-03-14T15:08:26Z, summarised by the policy's audit_health_calls",
		}, nil)},
	}
}

// TestGoldenRecords encodes one record of each kind through an Auditor and
// compares the line with testdata/<name>.golden.json.
func TestGoldenRecords(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a, err := sink.New(sink.Config{Instance: "inst-1", PluginVersion: "0.1.0", Stdout: &out, StdoutRequired: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Record(tc.rec); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// Indent for review; the line itself is compact.
			if strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("want exactly one line, got %q", out.String())
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
			// The line decodes back into the same record.
			var back audit.Record
			if err := json.Unmarshal(out.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.rec, &back, cmp.Comparer(func(a, b audit.Timestamp) bool { return a.Time().Equal(b.Time()) }),
				cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Summary.Masked" }, cmp.Ignore())); diff != "" {
				t.Errorf("round trip (-sent +decoded):\n%s", diff)
			}
		})
	}
}

// TestSecretsNeverEncoded feeds secrets through every masked channel and
// checks that none of them appears anywhere in the encoded records.
func TestSecretsNeverEncoded(t *testing.T) {
	secrets := []string{"hunter2", "tok-123", "k-456", "pw-789", "npm-abc", "lab-999", "gh-tok-000", "s3cr3t-log-token", "vol-pass-1", "net-key-2"}
	reqs := []*request.Request{
		parse(t, "POST", "/v1.47/containers/create?name=web", createBody),
		parse(t, "POST", "/v1.47/containers/web/exec", `{"Cmd":["mysql","--password=pw-789","PASSWORD=pw-789"],"Env":["A=hunter2","B=x=hunter2"]}`),
		parse(t, "POST", `/v1.47/build?buildargs=%7B%22X%22%3A%22npm-abc%22%2C%22Y%22%3Anull%7D&labels=%7B%22my_SECRET%22%3A%22lab-999%22%7D&remote=https%3A%2F%2Fu%3Agh-tok-000%40h%2Fr`, ""),
		parse(t, "POST", `/v1.47/build?buildargs=not-json-npm-abc`, ""),
		parse(t, "POST", `/v1.47/images/create?fromSrc=https%3A%2F%2Fu%3Agh-tok-000%40h%2Fimg.tar&repo=x`, ""),
		parse(t, "POST", "/v1.47/volumes/create", `{"Name":"v","Driver":"local","DriverOpts":{"type":"cifs","o":"addr=h,username=u,password=vol-pass-1"},"Labels":{"PASSWORD":"vol-pass-1"}}`),
		parse(t, "POST", "/v1.47/networks/create", `{"Name":"n","Options":{"encryption_key":"net-key-2"},"Labels":{"Token":"net-key-2"}}`),
		parse(t, "POST", "/v1.47/commit?container=web", `{"Env":["K=hunter2"],"Labels":{"secretive":"tok-123"}}`),
		parse(t, "POST", "/v1.47/services/create", `{"Name":"s","Labels":{"key":"k-456"},"TaskTemplate":{"ContainerSpec":{"Image":"a","Env":["P=hunter2"],"Labels":{"db_password":"hunter2"}}}}`),
	}
	for _, req := range reqs {
		t.Run(string(req.Action), func(t *testing.T) {
			rec := &audit.Record{Type: audit.TypeDecision}
			describe.SetRequest(rec, req)
			line, err := audit.Encode(rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(line, []byte(s)) {
					t.Errorf("secret %q in %s", s, line)
				}
			}
			if len(rec.Masked) == 0 {
				t.Errorf("masked is empty: %s", line)
			}
		})
	}
}

// TestSummarizeNilSafe checks that no body pointer, nil or empty, panics.
func TestSummarizeNilSafe(t *testing.T) {
	if describe.Summarize(nil) != nil || describe.TargetOf(nil) != nil {
		t.Error("nil request gives a summary")
	}
	var r audit.Record
	describe.SetRequest(&r, nil)
	for _, req := range []*request.Request{
		{},
		{Action: "container.create", ContainerCreate: &request.ContainerCreate{}},
		{Action: "container.exec"},
		{Action: "service.create", ServiceSpec: new(request.Request).ServiceSpec},
		{Action: "image.build"},
		{Action: "network.connect"},
	} {
		_ = describe.Summarize(req)
		describe.SetRequest(&r, req)
	}
	if s := describe.Summarize(&request.Request{Action: "container.list"}); s != nil {
		t.Errorf("empty request gives summary %+v", s)
	}
}
