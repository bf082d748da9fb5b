package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead journal. A write the response phase waits for (an
// owner recorded, a rename, a removal) is appended to the journal as one
// self-checking line with one write(2) and handed to the kernel before
// it returns: a kill -9 right after loses nothing. bbolt commits the same
// writes behind it, in the background, in batches, with its fsync; once a
// commit covers every entry of a closed journal segment, the segment is
// deleted. Open replays what is left before it reads the owners.
//
// A line is "CRC32C(hex, 8 digits) SP JSON LF", the CRC over the JSON.

const (
	journalPrefix = "journal-"
	// JournalSegmentSize is the size past which the committer starts a
	// new segment (the old one is deleted once bbolt covers it).
	JournalSegmentSize = 1 << 20
	// JournalMax bounds the journal's live segments together: if bbolt
	// cannot commit (a full or failing disk), writes start failing once
	// the journal reaches it rather than let it grow without end.
	JournalMax = 64 << 20
)

var (
	crcTable = crc32.MakeTable(crc32.Castagnoli)
	// ErrJournalFull is returned by writes while the journal holds
	// JournalMax bytes bbolt has not covered.
	ErrJournalFull = errors.New("state journal full: the store has not committed for too long")
)

// entry is one journaled write: a put of one record or the deletion of
// keys.
type entry struct {
	Put string          `json:"put,omitempty"`
	V   json.RawMessage `json:"v,omitempty"`
	Del []string        `json:"del,omitempty"`
}

func (e *entry) apply(b *bolt.Bucket) error {
	if e.Put != "" {
		return b.Put([]byte(e.Put), e.V)
	}
	for _, k := range e.Del {
		if err := b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

func encodeEntry(e *entry) ([]byte, error) {
	js, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 9, 9+len(js)+1)
	hex.Encode(line[:8], binary.BigEndian.AppendUint32(nil, crc32.Checksum(js, crcTable)))
	line[8] = ' '
	line = append(line, js...)
	return append(line, '\n'), nil
}

func decodeEntry(line []byte) (*entry, error) {
	if len(line) < 10 || line[8] != ' ' {
		return nil, errors.New("not a journal line")
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:8]); err != nil {
		return nil, errors.New("bad checksum field")
	}
	js := line[9:]
	if crc32.Checksum(js, crcTable) != binary.BigEndian.Uint32(sum[:]) {
		return nil, errors.New("checksum mismatch")
	}
	var e entry
	if err := json.Unmarshal(js, &e); err != nil {
		return nil, err
	}
	if (e.Put == "") == (len(e.Del) == 0) {
		return nil, errors.New("neither a put nor a deletion")
	}
	return &e, nil
}

// journal is the open segment and the closed ones not yet covered. Its
// fields are guarded by Store.commitMu.
type journal struct {
	dir    string
	f      *os.File
	seg    uint64 // number of the open segment
	size   int64  // bytes in the open segment
	total  int64  // bytes in all live segments
	closed []closedSeg
	// broken is set when a failed write could not be cut back: the
	// next write starts a new segment, so that no good line follows a
	// torn one.
	broken bool
	// max and segSize are JournalMax and JournalSegmentSize (smaller in
	// tests); writeFile is (*os.File).Write (a fault in tests).
	max, segSize int64
	writeFile    func(*os.File, []byte) (int, error)
	syncFile     func(*os.File) error
}

func newJournal(dir string) journal {
	return journal{dir: dir, max: JournalMax, segSize: JournalSegmentSize, writeFile: (*os.File).Write, syncFile: fdatasync}
}

func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		// Control fails only once f is closed (or closing).
		return fmt.Errorf("%w (%v)", os.ErrClosed, err)
	}
	return serr
}

// syncSegment makes segment f durable, and with it every line before
// (closed segments are synced as they close). Called without the lock:
// f may have been closed meanwhile by rotate; then it is synced through
// its path, or, if it is gone, a synced bbolt commit covered it.
func (j *journal) syncSegment(f *os.File) error {
	err := j.syncFile(f)
	if errors.Is(err, os.ErrClosed) {
		g, oerr := os.Open(f.Name())
		switch {
		case errors.Is(oerr, os.ErrNotExist):
			err = nil
		case oerr != nil:
			err = oerr
		default:
			err = j.syncFile(g)
			g.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("state journal: sync: %w", err)
	}
	return nil
}

type closedSeg struct {
	path string
	size int64
}

func segName(n uint64) string { return fmt.Sprintf("%s%016x", journalPrefix, n) }

// segments lists the journal segments in dir, oldest first.
func segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []uint64
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), journalPrefix)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil || len(name) != 16 {
			continue
		}
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	return ns, nil
}

