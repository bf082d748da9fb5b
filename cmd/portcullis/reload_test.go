package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
)

// linesSink keeps the records an auditor writes.
type linesSink struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (s *linesSink) Write(_ *audit.Record, line []byte) error {
	var r audit.Record
	if err := json.Unmarshal(line, &r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
	return nil
}
func (s *linesSink) Close(context.Context) error { return nil }

func (s *linesSink) count(t audit.Type) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.recs {
		if r.Type == t {
			n++
		}
	}
	return n
}

// countHook counts log entries whose message contains a string.
type countHook struct {
	mu  sync.Mutex
	sub string
	n   int
}

func (h *countHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *countHook) Fire(e *logrus.Entry) error {
	if strings.Contains(e.Message, h.sub) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h *countHook) get() int { h.mu.Lock(); defer h.mu.Unlock(); return h.n }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailedReloadIsRetried: a reload that fails is retried at every poll
// even when no file changes (as when a permission is fixed), is recorded
// once, not once per poll, and the set loads as soon as it can.
func TestFailedReloadIsRetried(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "default.hcl")
	valid := func(v string) string {
		return "policy \"default\" {\n  actions {\n    allow = [\"system.*\"]\n  }\n}\n# " + v + "\n"
	}
	if err := os.WriteFile(file, []byte(valid("v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	sig := dirSignature(dir)
	set, err := loadPolicies(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	mem := &linesSink{}
	a, err := sink.New(sink.Config{PluginVersion: "test", Sinks: []sink.NamedSink{{Name: "mem", Sink: mem}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.SetLevel(logrus.DebugLevel)
	retries := &countHook{sub: "still fails"}
	log.AddHook(retries)
	p := plugin.New(set, plugin.WithLogger(log))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go reloadLoop(ctx, serveConfig{policyDir: dir, poll: 10 * time.Millisecond}, p, a, log, sig)

	// Break the file: the reload fails and keeps the loaded set.
	// (A size unlike the first file's: the poll must see the change even
	// within the file system's timestamp granularity.)
	broken := strings.Replace(valid("v2-long"), "policy", "polizy", 1)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a failed reload to be retried three times", func() bool { return retries.get() >= 3 })
	if n := mem.count(audit.TypePolicyReloadFailed); n != 1 {
		t.Fatalf("%d policy.reload_failed records for one failure, want 1", n)
	}
	if p.Policy().Revision() != set.Revision() {
		t.Fatal("a failed reload replaced the set")
	}
	// Fix it without changing what the poll looks at (name, size, time):
	// only a retry can see it.
	fi, _ := os.Stat(file)
	fixed := valid("v3-long")
	if len(fixed) != len(broken) {
		t.Fatalf("test setup: the fix must keep the size (%d != %d)", len(fixed), len(broken))
	}
	if err := os.WriteFile(file, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	want, err := loadPolicies(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the fixed policies to load", func() bool { return p.Policy().Revision() == want.Revision() })
}
