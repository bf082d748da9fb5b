package main

import (
	"fmt"
	"strconv"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/state"
)

// lifecycleRecord is the audit record of a container lifecycle event the
// ownership store's follower saw in the daemon's event stream.
func lifecycleRecord(ev state.LifecycleEvent) *audit.Record {
	ts := func(t audit.Timestamp) *audit.Timestamp { return &t }
	if ev.Kind == state.LifecycleGap {
		r := &audit.Record{Type: audit.TypeEventsGap, GapTo: ts(audit.Timestamp(ev.To))}
		if ev.From.IsZero() {
			r.Message = fmt.Sprintf("no daemon event was followed before %s with this state directory: container lifecycle events before it are not in the trail",
				audit.Timestamp(ev.To))
		} else {
			r.GapFrom = ts(audit.Timestamp(ev.From))
			r.Message = fmt.Sprintf("the daemon no longer held all events between %s and %s: container lifecycle events in that interval may be missing from the trail",
				audit.Timestamp(ev.From), audit.Timestamp(ev.To))
		}
		return r
	}
	c := ev.Container
	r := &audit.Record{
		EventTime: ts(audit.Timestamp(ev.Time)),
		Target:    &audit.Target{Container: c.Name, ID: c.ID, OwnerTeam: c.Owner.Team, OwnerUser: c.Owner.User},
	}
	name := c.Name
	if name == "" {
		name = c.ID
	}
	owner := "no recorded owner"
	if c.Owned {
		owner = "owned by " + c.Owner.String()
	}
	switch ev.Kind {
	case state.LifecycleDied:
		r.Type = audit.TypeContainerDied
		r.Message = fmt.Sprintf("container %s (%s) exited", name, owner)
		if code, err := strconv.Atoi(ev.ExitCode); err == nil {
			r.ExitCode = &code
			r.Message = fmt.Sprintf("container %s (%s) exited with code %d", name, owner, code)
		}
	case state.LifecycleOOM:
		r.Type = audit.TypeContainerOOM
		r.Message = fmt.Sprintf("container %s (%s): a process was killed for memory", name, owner)
	case state.LifecycleRestarted:
		r.Type = audit.TypeContainerRestarted
		r.Message = fmt.Sprintf("container %s (%s) started again after it died", name, owner)
	case state.LifecycleUnhealthy:
		r.Type = audit.TypeContainerUnhealthy
		r.Message = fmt.Sprintf("container %s (%s) turned unhealthy", name, owner)
	case state.LifecycleRemoved:
		r.Type = audit.TypeContainerRemoved
		r.Message = fmt.Sprintf("container %s (%s) was removed", name, owner)
	default:
		return nil
	}
	return r
}