// open starts segment n.
func (j *journal) open(n uint64) error {
	f, err := os.OpenFile(filepath.Join(j.dir, segName(n)), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("state journal: %w", err)
	}
	j.f, j.seg, j.size, j.broken = f, n, 0, false
	return nil
}

// rotate closes the open segment (kept until a commit covers it) and
// starts the next.
func (j *journal) rotate() error {
	if j.f != nil {
		// Synced as it closes, so that a sync of a later segment
		// makes every line before it durable (see Store.write).
		_ = j.syncFile(j.f)
		j.f.Close()
		j.closed = append(j.closed, closedSeg{j.f.Name(), j.size})
		j.f = nil
	}
	return j.open(j.seg + 1)
}

// append writes line with one write(2). A failed or short write is cut
// back to the previous size, so the journal never holds a torn line
// followed by good ones. A removal (capped false) passes the cap: it
// forgets an object recorded before, so removals past it are bounded by
// the records within it, and a removal refused would leave the owner of
// a removed volume to whoever next takes its name.
func (j *journal) append(line []byte, capped bool) error {
	if capped && j.total+int64(len(line)) > j.max {
		return ErrJournalFull
	}
	if j.f == nil || j.broken {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	n, err := j.writeFile(j.f, line)
	if err == nil && n == len(line) {
		j.size += int64(n)
		j.total += int64(n)
		return nil
	}
	if err == nil {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(line))
	}
	if n > 0 {
		if terr := j.f.Truncate(j.size); terr != nil {
			// The torn line stays; nothing may follow it in this
			// segment. Count it until the segment is removed.
			j.broken = true
			j.size += int64(n)
			j.total += int64(n)
		}
	}
	return fmt.Errorf("state journal: %w", err)
}

// covered deletes the closed segments in segs (oldest first), which a
// commit has made durable in bbolt.
func (j *journal) covered(segs []closedSeg) {
	for _, c := range segs {
		if err := os.Remove(c.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Left for the next Open to replay (idempotent) and remove.
			continue
		}
		j.total -= c.size
	}
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// ReplayReport says what Open found in the journal.
type ReplayReport struct {
	Segments int      // segments read (and removed)
	Applied  int      // entries written to bbolt
	Torn     int      // incomplete last lines ignored (a crash mid-write)
	Corrupt  []string // entries skipped: where and why
}

// replay applies every complete, valid entry of the journal segments in
// dir to bbolt in order, in one transaction (on disk when it returns),
// then removes the segments. It returns the number of the next segment.
func replay(db *bolt.DB, dir string) (ReplayReport, uint64, error) {
	var rep ReplayReport
	ns, err := segments(dir)
	if err != nil {
		return rep, 0, fmt.Errorf("state journal: %w", err)
	}
	if len(ns) == 0 {
		return rep, 1, nil
	}
	var es []*entry
	for _, n := range ns {
		path := filepath.Join(dir, segName(n))
		data, err := readBounded(path)
		if err != nil {
			return rep, 0, fmt.Errorf("state journal: %w", err)
		}
		rep.Segments++
		lineNo := 0
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				// A line without its end: the write was torn (a
				// crash or a full disk). It never answered a
				// request as written.
				rep.Torn++
				break
			}
			line := data[:i]
			data = data[i+1:]
			lineNo++
			e, err := decodeEntry(line)
			if err != nil {
				rep.Corrupt = append(rep.Corrupt, fmt.Sprintf("%s line %d: %v", segName(n), lineNo, err))
				continue
			}
			es = append(es, e)
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOwners)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := e.apply(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, 0, fmt.Errorf("replay state journal: %w", err)
	}
	rep.Applied = len(es)
	for _, n := range ns {
		if err := os.Remove(filepath.Join(dir, segName(n))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, 0, fmt.Errorf("state journal: %w", err)
		}
	}
	return rep, ns[len(ns)-1] + 1, nil
}

// readBounded reads a segment, refusing one larger than the journal may
// ever be.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > JournalMax+JournalSegmentSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the journal can grow", path, fi.Size())
	}
	return os.ReadFile(path)
}
