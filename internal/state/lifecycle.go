package state

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/internal/request"
)

// LifecycleKind is what the daemon did to a container on its own (or
// what Follow could not see).
type LifecycleKind uint8

const (
	// LifecycleDied: the container's process exited (ExitCode).
	LifecycleDied LifecycleKind = iota + 1
	// LifecycleOOM: the kernel killed a process of the container for
	// memory.
	LifecycleOOM
	// LifecycleRestarted: the container started again after it died:
	// its restart policy restarted it (the daemon reports this as a
	// start, not as a restart), or a start or restart request did.
	LifecycleRestarted
	// LifecycleUnhealthy: the container's health check turned unhealthy.
	LifecycleUnhealthy
	// LifecycleRemoved: the container was removed (--rm, or a remove
	// request).
	LifecycleRemoved
	// LifecycleGap: events between From and To may be missing (the
	// daemon no longer held them when Follow subscribed again). From is
	// zero when no earlier event was ever recorded in this state
	// directory.
	LifecycleGap
)

// LifecycleEvent is one lifecycle event, as a lifecycle handler sees it.
type LifecycleEvent struct {
	Kind LifecycleKind
	// Time is when the daemon reported the event.
	Time time.Time
	// Container is the container with its owner as recorded when the
	// event came (a removed container's as it was before removal).
	Container request.Object
	// ExitCode is the exit code of a died event ("" otherwise).
	ExitCode string
	// From and To bound a gap.
	From, To time.Time
}

// daemonEventBuffer is how many past events the daemon keeps to replay
// to a subscriber asking for events since a time (moby daemon/events:
// eventsLimit). A replay that long may have lost its oldest events.
const daemonEventBuffer = 256

var (
	bucketMeta   = []byte("meta")
	keyLastEvent = []byte("last_event")
)

// OnLifecycle sets the function Follow hands each container lifecycle
// event to, and makes Follow remember the time of the last event it saw
// in the store, so that the next Follow (after a restart of Portcullis)
// asks the daemon to replay the events it missed, or reports a gap when
// the daemon cannot. Call it before Follow. fn runs on Follow's
// goroutine; the time of an event is saved only after fn returned.
func (s *Store) OnLifecycle(fn func(LifecycleEvent)) {
	s.lifecycle = fn
}

// lifecycleOf maps a daemon event to a lifecycle event; ok is false for
// the events that are not one. It reads the store before Apply, so a
// removed container still has its owner.
func (s *Store) lifecycleOf(m events.Message) (LifecycleEvent, bool) {
	if m.Type != events.ContainerEventType {
		return LifecycleEvent{}, false
	}
	if s.died == nil {
		s.died = map[string]bool{}
	}
	id := m.Actor.ID
	var k LifecycleKind
	switch {
	case m.Action == events.ActionDie:
		k = LifecycleDied
		s.died[id] = true
	case m.Action == events.ActionOOM:
		k = LifecycleOOM
	case m.Action == events.ActionStart && s.died[id]:
		// A restart policy's restart is a die then a start, with no
		// "restart" event (moby daemon/monitor.go); a restart request's
		// is a die, a start and a "restart", recorded once here.
		k = LifecycleRestarted
		delete(s.died, id)
	case m.Action == events.ActionHealthStatusUnhealthy:
		k = LifecycleUnhealthy
	case m.Action == events.ActionDestroy:
		k = LifecycleRemoved
		delete(s.died, id)
	default:
		return LifecycleEvent{}, false
	}
	o, ok := s.Get(request.KindContainer, m.Actor.ID)
	if !ok {
		o = request.Object{Kind: request.KindContainer, ID: m.Actor.ID}
	}
	if n := strings.TrimPrefix(m.Actor.Attributes["name"], "/"); n != "" {
		o.Name = n
	}
	ev := LifecycleEvent{Kind: k, Time: eventTime(m), Container: o}
	if k == LifecycleDied {
		ev.ExitCode = m.Actor.Attributes["exitCode"]
	}
	return ev, true
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano).UTC()
	}
	return time.Unix(m.Time, 0).UTC()
}

// lastEvent is the time of the last event saved; zero if none.
func (s *Store) lastEvent() (time.Time, error) {
	var t time.Time
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		if v := b.Get(keyLastEvent); len(v) == 8 {
			t = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read last event time: %w", err)
	}
	return t, nil
}

// saveLastEvent records t as the time of the last event seen.
func (s *Store) saveLastEvent(t time.Time) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(t.UnixNano()))
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyLastEvent, v[:])
	})
	if err != nil {
		return fmt.Errorf("save last event time: %w", err)
	}
	return nil
}

// sinceArg formats t as the events API's since ("seconds.nanoseconds").
func sinceArg(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
