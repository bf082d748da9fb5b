package state

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

func TestCounts(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Standalone()
	owner := request.Owner{Team: "web", User: "alice"}
	for _, id := range []string{"c1", "c2"} {
		if err := s.Record(request.Object{Kind: request.KindContainer, ID: id, Name: id, Owned: true, Owner: owner}); err != nil {
			t.Fatal(err)
		}
	}
	s.Seen(request.KindContainer, "c3", "c3")
	s.Seen(request.KindVolume, "v1", "v1")
	got := map[string]Count{}
	for _, c := range s.Counts() {
		got[c.Kind] = c
	}
	if c := got["container"]; c.Owned != 2 || c.Unowned != 1 {
		t.Errorf("containers: %+v, want 2 owned, 1 unowned", c)
	}
	if c := got["volume"]; c.Owned != 0 || c.Unowned != 1 {
		t.Errorf("volumes: %+v, want 0 owned, 1 unowned", c)
	}
	s.Remove(request.KindContainer, "c1")
	for _, c := range s.Counts() {
		if c.Kind == "container" && c.Owned != 1 {
			t.Errorf("after a removal: %+v, want 1 owned", c)
		}
	}
}
