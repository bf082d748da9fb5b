package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Sink receives encoded records. Write gets the record and its JSON
// encoding (one line, no trailing newline); it must not keep line after it
// returns and must be safe for concurrent use. An error means the sink did
// not accept the record. Close flushes what the sink holds, waiting at
// most until ctx is done.
type Sink interface {
	Write(rec *Record, line []byte) error
	Close(ctx context.Context) error
}

// Flusher is a Sink that can push buffered records out on demand.
type Flusher interface {
	Flush() error
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: auditor is closed")

// ErrQueueFull is returned by a queued sink's Write when its memory queue
// and spool are full; the record is counted as lost.
var ErrQueueFull = errors.New("audit queue and spool are full")

// SinkError is a required sink that did not accept a record. Record
// returns one (joined with others when several failed).
type SinkError struct {
	Sink string
	Err  error
}

func (e *SinkError) Error() string { return fmt.Sprintf("audit sink %s: %v", e.Sink, e.Err) }
func (e *SinkError) Unwrap() error { return e.Err }

// Auditor writes records to its sinks. It is safe for concurrent use.
type Auditor struct {
	cfg    Config
	sinks  []NamedSink
	log    logrus.FieldLogger
	closed atomic.Bool
	wg     sync.WaitGroup // Record calls in flight
	mu     sync.Mutex     // orders Close against new Record calls
	// lastWarn rate-limits logging of optional sink failures, per sink.
	lastWarn []atomic.Int64
}

// New validates cfg, fills its defaults and opens its sinks.
func New(cfg Config) (*Auditor, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	a := &Auditor{cfg: cfg, log: cfg.Logger}
	closeAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, s := range a.sinks {
			_ = s.Sink.Close(ctx)
		}
	}
	if cfg.File != nil {
		fs, err := openFileSink(*cfg.File, a.log)
		if err != nil {
			closeAll()
			return nil, err
		}
		a.sinks = append(a.sinks, NamedSink{Name: "file", Sink: fs, Required: *cfg.File.Required})
	}
	if cfg.Stdout != nil {
		a.sinks = append(a.sinks, NamedSink{Name: "stdout", Sink: NewWriterSink(cfg.Stdout), Required: cfg.StdoutRequired})
	}
	var ss *syslogSink
	if cfg.Syslog != nil {
		var err error
		ss, err = newSyslogSink(*cfg.Syslog, a.newRecord, func(rec *Record, line []byte) { a.reportLoss("syslog", rec, line) }, a.log)
		if err != nil {
			closeAll()
			return nil, err
		}
		a.sinks = append(a.sinks, NamedSink{Name: "syslog", Sink: ss, Required: cfg.Syslog.Required})
	}
	a.sinks = append(a.sinks, cfg.Sinks...)
	a.lastWarn = make([]atomic.Int64, len(a.sinks))
	if ss != nil {
		ss.start()
	}
	return a, nil
}

// reportLoss writes an audit.loss record of the sink named from to every
// other sink: records a syslog server never got are reported in the file
// trail too, which holds them.
func (a *Auditor) reportLoss(from string, rec *Record, line []byte) {
	for i, s := range a.sinks {
		if s.Name == from {
			continue
		}
		if err := s.Sink.Write(rec, line); err != nil {
			a.warn(i, s.Name, err)
		}
	}
}

// Instance returns the instance id written in every record.
func (a *Auditor) Instance() string { return a.cfg.Instance }

// newRecord returns a stamped record of type t.
func (a *Auditor) newRecord(t Type) *Record {
	r := &Record{Type: t}
	a.stamp(r)
	return r
}

// stamp fills the fields the auditor owns and the defaults of id and time.
func (a *Auditor) stamp(r *Record) {
	r.Version = SchemaVersion
	r.Instance = a.cfg.Instance
	r.PluginVersion = a.cfg.PluginVersion
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Time.IsZero() {
		r.Time = Timestamp(time.Now().UTC())
	}
}

// Record stamps rec (version, instance, plugin version, and id and time
// when unset — rec.ID can then be used as a later response's RequestID),
// encodes it once and writes it to every sink. It returns an error when a
// required sink did not accept the record: the caller must then deny the
// request it describes. Failures of other sinks are logged and counted.
func (a *Auditor) Record(rec *Record) error {
	if rec == nil || rec.Type == "" {
		return errors.New("audit: record without a type")
	}
	a.mu.Lock()
	if a.closed.Load() {
		a.mu.Unlock()
		return ErrClosed
	}
	a.wg.Add(1)
	a.mu.Unlock()
	defer a.wg.Done()

	a.stamp(rec)
	// Sinks copy the line before Write returns, so its buffer is reused.
	buf := lineBufs.Get().(*[]byte)
	line := appendRecord((*buf)[:0], rec)
	defer func() {
		if cap(line) <= maxPooledLine {
			*buf = line[:0]
			lineBufs.Put(buf)
		}
	}()
	var errs []error
	for i, s := range a.sinks {
		if err := s.Sink.Write(rec, line); err != nil {
			if s.Required {
				errs = append(errs, &SinkError{Sink: s.Name, Err: err})
				continue
			}
			a.warn(i, s.Name, err)
		}
	}
	return errors.Join(errs...)
}

// warn logs an optional sink's failure at most once a minute per sink.
func (a *Auditor) warn(i int, name string, err error) {
	now := time.Now().UnixNano()
	last := a.lastWarn[i].Load()
	if now-last < int64(time.Minute) || !a.lastWarn[i].CompareAndSwap(last, now) {
		return
	}
	a.log.WithError(err).WithField("sink", name).Warn("audit sink did not accept a record; further failures in the next minute are not logged")
}

// Event records a lifecycle event: plugin.start, plugin.stop,
// policy.load or policy.reload_failed with the load's diagnostics.
func (a *Auditor) Event(t Type, message string, diagnostics ...string) error {
	return a.Record(&Record{Type: t, Message: message, Diagnostics: diagnostics})
}

// Flush pushes records buffered by sinks that buffer.
func (a *Auditor) Flush() error {
	var errs []error
	for _, s := range a.sinks {
		if f, ok := s.Sink.(Flusher); ok {
			if err := f.Flush(); err != nil {
				errs = append(errs, &SinkError{Sink: s.Name, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// Close waits for Record calls in flight, then flushes and closes every
// sink, draining queues for at most Config.CloseTimeout. Records still
// queued then go to the spool directory when one is configured, and are
// otherwise reported lost in the error and by an audit.loss record in the
// other sinks: sinks close in reverse order, the file last. Close is
// idempotent.
func (a *Auditor) Close() error {
	a.mu.Lock()
	if a.closed.Swap(true) {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.CloseTimeout)
	defer cancel()
	var errs []error
	for i := len(a.sinks) - 1; i >= 0; i-- {
		s := a.sinks[i]
		if err := s.Sink.Close(ctx); err != nil {
			errs = append(errs, &SinkError{Sink: s.Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// writerSink writes JSON lines to an io.Writer.
type writerSink struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriterSink returns a sink that writes each record as one JSON line to
// w, with one Write call per record, serialised.
func NewWriterSink(w io.Writer) Sink { return &writerSink{w: w} }

func (s *writerSink) Write(_ *Record, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(append(s.buf[:0], line...), '\n')
	_, err := s.w.Write(s.buf)
	return err
}

func (s *writerSink) Close(context.Context) error { return nil }
