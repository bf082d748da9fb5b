package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
)

// fileSink appends JSON lines to a file with group commit: a writer
// appends its line to the open batch; the first writer of a batch that
// finds no write in progress writes the whole batch with one write(2)
// while the next batch fills. Every Write returns only once its own line
// has reached the kernel (or failed), so an acknowledged record survives a
// crash of the plugin; fsync follows Sync. A Deferred record is the
// exception: it joins the open batch and Write returns at once; the next
// write, or deferDelay at the latest, takes it to the kernel.
type fileSink struct {
	cfg FileConfig
	log logrus.FieldLogger

	mu       sync.Mutex
	cond     *sync.Cond
	cur      *batch
	flushing bool
	closed   bool
	spare    []byte
	// deferArmed: a flushDeferred is scheduled.
	deferArmed bool
	// deferDelay is deferDelay; tests that flush themselves lengthen it.
	deferDelay time.Duration
	// onLoss counts deferred records whose write failed: no caller hears
	// of it, so the auditor reports them by an audit.loss record. Set
	// before the first Write.
	onLoss func(keys []lossKey)
	// onDelete reports the backups retention deleted. Set before the
	// first Write.
	onDelete func(files []string)
	// onReopen reports that the file was reopened at its path, and why.
	onReopen func(why string)

	// Owned by the flusher (flushing == true) and by the syncer under fmu.
	fmu    sync.Mutex
	f      *os.File
	size   int64
	opened time.Time
	dirty  bool
	// tornAt is the size to cut the file back to when a failed write
	// left part of a batch in it and cutting back failed too; -1 when the
	// file ends with a whole line.
	tornAt int64

	// writeFile writes a batch; tests replace it to inject faults.
	writeFile func(f *os.File, p []byte) (int, error)

	started bool          // start was called: syncLoop runs
	reopen  chan struct{} // capacity 1: reopen the file at its path
	stop    chan struct{}
	done    chan struct{}
}

type batch struct {
	buf     []byte
	n       int
	flushed bool
	err     error
	// deferred are the deferred records in buf, counted as lost when the
	// batch fails.
	deferred []lossKey
}

func openFileSink(cfg FileConfig, log logrus.FieldLogger) (*fileSink, error) {
	s := &fileSink{cfg: cfg, log: log, cur: &batch{}, tornAt: -1, deferDelay: deferDelay, writeFile: (*os.File).Write, reopen: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, &ConfigError{Key: "file.path", Reason: err.Error()}
	}
	if err := s.open(); err != nil {
		return nil, &ConfigError{Key: "file.path", Reason: err.Error()}
	}
	return s, nil
}

// start begins the background loop (fsync, reopen, retention), once the
// callbacks are set.
func (s *fileSink) start() {
	s.started = true
	go s.syncLoop()
}

// open opens the file at its path, creating it, and cuts back a last
// line that a crash of the machine (or a write that failed and could not
// be cut back) left incomplete: every line of the file is a whole record
// before anything is appended.
func (s *fileSink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open audit file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat audit file: %w", err)
	}
	size := fi.Size()
	if fi.Mode().IsRegular() && size > 0 {
		whole, err := wholeLinesEnd(s.cfg.Path, fi)
		if err == nil && whole < size {
			err = f.Truncate(whole)
			if err == nil {
				s.log.WithFields(logrus.Fields{"file": s.cfg.Path, "bytes": size - whole}).
					Warn("audit file ended with an incomplete line (a crash or a failed write); cut it back")
				size = whole
			}
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("check the audit file's last line: %w", err)
		}
	}
	s.f, s.size, s.opened, s.tornAt = f, size, time.Now(), -1
	return nil
}

// wholeLinesEnd returns the offset just after the last newline of the
// open file described by open, read through its path (0 when it has
// none; its size when the path names another file by now).
func wholeLinesEnd(path string, open os.FileInfo) (int64, error) {
	size := open.Size()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !os.SameFile(fi, open) {
		return size, err
	}
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

func (s *fileSink) Write(rec *audit.Record, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	b := s.cur
	b.buf = append(append(b.buf, line...), '\n')
	b.n++
	if rec != nil && rec.Deferred {
		b.deferred = append(b.deferred, keyOf(rec))
		if !s.deferArmed {
			s.deferArmed = true
			time.AfterFunc(s.deferDelay, s.flushDeferred)
		}
		return nil
	}
	return s.waitFlushed(b, true)
}

// deferDelay bounds how long a deferred record waits for another write to
// take it along.
const deferDelay = 20 * time.Millisecond

// flushDeferred writes what deferred records are still waiting.
func (s *fileSink) flushDeferred() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deferArmed = false
	if s.closed || s.cur.n == 0 {
		return
	}
	if err := s.waitFlushed(s.cur, false); err != nil {
		s.log.WithError(err).Error("deferred audit records not written")
	}
}

