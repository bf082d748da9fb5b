package state

import (
	"sync/atomic"

	"github.com/portcullis/portcullis/internal/request"
)

// ChangeType says what happened to an object.
type ChangeType uint8

const (
	// ChangeCreated: the daemon reported an object not known before.
	ChangeCreated ChangeType = iota + 1
	// ChangeOwned: an owner was recorded (the response phase of a create).
	ChangeOwned
	// ChangeRenamed: the object has a new name.
	ChangeRenamed
	// ChangeRemoved: the daemon removed the object.
	ChangeRemoved
)

func (t ChangeType) String() string {
	switch t {
	case ChangeCreated:
		return "created"
	case ChangeOwned:
		return "owned"
	case ChangeRenamed:
		return "renamed"
	case ChangeRemoved:
		return "removed"
	}
	return "unknown"
}

// Change is one change to the known objects, as subscribers see it.
type Change struct {
	Type   ChangeType
	Object request.Object
}

type subscription struct {
	ch      chan Change
	dropped atomic.Uint64
}

// Subscribe returns a channel of changes (object lifecycle, for the audit
// trail for example) with room for buf of them, and a function that ends
// the subscription and reports how many changes were dropped because the
// subscriber did not keep up. Publishing never blocks the store.
func (s *Store) Subscribe(buf int) (<-chan Change, func() uint64) {
	sub := &subscription{ch: make(chan Change, buf)}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.subMu.Unlock()
	return sub.ch, func() uint64 {
		s.subMu.Lock()
		if _, ok := s.subs[sub]; ok {
			delete(s.subs, sub)
			close(sub.ch)
		}
		s.subMu.Unlock()
		return sub.dropped.Load()
	}
}

func (s *Store) publish(c Change) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.ch <- c:
		default:
			sub.dropped.Add(1)
		}
	}
}
