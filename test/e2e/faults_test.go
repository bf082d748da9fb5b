//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The plugin's failure modes, end to end: whatever breaks, nothing is
// allowed that the policy would not allow.

// probe is one request sent while the test changes something under it.
type probe struct {
	start, end time.Time
	status     int // 0 when the request failed without an answer
	err        error
}

// loadGen runs workers that send everyday requests until stopped and keeps
// every result.
type loadGen struct {
	mu      sync.Mutex
	results []probe
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(e *Env, workers int, send func(worker, i int) (int, error)) *loadGen {
	g := &loadGen{stop: make(chan struct{})}
	for w := 0; w < workers; w++ {
		g.wg.Add(1)
		go func(w int) {
			defer g.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-g.stop:
					return
				default:
				}
				p := probe{start: time.Now()}
				p.status, p.err = send(w, i)
				p.end = time.Now()
				g.mu.Lock()
				g.results = append(g.results, p)
				g.mu.Unlock()
			}
		}(w)
	}
	return g
}

func (g *loadGen) Stop() []probe {
	close(g.stop)
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]probe(nil), g.results...)
}

func status(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// exists reports whether a container of that name exists, asking the
// daemon (through the plugin, which must be up).
func containerExists(t *testing.T, e *Env, name string) bool {
	t.Helper()
	// A list, not an inspect: with ownership a container the plugin does
	// not know is denied by name, and listing is not about one object.
	q := url.QueryEscape(`{"name":["^/` + regexp.QuoteMeta(name) + `$"]}`)
	resp, out, err := e.Daemon.Do("GET", e.Daemon.API("/containers/json?all=1&filters="+q), nil, nil)
	if err != nil {
		t.Fatalf("list %s: %v", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %s: %s: %.300s", name, resp.Status, out)
	}
	var list []struct{ Names []string }
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("list %s: %v: %.300s", name, err, out)
	}
	for _, c := range list {
		if slices.Contains(c.Names, "/"+name) {
			return true
		}
	}
	return false
}

// waitFor polls cond every 200ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFaultPluginKilled: SIGKILL the plugin while a few clients keep
// working. While it is down nothing succeeds — neither a privileged create
// nor one the policy would allow, nor a plain list — and no container
// appears; once it is started again (the daemon is not restarted) service
// resumes within the daemon's retry window.
func TestFaultPluginKilled(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{})
	daemonLog := len(e.Daemon.Log())

	load := startLoad(e, 3, func(w, i int) (int, error) {
		if w == 0 {
			// A create the policy allows, under a name that tells when
			// it was sent; removed at the end.
			body := createBody(t, false, 0)
			return status2(e.Daemon.Do("POST", e.Daemon.API(fmt.Sprintf("/containers/create?name=pe-load-%d", i)),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body)))
		}
		return status2(e.Daemon.Do("GET", e.Daemon.API("/containers/json?all=1"), nil, nil))
	})
	time.Sleep(2 * time.Second)

	e.Plugin.Kill()
	killed := time.Now()

	// Sent while the plugin is down; each takes the daemon's retry
	// window (about 32 s) to fail.
	type sent struct {
		name   string
		status int
		err    error
		body   []byte
	}
	probes := []struct {
		name string
		send func() (*http.Response, []byte, error)
	}{
		{"privileged create", func() (*http.Response, []byte, error) {
			return e.Daemon.Do("POST", e.Daemon.API("/containers/create?name=pe-down-priv"),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(createBody(t, true, 0)))
		}},
		{"privileged create, chunked", func() (*http.Response, []byte, error) {
			return e.Daemon.Raw(chunkedRequest("POST", e.Daemon.API("/containers/create?name=pe-down-chunked"), "application/json", createBody(t, true, 0)))
		}},
		{"allowed create", func() (*http.Response, []byte, error) {
			return e.Daemon.Do("POST", e.Daemon.API("/containers/create?name=pe-down-ok"),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(createBody(t, false, 0)))
		}},
		{"list", func() (*http.Response, []byte, error) {
			return e.Daemon.Do("GET", e.Daemon.API("/containers/json"), nil, nil)
		}},
	}
	results := make([]sent, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, body, err := p.send()
			results[i] = sent{name: p.name, err: err, body: body}
			if resp != nil {
				results[i].status = resp.StatusCode
			}
		}(i)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("requests sent while the plugin was down did not end within 90s")
	}
	downFor := time.Since(killed)
	for _, r := range results {
		if r.err == nil && r.status < 400 {
			t.Errorf("%s succeeded while the plugin was down: %d %.300s", r.name, r.status, r.body)
		} else {
			t.Logf("%s while down: %d %v %.200s", r.name, r.status, r.err, r.body)
		}
	}
	if e.Plugin.Running() {
		t.Fatal("the plugin came back by itself")
	}

	if err := e.Plugin.Start(); err != nil {
		t.Fatalf("start the plugin again: %v", err)
	}
	restarted := time.Now()
	if !waitFor(45*time.Second, func() bool { return e.Docker("ps").ExitCode == 0 }) {
		t.Fatalf("service did not resume within 45s of restarting the plugin")
	}
	t.Logf("down for %s; service resumed %s after the restart", downFor.Round(time.Second), time.Since(restarted).Round(time.Millisecond))
	if !e.Daemon.Running() {
		t.Fatal("the daemon stopped")
	}

	var downOK, total int
	for _, p := range load.Stop() {
		total++
		// Started after the kill and answered before the restart: the
		// daemon could not have asked the plugin.
		if p.start.After(killed.Add(100*time.Millisecond)) && p.end.Before(restarted) && p.err == nil && p.status < 400 {
			downOK++
		}
	}
	if downOK > 0 {
		t.Errorf("%d load requests succeeded while the plugin was down", downOK)
	}
	t.Logf("%d load requests", total)

	for _, name := range []string{"pe-down-priv", "pe-down-chunked", "pe-down-ok"} {
		if containerExists(t, e, name) {
			t.Errorf("container %s was created while the plugin was down", name)
		}
	}
	RequireOK(t, e.Docker("run", "--rm", e.Image, "true"))
	e.RequireDenied(t, e.Docker("create", "--privileged", e.Image, "true"), "privileged")
	if log := e.Daemon.Log()[daemonLog:]; !strings.Contains(log, e.Plugin.Name) {
		t.Logf("daemon log since the kill does not name the plugin:\n%.2000s", log)
	}
}

