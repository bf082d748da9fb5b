package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
)

// syslogSink formats records as RFC 5424 messages and delivers them in
// order from a bounded queue, by one goroutine that reconnects with
// backoff and re-sends the message whose write failed.
type syslogSink struct {
	cfg       SyslogConfig
	facility  int
	procID    string
	tls       *tls.Config
	newRecord func(audit.Type) *audit.Record
	// report writes an audit.loss record to the auditor's other sinks.
	report func(rec *audit.Record, line []byte)
	log    logrus.FieldLogger
	q      *queue

	// Owned by the delivering goroutine.
	maxMsg    int       // largest message sent whole; 0: no limit
	fitted    fitted    // the head message's shortened form
	truncated int       // truncated copies sent since the last warning
	truncWarn time.Time // last warning about truncated copies

	begin   chan struct{} // closed by start: delivery may begin
	closing chan struct{} // closed by Close: drain, then stop
	ctx     context.Context
	abort   context.CancelFunc // stops delivery at the Close deadline
	done    chan struct{}

	connMu sync.Mutex
	conn   net.Conn

	delivered atomic.Uint64 // messages written to the server
}

// newSyslogSink opens the sink; delivery begins with start. newRecord
// returns stamped records (for audit.loss); report writes an audit.loss
// record to the other sinks.
func newSyslogSink(cfg SyslogConfig, newRecord func(audit.Type) *audit.Record, report func(*audit.Record, []byte), log logrus.FieldLogger) (*syslogSink, error) {
	s := &syslogSink{
		cfg:       cfg,
		facility:  facilities[cfg.Facility],
		procID:    strconv.Itoa(os.Getpid()),
		newRecord: newRecord,
		report:    report,
		log:       log.WithField("sink", "syslog"),
		maxMsg:    cfg.MaxMessageSize,
		begin:     make(chan struct{}),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	if cfg.Network == "tls" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	var sp *spool
	if cfg.SpoolDir != "" {
		var err error
		if sp, err = openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes); err != nil {
			return nil, &ConfigError{Key: "syslog.spool_dir", Reason: err.Error()}
		}
	}
	s.q = newQueue(cfg.QueueSize, sp, s.lossMessage)
	s.ctx, s.abort = context.WithCancel(context.Background())
	go s.deliver()
	return s, nil
}

// start lets delivery begin, once the auditor that report writes to is
// complete.
func (s *syslogSink) start() { close(s.begin) }

func tlsConfig(cfg SyslogConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(cfg.Address)
		if err != nil {
			return nil, &ConfigError{Key: "syslog.address", Reason: err.Error()}
		}
		tc.ServerName = host
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, &ConfigError{Key: "syslog.ca_file", Reason: err.Error()}
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Key: "syslog.ca_file", Reason: "no PEM certificates in " + cfg.CAFile}
		}
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, &ConfigError{Key: "syslog.cert_file", Reason: err.Error()}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// syslogTimeLayout is RFC 5424's TIMESTAMP with its maximum of six
// fractional digits.
const syslogTimeLayout = "2006-01-02T15:04:05.000000Z"

// format returns the RFC 5424 message for rec:
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG, with the JSON line
// as MSG and the record type as MSGID.
func (s *syslogSink) format(rec *audit.Record, line []byte) []byte {
	msgID := string(rec.Type)
	if len(msgID) > 32 {
		msgID = msgID[:32]
	}
	b := make([]byte, 0, len(line)+128)
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(s.facility*8+severityOf(rec)), 10)
	b = append(b, ">1 "...)
	b = rec.Time.Time().UTC().AppendFormat(b, syslogTimeLayout)
	b = append(b, ' ')
	b = append(b, s.cfg.Hostname...)
	b = append(b, ' ')
	b = append(b, s.cfg.AppName...)
	b = append(b, ' ')
	b = append(b, s.procID...)
	b = append(b, ' ')
	b = append(b, msgID...)
	b = append(b, " - "...)
	return append(b, line...)
}

