package plugin

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// Owners is the ownership state the plugin judges with and records into
// (internal/state's Store is one).
type Owners interface {
	policy.Objects
	// Record stores the owner of an object the daemon has just created.
	Record(o request.Object) error
	// Rename and Remove follow what the daemon did, ahead of its events.
	Rename(kind request.Kind, id, name string)
	Remove(kind request.Kind, id string)
}

// WithOwners judges ownership with o and records in it who created each
// object. Without it the plugin keeps no ownership and policies'
// ownership blocks are not judged.
func WithOwners(o Owners) Option { return func(p *Plugin) { p.owners = o } }

// followResponse follows, in the response phase, what the daemon did to the
// objects it tracks: a create names the new object's id, a remove or
// rename changes what references resolve to. Only a successful response
// counts; the request alone never records an owner. An error means an
// object was created whose owner could not be recorded.
func (p *Plugin) followResponse(e *Envelope, set *policy.Set, id request.Identity) (*request.Object, error) {
	if e.ResponseStatusCode < 200 || e.ResponseStatusCode > 299 || e.RequestMethod == "GET" || e.RequestMethod == "HEAD" {
		return nil, nil
	}
	route, err := request.Classify(e.RequestMethod, e.RequestURI)
	if err != nil {
		return nil, nil
	}
	switch {
	case route.Creates != request.KindNone:
		return p.recordCreate(e, set, id, route)
	case route.Method == "DELETE" && route.Target != "" && route.Action != request.ActionCheckpointDelete:
		if o, res := p.owners.Resolve(route.TargetKind, route.Target); res == request.Found {
			p.owners.Remove(o.Kind, o.ID)
			return &o, nil
		}
	case route.Action == "container.rename":
		if o, res := p.owners.Resolve(request.KindContainer, route.Target); res == request.Found {
			p.owners.Rename(request.KindContainer, o.ID, strings.TrimPrefix(route.Query.Get("name"), "/"))
			return &o, nil
		}
	}
	return nil, nil
}

func (p *Plugin) recordCreate(e *Envelope, set *policy.Set, id request.Identity, route *request.Request) (*request.Object, error) {
	kind := route.Creates
	switch kind {
	case request.KindContainer, request.KindVolume, request.KindNetwork, request.KindExec,
		request.KindService, request.KindSecret, request.KindConfig:
	default:
		return nil, nil // images are shared
	}
	newID := createdID(kind, e.ResponseBody)
	if newID == "" {
		return nil, fmt.Errorf("the daemon's response to %s names no %s id, so its owner cannot be recorded", route.Action, kind)
	}
	o := request.Object{Kind: kind, ID: newID, Owner: set.OwnerOf(id)}
	// The name and the container's user come from the request the daemon
	// has just carried out (the request phase judged this same body).
	r, err := request.Parse(e.RequestMethod, e.RequestURI, e.RequestHeaders, e.RequestBody)
	if err == nil {
		switch kind {
		case request.KindContainer:
			o.Name = strings.TrimPrefix(r.Query.Get("name"), "/")
			// A user the create names is the one it runs as; without
			// one it runs as its image's USER, which the state
			// follower reads from the image.
			if c := r.ContainerCreate; c != nil && c.Config != nil && c.Config.User != "" {
				o.User, o.UserKnown = c.Config.User, true
			}
		case request.KindVolume:
			o.Name = newID
		case request.KindNetwork:
			if r.NetworkCreate != nil {
				o.Name = r.NetworkCreate.Name
			}
		case request.KindExec:
			if c, res := p.owners.Resolve(request.KindContainer, route.Target); res == request.Found {
				o.Container = c.ID
			}
		case request.KindService:
			if r.ServiceSpec != nil {
				o.Name = r.ServiceSpec.Name
			}
		case request.KindSecret:
			if r.SecretSpec != nil {
				o.Name = r.SecretSpec.Name
			}
		case request.KindConfig:
			if r.ConfigSpec != nil {
				o.Name = r.ConfigSpec.Name
			}
		}
	}
	// A swarm object's owner is the one its owner labels name (the
	// policy made them name the caller, or an administrator chose it):
	// every manager reads the same from the cluster.
	if owner, ok := swarmOwner(kind, r); ok {
		o.Owner = owner
	}
	if err := p.owners.Record(o); err != nil {
		return &o, fmt.Errorf("record the owner of %s %s: %w", kind, newID, err)
	}
	return &o, nil
}

// createdID reads the new object's id from a create response: "Id" (or
// "ID", which encoding/json matches alike), a volume's "Name".
func createdID(kind request.Kind, body []byte) string {
	var v struct {
		ID   string `json:"Id"`
		Name string `json:"Name"`
	}
	if len(body) == 0 || json.Unmarshal(body, &v) != nil {
		return ""
	}
	s := v.ID
	if kind == request.KindVolume {
		s = v.Name
	}
	if s == "" || len(s) > 256 || !utf8.ValidString(s) || strings.ContainsAny(s, "/\x00") {
		return ""
	}
	return s
}

// swarmOwner is the owner the labels of a swarm object's create name;
// ok is false for other creates and when they name none.
func swarmOwner(kind request.Kind, r *request.Request) (request.Owner, bool) {
	if r == nil {
		return request.Owner{}, false
	}
	switch {
	case kind == request.KindService && r.ServiceSpec != nil:
		return request.OwnerFromLabels(r.ServiceSpec.Labels)
	case kind == request.KindSecret && r.SecretSpec != nil:
		return request.OwnerFromLabels(r.SecretSpec.Labels)
	case kind == request.KindConfig && r.ConfigSpec != nil:
		return request.OwnerFromLabels(r.ConfigSpec.Labels)
	case kind == request.KindNetwork && r.NetworkCreate != nil &&
		request.SwarmScopedNetwork(r.NetworkCreate.Driver, r.NetworkCreate.Scope):
		return request.OwnerFromLabels(r.NetworkCreate.Labels)
	}
	return request.Owner{}, false
}
