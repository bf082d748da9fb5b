package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// memSink keeps every line it takes.
type memSink struct {
	mu    sync.Mutex
	lines [][]byte
}

func (m *memSink) Write(_ *audit.Record, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, append([]byte(nil), line...))
	return nil
}
func (m *memSink) Close(context.Context) error { return nil }

func (m *memSink) records(t *testing.T) []audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Record
	for _, l := range m.lines {
		var r audit.Record
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("memory sink: bad line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// fileRecords parses every line of path, failing on any that is not a
// whole record.
func fileRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline: …%q", path, b[max(0, len(b)-80):])
	}
	var out []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d is not a whole record: %q: %v", path, n, sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func lossSum(recs []audit.Record, sink string) map[string]uint64 {
	out := map[string]uint64{}
	for _, r := range recs {
		if r.Type != audit.TypeAuditLoss || r.Sink != sink {
			continue
		}
		var sum uint64
		for _, l := range r.Losses {
			out[string(l.Type)+"/"+string(l.Phase)+"/"+string(l.Decision)] += l.Count
			sum += l.Count
		}
		if sum != r.Dropped {
			panic(fmt.Sprintf("audit.loss dropped=%d but losses sum to %d", r.Dropped, sum))
		}
	}
	return out
}

// TestFilePartialWrites fails every write of the file sink half-way, as a
// full disk does, round after round: every line of the file stays a whole
// record; the other sink records the denial the plugin answered for the
// records the file lost; and both are told, by audit.loss records with
// counts by phase and decision, what the file lost — response records
// (which nobody waits for) included.
func TestFilePartialWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	mem := &memSink{}
	a, err := New(Config{PluginVersion: "test", File: &FileConfig{Path: path, Sync: "never"},
		Sinks: []NamedSink{{Name: "mem", Sink: mem}}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	fs := a.sinks[0].Sink.(*fileSink)
	var failing atomic.Bool
	fs.fmu.Lock()
	fs.writeFile = func(f *os.File, p []byte) (int, error) {
		if failing.Load() {
			n, _ := f.Write(p[:len(p)/2+1])
			return n, syscall.ENOSPC
		}
		return f.Write(p)
	}
	fs.fmu.Unlock()
	// The test flushes each deferred record itself: the sink's own timer
	// must not get there first on a loaded machine.
	fs.mu.Lock()
	fs.deferDelay = time.Hour
	fs.mu.Unlock()

	req := func(i int, d audit.Decision) *audit.Record {
		return &audit.Record{Type: audit.TypeDecision, Phase: audit.PhaseRequest, Decision: d, Action: "container.create", Message: fmt.Sprint(i)}
	}
	resp := func(i int) *audit.Record {
		return &audit.Record{Type: audit.TypeDecision, Phase: audit.PhaseResponse, Decision: audit.Allow, Deferred: true, Message: fmt.Sprint(i)}
	}
	const rounds = 5
	lostIDs := map[string]bool{}
	for round := range rounds {
		failing.Store(false)
		for i := range 3 {
			if err := a.Record(req(round*100+i, audit.Allow)); err != nil {
				t.Fatalf("round %d: a healthy write failed: %v", round, err)
			}
		}
		failing.Store(true)
		for i := range 3 {
			r := req(round*100+10+i, audit.Allow)
			if err := a.Record(r); err == nil {
				t.Fatalf("round %d: a failed write was reported written", round)
			}
			lostIDs[r.ID] = true
		}
		dr := req(round*100+20, audit.Deny)
		if err := a.Record(dr); err == nil {
			t.Fatalf("round %d: a failed write was reported written", round)
		}
		lostIDs[dr.ID] = true
		if err := a.Record(resp(round*100 + 30)); err != nil {
			t.Fatalf("a deferred record: %v", err)
		}
		if err := a.Flush(); err == nil {
			t.Fatalf("round %d: flushing a deferred record into a full disk succeeded", round)
		}
	}
	failing.Store(false)
	if err := a.Record(req(999, audit.Allow)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	recs := fileRecords(t, path)
	for _, r := range recs {
		if lostIDs[r.ID] {
			t.Errorf("record %s reported lost is in the file", r.ID)
		}
	}
	want := map[string]uint64{"decision/request/deny": 4 * rounds, "decision/response/allow": rounds}
	if got := lossSum(recs, "file"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit.loss in the file reports %v, want %v", got, want)
	}
	memRecs := mem.records(t)
	if got := lossSum(memRecs, "file"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit.loss in the other sink reports %v, want %v", got, want)
	}
	overridden := 0
	for _, r := range memRecs {
		if !lostIDs[r.ID] {
			continue
		}
		if r.Decision != audit.Deny {
			t.Errorf("the other sink has %s as %s, but the plugin denied it", r.ID, r.Decision)
			continue
		}
		if r.OverriddenDecision == audit.Allow {
			overridden++
			if len(r.Violations) == 0 || r.Violations[0].Rule != audit.RuleUnavailable {
				t.Errorf("overridden record %s has rule %q, want %s", r.ID, r.Violations[0].Rule, audit.RuleUnavailable)
			}
		}
	}
	if overridden != 3*rounds {
		t.Errorf("%d records with overridden_decision allow, want %d", overridden, 3*rounds)
	}
}

// TestFileTornTailAtOpen: a file whose last line a crash cut short is
// cut back to its last whole line before anything is appended.
func TestFileTornTailAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	whole := `{"version":1,"type":"plugin.start","id":"a","time":"2026-01-01T00:00:00.000000000Z","instance":"i","plugin_version":"v"}` + "\n"
	if err := os.WriteFile(path, []byte(whole+`{"version":1,"type":"deci`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{PluginVersion: "test", File: &FileConfig{Path: path}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Event(audit.TypePluginStart, "after"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	recs := fileRecords(t, path)
	if len(recs) != 2 || recs[0].ID != "a" || recs[1].Message != "after" {
		t.Fatalf("records %+v", recs)
	}
}

// TestCrashDetected: a run that stops without Close (kill -9) leaves its
// marker; the next run records plugin.crashed with the last record id.
func TestCrashDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	cfg := Config{PluginVersion: "test", File: &FileConfig{Path: path}, Logger: quiet()}
	a1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	last := &audit.Record{Type: audit.TypeDecision, Phase: audit.PhaseRequest, Decision: audit.Allow}
	if err := a1.Record(last); err != nil {
		t.Fatal(err)
	}
	// a1 is abandoned, as by kill -9.
	a2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}
	a3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a3.Close(); err != nil {
		t.Fatal(err)
	}
	var crashed []audit.Record
	for _, r := range fileRecords(t, path) {
		if r.Type == audit.TypePluginCrashed {
			crashed = append(crashed, r)
		}
	}
	if len(crashed) != 1 {
		t.Fatalf("%d plugin.crashed records, want 1 (a clean stop is not a crash)", len(crashed))
	}
	if c := crashed[0]; c.LastRecordID != last.ID || c.PreviousInstance != a1.Instance() || c.Instance != a2.Instance() {
		t.Errorf("plugin.crashed %+v: want last record %s of instance %s", c, last.ID, a1.Instance())
	}
}

// waitFile waits until path holds a record of type typ.
func waitRecord(t *testing.T, path string, typ audit.Type) []audit.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			recs := fileRecords(t, path)
			for _, r := range recs {
				if r.Type == typ {
					return recs
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record in %s", typ, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFileRotatedByOthers: the file is reopened when a rotation tool moves
// or deletes it (noticed by inode within a second, or at once on
// Reopen), and a copytruncate keeps every line whole.
func TestFileRotatedByOthers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rotate func(path string) error
		reopen bool // call Reopen (SIGHUP) after rotating
	}{
		{"move and create", func(p string) error { return os.Rename(p, p+".1") }, false},
		{"move, SIGHUP", func(p string) error { return os.Rename(p, p+".1") }, true},
		{"compress (move, delete)", func(p string) error {
			if err := os.Rename(p, p+".1"); err != nil {
				return err
			}
			return os.Remove(p + ".1")
		}, false},
		{"copytruncate", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p+".1", b, 0o600); err != nil {
				return err
			}
			return os.Truncate(p, 0)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			a, err := New(Config{PluginVersion: "test", File: &FileConfig{Path: path}, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Event(audit.TypePluginStart, "before"); err != nil {
				t.Fatal(err)
			}
			if err := tc.rotate(path); err != nil {
				t.Fatal(err)
			}
			if tc.name == "copytruncate" {
				if err := a.Event(audit.TypePluginStart, "after"); err != nil {
					t.Fatal(err)
				}
				recs := fileRecords(t, path)
				if len(recs) != 1 || recs[0].Message != "after" {
					t.Fatalf("after copytruncate the file holds %+v", recs)
				}
				return
			}
			if tc.reopen {
				a.Reopen()
			}
			recs := waitRecord(t, path, audit.TypeAuditReopen)
			if err := a.Event(audit.TypePluginStart, "after"); err != nil {
				t.Fatal(err)
			}
			recs = fileRecords(t, path)
			if n := len(recs); n != 2 || recs[1].Message != "after" {
				t.Fatalf("the new file holds %+v", recs)
			}
			if old, err := os.ReadFile(path + ".1"); err == nil && strings.Contains(string(old), `"after"`) {
				t.Fatal("a record went to the rotated file")
			}
		})
	}
}

// TestRetentionByAge: rotated files are deleted by age only — never one
// younger than the minimum — and the deletion is recorded.
func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	s := &fileSink{cfg: FileConfig{Path: path}}
	now := time.Now()
	for _, age := range []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour, 2 * 24 * time.Hour, time.Hour} {
		if err := os.WriteFile(s.backupName(now.Add(-age)), []byte{}, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(Config{PluginVersion: "test", Logger: quiet(),
		File: &FileConfig{Path: path, MaxBackupAge: 9 * 24 * time.Hour, MinBackupAge: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	recs := waitRecord(t, path, audit.TypeAuditRetention)
	backups, _ := Backups(path)
	if len(backups) != 2 {
		t.Errorf("%d backups left, want the 2 younger than 9 days: %v", len(backups), backups)
	}
	for _, r := range recs {
		if r.Type == audit.TypeAuditRetention && len(r.Files) != 2 {
			t.Errorf("audit.retention names %v, want the 2 deleted files", r.Files)
		}
	}
	if _, err := New(Config{PluginVersion: "test", File: &FileConfig{Path: path, MaxBackupAge: time.Hour, MinBackupAge: 24 * time.Hour}}); err == nil {
		t.Error("a retention shorter than the minimum was accepted")
	}
}

// TestSyslogSpoolSurvivesKill: with a spool, every record queued for an
// unreachable syslog server is on disk when Record returns, so a run
// killed then (no Close) loses none: the next run delivers them.
func TestSyslogSpoolSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sc := SyslogConfig{Network: "tcp", Address: addr, SpoolDir: spoolDir, Hostname: "h",
		ReconnectMin: 5 * time.Millisecond, ReconnectMax: 20 * time.Millisecond}
	a1, err := New(Config{PluginVersion: "test", Syslog: &sc, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		if err := a1.Record(&audit.Record{Type: audit.TypePluginStart, Message: fmt.Sprintf("n=%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := openSpool(spoolDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if sp.count != n {
		t.Fatalf("%d records on disk after %d were accepted, want all", sp.count, n)
	}
	// Kill a1: its delivery stops, nothing is spilled or closed.
	for _, s := range a1.sinks {
		if ss, ok := s.Sink.(*syslogSink); ok {
			ss.abort()
			<-ss.done
		}
	}
	got := make(chan string, 100)
	ln, err = netListenAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveLines(ln, got)
	a2, err := New(Config{PluginVersion: "test", Syslog: &sc, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	seen := map[string]bool{}
	crashed := false
	for len(seen) < n || !crashed {
		select {
		case m := <-got:
			i := strings.Index(m, "{")
			var r audit.Record
			if err := json.Unmarshal([]byte(m[i:]), &r); err != nil {
				t.Fatalf("bad message %q", m)
			}
			if r.Type == audit.TypePluginCrashed {
				crashed = true
				continue
			}
			seen[r.Message] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("delivered %d of %d spooled records (crash recorded: %v)", len(seen), n, crashed)
		}
	}
}
