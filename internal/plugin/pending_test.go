package plugin

import (
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// The pending map links responses to requests in arrival order per key,
// and forgets the oldest entries once maxPending requests never got a
// response.
func TestPendingRequests(t *testing.T) {
	p := pendingRequests{ids: map[uint64][]pending{}}
	route := &request.Request{Action: "container.create"}
	take := func(k uint64) string {
		id, _, _ := p.take(k)
		return id
	}
	p.put(1, pending{id: "a", route: route})
	p.put(1, pending{id: "b"})
	p.put(2, pending{id: "c"})
	if got, r, _ := p.take(1); got != "a" || r != route {
		t.Fatalf("take(1) = %q %v, want a with its route", got, r)
	}
	if got := take(1); got != "b" {
		t.Fatalf("take(1) = %q, want b", got)
	}
	if got := take(1); got != "" {
		t.Fatalf("take(1) = %q, want none", got)
	}
	// Fill past the bound with keys that never get a response: "c" (the
	// oldest still pending) is forgotten, and so is nothing else.
	for i := 0; i < maxPending; i++ {
		p.put(uint64(100+i), pending{id: strconv.Itoa(i)})
	}
	if got := take(2); got != "" {
		t.Errorf("take(2) = %q after eviction, want none", got)
	}
	if got := take(100); got != "0" {
		t.Errorf("take(100) = %q, want 0", got)
	}
	if n := len(p.ids); n != maxPending-1 {
		t.Errorf("%d keys pending, want %d", n, maxPending-1)
	}
	if len(p.order) > maxPending {
		t.Errorf("order holds %d entries, bound %d", len(p.order), maxPending)
	}
}
