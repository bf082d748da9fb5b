package state

import (
	"strings"

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
// Until the store has been reconciled with the daemon only full ids of
// recorded objects resolve; anything else is Unavailable.
func (s *Store) Resolve(kind request.Kind, ref string) (request.Object, request.Resolution) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix, ok := s.kinds[kind]
	if !ok || ref == "" {
		return request.Object{}, request.NotFound
	}
	if o, ok := ix.byID[ref]; ok {
		return *o, request.Found
	}
	if !s.synced.Load() {
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
	var found *request.Object
	for id, o := range ix.byID {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return request.Object{}, request.Ambiguous
			}
			found = o
		}
	}
	if found == nil {
		return request.Object{}, request.NotFound
	}
	return *found, request.Found
}
