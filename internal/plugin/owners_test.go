package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/internal/state"
)

// emptyDaemon has no objects: reconciling with it marks the store synced.
type emptyDaemon struct{}

func (emptyDaemon) Events(context.Context, events.ListOptions) (<-chan events.Message, <-chan error) {
	return nil, nil
}

func (emptyDaemon) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return nil, nil
}

func (emptyDaemon) VolumeList(context.Context, volume.ListOptions) (volume.ListResponse, error) {
	return volume.ListResponse{}, nil
}

func (emptyDaemon) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return nil, nil
}

const ctrID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func ownersPlugin(t *testing.T) (*plugin.Plugin, *state.Store) {
	t.Helper()
	set, files, diags := policy.LoadDir("testdata/ownership")
	if diags.HasErrors() {
		t.Fatalf("%v %v", files, diags)
	}
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Reconcile(context.Background(), emptyDaemon{}); err != nil {
		t.Fatal(err)
	}
	return plugin.New(set, plugin.WithOwners(st)), st
}

func authzReq(user, method, uri, body string) authorization.Request {
	r := authorization.Request{User: user, UserAuthNMethod: "TLS", RequestMethod: method, RequestURI: uri}
	if body != "" {
		r.RequestBody = []byte(body)
		r.RequestHeaders = map[string]string{"Content-Type": "application/json", "Content-Length": "1"}
	}
	return r
}

func withResponse(r authorization.Request, status int, body string) authorization.Request {
	r.ResponseStatusCode = status
	r.ResponseBody = []byte(body)
	r.ResponseHeaders = map[string]string{"Content-Type": "application/json"}
	return r
}

// TestOwnersFromResponses: an owner is recorded only when the daemon's
// response shows the object was created; renames and removals follow the
// daemon's answers; denials name the owner.
func TestOwnersFromResponses(t *testing.T) {
	p, st := ownersPlugin(t)
	create := authzReq("w1", "POST", "/v1.41/containers/create?name=web-db", `{"Image":"busybox","User":"1000"}`)
	if res := p.AuthZReq(create); !res.Allow {
		t.Fatalf("create: %s", res.Msg)
	}

	// A failed create records nothing.
	if res := p.AuthZRes(withResponse(create, 409, `{"message":"Conflict"}`)); !res.Allow {
		t.Fatalf("failed create's response: %s", res.Msg)
	}
	if st.Len(request.KindContainer) != 0 {
		t.Fatal("a failed create recorded an owner")
	}
	// A created container whose id the response does not name: no owner,
	// and the client is told.
	if res := p.AuthZRes(withResponse(create, 201, `{"Warnings":[]}`)); res.Allow || !strings.Contains(res.Msg, "ownership.unrecorded") {
		t.Fatalf("create response without an id: %+v", res)
	}

	if res := p.AuthZRes(withResponse(create, 201, `{"Id":"`+ctrID+`","Warnings":[]}`)); !res.Allow {
		t.Fatalf("create response: %s", res.Msg)
	}
	o, ok := st.Get(request.KindContainer, ctrID)
	if !ok || o.Name != "web-db" || o.Owner != (request.Owner{Team: "web", User: "w1"}) || o.User != "1000" || !o.UserKnown {
		t.Fatalf("recorded %+v %v", o, ok)
	}

	for _, ref := range []string{"web-db", "%2Fweb-db", ctrID, ctrID[:12]} {
		if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/containers/"+ref+"/stop", "")); res.Allow || !strings.Contains(res.Msg, `container \"web-db\" belongs to team web`) && !strings.Contains(res.Msg, `container "web-db" belongs to team web`) {
			t.Errorf("data stops %s: %+v", ref, res)
		}
		if res := p.AuthZReq(authzReq("w2", "POST", "/v1.41/containers/"+ref+"/stop", "")); !res.Allow {
			t.Errorf("web's other member stops %s: %s", ref, res.Msg)
		}
	}

	// Rename: the new name resolves at once, the old one no longer.
	rename := authzReq("w1", "POST", "/v1.41/containers/web-db/rename?name=web-db2", "")
	if res := p.AuthZReq(rename); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(rename, 204, ""))
	if o, res := st.Resolve(request.KindContainer, "web-db2"); res != request.Found || o.ID != ctrID {
		t.Errorf("after rename: %+v %v", o, res)
	}

	// Exec instances belong to who created them.
	execReq := authzReq("w1", "POST", "/v1.41/containers/web-db2/exec", `{"Cmd":["true"]}`)
	if res := p.AuthZReq(execReq); !res.Allow {
		t.Fatal(res.Msg)
	}
	execID := strings.Repeat("e", 64)
	p.AuthZRes(withResponse(execReq, 201, `{"Id":"`+execID+`"}`))
	if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/exec/"+execID+"/start", `{}`)); res.Allow {
		t.Error("data started web's exec instance")
	}
	if res := p.AuthZReq(authzReq("w2", "POST", "/v1.41/exec/"+execID+"/start", `{}`)); !res.Allow {
		t.Errorf("web starts its exec: %s", res.Msg)
	}

	// Remove: gone from the store, and its exec instances with it.
	rm := authzReq("w1", "DELETE", "/v1.41/containers/"+ctrID[:12], "")
	if res := p.AuthZReq(rm); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(rm, 204, ""))
	if _, ok := st.Get(request.KindContainer, ctrID); ok {
		t.Error("removed container still owned")
	}
	if _, ok := st.Get(request.KindExec, execID); ok {
		t.Error("exec of a removed container still known")
	}
}

