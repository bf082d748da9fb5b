//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGatewayBench measures the same client against the daemon's own
// socket and through the gateway, on two mixes: reads (ping, version,
// container and image lists) and writes (container create then remove,
// each judged with its body), and, to tell the gateway's cost from the
// daemon's TLS, straight to the daemon's TLS listener with a certificate,
// and through a relay that only copies bytes to the daemon's socket (the
// least any gateway does, so the most any can reach here).
// Rounds alternate in cycles (direct, gateway, tls, relay, relay, tls, gateway, direct)
// to spread the machine's noise over the three alike: on a shared machine
// the load changes within seconds, so many short cycles measure the ratio
// better than a few long rounds. It prints ops/s, p50 and p99, the ratios
// to direct, and the CPU time each process (this test's client, the
// gateway, dockerd, containerd, the plugin, everything else) spent per
// op: the honest measure where the machine is shared. Timing never fails
// it; failed calls do.
// PORTCULLIS_BENCH_ROUND (default 1s), PORTCULLIS_BENCH_CYCLES (3) and
// PORTCULLIS_BENCH_CLIENTS (8) set the round length, the number of cycles
// and the concurrency; PORTCULLIS_BENCH_MIX (read or write) runs one mix;
// PORTCULLIS_BENCH_GATEWAY2_ENV ("NAME=value ...") adds a second gateway,
// the same binary with that environment (PORTCULLIS_GATEWAY_MAX_PROCS=0,
// say), to the same cycles as "gateway2".
func TestGatewayBench(t *testing.T) {
	round := time.Second
	if v := os.Getenv("PORTCULLIS_BENCH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PORTCULLIS_BENCH_ROUND: %v", err)
		}
		round = d
	}
	cycles := 3
	if v := os.Getenv("PORTCULLIS_BENCH_CYCLES"); v != "" {
		fmt.Sscan(v, &cycles)
	}
	clients := 8
	if v := os.Getenv("PORTCULLIS_BENCH_CLIENTS"); v != "" {
		fmt.Sscan(v, &clients)
	}
	e := newGatewayEnv(t)
	tlsCfg, err := e.Daemon.PKI.TLSConfig(e.Daemon.PKI.ClientCert(t, "bench"))
	if err != nil {
		t.Fatal(err)
	}
	// direct: the daemon's Unix socket; gateway: through the gateway;
	// tls: straight to the daemon's TLS listener with a certificate, to
	// tell the gateway's cost from the daemon's TLS.
	type target struct {
		name   string
		client func() *http.Client
		base   string
	}
	targets := []target{
		{"direct", func() *http.Client { return unixHTTPClient(e.Daemon.Socket, time.Minute) }, "http://docker"},
		{"gateway", func() *http.Client { return unixHTTPClient(e.Socket, time.Minute) }, "http://docker"},
		{"tls", func() *http.Client {
			return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone()}}
		}, "https://" + e.Daemon.TCPAddr},
	}
	// relay: a process that only copies bytes between the client's
	// connection and one of its own to the daemon's socket. Any gateway
	// does at least that, so its ratio to direct is the most a gateway can
	// reach on this machine.
	relaySock, relay := startRelay(t, e.Dir, e.Daemon.Socket)
	targets = append(targets, target{"relay", func() *http.Client { return unixHTTPClient(relaySock, time.Minute) }, "http://docker"})
	gateways := []*process{e.proc}
	// An experiment: a second gateway, the same binary with more
	// environment (GOMAXPROCS=1, say), in the same cycles.
	if v := os.Getenv("PORTCULLIS_BENCH_GATEWAY2_ENV"); v != "" {
		sock, _, _, proc := e.startGateway(t, "gw2", strings.Fields(v))
		targets = append(targets, target{"gateway2", func() *http.Client { return unixHTTPClient(sock, time.Minute) }, "http://docker"})
		gateways = append(gateways, proc)
		t.Logf("gateway2: the gateway with %s", v)
	}
	api := e.Daemon.API
	createBody := []byte(fmt.Sprintf(`{"Image":%q,"Cmd":["true"],"HostConfig":{"ReadonlyRootfs":true}}`, e.Image))
	mixes := []struct {
		name string
		op   func(c *http.Client, base string, i int) error // one or more API calls; returns the first failure
		per  int                                            // API calls per op
	}{
		{"read", func(c *http.Client, base string, i int) error {
			path := []string{"/_ping", api("/version"), api("/containers/json?all=1"), api("/images/json")}[i%4]
			return call(c, http.MethodGet, base+path, nil, http.StatusOK, nil)
		}, 1},
		{"write", func(c *http.Client, base string, i int) error {
			var created struct{ Id string }
			if err := call(c, http.MethodPost, base+api("/containers/create"), createBody, http.StatusCreated, &created); err != nil {
				return err
			}
			return call(c, http.MethodDelete, base+api("/containers/"+created.Id+"?force=1"), nil, http.StatusNoContent, nil)
		}, 2},
	}
	// The CPU each process spends per op, from /proc/PID/stat before and
	// after each round: on a machine where the read mix is CPU-bound,
	// every µs any of them spends per request is one the daemon does not
	// get.
	probes := append([]cpuProbe{
		{"bench", func() []int { return []int{os.Getpid()} }},
		{"gateway", func() []int {
			var pids []int
			for _, p := range gateways {
				pids = append(pids, p.cmd.Process.Pid)
			}
			return pids
		}},
		{"relay", func() []int { return []int{relay.cmd.Process.Pid} }},
	}, daemonProbes(e.Daemon, e.Plugin)...)
	only := os.Getenv("PORTCULLIS_BENCH_MIX")
	for _, mix := range mixes {
		if only != "" && only != mix.name {
			continue
		}
		results := map[string][]benchResult{}
		cpu := map[string]cpuUse{}
		// Each cycle runs the targets in order, then in reverse (ABBA).
		var order []int
		for c := 0; c < cycles; c++ {
			for i := range targets {
				order = append(order, i)
			}
			for i := len(targets) - 1; i >= 0; i-- {
				order = append(order, i)
			}
		}
		for _, ti := range order {
			tg := targets[ti]
			client := tg.client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = clients
			op := func(c *http.Client, i int) error { return mix.op(c, tg.base, i) }
			// Warm the connections (and the gateway's certificate).
			for i := 0; i < clients; i++ {
				if err := op(client, i); err != nil {
					t.Fatalf("%s %s warm-up: %v", mix.name, tg.name, err)
				}
			}
			before := sampleCPU(probes)
			r, err := benchRound(client, clients, round, op)
			after := sampleCPU(probes)
			client.CloseIdleConnections()
			if err != nil {
				t.Fatalf("%s %s: %v", mix.name, tg.name, err)
			}
			results[tg.name] = append(results[tg.name], r)
			u := cpu[tg.name]
			u.add(before, after, len(r.lat))
			cpu[tg.name] = u
		}
		t.Logf("mix %-5s (%d API calls per op, %d clients, %d rounds of %s each):", mix.name, mix.per, clients, 2*cycles, round)
		d := merge(results["direct"])
		var names []string
		for _, tg := range targets {
			r := merge(results[tg.name])
			names = append(names, tg.name)
			t.Logf("  %-9s %8.1f ops/s  p50 %8s  p99 %8s  (%d ops)", tg.name+":", r.opsPerSec(), r.pct(50), r.pct(99), len(r.lat))
		}
		for _, tg := range targets[1:] {
			r := merge(results[tg.name])
			t.Logf("  %s/direct: ops/s %.2f, p99 %.2fx", tg.name, r.opsPerSec()/d.opsPerSec(), float64(r.pct(99))/float64(d.pct(99)))
		}
		t.Logf("  CPU per op (user+system, µs; others: every other process on the machine; vs first: direct's \"all these\" over this one's):")
		for _, l := range cpuTable(probes, names, cpu) {
			t.Log(l)
		}
	}
}

type benchResult struct {
	lat     []time.Duration
	elapsed time.Duration
}

func merge(rs []benchResult) benchResult {
	var m benchResult
	for _, r := range rs {
		m.lat = append(m.lat, r.lat...)
		m.elapsed += r.elapsed
	}
	sort.Slice(m.lat, func(i, j int) bool { return m.lat[i] < m.lat[j] })
	return m
}

func (r benchResult) opsPerSec() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r benchResult) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[(len(r.lat)-1)*p/100].Round(10 * time.Microsecond)
}

// benchRound runs op from n clients for d and returns every op's latency.
func benchRound(c *http.Client, n int, d time.Duration, op func(*http.Client, int) error) (benchResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var lat []time.Duration
			for i := w; ctx.Err() == nil; i += n {
				t0 := time.Now()
				if err := op(c, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return benchResult{lat: all, elapsed: time.Since(start)}, firstErr
}

func call(c *http.Client, method, url string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
