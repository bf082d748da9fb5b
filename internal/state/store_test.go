package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/internal/request"
)

// TestPersistence: owners survive a reopen; removed objects are removed
// from the file; a rename is kept.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	web := request.Owner{Team: "web", User: "w1"}
	for _, o := range []request.Object{
		{Kind: request.KindContainer, ID: idA, Name: "a", Owner: web, User: "1000", UserKnown: true},
		{Kind: request.KindContainer, ID: idB, Name: "b", Owner: web},
		{Kind: request.KindExec, ID: idC, Container: idB, Owner: web},
		{Kind: request.KindVolume, ID: "v", Name: "v", Owner: request.Owner{User: "solo"}},
	} {
		if err := s.Record(o); err != nil {
			t.Fatal(err)
		}
	}
	s.Rename(request.KindContainer, idA, "a2")
	s.Remove(request.KindContainer, idB) // takes its exec with it
	if _, err := Open(dir); err == nil {
		t.Fatal("a second Open of the same store succeeded; want it refused while the first holds it")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, ok := s.Get(request.KindContainer, idA)
	if !ok || a.Name != "a2" || a.Owner != web || !a.Owned || a.User != "1000" || !a.UserKnown {
		t.Errorf("after reopen: %+v %v", a, ok)
	}
	if _, ok := s.Get(request.KindContainer, idB); ok {
		t.Error("removed container is back")
	}
	if _, ok := s.Get(request.KindExec, idC); ok {
		t.Error("exec of a removed container is back")
	}
	if v, ok := s.Get(request.KindVolume, "v"); !ok || v.Owner.User != "solo" {
		t.Errorf("volume: %+v %v", v, ok)
	}
}

// fakeDaemon serves lists and an event stream from memory.
type fakeDaemon struct {
	ctrs   []container.Summary
	vols   []*volume.Volume
	nets   []network.Summary
	events chan events.Message
	errs   chan error
	fail   error
	// since receives the since option of each subscription, if not nil.
	since chan string
}

func (f *fakeDaemon) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	if f.since != nil {
		f.since <- o.Since
	}
	return f.events, f.errs
}

func (f *fakeDaemon) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return f.ctrs, f.fail
}

func (f *fakeDaemon) VolumeList(context.Context, volume.ListOptions) (volume.ListResponse, error) {
	return volume.ListResponse{Volumes: f.vols}, f.fail
}

func (f *fakeDaemon) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return f.nets, f.fail
}

