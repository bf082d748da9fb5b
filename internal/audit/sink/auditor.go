package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
)

// Sink receives encoded records. Write gets the record and its JSON
// encoding (one line, no trailing newline); it must not keep line after it
// returns and must be safe for concurrent use. An error means the sink did
// not accept the record. Close flushes what the sink holds, waiting at
// most until ctx is done.
type Sink interface {
	Write(rec *audit.Record, line []byte) error
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
	// losses counts, per sink, the records it did not take and that no
	// audit.loss record reported yet; lossPending says some may be there.
	losses      []lossTally
	lossPending atomic.Bool
	// written and lost count, per sink, records taken and lost (Stats).
	written []atomic.Uint64
	lost    []atomic.Uint64
	// marker is the run marker (markerPath), "" without one.
	marker     string
	stopReport chan struct{}
	reportDone chan struct{}
}

// lossReportEvery is how often losses are reported to the other sinks.
const lossReportEvery = time.Second

// New validates cfg, fills its defaults and opens its sinks.
func New(cfg Config) (*Auditor, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	a := &Auditor{cfg: cfg, log: cfg.Logger, stopReport: make(chan struct{}), reportDone: make(chan struct{})}
	closeAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, s := range a.sinks {
			_ = s.Sink.Close(ctx)
		}
	}
	var fs *fileSink
	if cfg.File != nil {
		var err error
		fs, err = openFileSink(*cfg.File, a.log)
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
		ss, err = newSyslogSink(*cfg.Syslog, a.newRecord, func(rec *audit.Record, line []byte) { a.reportLoss("syslog", rec, line) }, a.log)
		if err != nil {
			closeAll()
			return nil, err
		}
		a.sinks = append(a.sinks, NamedSink{Name: "syslog", Sink: ss, Required: cfg.Syslog.Required})
	}
	a.sinks = append(a.sinks, cfg.Sinks...)
	if len(a.sinks) > 64 {
		closeAll()
		return nil, badKey("sinks", "at most 64 sinks, got %d", len(a.sinks))
	}
	a.lastWarn = make([]atomic.Int64, len(a.sinks))
	a.losses = make([]lossTally, len(a.sinks))
	a.written = make([]atomic.Uint64, len(a.sinks))
	a.lost = make([]atomic.Uint64, len(a.sinks))
	if fs != nil {
		fs.onLoss = func(keys []lossKey) {
			// Deferred records counted written when taken into a batch.
			a.written[0].Add(^uint64(len(keys) - 1))
			a.lost[0].Add(uint64(len(keys)))
			a.losses[0].add(keys...)
			a.lossPending.Store(true)
		}
		fs.onDelete = func(files []string) {
			rec := a.newRecord(audit.TypeAuditRetention)
			rec.Files = files
			rec.Message = fmt.Sprintf("retention deleted %d rotated audit files, rotated more than %v ago", len(files), cfg.File.MaxBackupAge)
			_ = a.Record(rec)
		}
		fs.onReopen = func(why string) {
			_ = a.Event(audit.TypeAuditReopen, "audit file reopened: "+why)
		}
		fs.start()
	}
	crashed, prev := a.mark()
	if ss != nil {
		ss.start()
	}
	if crashed {
		rec := a.newRecord(audit.TypePluginCrashed)
		rec.PreviousInstance = prev
		msg := "the previous run"
		if prev != "" {
			msg += " (instance " + prev + ")"
		}
		msg += " stopped without closing the audit trail (killed or crashed)"
		if cfg.File != nil {
			id, inst := lastRecord(cfg.File.Path)
			rec.LastRecordID = id
			if id != "" {
				msg += "; the last record written is " + id
				if inst != "" && inst != prev {
					msg += " of instance " + inst
				}
			}
		}
		if cfg.Syslog != nil {
			if cfg.Syslog.SpoolDir != "" {
				msg += "; records spooled for syslog are delivered now"
			} else {
				msg += "; records that were queued in memory for syslog are lost"
			}
		}
		rec.Message = msg
		_ = a.Record(rec)
	}
	go a.reportLoop()
	return a, nil
}

// mark writes the run marker and reports whether one was there already:
// the previous run did not close the trail. It returns that run's
// instance.
func (a *Auditor) mark() (crashed bool, prev string) {
	a.marker = markerPath(a.cfg)
	if a.marker == "" {
		return false, ""
	}
	if b, err := os.ReadFile(a.marker); err == nil {
		crashed, prev = true, strings.TrimSpace(string(b))
	}
	if err := os.WriteFile(a.marker, []byte(a.cfg.Instance+"\n"), 0o600); err != nil {
		a.log.WithError(err).Warn("write the audit run marker: an unclean stop of this run will not be detected")
		a.marker = ""
	}
	return crashed, prev
}

// reportLoop reports losses to the other sinks once a second.
func (a *Auditor) reportLoop() {
	defer close(a.reportDone)
	t := time.NewTicker(lossReportEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stopReport:
			return
		case <-t.C:
			a.reportOthers()
		}
	}
}