// lossRecord returns a stamped audit.loss record for n records this sink
// lost, and its encoding.
func (s *syslogSink) lossRecord(n uint64, by map[lossKey]uint64, why string) (*audit.Record, []byte) {
	rec := s.newRecord(audit.TypeAuditLoss)
	rec.Dropped, rec.Sink, rec.Message = n, "syslog", why
	if len(by) > 0 {
		rec.Losses, _ = lossCounts(by)
	}
	line, err := audit.Encode(rec)
	if err != nil {
		line = []byte(`{"type":"audit.loss","sink":"syslog"}`)
	}
	return rec, line
}

// lossMessage is the queue's loss message for n records dropped while the
// queue and spool were full. Once it is queued, the same record goes to
// the other sinks, so the file trail shows the gap in syslog's.
func (s *syslogSink) lossMessage(n uint64, by map[lossKey]uint64) ([]byte, func()) {
	rec, line := s.lossRecord(n, by, fmt.Sprintf("%d audit records were not sent to syslog: its queue and spool were full", n))
	return s.format(rec, line), func() {
		s.log.WithField("dropped", n).Warn("audit records lost for syslog; reported to syslog and the other sinks")
		s.report(rec, line)
	}
}

// Write queues the record. It fails only when the queue and the spool are
// full; the record is then counted and reported by an audit.loss record.
func (s *syslogSink) Write(rec *audit.Record, line []byte) error {
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	return s.q.push(s.format(rec, line))
}

// Flush is a no-op: delivery is continuous.
func (s *syslogSink) Flush() error { return nil }

// Close delivers what is queued until ctx is done, then spools (or counts
// as lost) the rest.
func (s *syslogSink) Close(ctx context.Context) error {
	select {
	case <-s.closing:
		return nil
	default:
	}
	close(s.closing)
	select {
	case <-s.done:
	case <-ctx.Done():
		s.abort()
		s.connMu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.connMu.Unlock()
		<-s.done
	}
	s.abort()
	lost, by := s.q.spillAll()
	if s.q.spool != nil {
		s.q.spool.close()
	}
	if lost > 0 {
		rec, line := s.lossRecord(uint64(lost), by, fmt.Sprintf("%d audit records were not sent to syslog: still queued at close without room in a spool, or dropped while the queue and spool were full", lost))
		s.report(rec, line)
		return fmt.Errorf("%d records were not delivered to syslog (queued at the close deadline or dropped) and are lost", lost)
	}
	return nil
}