// TestReconcile: recorded owners of objects that still exist are kept,
// records of objects gone while Portcullis was down are deleted, objects
// never seen created are known without an owner.
func TestReconcile(t *testing.T) {
	s := openTest(t)
	web := request.Owner{Team: "web"}
	for _, o := range []request.Object{
		{Kind: request.KindContainer, ID: idA, Name: "old-name", Owner: web},
		{Kind: request.KindContainer, ID: idB, Name: "gone", Owner: web},
		{Kind: request.KindExec, ID: idD, Container: idB, Owner: web},
		{Kind: request.KindVolume, ID: "gonevol", Name: "gonevol", Owner: web},
	} {
		if err := s.Record(o); err != nil {
			t.Fatal(err)
		}
	}
	d := &fakeDaemon{
		ctrs: []container.Summary{
			{ID: idA, Names: []string{"/renamed"}},
			{ID: idC, Names: []string{"/linker/alias", "/stranger"}},
		},
		vols: []*volume.Volume{{Name: "newvol"}},
		nets: []network.Summary{{ID: idD, Name: "bridge"}},
	}
	d.fail = errors.New("daemon down")
	if err := s.Reconcile(context.Background(), d); err == nil || s.Synced() {
		t.Fatalf("Reconcile with a failing daemon: err %v, synced %v", err, s.Synced())
	}
	d.fail = nil
	if err := s.Reconcile(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if o, res := s.Resolve(request.KindContainer, "renamed"); res != request.Found || o.ID != idA || o.Owner != web {
		t.Errorf("renamed while down: %+v %v", o, res)
	}
	if o, res := s.Resolve(request.KindContainer, "stranger"); res != request.Found || o.Owned {
		t.Errorf("created while down: %+v %v, want found and unowned", o, res)
	}
	for _, c := range []struct {
		k  request.Kind
		id string
	}{{request.KindContainer, idB}, {request.KindExec, idD}, {request.KindVolume, "gonevol"}} {
		if _, ok := s.Get(c.k, c.id); ok {
			t.Errorf("%s %s removed while down is still known", c.k, c.id)
		}
	}
}

// TestApplyEvents follows creates, renames and removals, and tells
// subscribers.
func TestApplyEvents(t *testing.T) {
	s := openTest(t)
	changes, stop := s.Subscribe(16)
	ev := func(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
		return events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}}
	}
	s.Apply(ev(events.ContainerEventType, events.ActionCreate, idA, map[string]string{"name": "x"}))
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idA, Owner: request.Owner{Team: "web"}}); err != nil {
		t.Fatal(err)
	}
	s.markSynced()
	if o, _ := s.Resolve(request.KindContainer, "x"); o.ID != idA || !o.Owned {
		t.Errorf("a record without a name keeps the event's name: %+v", o)
	}
	s.Apply(ev(events.ContainerEventType, events.ActionRename, idA, map[string]string{"name": "y", "oldName": "/x"}))
	if _, res := s.Resolve(request.KindContainer, "x"); res != request.NotFound {
		t.Errorf("old name after rename: %v", res)
	}
	if o, _ := s.Resolve(request.KindContainer, "y"); o.ID != idA || o.Owner.Team != "web" {
		t.Errorf("new name after rename: %+v", o)
	}
	s.Apply(ev(events.NetworkEventType, events.ActionCreate, idB, map[string]string{"name": "n"}))
	s.Apply(ev(events.VolumeEventType, events.ActionCreate, "v", nil))
	s.Apply(ev(events.ContainerEventType, events.ActionDestroy, idA, nil))
	s.Apply(ev(events.VolumeEventType, events.ActionDestroy, "v", nil))
	if _, res := s.Resolve(request.KindContainer, idA); res != request.NotFound {
		t.Errorf("destroyed container: %v", res)
	}
	if _, res := s.Resolve(request.KindNetwork, "n"); res != request.Found {
		t.Errorf("created network: %v", res)
	}
	if dropped := stop(); dropped != 0 {
		t.Errorf("dropped %d changes", dropped)
	}
	var got []string
	for c := range changes {
		got = append(got, c.Type.String()+" "+c.Object.Kind.String())
	}
	want := []string{"created container", "owned container", "renamed container", "created network", "created volume", "removed container", "removed volume"}
	if len(got) != len(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestFollow: reconciles, then applies the stream; a broken stream is
// reported and followed again.
func TestFollow(t *testing.T) {
	s := openTest(t)
	d := &fakeDaemon{
		ctrs:   []container.Summary{{ID: idA, Names: []string{"/alpha"}}},
		events: make(chan events.Message),
		errs:   make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan error, 8)
	done := make(chan struct{})
	go func() {
		s.Follow(ctx, d, func(err error) { reports <- err })
		close(done)
	}()
	if err := <-reports; err != nil {
		t.Fatalf("first report: %v", err)
	}
	// An unbuffered send returns once Follow has taken the event; each
	// send proves the one before it was applied.
	d.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionCreate, Actor: events.Actor{ID: idB, Attributes: map[string]string{"name": "beta"}}}
	d.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionDestroy, Actor: events.Actor{ID: idA}}
	d.events <- events.Message{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "busybox"}}
	if _, res := s.Resolve(request.KindContainer, "beta"); res != request.Found {
		t.Errorf("container from the stream: %v", res)
	}
	if _, res := s.Resolve(request.KindContainer, "alpha"); res != request.NotFound {
		t.Errorf("container destroyed in the stream: %v", res)
	}
	d.errs <- errors.New("stream broke")
	if err := <-reports; err == nil {
		t.Fatal("a broken stream was not reported")
	}
	if err := <-reports; err != nil {
		t.Fatalf("reconcile after the break: %v", err)
	}
	// The lists are the truth again: beta is not in them.
	if _, res := s.Resolve(request.KindContainer, "alpha"); res != request.Found {
		t.Errorf("container listed after the break: %v", res)
	}
	cancel()
	<-done
}