// SinkStats are one sink's record counts since New.
type SinkStats struct {
	Sink string
	// Written counts records the sink took: the file and writers wrote
	// them; syslog delivered them to the server.
	Written uint64
	// Queued and Spooled count records syslog accepted into its memory
	// queue and its disk spool.
	Queued, Spooled uint64
	// Lost counts records the sink did not take (audit.loss reports them).
	Lost uint64
}

// Stats returns every sink's counts.
func (a *Auditor) Stats() []SinkStats {
	out := make([]SinkStats, len(a.sinks))
	for i, s := range a.sinks {
		st := SinkStats{Sink: s.Name, Written: a.written[i].Load(), Lost: a.lost[i].Load()}
		if ss, ok := s.Sink.(*syslogSink); ok {
			st.Written = ss.delivered.Load()
			st.Queued, st.Spooled = ss.q.queued.Load(), ss.q.spooled.Load()
			st.Lost += ss.q.lost.Load()
		}
		out[i] = st
	}
	return out
}

// Reopen makes every sink that writes a file reopen it at its path, as
// logrotate's postrotate does with SIGHUP. It returns at once.
func (a *Auditor) Reopen() {
	for _, s := range a.sinks {
		if r, ok := s.Sink.(interface{ Reopen() }); ok {
			r.Reopen()
		}
	}
}

// reportLoss writes an audit.loss record of the sink named from to every
// other sink: records a syslog server never got are reported in the file
// trail too, which holds them.
func (a *Auditor) reportLoss(from string, rec *audit.Record, line []byte) {
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
func (a *Auditor) newRecord(t audit.Type) *audit.Record {
	r := &audit.Record{Type: t}
	a.stamp(r)
	return r
}

// stamp fills the fields the auditor owns and the defaults of id and time.
func (a *Auditor) stamp(r *audit.Record) {
	r.Version = audit.SchemaVersion
	r.Instance = a.cfg.Instance
	r.PluginVersion = a.cfg.PluginVersion
	if r.ID == "" {
		r.ID = audit.NewID()
	}
	if r.Time.IsZero() {
		r.Time = audit.Timestamp(time.Now().UTC())
	}
}

// Record stamps rec (version, instance, plugin version, and id and time
// when unset — rec.ID can then be used as a later response's RequestID),
// encodes it once and writes it to every sink. It returns an error when a
// required sink did not accept the record: the caller must then deny the
// request it describes. Failures of other sinks are logged and counted.
func (a *Auditor) Record(rec *audit.Record) error {
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
	line := audit.AppendRecord((*buf)[:0], rec)
	defer func() {
		if cap(line) <= maxPooledLine {
			*buf = line[:0]
			lineBufs.Put(buf)
		}
	}()
	// Required sinks first: when one fails, the caller denies the
	// request, and the other sinks must record the denial it answers.
	var errs []error
	var failed uint64
	for i, s := range a.sinks {
		if !s.Required {
			continue
		}
		if err := s.Sink.Write(rec, line); err != nil {
			failed |= 1 << i
			errs = append(errs, &SinkError{Sink: s.Name, Err: err})
		} else {
			a.written[i].Add(1)
		}
	}
	err := errors.Join(errs...)
	override := err != nil && rec.Type == audit.TypeDecision && rec.Phase == audit.PhaseRequest && rec.Decision == audit.Allow
	if override {
		rec.OverriddenDecision, rec.Decision = rec.Decision, audit.Deny
		rec.Violations = append([]audit.Violation{{Rule: audit.RuleUnavailable, Reason: audit.UnavailableReason(err)}}, rec.Violations...)
		line = audit.AppendRecord(line[:0], rec)
	}
	// A lost record counts with the decision the plugin answered.
	for _, e := range errs {
		se := e.(*SinkError)
		for i, s := range a.sinks {
			if s.Name == se.Sink && failed&(1<<i) != 0 {
				a.countLoss(i, rec, se.Err)
			}
		}
	}
	for i, s := range a.sinks {
		if failed&(1<<i) != 0 || s.Required && !override {
			continue
		}
		if werr := s.Sink.Write(rec, line); werr != nil {
			failed |= 1 << i
			a.countLoss(i, rec, werr)
			if !s.Required {
				a.warn(i, s.Name, werr)
			}
		} else {
			a.written[i].Add(1)
		}
	}
	// A deferred record's acceptance does not show that a sink writes
	// again: only a written record does.
	if a.lossPending.Load() && !rec.Deferred {
		a.reportSelf(failed)
	}
	return err
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
func (a *Auditor) Event(t audit.Type, message string, diagnostics ...string) error {
	return a.Record(&audit.Record{Type: t, Message: message, Diagnostics: diagnostics})
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
	close(a.stopReport)
	<-a.reportDone
	a.reportOthers()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.CloseTimeout)
	defer cancel()
	var errs []error
	for i := len(a.sinks) - 1; i >= 0; i-- {
		s := a.sinks[i]
		if err := s.Sink.Close(ctx); err != nil {
			errs = append(errs, &SinkError{Sink: s.Name, Err: err})
		}
	}
	if a.marker != "" {
		if err := os.Remove(a.marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove the audit run marker: %w", err))
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

func (s *writerSink) Write(_ *audit.Record, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(append(s.buf[:0], line...), '\n')
	_, err := s.w.Write(s.buf)
	return err
}

func (s *writerSink) Close(context.Context) error { return nil }
