package plugin

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	if e.RequestMethod == "GET" || e.RequestMethod == "HEAD" {
		return nil, nil
	}
	ok := e.ResponseStatusCode >= 200 && e.ResponseStatusCode <= 299
	if !ok && e.RequestMethod != "POST" {
		return nil, nil
	}
	route, err := request.Classify(e.RequestMethod, e.RequestURI)
	if err != nil {
		return nil, nil
	}
	if !ok {
		// A create the daemon refused: forget what its request phase
		// carried for it.
		if recordedKind(route.Creates) {
			p.carried.take(carryKey(e))
		}
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
	case route.Action == request.ActionContainerRename:
		if o, res := p.owners.Resolve(request.KindContainer, route.Target); res == request.Found {
			p.owners.Rename(request.KindContainer, o.ID, strings.TrimPrefix(route.Query.Get("name"), "/"))
			return &o, nil
		}
	}
	return nil, nil
}

// recordedKind reports whether the owners of created objects of kind k
// are recorded (images are shared).
func recordedKind(k request.Kind) bool {
	switch k {
	case request.KindContainer, request.KindVolume, request.KindNetwork, request.KindExec,
		request.KindService, request.KindSecret, request.KindConfig:
		return true
	}
	return false
}

func (p *Plugin) recordCreate(e *Envelope, set *policy.Set, id request.Identity, route *request.Request) (*request.Object, error) {
	kind := route.Creates
	if !recordedKind(kind) {
		return nil, nil // images are shared
	}
	// What the body says of the new object (its name, a container's
	// user) was read by the request phase from this same request; it
	// left it here. When it did not (a restart between the phases, or
	// the entry was evicted), the body is parsed again.
	facts, ok := p.carried.take(carryKey(e))
	if !ok {
		if r, err := request.Parse(e.RequestMethod, e.RequestURI, e.RequestHeaders, e.RequestBody); err == nil {
			facts = createFactsOf(r)
		}
	}
	newID := createdID(kind, e.ResponseBody)
	if newID == "" {
		return nil, fmt.Errorf("the daemon's response to %s names no %s id, so its owner cannot be recorded", route.Action, kind)
	}
	o := request.Object{Kind: kind, ID: newID, Owner: set.OwnerOf(id), Name: facts.name}
	switch kind {
	case request.KindContainer:
		o.Name = strings.TrimPrefix(route.Query.Get("name"), "/")
		o.User, o.UserKnown = facts.user, facts.userKnown
	case request.KindVolume:
		o.Name = newID
	case request.KindExec:
		if c, res := p.owners.Resolve(request.KindContainer, route.Target); res == request.Found {
			o.Container = c.ID
		}
	}
	// A swarm object's owner is the one its owner labels name (the
	// policy made them name the caller, or an administrator chose it):
	// every manager reads the same from the cluster.
	if facts.labelled {
		o.Owner = facts.labelOwner
	}
	if err := p.owners.Record(o); err != nil {
		return &o, fmt.Errorf("record the owner of %s %s: %w", kind, newID, err)
	}
	return &o, nil
}

// createFacts is what a create's body says of the object it creates and
// the ownership store keeps: the name of a network, service, secret or
// config, and a container's configured user.
type createFacts struct {
	name      string
	user      string
	userKnown bool
	// labelOwner is the owner a swarm object's owner labels name
	// (labelled: they name one).
	labelOwner request.Owner
	labelled   bool
}

// createFactsOf reads the create facts from a parsed request.
func createFactsOf(r *request.Request) createFacts {
	var f createFacts
	f.labelOwner, f.labelled = swarmOwner(r.Creates, r)
	switch r.Creates {
	case request.KindContainer:
		// A user the create names is the one it runs as; without one it
		// runs as its image's USER, which the state follower reads from
		// the image.
		if c := r.ContainerCreate; c != nil && c.Config != nil && c.Config.User != "" {
			f.user, f.userKnown = c.Config.User, true
		}
	case request.KindNetwork:
		if r.NetworkCreate != nil {
			f.name = r.NetworkCreate.Name
		}
	case request.KindService:
		if r.ServiceSpec != nil {
			f.name = r.ServiceSpec.Name
		}
	case request.KindSecret:
		if r.SecretSpec != nil {
			f.name = r.SecretSpec.Name
		}
	case request.KindConfig:
		if r.ConfigSpec != nil {
			f.name = r.ConfigSpec.Name
		}
	}
	return f
}

// carryCreate keeps, for an allowed create, what its response phase needs
// from the body, so that the response phase does not decode the body a
// second time (the daemon sends the same body in both phases).
func (p *Plugin) carryCreate(e *Envelope, r *request.Request) {
	if p.owners == nil || r == nil || !recordedKind(r.Creates) {
		return
	}
	p.carried.put(carryKey(e), createFactsOf(r))
}

// carryKey identifies a request by everything the daemon sends of it in
// both phases: user, authentication method, method, URI and body, hashed
// with SHA-256 so that an entry is only ever taken by the same request
// (two requests that differ in any byte never share facts).
func carryKey(e *Envelope) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{e.User, e.UserAuthNMethod, e.RequestMethod, e.RequestURI} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(len(e.RequestBody)))
	h.Write(n[:])
	h.Write(e.RequestBody)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// carriedCreates holds the facts of allowed creates until their
// response. It is bounded: facts whose response never comes (the daemon
// failed before answering) are forgotten oldest first, and a response
// that finds none parses the body again.
type carriedCreates struct {
	mu    sync.Mutex
	m     map[[sha256.Size]byte]carried
	order []carriedPut // every put, oldest first
	seq   uint64
}

type carried struct {
	facts createFacts
	n     int    // identical requests in flight
	seq   uint64 // the latest put
}

type carriedPut struct {
	key [sha256.Size]byte
	seq uint64
}

// maxCarried bounds the creates waiting for their response.
const maxCarried = 1024

func (c *carriedCreates) put(k [sha256.Size]byte, f createFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]carried{}
	}
	c.seq++
	e := c.m[k]
	e.facts, e.n, e.seq = f, e.n+1, c.seq
	c.m[k] = e
	c.order = append(c.order, carriedPut{k, c.seq})
	if len(c.order) > maxCarried {
		old := c.order[0]
		c.order = c.order[1:]
		// Forget the entry unless a later put renewed it (that put's
		// own turn comes later) or its response took it.
		if e, ok := c.m[old.key]; ok && e.seq == old.seq {
			delete(c.m, old.key)
		}
	}
}

func (c *carriedCreates) take(k [sha256.Size]byte) (createFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return createFacts{}, false
	}
	if e.n <= 1 {
		delete(c.m, k)
	} else {
		e.n--
		c.m[k] = e
	}
	return e.facts, true
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