// TestExecsBounded: a container exec'd into in a loop keeps at most
// MaxExecsPerContainer exec records, the newest, also across a reopen.
func TestExecsBounded(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := MaxExecsPerContainer + 10
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%064x", i+1)
		if err := s.Record(request.Object{Kind: request.KindExec, ID: id, Container: idA}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store) {
		t.Helper()
		if got := s.Len(request.KindExec); got != MaxExecsPerContainer {
			t.Fatalf("%d exec records, want %d", got, MaxExecsPerContainer)
		}
		if _, ok := s.Get(request.KindExec, fmt.Sprintf("%064x", 1)); ok {
			t.Error("the oldest exec was kept")
		}
		if _, ok := s.Get(request.KindExec, fmt.Sprintf("%064x", n)); !ok {
			t.Error("the newest exec was dropped")
		}
	}
	check(s)
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	if err := s.Record(request.Object{Kind: request.KindExec, ID: "f" + fmt.Sprintf("%063x", 0), Container: idA}); err != nil {
		t.Fatal(err)
	}
	if got := s.Len(request.KindExec); got != MaxExecsPerContainer {
		t.Fatalf("after reopen and one more: %d exec records", got)
	}
}

// racingDaemon records a create while its container list is being read,
// as the response phase of a create does while a reconciliation runs.
type racingDaemon struct {
	fakeDaemon
	s *Store
}

func (r *racingDaemon) ContainerList(ctx context.Context, o container.ListOptions) ([]container.Summary, error) {
	if err := r.s.Record(request.Object{Kind: request.KindContainer, ID: idC, Name: "fresh", Owner: request.Owner{Team: "web"}}); err != nil {
		return nil, err
	}
	return r.fakeDaemon.ContainerList(ctx, o)
}

// TestReconcileKeepsWhatItCouldNotList: an owner recorded after the
// lists were asked for is not removed for missing from them.
func TestReconcileKeepsWhatItCouldNotList(t *testing.T) {
	s := openTest(t)
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idA, Name: "gone", Owner: request.Owner{Team: "web"}}); err != nil {
		t.Fatal(err)
	}
	d := &racingDaemon{s: s}
	if err := s.Reconcile(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(request.KindContainer, idA); ok {
		t.Error("a container missing from the list and recorded before it is still known")
	}
	if o, ok := s.Get(request.KindContainer, idC); !ok || o.Owner.Team != "web" {
		t.Errorf("a container recorded while the list was read was removed: %+v %v", o, ok)
	}
}

// TestConcurrentRecords: Records made at once share transactions (group
// commit), each returns with its owner in the journal, and a write bbolt
// would refuse (a key too long) fails only its own Record.
func TestConcurrentRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	bad := strings.Repeat("x", bolt.MaxKeySize)
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := 0; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("%064x", i)
			if i == n {
				id = bad
			}
			errs[i] = s.Record(request.Object{Kind: request.KindContainer, ID: id, Owner: request.Owner{Team: "web"}})
		}()
	}
	wg.Wait()
	for i, err := range errs[:n] {
		if err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	if errs[n] == nil {
		t.Error("a record bbolt cannot store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Len(request.KindContainer); got != n {
		t.Errorf("after reopen %d containers, want %d", got, n)
	}
}
