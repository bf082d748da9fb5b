package state

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/portcullis/portcullis/internal/request"
)

// swarmDaemon is a fakeDaemon that is also a swarm manager (or refuses
// to list swarm objects while notManager is set).
type swarmDaemon struct {
	fakeDaemon
	mu         sync.Mutex
	services   []swarm.Service
	secrets    []swarm.Secret
	configs    []swarm.Config
	notManager bool
	// lists counts the swarm list requests, filtered by id or not.
	lists, byID int
}

var errNotManager = errors.New("This node is not a swarm manager.")

func idFilter(f interface{ Get(string) []string }) string {
	if ids := f.Get("id"); len(ids) == 1 {
		return ids[0]
	}
	return ""
}

func (f *swarmDaemon) ServiceList(_ context.Context, o swarm.ServiceListOptions) ([]swarm.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notManager {
		return nil, errNotManager
	}
	id := idFilter(o.Filters)
	if id == "" {
		f.lists++
		return f.services, nil
	}
	f.byID++
	var out []swarm.Service
	for _, s := range f.services {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *swarmDaemon) SecretList(_ context.Context, o swarm.SecretListOptions) ([]swarm.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notManager {
		return nil, errNotManager
	}
	var out []swarm.Secret
	for _, s := range f.secrets {
		if id := idFilter(o.Filters); id == "" || s.ID == id {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *swarmDaemon) ConfigList(_ context.Context, o swarm.ConfigListOptions) ([]swarm.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notManager {
		return nil, errNotManager
	}
	var out []swarm.Config
	for _, s := range f.configs {
		if id := idFilter(o.Filters); id == "" || s.ID == id {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *swarmDaemon) NetworkList(_ context.Context, o network.ListOptions) ([]network.Summary, error) {
	var out []network.Summary
	for _, n := range f.nets {
		if id := idFilter(o.Filters); id == "" || n.ID == id {
			out = append(out, n)
		}
	}
	return out, f.fail
}

func labels(team, user string) map[string]string {
	l := map[string]string{"com.example.other": "x"}
	if team != "" {
		l[request.OwnerLabelTeam] = team
	}
	if user != "" {
		l[request.OwnerLabelUser] = user
	}
	return l
}

func service(id, name string, l map[string]string) swarm.Service {
	return swarm.Service{ID: id, Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: l}}}
}

// TestReconcileSwarm: the owners of services, secrets, configs and
// swarm-scoped networks are read from their owner labels, replacing an
// owner recorded here; look-alike keys and local networks' labels are
// never read; an unlabelled object keeps a recorded owner or is
// unowned.
func TestReconcileSwarm(t *testing.T) {
	s := openTest(t)
	recorded := request.Owner{Team: "web", User: "w1"}
	for _, o := range []request.Object{
		{Kind: request.KindService, ID: "svclegacy", Name: "legacy", Owner: recorded},
		{Kind: request.KindService, ID: "svcrelabelled", Name: "relabelled", Owner: recorded},
		{Kind: request.KindService, ID: "svcgone", Name: "gone", Owner: recorded},
	} {
		if err := s.Record(o); err != nil {
			t.Fatal(err)
		}
	}
	d := &swarmDaemon{
		fakeDaemon: fakeDaemon{nets: []network.Summary{
			{ID: "netswarm", Name: "ov", Scope: "swarm", Labels: labels("data", "")},
			{ID: "netlocal", Name: "br", Scope: "local", Labels: labels("data", "")},
		}},
		services: []swarm.Service{
			service("svcweb", "websvc", labels("web", "")),
			service("svcsolo", "solosvc", labels("", "alice")),
			service("svclegacy", "legacy", nil),
			service("svcrelabelled", "relabelled", labels("data", "d1")),
			service("svclookalike", "lookalike", map[string]string{"IO.PORTCULLIS.OWNER.TEAM": "web", " io.portcullis.owner.team": "web"}),
		},
		secrets: []swarm.Secret{{ID: "secweb", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "pw", Labels: labels("web", "w2")}}}},
		configs: []swarm.Config{{ID: "cfgweb", Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "conf", Labels: labels("web", "")}}}},
	}
	if err := s.Reconcile(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind  request.Kind
		ref   string
		owned bool
		owner request.Owner
	}{
		{request.KindService, "websvc", true, request.Owner{Team: "web"}},
		{request.KindService, "solosvc", true, request.Owner{User: "alice"}},
		{request.KindService, "legacy", true, recorded},
		{request.KindService, "relabelled", true, request.Owner{Team: "data", User: "d1"}},
		{request.KindService, "lookalike", false, request.Owner{}},
		{request.KindSecret, "pw", true, request.Owner{Team: "web", User: "w2"}},
		{request.KindConfig, "conf", true, request.Owner{Team: "web"}},
		{request.KindNetwork, "ov", true, request.Owner{Team: "data"}},
		{request.KindNetwork, "br", false, request.Owner{}},
	} {
		o, res := s.Resolve(c.kind, c.ref)
		if res != request.Found || o.Owned != c.owned || o.Owner != c.owner {
			t.Errorf("%s %s: %+v %v, want owned %v by %+v", c.kind, c.ref, o, res, c.owned, c.owner)
		}
	}
	if _, ok := s.Get(request.KindService, "svcgone"); ok {
		t.Error("a service no longer listed is still known")
	}
	// The owners read from labels are on disk, for a restart before the
	// daemon answers.
	dir := filepath.Dir(s.db.Path())
	s.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if o, ok := s2.Get(request.KindService, "svcweb"); !ok || o.Owner != (request.Owner{Team: "web"}) {
		t.Errorf("after reopen: %+v %v", o, ok)
	}
}

