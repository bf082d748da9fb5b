package plugin

import (
	"strconv"
	"testing"
)

// The pending map links responses to requests in arrival order per key,
// and forgets the oldest entries once maxPending requests never got a
// response.
func TestPendingRequests(t *testing.T) {
	p := pendingRequests{ids: map[uint64][]string{}}
	p.put(1, "a")
	p.put(1, "b")
	p.put(2, "c")
	if got := p.take(1); got != "a" {
		t.Fatalf("take(1) = %q, want a", got)
	}
	if got := p.take(1); got != "b" {
		t.Fatalf("take(1) = %q, want b", got)
	}
	if got := p.take(1); got != "" {
		t.Fatalf("take(1) = %q, want none", got)
	}
	// Fill past the bound with keys that never get a response: "c" (the
	// oldest still pending) is forgotten, and so is nothing else.
	for i := 0; i < maxPending; i++ {
		p.put(uint64(100+i), strconv.Itoa(i))
	}
	if got := p.take(2); got != "" {
		t.Errorf("take(2) = %q after eviction, want none", got)
	}
	if got := p.take(100); got != "0" {
		t.Errorf("take(100) = %q, want 0", got)
	}
	if n := len(p.ids); n != maxPending-1 {
		t.Errorf("%d keys pending, want %d", n, maxPending-1)
	}
	if len(p.order) > maxPending {
		t.Errorf("order holds %d entries, bound %d", len(p.order), maxPending)
	}
}
