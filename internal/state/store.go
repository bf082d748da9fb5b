// Package state keeps what Portcullis knows about the daemon's objects:
// who owns each container, volume, network, exec instance, service,
// secret and config, and the names and ids the daemon resolves references
// by. Owners are kept in a bbolt file under the state directory (one
// writer, transactions, no partial writes visible after a crash), behind
// a write-ahead journal beside it (journal.go: a write is in the kernel's
// hands when it returns, in bbolt after a background commit); every
// question is answered from an in-memory index derived from it and from
// the daemon's own lists and event stream (see Follow).
//
// The policy language asks its questions through request.Object and
// request.Resolution; it never sees this package.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/internal/request"
)

// FileName is the store's file under the state directory.
const FileName = "owners.db"

var bucketOwners = []byte("owners")

// record is one owned object as stored: the key is "kind/id".
type record struct {
	Name      string        `json:"name,omitempty"`
	Owner     request.Owner `json:"owner"`
	User      *string       `json:"user,omitempty"` // a container's Config.User; nil: not recorded
	Container string        `json:"container,omitempty"`
	Created   time.Time     `json:"created"`
}

// Store is the ownership store and the index of known objects. It is safe
// for concurrent use. The zero value is not usable; call Open.
type Store struct {
	db *bolt.DB

	mu    sync.RWMutex
	kinds map[request.Kind]*index
	seq   uint64 // ticks on every put; under mu
	// synced is set once the index holds the daemon's objects of every
	// kind (reconciled). Each kind resolves names and prefixes as soon as
	// its own list is read (index.read); until then only full ids of
	// recorded objects resolve.
	synced atomic.Bool

	subMu sync.Mutex
	subs  map[*subscription]struct{}

	// execs lists each container's recorded exec instances, oldest
	// first, to keep at most MaxExecsPerContainer of them.
	execs map[string][]string

	// The journal and the group commit behind it (see write): writes
	// journaled and waiting for the next bbolt transaction, whether a
	// goroutine is committing, and whether Close waits for it.
	commitMu   sync.Mutex
	commitDone *sync.Cond    // signalled when the committer stops
	wake       chan struct{} // closed by Close: the committer stops pausing
	j          journal
	pending    []*entry
	committing bool
	closing    bool
	replayed   ReplayReport
	onError    func(error)
	// beforeCommit is the package's beforeCommit when Open ran.
	beforeCommit func() error

	// lifecycle, if set, is handed container lifecycle events (see
	// OnLifecycle); cursor is the time of the last event seen. Both
	// are used by Follow's goroutine only.
	lifecycle func(LifecycleEvent)
	cursor    time.Time
	// swarmUnread is set when the last reconciliation could not list
	// the swarm objects (not a manager); used by Follow's goroutine.
	swarmUnread bool
	// imageUsers remembers the USER of images read (by image id), so
	// that a container create reads its image once; Follow's only.
	imageUsers map[string]string
	// died holds the containers whose last lifecycle event was a die:
	// their next start is a restart.
	died map[string]bool
}

// MaxExecsPerContainer bounds the exec instances remembered per
// container: a long-lived container exec'd into in a loop must not grow
// the store without end. The oldest are forgotten first (and then judged
// as unknown, which an exec that ended long ago no longer needs).
const MaxExecsPerContainer = 256

// index holds the known objects of one kind.
type index struct {
	byID   map[string]*request.Object
	byName map[string][]string // name (containers: without "/") -> ids
	// seq is when each object was last put, in Store.seq ticks: a
	// reconciliation removes only what it had a chance to list.
	seq map[string]uint64
	// ids holds every id sorted, for id prefix lookups in O(log n).
	ids []string
	// read is closed once the daemon's objects of this kind have been
	// read (see markRead); under Store.mu.
	read    chan struct{}
	hasRead bool
}

