package sink_test

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
)

// hugeDecision is a deny whose summary alone is about size bytes.
func hugeDecision(size int) *audit.Record {
	env := make([]string, 0, size/40+1)
	for i := 0; len(env)*40 < size; i++ {
		env = append(env, fmt.Sprintf("VARIABLE_%06d_%s=***", i, strings.Repeat("x", 20)))
	}
	return &audit.Record{Type: audit.TypeDecision, Phase: audit.PhaseRequest, Decision: audit.Deny,
		Action: "container.create", Method: "POST", URI: "/v1.47/containers/create",
		Identity:   &audit.Identity{User: "alice"},
		Violations: []audit.Violation{{Rule: "no-privileged", Field: "privileged", Reason: "privileged containers are not allowed"}},
		Summary:    &audit.Summary{Image: "busybox", Privileged: true, Env: env},
		Masked:     []string{"env.A"}}
}

// auditorWithFile is an auditor with a file sink and the syslog sink sc.
func auditorWithFile(t *testing.T, sc sink.SyslogConfig) (*sink.Auditor, string) {
	t.Helper()
	if sc.ReconnectMin == 0 {
		sc.ReconnectMin, sc.ReconnectMax = 5*time.Millisecond, 40*time.Millisecond
	}
	sc.Hostname = "host-1"
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := sink.New(sink.Config{PluginVersion: "test", File: &sink.FileConfig{Path: path, Sync: "never"},
		Syslog: &sc, Logger: quietLogger(), CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, path
}

// TestSyslogOversized sends a record too large for one message and
// expects a truncated copy — valid JSON, same id, decision kept, detail
// left out — followed by the next record: the queue is not blocked. The
// file holds the record whole.
func TestSyslogOversized(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int // of the huge record's summary
		// listen returns the syslog config and the next received message.
		listen func(t *testing.T) (sink.SyslogConfig, func() syslogMsg)
	}{
		{"udp over 64 KiB", 100 << 10, func(t *testing.T) (sink.SyslogConfig, func() syslogMsg) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() })
			return sink.SyslogConfig{Network: "udp", Address: pc.LocalAddr().String()}, func() syslogMsg { return readPacket(t, pc) }
		}},
		{"udp just over the limit", 65507, func(t *testing.T) (sink.SyslogConfig, func() syslogMsg) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() })
			return sink.SyslogConfig{Network: "udp", Address: pc.LocalAddr().String()}, func() syslogMsg { return readPacket(t, pc) }
		}},
		// Larger than the socket's send buffer: EMSGSIZE, limit learned.
		{"unixgram EMSGSIZE", 700 << 10, func(t *testing.T) (sink.SyslogConfig, func() syslogMsg) {
			path := filepath.Join(t.TempDir(), "log")
			pc, err := net.ListenPacket("unixgram", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() })
			return sink.SyslogConfig{Network: "unixgram", Address: path}, func() syslogMsg { return readPacket(t, pc) }
		}},
		{"tcp max_message_size", 20 << 10, func(t *testing.T) (sink.SyslogConfig, func() syslogMsg) {
			srv := newTCPServer(t, nil)
			return sink.SyslogConfig{Network: "tcp", Address: srv.addr, MaxMessageSize: 8192}, func() syslogMsg { return srv.next(t) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, next := tc.listen(t)
			a, path := auditorWithFile(t, sc)
			big := hugeDecision(tc.size)
			if err := a.Record(big); err != nil {
				t.Fatal(err)
			}
			if err := a.Record(event(1)); err != nil {
				t.Fatal(err)
			}
			m := next()
			if !m.rec.Truncated || m.rec.ID != big.ID || m.rec.Decision != audit.Deny || m.rec.Action != "container.create" ||
				m.rec.Identity == nil || m.rec.Identity.User != "alice" || len(m.rec.Violations) != 1 || m.rec.Violations[0].Rule != "no-privileged" {
				t.Errorf("want a truncated copy of %s keeping decision, action, user and rules, got %.400s", big.ID, m.original)
			}
			if m.rec.Summary != nil || m.rec.Masked != nil {
				t.Errorf("truncated copy still has its summary: %.400s", m.original)
			}
			if m.pri != 10*8+4 || m.msgID != "decision" {
				t.Errorf("header of the truncated copy: pri %d msgid %q", m.pri, m.msgID)
			}
			if limit := sc.MaxMessageSize; limit > 0 && len(m.original) > limit {
				t.Errorf("truncated copy has %d bytes, limit %d", len(m.original), limit)
			}
			if m := next(); m.rec.Message != "n=0001" || m.rec.Truncated {
				t.Fatalf("the record after the oversized one: %.300s", m.original)
			}
			a.Close()
			recs := readRecords(t, path)
			if len(recs) != 2 || recs[0].ID != big.ID || recs[0].Truncated || recs[0].Summary == nil || len(recs[0].Summary.Env) != len(big.Summary.Env) {
				t.Fatalf("the file does not hold the record whole: %d records", len(recs))
			}
		})
	}

	// Not even the minimal copy fits: an audit.loss record takes its
	// place in syslog and in the file.
	t.Run("too large even truncated", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		a, path := auditorWithFile(t, sink.SyslogConfig{Network: "tcp", Address: srv.addr, MaxMessageSize: 1024})
		big := hugeDecision(1 << 10)
		big.Violations = nil
		for i := 0; i < 10; i++ {
			big.Violations = append(big.Violations, audit.Violation{Rule: fmt.Sprintf("rule-%d-%s", i, strings.Repeat("r", 100)), Reason: "no"})
		}
		if err := a.Record(big); err != nil {
			t.Fatal(err)
		}
		if err := a.Record(event(1)); err != nil {
			t.Fatal(err)
		}
		m := srv.next(t)
		if m.rec.Type != audit.TypeAuditLoss || m.rec.Dropped != 1 || m.rec.Sink != "syslog" || !strings.Contains(m.rec.Message, big.ID) {
			t.Fatalf("want an audit.loss record naming %s, got %s", big.ID, m.original)
		}
		if m := srv.next(t); m.rec.Message != "n=0001" {
			t.Fatalf("the record after the oversized one: %.300s", m.original)
		}
		a.Close()
		// The loss record reaches the file when it is sent, before or
		// after the next record.
		recs := readRecords(t, path)
		found := 0
		for _, r := range recs {
			if r.ID == m.rec.ID && r.Type == audit.TypeAuditLoss && r.Dropped == 1 {
				found++
			}
		}
		if len(recs) != 3 || recs[0].ID != big.ID || found != 1 {
			t.Fatalf("want the record, the next one and the loss record %s in the file, got %v", m.rec.ID, ids(recs))
		}
	})
}