func status2(resp *http.Response, _ []byte, err error) (int, error) { return status(resp, err) }

// TestFaultCorruptPolicyReload: a policy file that does not load leaves the
// loaded policies in force, whether the plugin notices the change by
// polling or by SIGHUP, and the failure is in the audit trail.
func TestFaultCorruptPolicyReload(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{})
	RequireOK(t, e.Docker("ps"))
	e.RequireDenied(t, e.Docker("create", "--cap-add", "NET_ADMIN", e.Image, "true"), "NET_ADMIN")

	// The bad file would both deny `ps` and allow NET_ADMIN, had it
	// loaded; one unclosed bracket makes the whole directory invalid.
	bad := `policy "default" {
  actions {
    allow = ["system.*", "image.*"]
  }
  container {
    cap_add = ["NET_ADMIN"
  }
}
`
	if err := os.WriteFile(filepath.Join(e.Plugin.PolicyDir, "default.hcl"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	// The poller (every 2 s) sees the change; SIGHUP makes a second try.
	if !waitFor(15*time.Second, func() bool { return auditHas(t, e, "policy.reload_failed") >= 1 }) {
		t.Fatalf("no policy.reload_failed record within 15s; plugin log:\n%s", e.Plugin.Log())
	}
	if err := syscall.Kill(e.Plugin.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return auditHas(t, e, "policy.reload_failed") >= 2 }) {
		t.Fatalf("no second policy.reload_failed record after SIGHUP; plugin log:\n%s", e.Plugin.Log())
	}
	if !e.Plugin.Running() {
		t.Fatal("the plugin exited on a bad policy file")
	}
	RequireOK(t, e.Docker("ps"))
	e.RequireDenied(t, e.Docker("create", "--cap-add", "NET_ADMIN", e.Image, "true"), "NET_ADMIN")
	e.RequireDenied(t, e.Docker("create", "--privileged", e.Image, "true"), "privileged")

	// The record says what failed, with the file and line.
	recs := auditEvents(t, e, "policy.reload_failed")
	if len(recs) == 0 || !strings.Contains(fmt.Sprint(recs[0]["diagnostics"]), "default.hcl") {
		t.Errorf("reload_failed record does not name the file: %v", recs)
	}

	// A restart with the bad file refuses to start rather than serve
	// without a policy; the daemon then fails requests.
	e.Plugin.Kill()
	if err := e.Plugin.Start(); err == nil {
		t.Error("the plugin started with an invalid policy directory")
	}
}

// auditEvents returns the audit file's records of one type.
func auditEvents(t *testing.T, e *Env, typ string) []map[string]any {
	t.Helper()
	data, err := e.Plugin.Audit()
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			continue // a line being written
		}
		if rec["type"] == typ {
			out = append(out, rec)
		}
	}
	return out
}

func auditHas(t *testing.T, e *Env, typ string) int { return len(auditEvents(t, e, typ)) }