func (ix *index) addID(id string) {
	i := sort.SearchStrings(ix.ids, id)
	if i < len(ix.ids) && ix.ids[i] == id {
		return
	}
	ix.ids = append(ix.ids, "")
	copy(ix.ids[i+1:], ix.ids[i:])
	ix.ids[i] = id
}

func (ix *index) dropID(id string) {
	i := sort.SearchStrings(ix.ids, id)
	if i < len(ix.ids) && ix.ids[i] == id {
		ix.ids = append(ix.ids[:i], ix.ids[i+1:]...)
	}
}

// byPrefix returns the one id starting with prefix, or n > 1 when
// several do (n == 0: none).
func (ix *index) byPrefix(prefix string) (id string, n int) {
	i := sort.SearchStrings(ix.ids, prefix)
	for j := i; j < len(ix.ids) && j < i+2 && strings.HasPrefix(ix.ids[j], prefix); j++ {
		id, n = ix.ids[i], n+1
	}
	return id, n
}

func newIndex() *index {
	return &index{byID: map[string]*request.Object{}, byName: map[string][]string{}, seq: map[string]uint64{},
		read: make(chan struct{})}
}

// tracked are the kinds the store indexes.
var tracked = []request.Kind{
	request.KindContainer, request.KindVolume, request.KindNetwork, request.KindExec,
	request.KindService, request.KindSecret, request.KindConfig,
}

// Tracked reports whether the store knows objects of kind k.
func Tracked(k request.Kind) bool {
	for _, t := range tracked {
		if t == k {
			return true
		}
	}
	return false
}

// Open opens (creating it if need be) the store in dir and loads the
// recorded owners into memory. It fails rather than waits when another
// process holds the file.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", filepath.Join(dir, FileName), err)
	}
	// What the journal holds was handed to the kernel before a request
	// was answered, and may not be in bbolt yet: apply it first.
	rep, next, err := replay(db, dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, kinds: map[request.Kind]*index{}, subs: map[*subscription]struct{}{}, execs: map[string][]string{},
		j: newJournal(dir), replayed: rep, beforeCommit: beforeCommit}
	s.commitDone = sync.NewCond(&s.commitMu)
	s.wake = make(chan struct{})
	for _, k := range tracked {
		s.kinds[k] = newIndex()
	}
	type execRec struct {
		created time.Time
		o       *request.Object
	}
	var execs []execRec
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOwners)
		if err != nil {
			return err
		}
		var bad [][]byte
		err = b.ForEach(func(k, v []byte) error {
			o, created, err := decodeRecord(string(k), v)
			if err != nil {
				// A record this version cannot read is dropped, not
				// trusted: its object becomes unowned.
				bad = append(bad, append([]byte(nil), k...))
				return nil
			}
			s.put(o)
			if o.Kind == request.KindExec {
				execs = append(execs, execRec{created, o})
			}
			return nil
		})
		for _, k := range bad {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return err
	})
	sort.SliceStable(execs, func(i, j int) bool { return execs[i].created.Before(execs[j].created) })
	for _, e := range execs {
		s.execs[e.o.Container] = append(s.execs[e.o.Container], e.o.ID)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load state: %w", err)
	}
	if err := s.j.open(next); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Replayed says what Open found in the journal: entries a previous run
// handed to the kernel but had not committed to bbolt, incomplete last
// lines, and corrupt entries skipped (each worth an error in the log).
func (s *Store) Replayed() ReplayReport { return s.replayed }

// OnError sets a function told of every failed background commit (the
// journal keeps the writes; the commit is retried). Call before use.
func (s *Store) OnError(fn func(error)) { s.onError = fn }

// Close commits what is journaled, then closes the store. If bbolt
// cannot commit, the journal keeps the writes for the next Open.
func (s *Store) Close() error {
	s.commitMu.Lock()
	if !s.closing {
		s.closing = true
		close(s.wake)
	}
	for s.committing {
		s.commitDone.Wait()
	}
	jerr := s.j.close()
	s.commitMu.Unlock()
	if err := s.db.Close(); err != nil {
		return err
	}
	return jerr
}