// waitFlushed waits, holding s.mu, until b is written, writing it itself
// when it is the open batch and no write is in progress.
//
// With yield, a writer about to write a batch that holds no other
// waiting writer's line first lets the goroutines ready to run go once
// (runtime.Gosched, with s.mu released): the scheduler also polls the
// network then, so the calls that arrived meanwhile are judged and join
// the batch instead of each paying its own write(2). It waits for
// nothing: with nobody ready, Gosched returns at once. On recorded
// traffic at 8 clients (request phase) it took the audit file's write(2)
// calls from 0.97 to 0.63 per call (docs/performance.md).
func (s *fileSink) waitFlushed(b *batch, yield bool) error {
	for !b.flushed {
		if !s.flushing && b == s.cur {
			if yield && b.n-len(b.deferred) == 1 {
				yield = false
				s.mu.Unlock()
				runtime.Gosched()
				s.mu.Lock()
				continue
			}
			s.flushing = true
			// One batch is written while the next fills: two buffers
			// alternate.
			s.cur = &batch{buf: s.spare[:0]}
			s.mu.Unlock()
			err := s.writeBatch(b.buf)
			s.mu.Lock()
			b.err, b.flushed, s.flushing = err, true, false
			if err != nil && len(b.deferred) > 0 && s.onLoss != nil {
				s.onLoss(b.deferred)
			}
			b.deferred = nil
			if cap(b.buf) <= 4<<20 {
				s.spare, b.buf = b.buf, nil
			}
			s.cond.Broadcast()
			continue
		}
		s.cond.Wait()
	}
	return b.err
}

// Flush writes the open batch.
func (s *fileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.n == 0 {
		return nil
	}
	return s.waitFlushed(s.cur, false)
}

// writeBatch rotates when due, then writes p and fsyncs per policy.
func (s *fileSink) writeBatch(p []byte) error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if s.tornAt >= 0 {
		if err := s.f.Truncate(s.tornAt); err != nil {
			return fmt.Errorf("cut back the audit file's incomplete last line: %w", err)
		}
		s.size, s.tornAt = s.tornAt, -1
	}
	if s.rotateDue(int64(len(p))) {
		if err := s.rotate(); err != nil {
			s.log.WithError(err).Error("rotate audit file")
			if s.f == nil {
				return err
			}
		}
	}
	n, err := s.writeFile(s.f, p)
	s.size += int64(n)
	s.dirty = true
	if err != nil {
		if n > 0 {
			s.cutBack(int64(n))
		}
		return fmt.Errorf("write audit file: %w", err)
	}
	if s.cfg.Sync == "always" {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("fsync audit file: %w", err)
		}
		s.dirty = false
	}
	return nil
}

// cutBack removes the n bytes a failed write appended, so that the file
// ends with a whole line again. The file's size comes from the kernel
// (another process, copytruncate, may have changed it); when the cut
// fails, the next write tries again before it writes.
func (s *fileSink) cutBack(n int64) {
	fi, err := s.f.Stat()
	if err == nil {
		at := max(fi.Size()-n, 0)
		if err = s.f.Truncate(at); err == nil {
			s.size = at
			return
		}
		s.tornAt = at
	}
	if err != nil && s.tornAt < 0 {
		// Where the good part ends is unknown: reopening reads it.
		s.f.Close()
		s.f = nil
	}
	s.log.WithError(err).Error("cut back a partly written audit batch; will retry before the next write")
}

func (s *fileSink) rotateDue(n int64) bool {
	if s.size == 0 {
		return false
	}
	if s.cfg.MaxSize > 0 && s.size+n > s.cfg.MaxSize {
		return true
	}
	return s.cfg.MaxFileAge > 0 && time.Since(s.opened) >= s.cfg.MaxFileAge
}

// backupLayout names rotated files: audit.log becomes
// audit-20250102T150405.123456789Z.log.
const backupLayout = "20060102T150405.000000000Z"

func (s *fileSink) backupName(t time.Time) string {
	dir, base := filepath.Split(s.cfg.Path)
	ext := filepath.Ext(base)
	return filepath.Join(dir, strings.TrimSuffix(base, ext)+"-"+t.UTC().Format(backupLayout)+ext)
}

// rotate closes the active file, renames it with a timestamp, opens a new
// one and prunes old backups. Only regular files are rotated.
func (s *fileSink) rotate() error {
	fi, err := s.f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync audit file: %w", err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("close audit file: %w", err)
	}
	s.f = nil
	name := s.backupName(time.Now())
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = s.backupName(time.Now().Add(time.Duration(i)))
	}
	if err := os.Rename(s.cfg.Path, name); err != nil {
		return errors.Join(fmt.Errorf("rename audit file: %w", err), s.open())
	}
	if err := s.open(); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// Backups lists the rotated files of the active file at path, oldest
// first.
func Backups(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ext) {
			continue
		}
		ts := strings.TrimSuffix(strings.TrimPrefix(n, prefix), ext)
		if _, err := time.Parse(backupLayout, ts); err != nil {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	return out, nil
}

