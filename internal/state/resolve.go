package state

import (
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/request"
)

// Resolve finds the object a reference names, as the daemon resolves it:
//
//   - containers: a full id, then an exact name with or without the
//     leading "/", then a unique id prefix (daemon.GetContainer);
//   - networks: a full id, then a name (several networks of that name are
//     ambiguous), then a unique id prefix (daemon.FindNetwork);
//   - services, secrets and configs: a full id, a name, a unique id
//     prefix (the swarm cluster's getService and its siblings);
//   - volumes: the name, which is the id; exec instances: the full id.
//
// Several matches at the same precedence are Ambiguous, never guessed.
// Until the daemon's objects of the kind have first been read, a full id
// of a recorded object resolves at once; anything else waits up to
// SyncWait for that reading (just after the daemon or the plugin
// started) and is Unavailable if it does not come. Each kind is ready as
// soon as its own list is read: containers and networks do not wait for
// the volume list, which the daemon answers only after asking every
// plugin it discovers whether it is a volume driver.
func (s *Store) Resolve(kind request.Kind, ref string) (request.Object, request.Resolution) {
	o, res := s.resolve(kind, ref)
	if res != request.Unavailable {
		return o, res
	}
	t := time.NewTimer(SyncWait)
	defer t.Stop()
	select {
	case <-s.kinds[kind].read:
		return s.resolve(kind, ref)
	case <-t.C:
		return o, res
	}
}

// markRead declares the daemon's objects of these kinds read: names and
// prefixes of them resolve from now on.
func (s *Store) markRead(kinds ...request.Kind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range kinds {
		if ix := s.kinds[k]; ix != nil && !ix.hasRead {
			ix.hasRead = true
			close(ix.read)
		}
	}
}

// SyncWait is how long a reference waits for the first reconciliation.
// The reconciliation's own requests never resolve a reference, so they
// never wait for themselves.
var SyncWait = 3 * time.Second

func (s *Store) resolve(kind request.Kind, ref string) (request.Object, request.Resolution) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix, ok := s.kinds[kind]
	if !ok || ref == "" {
		return request.Object{}, request.NotFound
	}
	if o, ok := ix.byID[ref]; ok {
		return *o, request.Found
	}
	if !ix.hasRead {
		return request.Object{}, request.Unavailable
	}
	switch kind {
	case request.KindVolume, request.KindExec:
		return request.Object{}, request.NotFound
	case request.KindContainer:
		// The daemon prefixes a "/" when there is none; names are
		// indexed without it.
		name := strings.TrimPrefix(ref, "/")
		if !strings.HasPrefix(ref, "/") || name != "" {
			if ids := ix.byName[name]; len(ids) == 1 {
				return *ix.byID[ids[0]], request.Found
			}
		}
	default:
		switch ids := ix.byName[ref]; {
		case len(ids) == 1:
			return *ix.byID[ids[0]], request.Found
		case len(ids) > 1:
			return request.Object{}, request.Ambiguous
		}
	}
	switch id, n := ix.byPrefix(ref); n {
	case 0:
		return request.Object{}, request.NotFound
	case 1:
		return *ix.byID[id], request.Found
	}
	return request.Object{}, request.Ambiguous
}
