package state

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/portcullis/portcullis/internal/request"
)

// Daemon is what Follow needs of the Docker client; *client.Client is
// one.
type Daemon interface {
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
}

var _ Daemon = (*client.Client)(nil)

// NewClient is the official Docker client for host (for example
// "unix:///var/run/docker.sock"), negotiating the API version, sending
// headers with every request (the plugin's own-request secret).
func NewClient(host string, headers map[string]string) (*client.Client, error) {
	return client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation(), client.WithHTTPHeaders(headers))
}

// Follow keeps the store current with the daemon until ctx ends: it
// subscribes to the event stream, lists the daemon's containers, volumes
// and networks (reconciliation: what was created or removed while
// Portcullis was down), then applies events as they come. When the stream
// breaks it starts over after a pause. report, if not nil, is told of
// each reconciliation and each failure.
//
// Follow's requests pass through the daemon's authorization like any
// other and are judged as an unauthenticated client's: lists and events
// only, never a request about one object. It runs on its own goroutine
// and holds no lock a request needs while it waits for the daemon, so a
// request being judged never waits for it.
func (s *Store) Follow(ctx context.Context, d Daemon, report func(error)) {
	if report == nil {
		report = func(error) {}
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.followOnce(ctx, d, report)
		if ctx.Err() != nil {
			return
		}
		report(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

func (s *Store) followOnce(ctx context.Context, d Daemon, report func(error)) error {
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe first, from a little before now: an object created or
	// removed while the lists are read shows in the events that follow,
	// and events apply idempotently in order. With a lifecycle handler,
	// from the last event seen, so that the daemon replays what happened
	// while Portcullis was not following.
	since := time.Now().Add(-2 * time.Second)
	if s.lifecycle != nil && s.cursor.IsZero() {
		t, err := s.lastEvent()
		if err != nil {
			return err
		}
		s.cursor = t
	}
	cursor := s.cursor
	if !cursor.IsZero() && cursor.Before(since) {
		since = cursor
	}
	subscribed := time.Now().UTC()
	msgs, errs := d.Events(ectx, events.ListOptions{Since: sinceArg(since)})
	if err := s.Reconcile(ectx, d); err != nil {
		return err
	}
	report(nil)
	if s.lifecycle == nil {
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-errs:
				return fmt.Errorf("daemon event stream: %w", err)
			case m := <-msgs:
				s.applyEvent(ectx, d, m)
			}
		}
	}
	if cursor.IsZero() {
		// Nothing was ever followed with this state directory: what
		// happened before now is not in the trail.
		s.lifecycle(LifecycleEvent{Kind: LifecycleGap, To: subscribed})
		s.cursor = subscribed
		if err := s.saveLastEvent(subscribed); err != nil {
			return err
		}
	}
	defer func() { _ = s.saveLastEvent(s.cursor) }()
	var replayed int
	var firstReplayed, saved time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return fmt.Errorf("daemon event stream: %w", err)
		case m := <-msgs:
			t := eventTime(m)
			if !cursor.IsZero() && t.Before(subscribed) {
				// Replayed from the daemon's buffer, which holds its
				// last daemonEventBuffer events: a replay that fills it
				// may have lost the oldest of those missed.
				if replayed++; replayed == 1 {
					firstReplayed = t
				} else if replayed == daemonEventBuffer {
					s.lifecycle(LifecycleEvent{Kind: LifecycleGap, From: cursor, To: firstReplayed})
				}
			}
			ev, isLifecycle := s.lifecycleOf(m)
			if isLifecycle && t.After(s.cursor) {
				s.lifecycle(ev)
			}
			s.applyEvent(ectx, d, m)
			if t.After(s.cursor) {
				s.cursor = t
			}
			// Saved at once after a lifecycle event, at most once a
			// second otherwise: an event replayed after a crash is
			// recorded twice at worst, never lost.
			if isLifecycle || time.Since(saved) >= time.Second {
				if err := s.saveLastEvent(s.cursor); err != nil {
					return err
				}
				saved = time.Now()
			}
		}
	}
}

