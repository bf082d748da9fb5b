package main

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/internal/state"
)

// TestLifecycleRecord: each lifecycle event becomes its record type with
// the container, its owner, the event's time and (died) its exit code.
func TestLifecycleRecord(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 20, 0, time.UTC)
	job := request.Object{Kind: request.KindContainer, ID: "4f1c", Name: "job", Owned: true, Owner: request.Owner{Team: "web", User: "alice"}}
	anon := request.Object{Kind: request.KindContainer, ID: "9a9a"}
	for _, tc := range []struct {
		ev       state.LifecycleEvent
		typ      audit.Type
		exitCode *int
		message  string
	}{
		{state.LifecycleEvent{Kind: state.LifecycleDied, Time: at, Container: job, ExitCode: "0"}, audit.TypeContainerDied, intp(0),
			"container job (owned by team web) exited with code 0"},
		{state.LifecycleEvent{Kind: state.LifecycleDied, Time: at, Container: anon, ExitCode: ""}, audit.TypeContainerDied, nil,
			"container 9a9a (no recorded owner) exited"},
		{state.LifecycleEvent{Kind: state.LifecycleOOM, Time: at, Container: job}, audit.TypeContainerOOM, nil,
			"container job (owned by team web): a process was killed for memory"},
		{state.LifecycleEvent{Kind: state.LifecycleRestarted, Time: at, Container: job}, audit.TypeContainerRestarted, nil,
			"container job (owned by team web) started again after it died"},
		{state.LifecycleEvent{Kind: state.LifecycleUnhealthy, Time: at, Container: job}, audit.TypeContainerUnhealthy, nil,
			"container job (owned by team web) turned unhealthy"},
		{state.LifecycleEvent{Kind: state.LifecycleRemoved, Time: at, Container: job}, audit.TypeContainerRemoved, nil,
			"container job (owned by team web) was removed"},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			r := lifecycleRecord(tc.ev)
			if r.Type != tc.typ || r.Message != tc.message || r.EventTime == nil || !r.EventTime.Time().Equal(at) {
				t.Fatalf("got %s %q at %v", r.Type, r.Message, r.EventTime)
			}
			if (r.ExitCode == nil) != (tc.exitCode == nil) || (r.ExitCode != nil && *r.ExitCode != *tc.exitCode) {
				t.Errorf("exit code %v, want %v", r.ExitCode, tc.exitCode)
			}
			c := tc.ev.Container
			if want := (audit.Target{Container: c.Name, ID: c.ID, OwnerTeam: c.Owner.Team, OwnerUser: c.Owner.User}); r.Target == nil || *r.Target != want {
				t.Errorf("target %+v, want %+v", r.Target, want)
			}
		})
	}
	from := at.Add(-time.Hour)
	r := lifecycleRecord(state.LifecycleEvent{Kind: state.LifecycleGap, From: from, To: at})
	if r.Type != audit.TypeEventsGap || r.GapFrom == nil || !r.GapFrom.Time().Equal(from) || r.GapTo == nil || !r.GapTo.Time().Equal(at) {
		t.Errorf("gap: %+v", r)
	}
	r = lifecycleRecord(state.LifecycleEvent{Kind: state.LifecycleGap, To: at})
	if r.Type != audit.TypeEventsGap || r.GapFrom != nil || r.GapTo == nil {
		t.Errorf("gap from the beginning: %+v", r)
	}
}

func intp(i int) *int { return &i }