// TestFollowSwarm: a service created through another manager is known
// with the owner its labels name as soon as its create event is applied;
// swarm removals ("remove", networks too) are followed; a node that was
// not a manager when it reconciled reads every swarm object at its first
// swarm event.
func TestFollowSwarm(t *testing.T) {
	s := openTest(t)
	d := &swarmDaemon{
		fakeDaemon: fakeDaemon{events: make(chan events.Message), errs: make(chan error, 1)},
		notManager: true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan error, 8)
	done := make(chan struct{})
	go func() {
		s.Follow(ctx, d, func(err error) { reports <- err })
		close(done)
	}()
	if err := <-reports; err != nil {
		t.Fatalf("reconcile on a node that is no manager: %v", err)
	}
	if !s.Synced() {
		t.Fatal("not synced although containers, volumes and networks were read")
	}
	// The node joins; a service and a swarm network existed before.
	d.mu.Lock()
	d.notManager = false
	d.services = []swarm.Service{service("svcold", "old", labels("web", ""))}
	d.mu.Unlock()
	d.nets = []network.Summary{{ID: "netold", Name: "ovold", Scope: "swarm", Labels: labels("web", "")}}
	send := func(m events.Message) { d.events <- m } // unbuffered: returns once Follow took it
	send(events.Message{Type: events.NodeEventType, Action: events.ActionUpdate, Scope: "swarm", Actor: events.Actor{ID: "node1"}})
	// Another manager creates a service: its event carries no labels.
	d.mu.Lock()
	d.services = append(d.services, service("svcnew", "new", labels("data", "d1")))
	d.mu.Unlock()
	send(events.Message{Type: events.ServiceEventType, Action: events.ActionCreate, Scope: "swarm", Actor: events.Actor{ID: "svcnew", Attributes: map[string]string{"name": "new"}}})
	// A barrier: this event is taken only after the one before it was
	// applied.
	send(events.Message{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "bb"}})
	for _, c := range []struct {
		kind  request.Kind
		ref   string
		owner request.Owner
	}{
		{request.KindService, "old", request.Owner{Team: "web"}},
		{request.KindNetwork, "ovold", request.Owner{Team: "web"}},
		{request.KindService, "new", request.Owner{Team: "data", User: "d1"}},
	} {
		if o, res := s.Resolve(c.kind, c.ref); res != request.Found || !o.Owned || o.Owner != c.owner {
			t.Errorf("%s %s: %+v %v, want owned by %+v", c.kind, c.ref, o, res, c.owner)
		}
	}
	d.mu.Lock()
	byID := d.byID
	d.mu.Unlock()
	if byID != 1 {
		t.Errorf("%d service lists by id, want 1 (the create event)", byID)
	}
	send(events.Message{Type: events.ServiceEventType, Action: events.ActionRemove, Scope: "swarm", Actor: events.Actor{ID: "svcnew"}})
	send(events.Message{Type: events.NetworkEventType, Action: events.ActionRemove, Scope: "swarm", Actor: events.Actor{ID: "netold"}})
	send(events.Message{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "bb"}})
	if _, ok := s.Get(request.KindService, "svcnew"); ok {
		t.Error("removed service still known")
	}
	if _, ok := s.Get(request.KindNetwork, "netold"); ok {
		t.Error("removed swarm network still known")
	}
	cancel()
	<-done
}