// Reconcile replaces the index with the daemon's objects: owners
// recorded for objects that still exist are kept, records of objects
// that are gone are deleted, and objects Portcullis never saw created are
// known without an owner.
func (s *Store) Reconcile(ctx context.Context, d Daemon) error {
	// Objects recorded or seen after this point may be missing from the
	// lists (created after they were read): they are not removed.
	s.mu.RLock()
	start := s.seq
	s.mu.RUnlock()
	// Containers and networks first, and ready at once: the volume list
	// can take long (the daemon asks every plugin it discovers in
	// /etc/docker/plugins whether it is a volume driver, and waits up to
	// about 15 s for each that does not answer).
	ctrs, err := d.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	nets, err := d.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	present := map[request.Kind]map[string]swarmObject{
		request.KindContainer: {}, request.KindNetwork: {},
	}
	for _, c := range ctrs {
		present[request.KindContainer][c.ID] = swarmObject{name: containerName(c.Names)}
	}
	for _, n := range nets {
		o := swarmObject{name: n.Name}
		if n.Scope == "swarm" {
			// Only the cluster's networks carry owner labels the policy
			// required; a local network's labels are never read.
			o.labels = n.Labels
		}
		present[request.KindNetwork][n.ID] = o
	}
	// Services, secrets and configs, with their owner labels. A daemon
	// that is not a swarm manager refuses to list them: they are left as
	// they are, and read at the first swarm event (see applyEvent).
	if sd, ok := d.(SwarmDaemon); ok {
		sw, err := listSwarm(ctx, sd, "")
		s.swarmUnread = err != nil
		for kind, ids := range sw {
			present[kind] = ids
		}
	}
	s.replace(start, present)
	// Exec instances of containers that are gone went with them.
	s.mu.RLock()
	var orphans []string
	ex := s.kinds[request.KindExec]
	for id, e := range ex.byID {
		if _, ok := present[request.KindContainer][e.Container]; !ok && ex.seq[id] <= start {
			orphans = append(orphans, id)
		}
	}
	s.mu.RUnlock()
	for _, id := range orphans {
		s.Remove(request.KindExec, id)
	}
	s.markRead(request.KindContainer, request.KindNetwork, request.KindExec,
		request.KindService, request.KindSecret, request.KindConfig)
	s.readUsers(ctx, d, ctrs)

	vols, err := d.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	vl := map[string]swarmObject{}
	for _, v := range vols.Volumes {
		if v != nil {
			vl[v.Name] = swarmObject{name: v.Name}
		}
	}
	s.replace(start, map[request.Kind]map[string]swarmObject{request.KindVolume: vl})
	s.markSynced()
	return nil
}

// containerName is a container's own name from the list's Names (which
// also hold legacy link names, "/other/alias"), without its "/".
func containerName(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
	}
	return ""
}

// Apply follows one daemon event.
func (s *Store) Apply(m events.Message) {
	id := m.Actor.ID
	switch m.Type {
	case events.ContainerEventType:
		switch m.Action {
		case events.ActionCreate:
			s.Seen(request.KindContainer, id, m.Actor.Attributes["name"])
		case events.ActionRename:
			s.Rename(request.KindContainer, id, strings.TrimPrefix(m.Actor.Attributes["name"], "/"))
		case events.ActionDestroy:
			s.Remove(request.KindContainer, id)
		}
	case events.VolumeEventType:
		switch m.Action {
		case events.ActionCreate:
			s.Seen(request.KindVolume, id, id)
		case events.ActionDestroy:
			s.Remove(request.KindVolume, id)
		}
	case events.NetworkEventType:
		switch m.Action {
		case events.ActionCreate:
			s.Seen(request.KindNetwork, id, m.Actor.Attributes["name"])
		case events.ActionDestroy, events.ActionRemove:
			// A swarm-scoped network's removal is "remove".
			s.Remove(request.KindNetwork, id)
		}
	case events.ServiceEventType, events.SecretEventType, events.ConfigEventType:
		kind := map[events.Type]request.Kind{
			events.ServiceEventType: request.KindService, events.SecretEventType: request.KindSecret,
			events.ConfigEventType: request.KindConfig,
		}[m.Type]
		switch m.Action {
		case events.ActionCreate:
			s.Seen(kind, id, m.Actor.Attributes["name"])
		case events.ActionUpdate:
			if n := m.Actor.Attributes["name"]; n != "" {
				s.Seen(kind, id, n)
			}
		case events.ActionRemove:
			s.Remove(kind, id)
		}
	}
}
