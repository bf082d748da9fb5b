package main

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestHostFactsSource: the learnt sockets, Portcullis's own and
// --protect-sockets are all denied; --userns-remap overrides what was
// learnt; facts are learnt again when stale; a failed learn keeps the
// sockets known before and counts users as not remapped.
func TestHostFactsSource(t *testing.T) {
	root := filepath.Join("..", "..", "internal", "hostfacts", "testdata", "two")
	for _, c := range []struct {
		remap string
		want  bool
	}{{"auto", false}, {"on", true}, {"off", false}} {
		s, err := newHostFacts(hostFactsFlags{remap: c.remap, sockets: "/srv/agent.sock, /var/run/x.sock", refresh: time.Hour}, "", "/run/docker/plugins/p.sock", nil)
		if err != nil {
			t.Fatal(err)
		}
		s.learner.Proc, s.learner.Root = filepath.Join(root, "proc"), root
		f := s.get()
		if f.UsernsRemap != c.want {
			t.Errorf("--userns-remap %s: remap %v", c.remap, f.UsernsRemap)
		}
		for _, want := range []string{"/tmp/e2e/docker.sock", "/tmp/e2e/second.sock", "/run/docker/plugins/p.sock", "/srv/agent.sock", "/run/x.sock", "/run/docker.sock"} {
			if !slices.Contains(f.Sockets, want) {
				t.Errorf("sockets %q lack %s", f.Sockets, want)
			}
		}
	}

	s, err := newHostFacts(hostFactsFlags{remap: "auto", refresh: time.Nanosecond}, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.learner.Proc, s.learner.Root = filepath.Join("..", "..", "internal", "hostfacts", "testdata", "remap", "proc"), root
	if f := s.get(); !f.UsernsRemap {
		t.Fatalf("remap not learnt: %+v", f)
	}
	before := s.cur.Load().at
	s.learner.Proc = filepath.Join("testdata", "no-such-proc") // stale, and the next learn fails
	f := s.get()
	if !s.cur.Load().at.After(before) {
		t.Fatal("stale facts were not learnt again")
	}
	if f.UsernsRemap || !slices.Contains(f.Sockets, "/run/containerd/containerd.sock") {
		t.Errorf("after a failed learn: %+v", f)
	}

	for _, bad := range []hostFactsFlags{{remap: "maybe"}, {remap: "auto", sockets: "relative.sock"}} {
		if _, err := newHostFacts(bad, "", "", nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
