package gateway

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkForward is one small GET through the gateway to a loopback TLS
// daemon on kept-alive connections: the gateway's cost per request, plus
// the fake daemon's and the client's (all in this process).
func BenchmarkForward(b *testing.B) {
	r, _ := newRig(b, me(), standardMux(nil, nil), "")
	req, _ := http.NewRequest(http.MethodGet, "http://docker/_ping", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := r.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkDirect is BenchmarkForward's request sent straight to the fake
// daemon over TLS, for comparison.
func BenchmarkDirect(b *testing.B) {
	r, _ := newRig(b, me(), standardMux(nil, nil), "")
	u, err := r.gw.userConn(Peer{UID: 1, Account: Account{Name: "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{Transport: u.transport}
	req, _ := http.NewRequest(http.MethodGet, "https://"+r.gw.cfg.Daemon+"/_ping", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
