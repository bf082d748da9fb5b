package plugin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
)

// TestHealthCallSummary: a policy with audit_health_calls = "summarize"
// has its allowed pings and version calls counted in decision.summary
// records instead of one record each; its denials are still recorded one
// by one, and a policy that does not summarise records every call.
func TestHealthCallSummary(t *testing.T) {
	for _, tc := range []struct {
		setting   string
		summarize bool
	}{{`audit_health_calls = "summarize"`, true}, {``, false}} {
		dir := t.TempDir()
		src := "policy \"default\" {\n  " + tc.setting + "\n  actions {\n    allow = [\"system.*\", \"container.*\"]\n  }\n}\n"
		if err := os.WriteFile(filepath.Join(dir, "default.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		set, _, diags := policy.LoadDir(dir)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var buf lockedBuffer
		a, err := sink.New(sink.Config{PluginVersion: "test", Sinks: []sink.NamedSink{{Name: "buf", Sink: sink.NewWriterSink(&buf), Required: true}}})
		if err != nil {
			t.Fatal(err)
		}
		trail := plugin.NewTrail(a)
		p := plugin.New(set, plugin.WithAuditor(trail))
		for range 5 {
			ping := authorization.Request{RequestMethod: "GET", RequestURI: "/_ping"}
			if !p.AuthZReq(ping).Allow {
				t.Fatal("ping denied")
			}
			p.AuthZRes(ping)
		}
		p.AuthZReq(authorization.Request{RequestMethod: "GET", RequestURI: "/v1.41/version"})
		priv := authorization.Request{RequestMethod: "POST", RequestURI: "/v1.41/containers/create",
			RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestBody: []byte(`{"Image":"x","HostConfig":{"Privileged":true}}`)}
		if p.AuthZReq(priv).Allow {
			t.Fatal("privileged allowed")
		}
		if err := trail.FlushSummary(); err != nil {
			t.Fatal(err)
		}
		a.Close()
		counts := map[string]uint64{}
		decisions := map[string]int{}
		for _, r := range buf.records(t) {
			switch r.Type {
			case audit.TypeDecisionSummary:
				counts[r.Action+"/"+string(r.Phase)] += r.Count
			case audit.TypeDecision:
				decisions[r.Action+"/"+string(r.Decision)]++
			}
		}
		if decisions["container.create/deny"] != 1 {
			t.Errorf("%q: the denial was not recorded: %v", tc.setting, decisions)
		}
		if tc.summarize {
			want := map[string]uint64{"system.ping/request": 5, "system.ping/response": 5, "system.version/request": 1}
			if len(counts) != len(want) {
				t.Errorf("summaries %v, want %v", counts, want)
			}
			for k, n := range want {
				if counts[k] != n {
					t.Errorf("summary %s counts %d, want %d", k, counts[k], n)
				}
			}
			if decisions["system.ping/allow"] != 0 {
				t.Errorf("%d ping records written one by one", decisions["system.ping/allow"])
			}
		} else if len(counts) != 0 || decisions["system.ping/allow"] != 10 || decisions["system.version/allow"] != 1 {
			t.Errorf("without the setting: summaries %v, decisions %v", counts, decisions)
		}
	}
}
