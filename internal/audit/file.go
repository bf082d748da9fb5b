package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
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

	// Owned by the flusher (flushing == true) and by the syncer under fmu.
	fmu    sync.Mutex
	f      *os.File
	size   int64
	opened time.Time
	dirty  bool

	stop chan struct{}
	done chan struct{}
}

type batch struct {
	buf     []byte
	n       int
	flushed bool
	err     error
}

func openFileSink(cfg FileConfig, log logrus.FieldLogger) (*fileSink, error) {
	s := &fileSink{cfg: cfg, log: log, cur: &batch{}, stop: make(chan struct{}), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, &ConfigError{Key: "file.path", Reason: err.Error()}
	}
	if err := s.open(); err != nil {
		return nil, &ConfigError{Key: "file.path", Reason: err.Error()}
	}
	go s.syncLoop()
	return s, nil
}

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
	s.f, s.size, s.opened = f, fi.Size(), time.Now()
	return nil
}

func (s *fileSink) Write(rec *Record, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	b := s.cur
	b.buf = append(append(b.buf, line...), '\n')
	b.n++
	if rec != nil && rec.Deferred {
		if !s.deferArmed {
			s.deferArmed = true
			time.AfterFunc(deferDelay, s.flushDeferred)
		}
		return nil
	}
	return s.waitFlushed(b)
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
	if err := s.waitFlushed(s.cur); err != nil {
		s.log.WithError(err).Error("deferred audit records not written")
	}
}

// waitFlushed waits, holding s.mu, until b is written, writing it itself
// when it is the open batch and no write is in progress.
func (s *fileSink) waitFlushed(b *batch) error {
	for !b.flushed {
		if !s.flushing && b == s.cur {
			s.flushing = true
			// One batch is written while the next fills: two buffers
			// alternate.
			s.cur = &batch{buf: s.spare[:0]}
			s.mu.Unlock()
			err := s.writeBatch(b.buf)
			s.mu.Lock()
			b.err, b.flushed, s.flushing = err, true, false
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
	return s.waitFlushed(s.cur)
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
	if s.rotateDue(int64(len(p))) {
		if err := s.rotate(); err != nil {
			s.log.WithError(err).Error("rotate audit file")
			if s.f == nil {
				return err
			}
		}
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	s.dirty = true
	if err != nil {
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
	s.prune()
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

// prune deletes backups beyond MaxBackups and older than MaxBackupAge.
func (s *fileSink) prune() {
	backups, err := Backups(s.cfg.Path)
	if err != nil {
		s.log.WithError(err).Warn("list audit file backups")
		return
	}
	dir, base := filepath.Split(s.cfg.Path)
	ext := filepath.Ext(base)
	prefix := filepath.Join(dir, strings.TrimSuffix(base, ext)+"-")
	for i, b := range backups {
		drop := s.cfg.MaxBackups >= 0 && len(backups)-i > s.cfg.MaxBackups
		if !drop && s.cfg.MaxBackupAge > 0 {
			t, err := time.Parse(backupLayout, strings.TrimSuffix(strings.TrimPrefix(b, prefix), ext))
			drop = err == nil && time.Since(t) > s.cfg.MaxBackupAge
		}
		if drop {
			if err := os.Remove(b); err != nil {
				s.log.WithError(err).Warn("remove old audit file")
			}
		}
	}
}

// syncLoop fsyncs every SyncInterval when something was written, and
// rotates an idle file whose age is due.
func (s *fileSink) syncLoop() {
	defer close(s.done)
	if s.cfg.Sync != "interval" {
		<-s.stop
		return
	}
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.fmu.Lock()
			if s.dirty && s.f != nil {
				if err := s.f.Sync(); err != nil {
					s.log.WithError(err).Error("fsync audit file")
				} else {
					s.dirty = false
				}
			}
			s.fmu.Unlock()
		}
	}
}

func (s *fileSink) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	var err error
	if s.cur.n > 0 {
		err = s.waitFlushed(s.cur)
	}
	for s.flushing {
		s.cond.Wait()
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f != nil {
		err = errors.Join(err, s.f.Sync(), s.f.Close())
		s.f = nil
	}
	return err
}