// TestOwnersVolumesAndNetworks: a volume's id is its name; a network's
// name comes from the create body.
func TestOwnersVolumesAndNetworks(t *testing.T) {
	p, st := ownersPlugin(t)
	vol := authzReq("w1", "POST", "/v1.41/volumes/create", `{"Name":"webvol"}`)
	if res := p.AuthZReq(vol); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(vol, 201, `{"Name":"webvol","Driver":"local"}`))
	net := authzReq("w1", "POST", "/v1.41/networks/create", `{"Name":"webnet"}`)
	if res := p.AuthZReq(net); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(net, 201, `{"Id":"`+ctrID+`"}`))
	if o, res := st.Resolve(request.KindVolume, "webvol"); res != request.Found || o.Owner.Team != "web" {
		t.Errorf("volume: %+v %v", o, res)
	}
	if o, res := st.Resolve(request.KindNetwork, "webnet"); res != request.Found || o.Owner.Team != "web" {
		t.Errorf("network: %+v %v", o, res)
	}
	if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/containers/create", `{"Image":"busybox","HostConfig":{"Binds":["webvol:/x"]}}`)); res.Allow {
		t.Error("data mounted web's volume")
	}
	if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/networks/"+ctrID[:10]+"/connect", `{"Container":"x"}`)); res.Allow {
		t.Error("data connected to web's network by id prefix")
	}
}

// TestOwnersOfSwarmObjects: a swarm object's owner is the one its owner
// labels name (what every manager reads back), not the creating user; a
// local network's labels are never read.
func TestOwnersOfSwarmObjects(t *testing.T) {
	p, st := ownersPlugin(t)
	const svcID = "abcdefghijklmnopqrstuvwxy"
	svc := authzReq("w1", "POST", "/v1.41/services/create", `{"Name":"websvc","Labels":{"io.portcullis.owner.team":"web"},"TaskTemplate":{"ContainerSpec":{"Image":"bb"}}}`)
	if res := p.AuthZReq(svc); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(svc, 201, `{"ID":"`+svcID+`"}`))
	if o, res := st.Resolve(request.KindService, "websvc"); res != request.Found || o.Owner != (request.Owner{Team: "web"}) {
		t.Errorf("service: %+v %v, want owned by team web alone (its labels)", o, res)
	}
	ov := authzReq("w1", "POST", "/v1.41/networks/create", `{"Name":"webov","Driver":"overlay","Labels":{"io.portcullis.owner.team":"web","io.portcullis.owner.user":"w1"}}`)
	if res := p.AuthZReq(ov); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.AuthZRes(withResponse(ov, 201, `{"Id":"`+ctrID+`"}`))
	if o, res := st.Resolve(request.KindNetwork, "webov"); res != request.Found || o.Owner != (request.Owner{Team: "web", User: "w1"}) {
		t.Errorf("overlay network: %+v %v", o, res)
	}
	if res := p.AuthZReq(authzReq("w1", "POST", "/v1.41/services/create", `{"Name":"s2","TaskTemplate":{"ContainerSpec":{"Image":"bb"}}}`)); res.Allow ||
		!strings.Contains(res.Msg, "--label io.portcullis.owner.team=web") {
		t.Errorf("service without the owner label: allow %v %q", res.Allow, res.Msg)
	}
	if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/services/websvc/update?version=2", `{"Name":"websvc","Labels":{"io.portcullis.owner.team":"web"},"TaskTemplate":{"ContainerSpec":{"Image":"bb"}}}`)); res.Allow ||
		!strings.Contains(res.Msg, "belongs to team web") {
		t.Errorf("data updating web's service: allow %v %q", res.Allow, res.Msg)
	}
}

// TestOwnersInAuditRecords: a denial's record carries the target's id and
// owner; a create's response record carries the owner it recorded.
func TestOwnersInAuditRecords(t *testing.T) {
	var buf lockedBuffer
	a, err := sink.New(sink.Config{PluginVersion: "test", Sinks: []sink.NamedSink{{Name: "buf", Sink: sink.NewWriterSink(&buf), Required: true}}})
	if err != nil {
		t.Fatal(err)
	}
	_, st := ownersPlugin(t)
	set, _, _ := policy.LoadDir("testdata/ownership")
	p := plugin.New(set, plugin.WithOwners(st), plugin.WithAuditor(plugin.NewTrail(a)))
	create := authzReq("w1", "POST", "/v1.41/containers/create?name=web-db", `{"Image":"busybox"}`)
	p.AuthZReq(create)
	p.AuthZRes(withResponse(create, 201, `{"Id":"`+ctrID+`"}`))
	if res := p.AuthZReq(authzReq("d1", "POST", "/v1.41/containers/"+ctrID[:8]+"/kill", "")); res.Allow {
		t.Fatal("data killed web's container")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var sawCreate, sawDeny bool
	for _, r := range buf.records(t) {
		if r.Type != audit.TypeDecision || r.Target == nil {
			continue
		}
		switch {
		case r.Phase == audit.PhaseResponse && r.Action == "container.create":
			sawCreate = r.Target.ID == ctrID && r.Target.OwnerTeam == "web" && r.Target.OwnerUser == "w1"
		case r.Decision == audit.Deny && r.Action == "container.kill":
			sawDeny = r.Target.ID == ctrID && r.Target.OwnerTeam == "web" && r.Target.Container == ctrID[:8]
		}
	}
	if !sawCreate || !sawDeny {
		t.Errorf("records: create response with owner %v, denial with target id and owner %v\n%s", sawCreate, sawDeny, buf.b.String())
	}
}
