package state

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/request"
)

const (
	idA = "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888"
	idB = "aaaa1111ffff2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888"
	idC = "c0ffee00bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888"
	// idD's prefix is the name of another container: the name wins, as
	// in daemon.GetContainer.
	idD = "abc0000000002222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestResolveContainers follows daemon.GetContainer: full id, then the
// exact name with or without "/", then a unique id prefix.
func TestResolveContainers(t *testing.T) {
	s := openTest(t)
	k := request.KindContainer
	s.Seen(k, idA, "web")
	s.Seen(k, idB, "db")
	s.Seen(k, idC, "abc")
	s.Seen(k, idD, "other")
	s.markSynced()

	cases := []struct {
		name, ref string
		want      string
		res       request.Resolution
	}{
		{"full id", idA, idA, request.Found},
		{"name", "web", idA, request.Found},
		{"name with slash", "/web", idA, request.Found},
		{"two slashes is not the name", "//web", "", request.NotFound},
		{"unique prefix", "c0f", idC, request.Found},
		{"12-char prefix", idB[:12], idB, request.Found},
		{"ambiguous prefix", "aaaa1111", "", request.Ambiguous},
		{"name beats prefix", "abc", idC, request.Found},
		{"prefix of idD", "abc0", idD, request.Found},
		{"unknown", "nope", "", request.NotFound},
		{"empty", "", "", request.NotFound},
		{"slash alone", "/", "", request.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, res := s.Resolve(k, c.ref)
			if res != c.res || o.ID != c.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q, %v", c.ref, o.ID, res, c.want, c.res)
			}
		})
	}
}

// TestResolveNetworks follows daemon.FindNetwork: full id, then name (two
// networks of one name are ambiguous), then a unique id prefix.
func TestResolveNetworks(t *testing.T) {
	s := openTest(t)
	k := request.KindNetwork
	s.Seen(k, idA, "host")
	s.Seen(k, idB, "twin")
	s.Seen(k, idC, "twin")
	s.markSynced()
	for _, c := range []struct {
		ref, want string
		res       request.Resolution
	}{
		{idA, idA, request.Found},
		{"host", idA, request.Found},
		{idA[:12], idA, request.Found},
		{"twin", "", request.Ambiguous},
		{"c0ffee", idC, request.Found},
	} {
		o, res := s.Resolve(k, c.ref)
		if res != c.res || o.ID != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", c.ref, o.ID, res, c.want, c.res)
		}
		if c.ref == idA[:12] && o.Name != "host" {
			t.Errorf("the host network by id prefix has name %q", o.Name)
		}
	}
}

// TestResolveVolumesAndExecs: volumes by exact name only, exec instances
// by full id only.
func TestResolveVolumesAndExecs(t *testing.T) {
	s := openTest(t)
	s.Seen(request.KindVolume, "data", "data")
	if err := s.Record(request.Object{Kind: request.KindExec, ID: idA, Container: idB}); err != nil {
		t.Fatal(err)
	}
	s.markSynced()
	if _, res := s.Resolve(request.KindVolume, "dat"); res != request.NotFound {
		t.Errorf("volume prefix resolved: %v", res)
	}
	if o, res := s.Resolve(request.KindVolume, "data"); res != request.Found || o.ID != "data" {
		t.Errorf("volume by name: %v %v", o, res)
	}
	if _, res := s.Resolve(request.KindExec, idA[:12]); res != request.NotFound {
		t.Errorf("exec prefix resolved: %v", res)
	}
}

// TestUnsynced: before reconciliation only full ids of recorded objects
// resolve; names and prefixes are Unavailable, never guessed.
func TestUnsynced(t *testing.T) {
	defer func(d time.Duration) { SyncWait = d }(SyncWait)
	SyncWait = time.Millisecond
	s := openTest(t)
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idA, Name: "web", Owner: request.Owner{Team: "web"}}); err != nil {
		t.Fatal(err)
	}
	if o, res := s.Resolve(request.KindContainer, idA); res != request.Found || o.Owner.Team != "web" {
		t.Errorf("full id: %v %v", o, res)
	}
	for _, ref := range []string{"web", idA[:12]} {
		if _, res := s.Resolve(request.KindContainer, ref); res != request.Unavailable {
			t.Errorf("Resolve(%q) before sync = %v, want Unavailable", ref, res)
		}
	}
}

// TestResolveWaitsForFirstSync: a name asked for just before the first
// reconciliation is answered by it.
func TestResolveWaitsForFirstSync(t *testing.T) {
	s := openTest(t)
	got := make(chan request.Resolution, 1)
	go func() {
		_, res := s.Resolve(request.KindContainer, "late")
		got <- res
	}()
	s.Seen(request.KindContainer, idA, "late")
	s.markSynced()
	if res := <-got; res != request.Found {
		t.Errorf("Resolve before the first sync = %v, want Found once synced", res)
	}
}
