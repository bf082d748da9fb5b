package plugin

import (
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/internal/state"
)

const carryCtr = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func carryPlugin(t *testing.T) (*Plugin, *state.Store) {
	t.Helper()
	set, files, diags := policy.LoadDir("testdata/ownership")
	if diags.HasErrors() {
		t.Fatalf("%v %v", files, diags)
	}
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.Standalone()
	return New(set, WithOwners(st)), st
}

func carryEnv(user, uri, body string) *Envelope {
	return &Envelope{
		User: user, UserAuthNMethod: "TLS", RequestMethod: "POST", RequestURI: uri,
		RequestBody:    []byte(body),
		RequestHeaders: map[string]string{"Content-Type": "application/json", "Content-Length": "1"},
	}
}

func respondWith(e *Envelope, status int, body string) *Envelope {
	r := *e
	r.ResponseStatusCode, r.ResponseBody = status, []byte(body)
	r.ResponseHeaders = map[string]string{"Content-Type": "application/json"}
	return &r
}

func (c *carriedCreates) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// The request phase of an allowed create leaves what its response phase
// records (a container's user, a network's name); the response takes it,
// and a refused create's response drops it.
func TestCarriedCreates(t *testing.T) {
	p, st := carryPlugin(t)
	create := carryEnv("w1", "/v1.41/containers/create?name=web-db", `{"Image":"busybox","User":"1000"}`)
	if res := p.judge(create); !res.Allow {
		t.Fatal(res.Msg)
	}
	if n := p.carried.len(); n != 1 {
		t.Fatalf("%d creates carried after an allowed create, want 1", n)
	}
	if res := p.respond(respondWith(create, 201, `{"Id":"`+carryCtr+`"}`)); !res.Allow {
		t.Fatal(res.Msg)
	}
	if n := p.carried.len(); n != 0 {
		t.Fatalf("%d creates carried after the response, want 0", n)
	}
	if o, ok := st.Get(request.KindContainer, carryCtr); !ok || o.User != "1000" || !o.UserKnown || o.Name != "web-db" {
		t.Fatalf("recorded %+v %v", o, ok)
	}

	net := carryEnv("w1", "/v1.41/networks/create", `{"Name":"webnet"}`)
	if res := p.judge(net); !res.Allow {
		t.Fatal(res.Msg)
	}
	p.respond(respondWith(net, 201, `{"Id":"`+carryCtr+`"}`))
	if o, res := st.Resolve(request.KindNetwork, "webnet"); res != request.Found || o.Owner.Team != "web" {
		t.Errorf("network: %+v %v", o, res)
	}

	// Refused by the daemon: nothing recorded, nothing left behind.
	dup := carryEnv("w1", "/v1.41/containers/create?name=web-db", `{"Image":"busybox","User":"2000"}`)
	p.judge(dup)
	p.respond(respondWith(dup, 409, `{"message":"Conflict"}`))
	if n := p.carried.len(); n != 0 {
		t.Fatalf("%d creates carried after a refused create, want 0", n)
	}

	// A denied create leaves nothing.
	p.judge(carryEnv("w1", "/v1.41/containers/create", `{"Image":"busybox","HostConfig":{"Privileged":true}}`))
	if n := p.carried.len(); n != 0 {
		t.Fatalf("%d creates carried after a denied create, want 0", n)
	}
}

// Facts are only ever taken by the very request that left them: a
// response whose user, URI or body differs in any byte from an allowed
// request's reads its own body.
func TestCarriedCreatesMatchExactly(t *testing.T) {
	p, st := carryPlugin(t)
	asked := carryEnv("w1", "/v1.41/containers/create", `{"Image":"busybox","User":"1000"}`)
	if res := p.judge(asked); !res.Allow {
		t.Fatal(res.Msg)
	}
	for i, other := range []*Envelope{
		carryEnv("w1", "/v1.41/containers/create", `{"Image":"busybox","User":"0"}`),
		carryEnv("w2", "/v1.41/containers/create", `{"Image":"busybox","User":"0"}`),
		carryEnv("w1", "/v1.41/containers/create?", `{"Image":"busybox","User":"0"}`),
	} {
		id := carryCtr[:63] + string(rune('a'+i))
		p.respond(respondWith(other, 201, `{"Id":"`+id+`"}`))
		if o, ok := st.Get(request.KindContainer, id); !ok || o.User != "0" {
			t.Errorf("case %d: recorded %+v %v, want user 0 read from its own body", i, o, ok)
		}
	}
	if n := p.carried.len(); n != 1 {
		t.Errorf("%d creates carried, want the one still waiting", n)
	}
	// Without an entry (a restart between the phases) the body is read.
	p.carried = carriedCreates{}
	p.respond(respondWith(asked, 201, `{"Id":"`+carryCtr+`"}`))
	if o, ok := st.Get(request.KindContainer, carryCtr); !ok || o.User != "1000" || !o.UserKnown {
		t.Errorf("recorded %+v %v after a restart between the phases", o, ok)
	}
}

// Identical requests in flight each take one entry; creates whose
// response never comes are forgotten, oldest first, past the bound.
func TestCarriedCreatesBound(t *testing.T) {
	var c carriedCreates
	k := func(i int) (key [32]byte) {
		key[0], key[1] = byte(i), byte(i>>8)
		return key
	}
	c.put(k(0), createFacts{name: "a"})
	c.put(k(0), createFacts{name: "a"})
	for range 2 {
		if f, ok := c.take(k(0)); !ok || f.name != "a" {
			t.Fatalf("take = %+v %v", f, ok)
		}
	}
	if _, ok := c.take(k(0)); ok {
		t.Fatal("a third take of two identical puts found facts")
	}
	for i := 0; i < 3*maxCarried; i++ {
		c.put(k(i), createFacts{})
	}
	if n := c.len(); n != maxCarried {
		t.Errorf("%d entries, want the bound %d", n, maxCarried)
	}
	if len(c.order) > maxCarried {
		t.Errorf("order holds %d puts, bound %d", len(c.order), maxCarried)
	}
	if _, ok := c.take(k(3*maxCarried - 1)); !ok {
		t.Error("the newest entry was forgotten")
	}
	if _, ok := c.take(k(0)); ok {
		t.Error("the oldest entry was kept past the bound")
	}
}