func key(k request.Kind, id string) []byte { return []byte(k.String() + "/" + id) }

func kindOf(name string) request.Kind {
	for _, k := range tracked {
		if k.String() == name {
			return k
		}
	}
	return request.KindNone
}

func decodeRecord(k string, v []byte) (*request.Object, time.Time, error) {
	kind, id, ok := strings.Cut(k, "/")
	if !ok || id == "" || kindOf(kind) == request.KindNone {
		return nil, time.Time{}, errors.New("bad key")
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, time.Time{}, err
	}
	o := &request.Object{Kind: kindOf(kind), ID: id, Name: r.Name, Owned: true, Owner: r.Owner, Container: r.Container}
	if r.User != nil {
		o.User, o.UserKnown = *r.User, true
	}
	return o, r.Created, nil
}

// put adds or replaces o in the index; s.mu must be held (or s not yet
// shared).
func (s *Store) put(o *request.Object) {
	ix := s.kinds[o.Kind]
	if old, ok := ix.byID[o.ID]; ok {
		ix.dropName(old.Name, o.ID)
	}
	if _, ok := ix.byID[o.ID]; !ok {
		ix.addID(o.ID)
	}
	ix.byID[o.ID] = o
	s.seq++
	ix.seq[o.ID] = s.seq
	if o.Name != "" {
		ix.byName[o.Name] = append(ix.byName[o.Name], o.ID)
	}
}

func (ix *index) dropName(name, id string) {
	ids := ix.byName[name]
	for i, x := range ids {
		if x == id {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(ix.byName, name)
	} else {
		ix.byName[name] = ids
	}
}

// Record stores the owner of an object the daemon has just created (the
// response phase saw its id). It is in the journal when Record returns
// (see write), in bbolt soon after. Name may
// be empty when the daemon chose it; the event stream fills it in.
func (s *Store) Record(o request.Object) error {
	if !Tracked(o.Kind) || o.ID == "" {
		return fmt.Errorf("record %s %q: not a tracked object", o.Kind, o.ID)
	}
	o.Owned = true
	s.mu.RLock()
	if old, ok := s.kinds[o.Kind].byID[o.ID]; ok {
		if o.Name == "" {
			o.Name = old.Name
		}
		if !o.UserKnown && old.UserKnown {
			// Read from the image by the follower already.
			o.User, o.UserKnown = old.User, true
		}
	}
	s.mu.RUnlock()
	if err := s.save(&o); err != nil {
		return err
	}
	s.mu.Lock()
	// The follower may have read the user from the image while this
	// record was written: keep it (and write it too, below).
	late := false
	if old, ok := s.kinds[o.Kind].byID[o.ID]; ok && !o.UserKnown && old.UserKnown {
		o.User, o.UserKnown, late = old.User, true, true
	}
	s.put(&o)
	var evict string
	if o.Kind == request.KindExec {
		l := append(s.execs[o.Container], o.ID)
		if len(l) > MaxExecsPerContainer {
			evict, l = l[0], l[1:]
		}
		s.execs[o.Container] = l
	}
	s.mu.Unlock()
	if late {
		_ = s.save(&o)
	}
	s.publish(Change{Type: ChangeOwned, Object: o})
	if evict != "" {
		s.Remove(request.KindExec, evict)
	}
	return nil
}

func (s *Store) save(o *request.Object) error {
	r := record{Name: o.Name, Owner: o.Owner, Container: o.Container, Created: time.Now().UTC()}
	if o.UserKnown {
		u := o.User
		r.User = &u
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.write(&entry{Put: string(key(o.Kind, o.ID)), V: v}, o.Kind == request.KindVolume)
}

// write journals e and queues it for bbolt. When it returns nil, e is in
// the journal (handed to the kernel with one write(2): a kill -9 loses
// nothing; an OS crash or power loss may lose what the kernel had not
// written back, see docs/security.md), and it is in bbolt once a
// background commit (group commit: all writes queued meanwhile share one
// transaction and its fsync) covers it. The order of the journal is the
// order of the commits.
//
// With durable, the journal is also synced (fdatasync) before write
// returns: for volumes, whose key is a name the daemon gives again once
// it is free. A power loss that lost the removal of web's volume "v" but
// kept its creation would give data's new "v" to web; synced, every
// acknowledged creation and removal of a volume is on disk, and a lost
// line leaves the volume unowned, never another team's.
func (s *Store) write(e *entry, durable bool) error {
	if e.Put != "" && (len(e.Put) > bolt.MaxKeySize || len(e.V) > bolt.MaxValueSize) {
		return fmt.Errorf("record %.40q: larger than the store can hold", e.Put)
	}
	line, err := encodeEntry(e)
	if err != nil {
		return err
	}
	s.commitMu.Lock()
	if s.closing {
		s.commitMu.Unlock()
		return errors.New("state store closed")
	}
	if err := s.j.append(line, e.Put != ""); err != nil {
		s.commitMu.Unlock()
		return err
	}
	f := s.j.f
	s.pending = append(s.pending, e)
	s.kickLocked()
	s.commitMu.Unlock()
	if durable {
		// Outside the lock: the other writers do not wait for it. On
		// an error the line stays (replaying it is right); the caller
		// is told it may not be on disk.
		return s.j.syncSegment(f)
	}
	return nil
}

// kickLocked starts the committer if it is not running; s.commitMu held.
func (s *Store) kickLocked() {
	if !s.committing {
		s.committing = true
		go s.commitLoop()
	}
}

// CommitInterval is the least time between the starts of two background
// commits: the writes of that time share one transaction and its syncs.
// It only delays when bbolt holds a write, not when it is durable: the
// journal holds it from the start (docs/security.md).
const CommitInterval = 50 * time.Millisecond

// sleep waits d, or less if Close is waiting.
func (s *Store) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.wake:
	}
}

