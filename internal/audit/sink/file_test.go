package sink_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
)

func fileAuditor(t testing.TB, fc sink.FileConfig) *sink.Auditor {
	t.Helper()
	a, err := sink.New(sink.Config{PluginVersion: "test", File: &fc, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// readRecords reads every record of the active file and its backups,
// oldest first.
func readRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	files, err := sink.Backups(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Record
	for _, f := range append(files, path) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r audit.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: bad line %q: %v", f, sc.Text(), err)
			}
			out = append(out, r)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		fh.Close()
	}
	return out
}

func TestFileRotation(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         sink.FileConfig
		write       func(a *sink.Auditor)
		wantBackups int
		wantRecords int // surviving records
	}{
		{
			name: "size",
			cfg:  sink.FileConfig{MaxSize: 2000},
			write: func(a *sink.Auditor) {
				for i := 0; i < 40; i++ {
					a.Record(event(i))
				}
			},
			wantBackups: -1, wantRecords: 40,
		},
		{
			// Retention is by age: a flood of records rotates often and
			// deletes nothing (the old count limit deleted plugin.start).
			name: "size, a flood deletes nothing",
			cfg:  sink.FileConfig{MaxSize: 2000, MaxBackupAge: 24 * time.Hour, MinBackupAge: time.Hour},
			write: func(a *sink.Auditor) {
				for i := 0; i < 400; i++ {
					a.Record(event(i))
				}
			},
			wantBackups: -1, wantRecords: 400,
		},
		{
			name: "age",
			cfg:  sink.FileConfig{MaxFileAge: 30 * time.Millisecond},
			write: func(a *sink.Auditor) {
				a.Record(event(0))
				time.Sleep(40 * time.Millisecond)
				a.Record(event(1))
			},
			wantBackups: 1, wantRecords: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "logs", "audit.log")
			tc.cfg.Path = path
			a := fileAuditor(t, tc.cfg)
			tc.write(a)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			backups, _ := sink.Backups(path)
			if tc.wantBackups >= 0 && len(backups) != tc.wantBackups {
				t.Errorf("%d backups, want %d", len(backups), tc.wantBackups)
			}
			if tc.wantBackups < 0 && len(backups) < 2 {
				t.Errorf("only %d backups", len(backups))
			}
			for _, f := range append(backups, path) {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %v", f, fi.Mode().Perm())
				}
				if tc.cfg.MaxSize > 0 && fi.Size() > tc.cfg.MaxSize {
					t.Errorf("%s has %d bytes, max %d", f, fi.Size(), tc.cfg.MaxSize)
				}
			}
			recs := readRecords(t, path)
			if tc.wantRecords >= 0 && len(recs) != tc.wantRecords {
				t.Errorf("%d records, want %d", len(recs), tc.wantRecords)
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].Message <= recs[i-1].Message {
					t.Errorf("records out of order: %q after %q", recs[i].Message, recs[i-1].Message)
				}
			}
		})
	}
}

// TestFileConcurrent writes from many goroutines while the file rotates
// and expects every record exactly once, each line whole. Run with -race.
func TestFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a := fileAuditor(t, sink.FileConfig{Path: path, MaxSize: 64 << 10, Sync: "always"})
	const workers, each = 16, 300
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := a.Record(&audit.Record{Type: audit.TypeDecision, Decision: audit.Allow, Message: fmt.Sprintf("%02d-%04d", w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Record(event(0)); err != sink.ErrClosed {
		t.Errorf("Record after Close: %v", err)
	}
	recs := readRecords(t, path)
	if len(recs) != workers*each {
		t.Fatalf("%d records, want %d", len(recs), workers*each)
	}
	ids := map[string]bool{}
	last := map[string]string{}
	for _, r := range recs {
		if ids[r.ID] {
			t.Fatalf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		w := r.Message[:2]
		if r.Message <= last[w] {
			t.Fatalf("worker %s: %q after %q", w, r.Message, last[w])
		}
		last[w] = r.Message
	}
}

// A deferred record is not written at once, goes out with the next
// record that is waited for, in order, and on its own within the defer
// delay when no other record comes; Close writes what is still waiting.
func TestFileDeferred(t *testing.T) {
	count := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range b {
			if c == '\n' {
				n++
			}
		}
		return n
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	a := fileAuditor(t, sink.FileConfig{Path: path})
	base := count(path) // the start record, if any

	rec := func(id string, deferred bool) *audit.Record {
		return &audit.Record{Type: audit.TypeDecision, ID: id, Phase: audit.PhaseResponse, Decision: audit.Allow, Deferred: deferred}
	}
	if err := a.Record(rec("d1", true)); err != nil {
		t.Fatal(err)
	}
	if n := count(path); n != base {
		t.Fatalf("deferred record written at once (%d lines, want %d)", n, base)
	}
	if err := a.Record(rec("s1", false)); err != nil {
		t.Fatal(err)
	}
	if n := count(path); n != base+2 {
		t.Fatalf("after a waited-for record: %d lines, want %d", n, base+2)
	}

	if err := a.Record(rec("d2", true)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(path) != base+3 {
		if time.Now().After(deadline) {
			t.Fatal("a lone deferred record was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := a.Record(rec("d3", true)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range readRecords(t, path) {
		if r.Type == audit.TypeDecision {
			ids = append(ids, r.ID)
		}
	}
	if fmt.Sprint(ids) != "[d1 s1 d2 d3]" {
		t.Fatalf("records %v, want [d1 s1 d2 d3]", ids)
	}
}