func ids(recs []audit.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Type)+":"+r.ID)
	}
	return out
}

// TestSyslogLossInFile checks that records syslog loses are reported in
// the file trail too: the same audit.loss record syslog gets once it has
// room again, and one at Close for what was still queued.
func TestSyslogLossInFile(t *testing.T) {
	t.Run("bounds exceeded", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		addr := srv.addr
		srv.stop()
		a, path := auditorWithFile(t, sink.SyslogConfig{Network: "tcp", Address: addr, QueueSize: 5})
		for i := 0; i < 20; i++ {
			if err := a.Record(event(i)); err != nil {
				t.Fatal(err)
			}
		}
		srv.start(addr)
		for i := 0; i < 5; i++ {
			srv.next(t)
		}
		loss := srv.next(t)
		if loss.rec.Type != audit.TypeAuditLoss || loss.rec.Dropped != 15 || loss.rec.Sink != "syslog" {
			t.Fatalf("want audit.loss dropped=15 sink=syslog, got %s", loss.original)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		recs := readRecords(t, path)
		if len(recs) != 21 {
			t.Fatalf("want 20 records and the loss record in the file, got %v", ids(recs))
		}
		got := recs[20]
		if got.ID != loss.rec.ID || got.Type != audit.TypeAuditLoss || got.Dropped != 15 || got.Sink != "syslog" {
			t.Fatalf("file's last record is not syslog's loss record %s: %+v", loss.rec.ID, got)
		}
	})
	t.Run("queued at close", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		addr := srv.addr
		srv.stop()
		a, path := auditorWithFile(t, sink.SyslogConfig{Network: "tcp", Address: addr, QueueSize: 5})
		for i := 0; i < 8; i++ { // 5 queued, 3 dropped
			if err := a.Record(event(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Close(); err == nil || !strings.Contains(err.Error(), "8 records") {
			t.Fatalf("close: want an error reporting 8 lost records, got %v", err)
		}
		recs := readRecords(t, path)
		if len(recs) != 9 {
			t.Fatalf("want 8 records and a loss record in the file, got %v", ids(recs))
		}
		if got := recs[8]; got.Type != audit.TypeAuditLoss || got.Dropped != 8 || got.Sink != "syslog" {
			t.Fatalf("want audit.loss dropped=8 sink=syslog last, got %+v", got)
		}
	})
	t.Run("spooled at close is not lost", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		addr := srv.addr
		srv.stop()
		a, path := auditorWithFile(t, sink.SyslogConfig{Network: "tcp", Address: addr, QueueSize: 5, SpoolDir: filepath.Join(t.TempDir(), "spool")})
		for i := 0; i < 8; i++ {
			if err := a.Record(event(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		for _, r := range readRecords(t, path) {
			if r.Type == audit.TypeAuditLoss {
				t.Fatalf("loss reported though everything was spooled: %+v", r)
			}
		}
	})
}

// TestTruncatedIsJSON checks the truncated copy of a record whose strings
// are long and not ASCII stays valid UTF-8 JSON within the limit.
func TestTruncatedIsJSON(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	a := syslogAuditor(t, sink.SyslogConfig{Network: "udp", Address: pc.LocalAddr().String(), MaxMessageSize: 4096})
	long := strings.Repeat("é<\"", 5000)
	rec := hugeDecision(8 << 10)
	rec.URI, rec.Identity.CertSubject, rec.Policy = long, long, long
	rec.Target = &audit.Target{Container: long}
	if err := a.Record(rec); err != nil {
		t.Fatal(err)
	}
	m := readPacket(t, pc)
	if len(m.original) > 4096 || !m.rec.Truncated || m.rec.ID != rec.ID {
		t.Fatalf("want a truncated copy of at most 4096 bytes, got %d bytes: %.300s", len(m.original), m.original)
	}
	if !json.Valid([]byte(m.original[strings.Index(m.original, "{"):])) {
		t.Fatal("not valid JSON")
	}
}
