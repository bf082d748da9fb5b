package state

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/portcullis/portcullis/internal/request"
)

// Swarm objects — services, secrets, configs and swarm-scoped networks —
// live in the cluster: a request about one may reach any manager, each
// with its own Portcullis and its own store. Their owner is read from
// their owner labels (request.OwnerLabelTeam, request.OwnerLabelUser),
// which the cluster replicates and the policy requires at create, so
// that every manager's store agrees. An object without them keeps an
// owner this store recorded at its create, if any; otherwise it is
// unowned.

// SwarmDaemon is what Follow needs to read swarm objects and their
// labels; *client.Client is one. Follow reads no swarm object from a
// Daemon that is not one.
type SwarmDaemon interface {
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	SecretList(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error)
	ConfigList(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error)
}

var _ SwarmDaemon = (*client.Client)(nil)

// swarmObject is one swarm object as listed.
type swarmObject struct {
	name   string
	labels map[string]string
}

// listSwarm lists the daemon's services, secrets and configs (filtered
// by id when id is not empty). A daemon that is not a swarm manager
// refuses; the error says so.
func listSwarm(ctx context.Context, d SwarmDaemon, id string) (map[request.Kind]map[string]swarmObject, error) {
	var f filters.Args
	if id != "" {
		f = filters.NewArgs(filters.Arg("id", id))
	}
	out := map[request.Kind]map[string]swarmObject{
		request.KindService: {}, request.KindSecret: {}, request.KindConfig: {},
	}
	svcs, err := d.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	for _, v := range svcs {
		out[request.KindService][v.ID] = swarmObject{v.Spec.Name, v.Spec.Labels}
	}
	secs, err := d.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	for _, v := range secs {
		out[request.KindSecret][v.ID] = swarmObject{v.Spec.Name, v.Spec.Labels}
	}
	cfgs, err := d.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	for _, v := range cfgs {
		out[request.KindConfig][v.ID] = swarmObject{v.Spec.Name, v.Spec.Labels}
	}
	return out, nil
}

// seenLabelled adds or updates an object the daemon reports with its
// labels: owner labels, when present, name its owner (replacing any
// owner recorded here); without them it is Seen.
func (s *Store) seenLabelled(kind request.Kind, id, name string, labels map[string]string) {
	owner, ok := request.OwnerFromLabels(labels)
	if !ok || !Tracked(kind) || id == "" {
		s.Seen(kind, id, name)
		return
	}
	s.mu.Lock()
	old, known := s.kinds[kind].byID[id]
	if known && old.Owned && old.Owner == owner && old.Name == name {
		s.mu.Unlock()
		return
	}
	o := &request.Object{Kind: kind, ID: id, Name: name, Owned: true, Owner: owner}
	s.put(o)
	s.mu.Unlock()
	_ = s.save(o)
	if !known {
		s.publish(Change{Type: ChangeCreated, Object: *o})
	}
	if !known || !old.Owned || old.Owner != owner {
		s.publish(Change{Type: ChangeOwned, Object: *o})
	}
}

// swarmEventKind is the kind of a swarm object an event is about, or
// KindNone.
func swarmEventKind(m events.Message) request.Kind {
	switch m.Type {
	case events.ServiceEventType:
		return request.KindService
	case events.SecretEventType:
		return request.KindSecret
	case events.ConfigEventType:
		return request.KindConfig
	case events.NetworkEventType:
		if m.Scope == "swarm" {
			return request.KindNetwork
		}
	}
	return request.KindNone
}

// applyEvent follows one event, reading what events do not carry from
// the daemon: the labels of a swarm object the event creates or updates,
// the user a new container runs as (see readUser).
// The first swarm event after the swarm lists could not be read (the
// node was not a manager yet) reads them all.
func (s *Store) applyEvent(ctx context.Context, d Daemon, m events.Message) {
	sd, isSwarm := d.(SwarmDaemon)
	if isSwarm && s.swarmUnread && m.Scope == "swarm" {
		if err := s.reconcileSwarm(ctx, d, sd); err == nil {
			s.swarmUnread = false
		}
	}
	if m.Type == events.ContainerEventType && m.Action == events.ActionCreate {
		s.Apply(m)
		s.readUser(ctx, d, m.Actor.ID)
		return
	}
	kind := swarmEventKind(m)
	if kind == request.KindNone || !isSwarm {
		s.Apply(m)
		return
	}
	if m.Action != events.ActionCreate && m.Action != events.ActionUpdate {
		s.Apply(m)
		return
	}
	id := m.Actor.ID
	if kind == request.KindNetwork {
		nets, err := d.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("id", id))})
		if err != nil {
			s.Apply(m)
			return
		}
		for _, n := range nets {
			if n.ID == id {
				s.seenLabelled(kind, id, n.Name, n.Labels)
				return
			}
		}
		s.Apply(m)
		return
	}
	objs, err := listSwarm(ctx, sd, id)
	if err != nil {
		s.Apply(m)
		return
	}
	if o, ok := objs[kind][id]; ok {
		s.seenLabelled(kind, id, o.name, o.labels)
		return
	}
	// Gone already: its remove event follows.
	s.Apply(m)
}

// reconcileSwarm reads every service, secret, config and swarm-scoped
// network with its owner labels, outside a full Reconcile (the node has
// become a manager since).
func (s *Store) reconcileSwarm(ctx context.Context, d Daemon, sd SwarmDaemon) error {
	s.mu.RLock()
	start := s.seq
	s.mu.RUnlock()
	objs, err := listSwarm(ctx, sd, "")
	if err != nil {
		return err
	}
	nets, err := d.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	s.replace(start, objs)
	for _, n := range nets {
		if n.Scope == "swarm" {
			s.seenLabelled(request.KindNetwork, n.ID, n.Name, n.Labels)
		}
	}
	return nil
}

// replace removes the objects of the listed kinds that are not in the
// lists (and were last put before start), then adds or updates the
// listed ones.
func (s *Store) replace(start uint64, objs map[request.Kind]map[string]swarmObject) {
	var gone []request.Object
	s.mu.Lock()
	for kind, ids := range objs {
		ix := s.kinds[kind]
		for id, o := range ix.byID {
			if _, ok := ids[id]; !ok && ix.seq[id] <= start {
				gone = append(gone, *o)
			}
		}
	}
	s.mu.Unlock()
	for _, o := range gone {
		s.Remove(o.Kind, o.ID)
	}
	for kind, ids := range objs {
		for id, o := range ids {
			s.seenLabelled(kind, id, o.name, o.labels)
		}
	}
}