// beforeCommit, if set when a store is opened, runs before each of its
// background commits; an error fails the commit (tests hold or fail
// commits with it).
var beforeCommit func() error

func (s *Store) applyAll(q []*entry) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOwners)
		for _, e := range q {
			if err := e.apply(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// commitLoop commits the queued writes to bbolt, in batches, until none
// are left. A batch that fails (a full or failing disk) is retried,
// with a growing pause; its journal segments stay, and writes fail once
// the journal reaches JournalMax. After a commit, the closed segments
// it covers are deleted.
func (s *Store) commitLoop() {
	pause := 10 * time.Millisecond
	for first := true; ; first = false {
		if !first {
			// Let writes gather: one commit (two fsyncs, hundreds
			// of µs of CPU) per CommitInterval at most.
			s.sleep(CommitInterval)
		}
		s.commitMu.Lock()
		q := s.pending
		s.pending = nil
		if len(q) == 0 {
			s.committing = false
			s.commitDone.Broadcast()
			s.commitMu.Unlock()
			return
		}
		if s.j.size >= s.j.segSize && !s.closing {
			// Every entry of the segment closed now is in q or
			// committed before: the commit of q covers it.
			_ = s.j.rotate() // on failure the next write retries
		}
		segs := s.j.closed
		s.j.closed = nil
		s.commitMu.Unlock()
		var err error
		if s.beforeCommit != nil {
			err = s.beforeCommit()
		}
		if err == nil {
			err = s.db.Update(s.applyAll(q))
		}
		s.commitMu.Lock()
		if err == nil {
			s.j.covered(segs)
			s.commitMu.Unlock()
			pause = 10 * time.Millisecond
			continue
		}
		if s.closing {
			// Left in the journal for the next Open.
			s.pending = nil
			s.committing = false
			s.commitDone.Broadcast()
			s.commitMu.Unlock()
			return
		}
		s.pending = append(q, s.pending...)
		s.j.closed = append(segs, s.j.closed...)
		s.commitMu.Unlock()
		if s.onError != nil {
			s.onError(fmt.Errorf("commit state (journaled, retried in %v): %w", pause, err))
		}
		s.sleep(pause)
		pause = min(2*pause, 5*time.Second)
	}
}

// Seen adds an object the daemon reports (a list or a create event). A
// known object keeps its owner; its name is updated.
func (s *Store) Seen(kind request.Kind, id, name string) {
	if !Tracked(kind) || id == "" {
		return
	}
	s.mu.Lock()
	ix := s.kinds[kind]
	old, ok := ix.byID[id]
	if ok && old.Name == name {
		s.mu.Unlock()
		return
	}
	o := &request.Object{Kind: kind, ID: id, Name: name}
	if ok {
		c := *old
		c.Name = name
		o = &c
	}
	s.put(o)
	s.mu.Unlock()
	if ok && o.Owned {
		// Keep the recorded name current, for a restart before the
		// next reconciliation.
		_ = s.save(o)
	}
	if !ok {
		s.publish(Change{Type: ChangeCreated, Object: *o})
	}
}

// Rename follows a container rename.
func (s *Store) Rename(kind request.Kind, id, name string) {
	s.mu.RLock()
	_, ok := s.kinds[kind].byID[id]
	s.mu.RUnlock()
	if !ok {
		s.Seen(kind, id, name)
		return
	}
	s.Seen(kind, id, name)
	s.mu.RLock()
	o := *s.kinds[kind].byID[id]
	s.mu.RUnlock()
	s.publish(Change{Type: ChangeRenamed, Object: o})
}

// Remove forgets an object the daemon removed, on disk and in memory; a
// container takes its exec instances with it.
func (s *Store) Remove(kind request.Kind, id string) {
	if !Tracked(kind) || id == "" {
		return
	}
	s.mu.Lock()
	ix := s.kinds[kind]
	old, ok := ix.byID[id]
	var gone []request.Object
	if ok {
		delete(ix.byID, id)
		delete(ix.seq, id)
		ix.dropID(id)
		ix.dropName(old.Name, id)
		gone = append(gone, *old)
	}
	if kind == request.KindContainer {
		ex := s.kinds[request.KindExec]
		for eid, e := range ex.byID {
			if e.Container == id {
				delete(ex.byID, eid)
				delete(ex.seq, eid)
				ex.dropID(eid)
				gone = append(gone, *e)
			}
		}
		delete(s.execs, id)
	}
	if kind == request.KindExec && ok {
		l := s.execs[old.Container]
		for i, x := range l {
			if x == id {
				s.execs[old.Container] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	keys := make([]string, len(gone))
	for i, o := range gone {
		keys[i] = string(key(o.Kind, o.ID))
	}
	_ = s.write(&entry{Del: keys}, kind == request.KindVolume)
	for _, o := range gone {
		s.publish(Change{Type: ChangeRemoved, Object: o})
	}
}

// Standalone declares the store complete without a daemon to reconcile
// with: names and prefixes resolve over what was recorded. For tests and
// benchmarks that speak the plugin protocol with no daemon behind it.
func (s *Store) Standalone() { s.markSynced() }

func (s *Store) markSynced() {
	s.markRead(tracked...)
	s.synced.Store(true)
}

// Synced reports whether the index has been reconciled with the daemon.
func (s *Store) Synced() bool { return s.synced.Load() }

// Len is the number of known objects of kind k.
func (s *Store) Len(k request.Kind) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ix, ok := s.kinds[k]; ok {
		return len(ix.byID)
	}
	return 0
}

// Get returns the object with exactly this id.
func (s *Store) Get(kind request.Kind, id string) (request.Object, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix, ok := s.kinds[kind]
	if !ok {
		return request.Object{}, false
	}
	o, ok := ix.byID[id]
	if !ok {
		return request.Object{}, false
	}
	return *o, true
}
