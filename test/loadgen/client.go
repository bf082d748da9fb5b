package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// newClient speaks HTTP over the plugin's Unix socket and keeps one idle
// connection per client open between calls, as the daemon's plugin client
// does with its keep-alive transport.
func newClient(socket string, clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConns:        clients,
			MaxIdleConnsPerHost: clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// reply is the plugin's answer (authorization.Response).
type reply struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg"`
	Err   string `json:"Err"`
}

// post sends one protocol message and decodes the answer.
func post(ctx context.Context, c *http.Client, path string, body []byte) (reply, error) {
	var r reply
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://plugin"+path, bytes.NewReader(body))
	if err != nil {
		return r, err
	}
	req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
	res, err := c.Do(req)
	if err != nil {
		return r, err
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return r, err
	}
	if res.StatusCode != http.StatusOK {
		return r, fmt.Errorf("%s: HTTP %s: %.200s", path, res.Status, data)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: undecodable answer %.200q: %w", path, data, err)
	}
	if r.Err != "" {
		return r, fmt.Errorf("%s: plugin error: %s", path, r.Err)
	}
	return r, nil
}

// result is what one run against one plugin measured.
type result struct {
	target   string
	elapsed  time.Duration
	lat      []time.Duration // every call, both phases
	reqLat   []time.Duration // AuthZReq only
	allow    int
	deny     int
	errors   int
	errSamp  []string
	cpu      time.Duration  // the plugin process's CPU time during the run, when known
	surprise map[string]int // expected allow, was denied (and the reverse), by name
	denyMsgs map[string]int // a sample of denial messages, by call name
}

func (r *result) calls() int { return len(r.lat) }

// cpuPerCall is the plugin's CPU time per call, when it was measured.
func (r *result) cpuPerCall() time.Duration {
	if r.cpu == 0 || r.calls() == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.calls())
}

func (r *result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.calls()) / r.elapsed.Seconds()
}

// merge adds o's measurements to r.
func (r *result) merge(o *result) {
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.lat = append(r.lat, o.lat...)
	r.reqLat = append(r.reqLat, o.reqLat...)
	r.allow += o.allow
	r.deny += o.deny
	r.errors += o.errors
	if len(r.errSamp) < 5 {
		r.errSamp = append(r.errSamp, o.errSamp...)
	}
	for k, v := range o.surprise {
		if r.surprise == nil {
			r.surprise = map[string]int{}
		}
		r.surprise[k] += v
	}
	for k, v := range o.denyMsgs {
		if r.denyMsgs == nil {
			r.denyMsgs = map[string]int{}
		}
		r.denyMsgs[k] += v
	}
}

type percentiles struct{ p50, p90, p99, max time.Duration }

func pct(lat []time.Duration) percentiles {
	if len(lat) == 0 {
		return percentiles{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return percentiles{at(0.50), at(0.90), at(0.99), s[len(s)-1]}
}

// runLoad drives the workload through clients concurrent clients for d
// (nothing when d is 0), or until ctx ends. With rate > 0 the clients
// together send about rate calls a second instead of as many as they can.
func runLoad(ctx context.Context, target, socket string, calls []call, clients int, d time.Duration, rate float64) *result {
	if d <= 0 {
		// -warmup 0: no warm-up (it used to mean "until interrupted").
		return &result{target: target}
	}
	c := newClient(socket, clients)
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	parts := make([]*result, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			parts[w] = worker(ctx, c, calls, w*len(calls)/clients, clients, rate)
		}(w)
	}
	wg.Wait()
	total := &result{target: target}
	for _, p := range parts {
		total.merge(p)
	}
	total.elapsed = time.Since(start)
	return total
}

func worker(ctx context.Context, c *http.Client, calls []call, offset, clients int, rate float64) *result {
	r := &result{lat: make([]time.Duration, 0, 1<<14), reqLat: make([]time.Duration, 0, 1<<13)}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(clients) / rate * float64(time.Second))
	}
	next := time.Now()
	fail := func(err error) {
		r.errors++
		if len(r.errSamp) < 5 {
			r.errSamp = append(r.errSamp, err.Error())
		}
	}
	for i := offset; ; i++ {
		if interval > 0 {
			next = next.Add(interval)
			if wait := time.Until(next); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if ctx.Err() != nil {
			return r
		}
		cl := &calls[i%len(calls)]
		t0 := time.Now()
		ans, err := post(ctx, c, "/AuthZPlugin.AuthZReq", cl.req)
		if ctx.Err() != nil {
			return r // cut off by the deadline: not a measurement
		}
		dt := time.Since(t0)
		if err != nil {
			fail(fmt.Errorf("%s: %w", cl.name, err))
			continue
		}
		r.lat = append(r.lat, dt)
		r.reqLat = append(r.reqLat, dt)
		if !ans.Allow {
			r.deny++
			if cl.expect == "allow" {
				r.note("expected allow, denied: "+cl.name, nil)
			}
			r.note(cl.name, &ans.Msg)
			continue
		}
		r.allow++
		if cl.expect == "deny" {
			r.note("expected deny, allowed: "+cl.name, nil)
		}
		if cl.res == nil {
			continue // -phases request
		}
		// The daemon ran the request; it now reports the response.
		t0 = time.Now()
		ans, err = post(ctx, c, "/AuthZPlugin.AuthZRes", cl.res)
		if ctx.Err() != nil {
			return r
		}
		dt = time.Since(t0)
		if err != nil {
			fail(fmt.Errorf("%s (response): %w", cl.name, err))
			continue
		}
		r.lat = append(r.lat, dt)
		if !ans.Allow {
			fail(fmt.Errorf("%s: response phase denied: %s", cl.name, ans.Msg))
		}
	}
}

// note counts a surprise (msg nil) or a denial message by call name.
func (r *result) note(key string, msg *string) {
	if msg == nil {
		if r.surprise == nil {
			r.surprise = map[string]int{}
		}
		r.surprise[key]++
		return
	}
	if r.denyMsgs == nil {
		r.denyMsgs = map[string]int{}
	}
	// The message names its decision's id; leave it out so that equal
	// denials count together.
	m := *msg
	if i := strings.Index(m, " (decision "); i >= 0 {
		if j := strings.IndexByte(m[i+1:], ')'); j >= 0 {
			m = m[:i] + m[i+1+j+1:]
		}
	}
	k := key + " -> " + m
	if len(k) > 220 {
		k = k[:220] + "…"
	}
	r.denyMsgs[k]++
}

// sortedKeys lists m's keys, most frequent first.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// activate waits until the plugin at socket answers /Plugin.Activate.
func activate(ctx context.Context, socket string, timeout time.Duration) error {
	c := newClient(socket, 1)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://plugin/Plugin.Activate", nil)
		res, err := c.Do(req)
		if err == nil {
			var act struct{ Implements []string }
			err = json.NewDecoder(res.Body).Decode(&act)
			res.Body.Close()
			if err == nil && slices.Contains(act.Implements, "authz") {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("implements %v, not authz", act.Implements)
			}
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("timed out")
	}
	return fmt.Errorf("plugin on %s did not activate within %s: %w", socket, timeout, last)
}