// prune deletes the backups rotated more than MaxBackupAge ago — by age
// only, so that no volume of requests can delete history — and reports
// what it deleted. validate keeps MaxBackupAge at least MinBackupAge.
func (s *fileSink) prune(now time.Time) []string {
	if s.cfg.MaxBackupAge <= 0 {
		return nil
	}
	backups, err := Backups(s.cfg.Path)
	if err != nil {
		s.log.WithError(err).Warn("list audit file backups")
		return nil
	}
	dir, base := filepath.Split(s.cfg.Path)
	ext := filepath.Ext(base)
	prefix := filepath.Join(dir, strings.TrimSuffix(base, ext)+"-")
	var deleted []string
	for _, b := range backups {
		t, err := time.Parse(backupLayout, strings.TrimSuffix(strings.TrimPrefix(b, prefix), ext))
		if err != nil || now.Sub(t) <= s.cfg.MaxBackupAge || now.Sub(t) <= s.cfg.MinBackupAge {
			continue
		}
		if err := os.Remove(b); err != nil {
			s.log.WithError(err).Warn("remove old audit file")
			continue
		}
		deleted = append(deleted, filepath.Base(b))
	}
	return deleted
}

// reopenCheck is how often the sink looks whether its file was moved,
// deleted or truncated by a rotation tool.
const reopenCheck = time.Second

// pruneEvery is how often retention looks for backups to delete.
const pruneEvery = time.Minute

// syncLoop fsyncs every SyncInterval when something was written, reopens
// the file when asked (Reopen, SIGHUP) or when the path no longer names
// the open file, and applies retention.
func (s *fileSink) syncLoop() {
	defer close(s.done)
	var syncC <-chan time.Time
	if s.cfg.Sync == "interval" {
		t := time.NewTicker(s.cfg.SyncInterval)
		defer t.Stop()
		syncC = t.C
	}
	check := time.NewTicker(reopenCheck)
	defer check.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-s.stop:
			return
		case <-syncC:
			s.fmu.Lock()
			if s.dirty && s.f != nil {
				if err := s.f.Sync(); err != nil {
					s.log.WithError(err).Error("fsync audit file")
				} else {
					s.dirty = false
				}
			}
			s.fmu.Unlock()
		case <-s.reopen:
			s.reopenFile("asked to reopen")
		case now := <-check.C:
			if why := s.moved(); why != "" {
				s.reopenFile(why)
			}
			if now.Sub(lastPrune) >= pruneEvery {
				lastPrune = now
				s.fmu.Lock()
				deleted := s.prune(now)
				s.fmu.Unlock()
				if len(deleted) > 0 && s.onDelete != nil {
					s.onDelete(deleted)
				}
			}
		}
	}
}

// moved reports why the open file is no longer the file at its path
// ("" when it still is): moved or deleted (another inode or none), or
// truncated in place (copytruncate), which only resets the size.
func (s *fileSink) moved() string {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f == nil {
		return ""
	}
	open, err := s.f.Stat()
	if err != nil {
		return "stat failed: " + err.Error()
	}
	cur, err := os.Stat(s.cfg.Path)
	if err != nil {
		return "the file is gone from its path"
	}
	if !os.SameFile(open, cur) {
		return "the path names another file"
	}
	if open.Size() < s.size {
		// Truncated by copytruncate: appends go to the new end already.
		s.size = open.Size()
		s.opened = time.Now()
	}
	return ""
}

// Reopen asks the sink to reopen its file at its path, as after a
// rotation by another tool; it returns at once.
func (s *fileSink) Reopen() {
	select {
	case s.reopen <- struct{}{}:
	default:
	}
}

// reopenFile closes the open file (fsynced) and opens the path anew,
// then records that it did (holding no lock).
func (s *fileSink) reopenFile(why string) {
	if s.reopenLocked(why) && s.onReopen != nil {
		s.onReopen(why)
	}
}

func (s *fileSink) reopenLocked(why string) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f != nil {
		if s.tornAt >= 0 {
			_ = s.f.Truncate(s.tornAt)
		}
		if err := s.f.Sync(); err != nil {
			s.log.WithError(err).Warn("fsync the audit file before reopening it")
		}
		s.f.Close()
		s.f = nil
	}
	if err := s.open(); err != nil {
		// The next write tries again, and fails closed until it can.
		s.log.WithError(err).WithField("reason", why).Error("reopen audit file")
		return false
	}
	s.dirty = false
	s.log.WithFields(logrus.Fields{"file": s.cfg.Path, "reason": why}).Info("audit file reopened")
	return true
}

func (s *fileSink) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	var err error
	if s.cur.n > 0 {
		err = s.waitFlushed(s.cur, false)
	}
	for s.flushing {
		s.cond.Wait()
	}
	s.closed = true
	s.mu.Unlock()
	if s.started {
		close(s.stop)
		<-s.done
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f != nil {
		err = errors.Join(err, s.f.Sync(), s.f.Close())
		s.f = nil
	}
	return err
}
