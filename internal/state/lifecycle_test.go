package state

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/google/go-cmp/cmp"

	"github.com/portcullis/portcullis/internal/request"
)

// lifecycleRun follows d with a lifecycle handler until stop is called,
// which returns the events handed to it.
func lifecycleRun(t *testing.T, s *Store, d *fakeDaemon) (stop func() []LifecycleEvent) {
	t.Helper()
	var got []LifecycleEvent
	s.OnLifecycle(func(ev LifecycleEvent) { got = append(got, ev) })
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
	return func() []LifecycleEvent {
		// An unbuffered send returns once Follow has taken the event: a
		// last one proves every event before it was handled.
		d.events <- events.Message{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "sentinel"}}
		cancel()
		<-done
		return got
	}
}

func ctrEvent(action events.Action, id string, at time.Time, attrs map[string]string) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: action, Actor: events.Actor{ID: id, Attributes: attrs},
		Time: at.Unix(), TimeNano: at.UnixNano()}
}

// TestLifecycle: the container events no request caused reach the
// handler with the container's owner (a removed one's as it was), the
// others do not; a first start reports that nothing before it was
// followed; a restart of Portcullis subscribes from the last event seen
// and hands on the replayed events it missed, each once.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	web := request.Owner{Team: "web", User: "w1"}
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idA, Name: "job", Owner: web}); err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{events: make(chan events.Message), errs: make(chan error, 1), since: make(chan string, 1)}
	d.ctrs = nil // idA is listed by the daemon below only through its events
	start := time.Now().UTC()
	stop := lifecycleRun(t, s, d)
	<-d.since
	at := start.Add(time.Hour) // after the subscription, as live events are
	tick := func() time.Time { at = at.Add(time.Millisecond); return at }
	job := request.Object{Kind: request.KindContainer, ID: idA, Name: "job", Owned: true, Owner: web}
	stranger := request.Object{Kind: request.KindContainer, ID: idB, Name: "stranger"}
	// Reconciliation removed idA (the daemon did not list it): record it
	// again, as the response phase of its create would.
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idA, Name: "job", Owner: web}); err != nil {
		t.Fatal(err)
	}
	var want []LifecycleEvent
	send := func(action events.Action, id string, attrs map[string]string, ev *LifecycleEvent) {
		m := ctrEvent(action, id, tick(), attrs)
		d.events <- m
		if ev != nil {
			ev.Time = at
			want = append(want, *ev)
		}
	}
	send(events.ActionStart, idA, map[string]string{"name": "job"}, nil)
	send(events.ActionOOM, idA, map[string]string{"name": "job"}, &LifecycleEvent{Kind: LifecycleOOM, Container: job})
	send(events.ActionDie, idA, map[string]string{"name": "job", "exitCode": "137"}, &LifecycleEvent{Kind: LifecycleDied, Container: job, ExitCode: "137"})
	send(events.ActionStart, idA, map[string]string{"name": "job"}, &LifecycleEvent{Kind: LifecycleRestarted, Container: job})
	send(events.ActionRestart, idA, map[string]string{"name": "job"}, nil) // a restart request's, after its start
	send(events.ActionStart, idA, map[string]string{"name": "job"}, nil)   // no die before it
	send(events.ActionHealthStatusHealthy, idA, nil, nil)
	send(events.ActionHealthStatusUnhealthy, idA, map[string]string{"name": "job"}, &LifecycleEvent{Kind: LifecycleUnhealthy, Container: job})
	send(events.ActionDestroy, idA, map[string]string{"name": "job"}, &LifecycleEvent{Kind: LifecycleRemoved, Container: job})
	send(events.ActionDie, idB, map[string]string{"name": "stranger", "exitCode": "0"}, &LifecycleEvent{Kind: LifecycleDied, Container: stranger, ExitCode: "0"})
	last := at
	got := stop()
	if len(got) == 0 || got[0].Kind != LifecycleGap || !got[0].From.IsZero() || got[0].To.Before(start) {
		t.Fatalf("first start: want a gap from the beginning, got %+v", got)
	}
	if diff := cmp.Diff(want, got[1:]); diff != "" {
		t.Errorf("lifecycle events (-want +got):\n%s", diff)
	}
	if _, ok := s.Get(request.KindContainer, idA); ok {
		t.Error("the removed container is still known")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: subscribe from the last event; the replayed events after
	// it are handed on once, the one at it is not handed again.
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if saved, err := s.lastEvent(); err != nil || !saved.Equal(last) {
		t.Errorf("saved last event %v (%v), want %v", saved, err, last)
	}
	// The fake daemon's clock is an hour ahead: set the cursor in the
	// past, so the replayed events carry times before the subscription.
	if err := s.saveLastEvent(start.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	start = start.Add(-time.Minute)
	s.cursor = time.Time{}
	stop = lifecycleRun(t, s, d)
	if since := <-d.since; since != sinceArg(start) {
		t.Errorf("since %q, want %q", since, sinceArg(start))
	}
	d.events <- ctrEvent(events.ActionDie, idB, start, map[string]string{"exitCode": "1"}) // at the cursor: seen already
	missed := start.Add(time.Millisecond)
	d.events <- ctrEvent(events.ActionDie, idB, missed, map[string]string{"exitCode": "2"})
	got = stop()
	want = []LifecycleEvent{{Kind: LifecycleDied, Time: missed, Container: request.Object{Kind: request.KindContainer, ID: idB}, ExitCode: "2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replayed events (-want +got):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleGap: a replay as long as the daemon's event buffer may
// have lost the oldest events missed: one gap is reported, from the last
// event seen to the first replayed, and the replayed events still reach
// the handler.
func TestLifecycleGap(t *testing.T) {
	s := openTest(t)
	cursor := time.Now().UTC().Add(-time.Hour)
	if err := s.saveLastEvent(cursor); err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{events: make(chan events.Message), errs: make(chan error, 1)}
	stop := lifecycleRun(t, s, d)
	first := cursor.Add(time.Minute)
	for i := 0; i < daemonEventBuffer+10; i++ {
		d.events <- ctrEvent(events.ActionDie, idB, first.Add(time.Duration(i)*time.Millisecond), map[string]string{"exitCode": "3"})
	}
	got := stop()
	var gaps []LifecycleEvent
	died := 0
	for _, ev := range got {
		switch ev.Kind {
		case LifecycleGap:
			gaps = append(gaps, ev)
		case LifecycleDied:
			died++
		}
	}
	if want := []LifecycleEvent{{Kind: LifecycleGap, From: cursor, To: first}}; !cmp.Equal(want, gaps) {
		t.Errorf("gaps %+v, want %+v", gaps, want)
	}
	if died != daemonEventBuffer+10 {
		t.Errorf("%d died events handed on, want %d", died, daemonEventBuffer+10)
	}
}