// deliver sends queued messages in order until Close.
func (s *syslogSink) deliver() {
	defer close(s.done)
	select {
	case <-s.begin:
	case <-s.closing:
		return // closed before it started: what is spooled stays there
	}
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := s.cfg.ReconnectMin
	var frame []byte
	for {
		msg, ok := s.q.peek()
		if !ok {
			select {
			case <-s.q.wake:
				continue
			case <-s.closing:
				if s.q.len() == 0 {
					return
				}
				continue
			case <-s.ctx.Done():
				return
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		if conn != nil && s.cfg.Network != "udp" && s.cfg.Network != "unixgram" && peerClosed(conn) {
			s.log.Warn("syslog server closed the connection; reconnecting")
			conn.Close()
			conn = nil
		}
		if conn == nil {
			c, err := s.dial()
			if err != nil {
				s.log.WithError(err).WithField("retry_in", backoff).Warn("connect to syslog server")
				if !s.sleep(backoff) {
					return
				}
				backoff = nextBackoff(backoff, s.cfg.ReconnectMax)
				continue
			}
			conn = c
			s.connMu.Lock()
			s.conn = c
			s.connMu.Unlock()
		}
		out, sent := s.fit(msg)
		if out == nil {
			s.log.WithField("bytes", len(msg)).Error("audit record too large for syslog even as an audit.loss record; dropped and counted")
			s.q.dropHead()
			s.fitted = fitted{}
			continue
		}
		frame = s.frame(frame[:0], out)
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := conn.Write(frame); err != nil {
			if errors.Is(err, syscall.EMSGSIZE) {
				// A datagram larger than the socket takes: it would
				// fail forever. Send a shorter form instead.
				s.maxMsg = len(out) - 1
				continue
			}
			s.log.WithError(err).WithField("retry_in", backoff).Warn("write to syslog server; will reconnect and send the record again")
			conn.Close()
			conn = nil
			if !s.sleep(backoff) {
				return
			}
			backoff = nextBackoff(backoff, s.cfg.ReconnectMax)
			continue
		}
		backoff = s.cfg.ReconnectMin
		if sent != nil {
			sent()
		}
		s.delivered.Add(1)
		s.q.pop()
		s.fitted = fitted{}
	}
}

func (s *syslogSink) frame(b, msg []byte) []byte {
	switch s.cfg.Framing {
	case "octet-counting":
		b = strconv.AppendInt(b, int64(len(msg)), 10)
		b = append(b, ' ')
		return append(b, msg...)
	case "lf":
		return append(append(b, msg...), '\n')
	}
	return append(b, msg...)
}

func (s *syslogSink) dial() (net.Conn, error) {
	d := &net.Dialer{Timeout: s.cfg.DialTimeout}
	if s.cfg.Network == "tls" {
		td := &tls.Dialer{NetDialer: d, Config: s.tls}
		c, err := td.DialContext(s.ctx, "tcp", s.cfg.Address)
		if err != nil {
			return nil, err
		}
		// The server may send data (TLS 1.3 session tickets): read and
		// discard it, and note the end of stream for peerClosed. (Peeking
		// at the socket, as for plain TCP, would see the tickets, and
		// would wait for this reader's lock on the descriptor.)
		w := &watchedConn{Conn: c, gone: make(chan struct{})}
		go func() {
			io.Copy(io.Discard, c)
			close(w.gone)
		}()
		return w, nil
	}
	return d.DialContext(s.ctx, s.cfg.Network, s.cfg.Address)
}

// sleep waits d, or returns false when delivery is aborted.
func (s *syslogSink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// nextBackoff doubles d up to max, with ±20% jitter.
func nextBackoff(d, max time.Duration) time.Duration {
	d *= 2
	if d > max {
		d = max
	}
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - j
	}
	return min(d+j, max)
}

// watchedConn is a connection that a goroutine reads until it ends; gone
// is closed then.
type watchedConn struct {
	net.Conn
	gone chan struct{}
}

// peerClosed reports whether a stream connection's peer has closed it or
// reset it, by peeking at the socket without blocking. A syslog server
// sends nothing, so end of stream or an error means the connection is
// gone and writing would silently lose the record. Call it for stream
// sockets only.
func peerClosed(c net.Conn) bool {
	if w, ok := c.(*watchedConn); ok {
		select {
		case <-w.gone:
			return true
		default:
			return false
		}
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		case err != nil:
			closed = true
		case n == 0:
			closed = true
		}
		return true
	})
	return closed || err != nil
}

// severityOf is the syslog severity of a record: deny (including audit
// mode's would-deny) is warning, allow is info, lifecycle events notice,
// and audit.loss and failed reloads warning.
func severityOf(rec *audit.Record) int {
	switch rec.Type {
	case audit.TypeDecision:
		if rec.Decision == audit.Deny || rec.WouldDeny != nil && *rec.WouldDeny {
			return sevWarning
		}
		return sevInfo
	case audit.TypeAuditLoss, audit.TypePolicyReloadFailed, audit.TypePluginCrashed:
		return sevWarning
	}
	return sevNotice
}

// Syslog severities (RFC 5424 section 6.2.1).
const (
	sevWarning = 4
	sevNotice  = 5
	sevInfo    = 6
)