// TestFaultAuditUnwritable: the audit file is required by default, so once
// it cannot be written (its file system is full) every request is denied,
// saying why, until there is room again.
func TestFaultAuditUnwritable(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	fsDir := filepath.Join(dir, "auditfs")
	if err := os.Mkdir(fsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", fsDir, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		SkipOrFail(t, "cannot mount a small tmpfs for the audit file: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(fsDir, syscall.MNT_DETACH) })
	auditFile := filepath.Join(fsDir, "audit.log")
	e := NewEnv(t, Options{NoImage: true, PluginArgs: []string{"--audit-file", auditFile}})
	RequireOK(t, e.Docker("ps"))
	if fi, err := os.Stat(auditFile); err != nil || fi.Size() == 0 {
		t.Fatalf("audit file %s not written: %v", auditFile, err)
	}

	// Fill the file system.
	filler := filepath.Join(fsDir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	// Single bytes too, so the audit file's last page is the only room left.
	for {
		if _, err := f.Write([]byte("x")); err != nil {
			break
		}
	}
	f.Close()

	denied := -1
	var last Result
	for i := 0; i < 100; i++ {
		last = e.Docker("ps")
		if last.ExitCode != 0 {
			denied = i
			break
		}
	}
	if denied < 0 {
		t.Fatalf("100 requests allowed with the audit file system full; last: %s", last)
	}
	e.RequireDenied(t, last, "audit")
	t.Logf("first denial after %d requests fitted in the last page: %s", denied, strings.TrimSpace(last.Stderr))
	for i := 0; i < 5; i++ {
		e.RequireDenied(t, e.Docker("ps"), "audit")
	}
	// Room again: the plugin recovers without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return e.Docker("ps").ExitCode == 0 }) {
		t.Errorf("requests still denied 10s after the audit file system has room again")
	}
}

// procStats reads what a leak would grow: open files, threads, resident
// memory.
type procStats struct {
	fds, threads int
	rssKB        int
}

func readProcStats(t *testing.T, pid int) procStats {
	t.Helper()
	var s procStats
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read fds of %d: %v", pid, err)
	}
	s.fds = len(ents)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "Threads":
			s.threads = n
		case "VmRSS":
			s.rssKB = n
		}
	}
	return s
}

// TestFaultSustainedLoad: a minute of mixed traffic (lists, inspects,
// allowed and denied creates, removes) through the plugin gives no errors
// and leaves no growth in the plugin's open files, threads or memory.
func TestFaultSustainedLoad(t *testing.T) {
	t.Parallel()
	d := 60 * time.Second
	if s := os.Getenv("PORTCULLIS_E2E_LOAD_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			d = time.Duration(n) * time.Second
		}
	}
	e := NewEnv(t, Options{})
	pid := e.Plugin.PID()

	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(format string, args ...any) {
		if errs.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf(format, args...))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	work := func(w, i int) {
		switch i % 4 {
		case 0:
			resp, out, err := e.Daemon.Do("GET", e.Daemon.API("/containers/json?all=1"), nil, nil)
			if err != nil || resp.StatusCode != 200 {
				fail("list: %v %v %.200s", err, resp, out)
			}
		case 1:
			resp, out, err := e.Daemon.Do("POST", e.Daemon.API("/containers/create"),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(createBody(t, true, 0)))
			if err != nil || resp.StatusCode != http.StatusForbidden {
				fail("privileged create: %v %v %.200s", err, resp, out)
			}
		case 2:
			name := fmt.Sprintf("pe-load-%d-%d", w, i)
			resp, out, err := e.Daemon.Do("POST", e.Daemon.API("/containers/create?name="+name),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(createBody(t, false, 0)))
			if err != nil || resp.StatusCode != http.StatusCreated {
				fail("create: %v %v %.200s", err, resp, out)
				return
			}
			resp, out, err = e.Daemon.Do("DELETE", e.Daemon.API("/containers/"+name+"?force=1"), nil, nil)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				fail("remove: %v %v %.200s", err, resp, out)
			}
		case 3:
			resp, out, err := e.Daemon.Do("GET", e.Daemon.API("/version"), nil, nil)
			if err != nil || resp.StatusCode != 200 {
				fail("version: %v %v %.200s", err, resp, out)
			}
		}
	}
	run := func(until context.Context) int64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; until.Err() == nil; i++ {
					work(w, i)
					n.Add(1)
				}
			}(w)
		}
		wg.Wait()
		return n.Load()
	}

	before := readProcStats(t, pid)
	warm, cancelWarm := context.WithTimeout(ctx, d/6)
	nWarm := run(warm)
	cancelWarm()
	mid := readProcStats(t, pid)
	n := run(ctx)
	time.Sleep(2 * time.Second) // let idle connections settle
	after := readProcStats(t, pid)
	t.Logf("%d requests in %s; before %+v, after warm-up (%d requests) %+v, after %+v", nWarm+n, d, before, nWarm, mid, after)

	if n := errs.Load(); n > 0 {
		t.Errorf("%d errors under load; first: %v", n, firstErr.Load())
	}
	if e.Plugin.PID() != pid {
		t.Fatalf("the plugin restarted under load (pid %d, now %d)", pid, e.Plugin.PID())
	}
	// After the warm-up the pools are sized; the rest of the run must not
	// grow them.
	if after.fds > mid.fds+8 {
		t.Errorf("open files grew from %d to %d", mid.fds, after.fds)
	}
	if after.threads > mid.threads+4 {
		t.Errorf("threads grew from %d to %d", mid.threads, after.threads)
	}
	if after.rssKB > mid.rssKB+32*1024 {
		t.Errorf("resident memory grew from %d KiB to %d KiB", mid.rssKB, after.rssKB)
	}
}
