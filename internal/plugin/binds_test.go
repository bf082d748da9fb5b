package plugin_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/docker/docker/volume/mounts"
	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
)

// TestBindsOneReading: for every bind specification the daemon's own
// parser refuses, the plugin denies the request with the daemon's reason
// and the audit record describes the bind as invalid with that same
// reason; for every one it accepts, the record describes what the daemon
// will mount. The shipped policies judge; the daemon's parser is
// docker/docker volume/mounts (Linux).
func TestBindsOneReading(t *testing.T) {
	set, _, diags := policy.LoadDir("../../examples/policies")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var buf lockedBuffer
	a, err := sink.New(sink.Config{PluginVersion: "test", Sinks: []sink.NamedSink{{Name: "buf", Sink: sink.NewWriterSink(&buf), Required: true}}})
	if err != nil {
		t.Fatal(err)
	}
	p := plugin.New(set, plugin.WithAuditor(plugin.NewTrail(a)))
	daemon := mounts.NewLinuxParser()
	binds := []string{
		// Malformed: the forms the policy and the audit trail once
		// read differently, and the daemon's other refusals.
		"/a:/b:ro:x", "/src:ro", "/src:rw", "/src:", ":/dst", "/srv/scratch/x::ro", "/srv/scratch/x:dst:ro",
		"/srv/scratch/x:/:ro", "/srv/scratch/x:/m/..", "/srv/scratch/x:/m:ro,nocopy", "data:/m:rslave",
		"/srv/scratch/x:/m:ro,ro", "/srv/scratch/x:/m:RO", "/srv/scratch/x:/m:ro,x", "/a:/b:c:d:e",
		// Accepted by the daemon.
		"/srv/scratch/x:/m:ro", "/srv/scratch/x:\\m:ro", "/srv/scratch/x:/m:ro,z,rslave", "data:/m:nocopy", "/anon", "ro:/m",
	}
	for i, raw := range binds {
		body, _ := json.Marshal(map[string]any{"Image": "bb", "HostConfig": map[string]any{"Binds": []string{raw}}})
		resp := p.AuthZReq(authorization.Request{
			RequestMethod: "POST", RequestURI: "/v1.47/containers/create",
			RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestBody: body,
		})
		recs := buf.records(t)
		if len(recs) != i+1 {
			t.Fatalf("%q: %d records after %d requests", raw, len(recs), i+1)
		}
		rec := recs[i]
		if rec.Summary == nil || len(rec.Summary.Mounts) != 1 {
			t.Fatalf("%q: record summary %+v", raw, rec.Summary)
		}
		m := rec.Summary.Mounts[0]
		mp, derr := daemon.ParseMountRaw(raw, "")
		if derr != nil {
			want := "bind " + strconv.Quote(raw) + " is not valid: " + derr.Error()
			if resp.Allow {
				t.Errorf("%q: allowed; the daemon refuses it: %v", raw, derr)
			}
			found := false
			for _, v := range rec.Violations {
				if v.Rule == "mounts.invalid" && v.Field == "HostConfig.Binds[0]" && v.Reason == want {
					found = true
				}
			}
			if !found {
				t.Errorf("%q: violations %+v, want mounts.invalid %q", raw, rec.Violations, want)
			}
			if m.Type != audit.MountInvalid || m.Spec != raw || m.Invalid != derr.Error() {
				t.Errorf("%q: described as %+v, want invalid with %q", raw, m, derr)
			}
			continue
		}
		for _, v := range rec.Violations {
			if v.Rule == "mounts.invalid" {
				t.Errorf("%q: denied as invalid (%s); the daemon accepts it", raw, v.Reason)
			}
		}
		want := audit.Mount{Type: string(mp.Type), Source: mp.Spec.Source, Target: mp.Spec.Target, ReadOnly: !mp.RW}
		if m != want {
			t.Errorf("%q: described as %+v, the daemon reads %+v", raw, m, want)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
