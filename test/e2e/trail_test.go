//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/test/proccpu"
)

// The audit trail under faults (issue "An audit trail that stays true"):
// these tests speak the plugin protocol to the plugin's socket directly,
// as dockerd does, so they need no daemon.

// authzClient sends AuthZ calls to a plugin socket.
type authzClient struct {
	c *http.Client
}

func newAuthzClient(socket string) *authzClient {
	return &authzClient{c: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConnsPerHost: 16,
		},
	}}
}

// authzAnswer is the plugin's answer.
type authzAnswer struct {
	Allow bool
	Msg   string
	Err   string
}

// call sends one AuthZReq (phase "request") or AuthZRes.
func (a *authzClient) call(phase, method, uri string, body []byte) (authzAnswer, error) {
	env := map[string]any{"RequestMethod": method, "RequestUri": uri}
	if body != nil {
		env["RequestBody"] = body
		env["RequestHeaders"] = map[string]string{"Content-Type": "application/json"}
	}
	path := "/AuthZPlugin.AuthZReq"
	if phase == "response" {
		path = "/AuthZPlugin.AuthZRes"
		env["ResponseStatusCode"] = 200
	}
	b, _ := json.Marshal(env)
	resp, err := a.c.Post("http://plugin"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return authzAnswer{}, err
	}
	defer resp.Body.Close()
	var ans authzAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return authzAnswer{}, fmt.Errorf("decode answer (status %d): %w", resp.StatusCode, err)
	}
	return ans, nil
}

var privilegedCreate = []byte(`{"Image":"busybox","HostConfig":{"Privileged":true}}`)

// trailRecord is the part of a record these tests look at.
type trailRecord struct {
	Type               string `json:"type"`
	ID                 string `json:"id"`
	Phase              string `json:"phase"`
	Decision           string `json:"decision"`
	OverriddenDecision string `json:"overridden_decision"`
	Violations         []struct {
		Rule string `json:"rule"`
	} `json:"violations"`
	Sink             string `json:"sink"`
	Dropped          uint64 `json:"dropped"`
	PreviousInstance string `json:"previous_instance"`
	LastRecordID     string `json:"last_record_id"`
	Message          string `json:"message"`
	Instance         string `json:"instance"`
	Losses           []struct {
		Type     string `json:"type"`
		Phase    string `json:"phase"`
		Decision string `json:"decision"`
		Count    uint64 `json:"count"`
	} `json:"losses"`
}

// parseTrail parses every line of r; any line that is not a whole record
// fails the test.
func parseTrail(t *testing.T, what string, r io.Reader) []trailRecord {
	t.Helper()
	var out []trailRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		var rec trailRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Type == "" || rec.ID == "" {
			t.Fatalf("%s line %d is not a whole record: %q (%v)", what, n, sc.Text(), err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	return out
}

func trailFile(t *testing.T, path string) []trailRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends with an incomplete line: …%q", path, b[max(0, len(b)-100):])
	}
	return parseTrail(t, path, bytes.NewReader(b))
}

func ofType(recs []trailRecord, typ string) []trailRecord {
	var out []trailRecord
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// udpSyslog collects the JSON of every syslog datagram sent to it.
type udpSyslog struct {
	pc   net.PacketConn
	mu   sync.Mutex
	recs []string
}

func newUDPSyslog(t *testing.T) *udpSyslog {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := pc.(*net.UDPConn); ok {
		_ = c.SetReadBuffer(8 << 20)
	}
	s := &udpSyslog{pc: pc}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if i := strings.Index(msg, " - {"); i >= 0 {
				s.mu.Lock()
				s.recs = append(s.recs, msg[i+3:])
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *udpSyslog) records(t *testing.T) []trailRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return parseTrail(t, "syslog", strings.NewReader(strings.Join(s.recs, "\n")))
}

// fillFS fills the file system holding dir with a filler file, to the
// last byte.
func fillFS(t *testing.T, dir string) string {
	t.Helper()
	filler := filepath.Join(dir, "filler")
	f, err := os.OpenFile(filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	for {
		if _, err := f.Write([]byte("x")); err != nil {
			break
		}
	}
	return filler
}

func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// TestTrailFullDisk fills the audit file's file system again and again
// under a mix of allowed, denied and response-phase calls. Every line of
// the file stays a whole record; syslog records every call as the plugin
// answered it (a denial, with audit.unavailable and the overridden allow,
// when the file failed); the file and syslog both carry audit.loss
// records that count the records the file lost, by phase and decision.
func TestTrailFullDisk(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	fsDir := filepath.Join(dir, "auditfs")
	mountTmpfs(t, fsDir, "256k")
	syslog := newUDPSyslog(t)
	auditFile := filepath.Join(fsDir, "audit.log")
	p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t),
		Args: []string{"--audit-file", auditFile, "--syslog", "udp://" + syslog.pc.LocalAddr().String()}})
	c := newAuthzClient(p.Socket)

	answered := map[bool]int{}
	unavailable := 0
	send := func() {
		for _, call := range []struct {
			phase, method, uri string
			body               []byte
		}{
			{"request", "GET", "/v1.41/containers/json", nil},
			{"request", "POST", "/v1.41/containers/create", privilegedCreate},
			{"response", "GET", "/v1.41/containers/json", nil},
		} {
			ans, err := c.call(call.phase, call.method, call.uri, call.body)
			if err != nil {
				t.Fatalf("%s %s: %v", call.method, call.uri, err)
			}
			if call.phase == "request" {
				answered[ans.Allow]++
				if strings.Contains(ans.Msg, "audit.unavailable") {
					unavailable++
				}
			}
		}
	}
	const rounds = 4
	for round := range rounds {
		for range 20 {
			send()
		}
		filler := fillFS(t, fsDir)
		before := unavailable
		for i := 0; unavailable == before; i++ {
			if i > 2000 {
				t.Fatalf("round %d: no call denied for the full disk", round)
			}
			send()
		}
		for range 20 {
			send()
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		send()
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}

	file := trailFile(t, auditFile)
	sys := syslog.records(t)
	inFile := map[string]bool{}
	for _, r := range file {
		inFile[r.ID] = true
	}
	var lostDecisions, overridden int
	for _, r := range ofType(sys, "decision") {
		if inFile[r.ID] || r.Phase != "request" {
			continue
		}
		lostDecisions++
		if r.Decision != "deny" {
			t.Errorf("syslog says %s for request %s that the file lost: the plugin denied it", r.Decision, r.ID)
		}
		if r.OverriddenDecision == "allow" {
			overridden++
			if len(r.Violations) == 0 || r.Violations[0].Rule != "audit.unavailable" {
				t.Errorf("overridden record %s lacks the audit.unavailable rule", r.ID)
			}
		}
	}
	if overridden == 0 || lostDecisions == 0 {
		t.Fatalf("no overridden denial in syslog (%d request records missing from the file)", lostDecisions)
	}
	count := func(recs []trailRecord) (req, resp uint64) {
		for _, r := range ofType(recs, "audit.loss") {
			if r.Sink != "file" {
				continue
			}
			for _, l := range r.Losses {
				if l.Type == "decision" && l.Phase == "request" {
					req += l.Count
				}
				if l.Type == "decision" && l.Phase == "response" {
					resp += l.Count
				}
			}
		}
		return req, resp
	}
	fileReq, fileResp := count(file)
	sysReq, sysResp := count(sys)
	if fileReq != uint64(lostDecisions) || sysReq != uint64(lostDecisions) {
		t.Errorf("audit.loss counts %d (file) and %d (syslog) request records lost; %d are missing from the file", fileReq, sysReq, lostDecisions)
	}
	if fileResp == 0 || fileResp != sysResp {
		t.Errorf("response records lost: file reports %d, syslog %d", fileResp, sysResp)
	}
	// The log says so once per interval, not once per request.
	if n := strings.Count(p.Log(), "audit record not written"); n == 0 || n > 4 {
		t.Errorf("%d log lines about failed audit records for %d failures, want one per 10 s", n, lostDecisions+int(fileResp))
	}
	t.Logf("%d rounds: answered %v, %d denied for the audit file, %d request and %d response records lost and reported; %d lines in the file, all whole",
		rounds, answered, unavailable, lostDecisions, fileResp, len(file))
}

// TestTrailLogrotate rotates the audit file with logrotate, in both
// styles hosts use: move, create and compress (with and without a SIGHUP
// in postrotate), and copytruncate. The plugin writes to the new file,
// and no record is lost or torn.
func TestTrailLogrotate(t *testing.T) {
	t.Parallel()
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		t.Fatalf("logrotate is needed (apt-get install logrotate): %v", err)
	}
	for _, style := range []string{"create-compress", "create-compress-sighup", "copytruncate"} {
		t.Run(style, func(t *testing.T) {
			t.Parallel()
			dir := ShortTempDir(t)
			p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t)})
			c := newAuthzClient(p.Socket)
			ids := 0
			send := func(n int) {
				for range n {
					if _, err := c.call("request", "GET", "/v1.41/containers/json", nil); err != nil {
						t.Fatal(err)
					}
					ids++
				}
			}
			send(50)
			conf := p.AuditFile + " {\n  rotate 3\n  missingok\n"
			switch style {
			case "copytruncate":
				conf += "  copytruncate\n"
			case "create-compress":
				conf += "  create 0600 root root\n  compress\n"
			case "create-compress-sighup":
				conf += "  create 0600 root root\n  compress\n  postrotate\n    kill -HUP " + strconv.Itoa(p.PID()) + "\n  endscript\n"
			}
			conf += "}\n"
			confFile := filepath.Join(dir, "logrotate.conf")
			if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(logrotate, "-f", "-s", filepath.Join(dir, "logrotate.state"), confFile).CombinedOutput()
			if err != nil {
				t.Fatalf("logrotate: %v\n%s", err, out)
			}
			if style != "copytruncate" {
				// Evidence that the plugin has the new file: its reopen record.
				if !waitFor(10*time.Second, func() bool {
					b, _ := os.ReadFile(p.AuditFile)
					return bytes.Contains(b, []byte(`"type":"audit.reopen"`))
				}) {
					t.Fatal("the plugin did not reopen the rotated audit file")
				}
			}
			send(50)
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
			var rotated []trailRecord
			if strings.HasPrefix(style, "create-compress") {
				f, err := os.Open(p.AuditFile + ".1.gz")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				zr, err := gzip.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				rotated = parseTrail(t, "audit.log.1.gz", zr)
			} else {
				rotated = trailFile(t, p.AuditFile+".1")
			}
			current := trailFile(t, p.AuditFile)
			got := len(ofType(rotated, "decision")) + len(ofType(current, "decision"))
			if got != ids {
				t.Errorf("%d decision records in the rotated and the new file, want %d", got, ids)
			}
			if n := len(ofType(current, "decision")); n != 50 {
				t.Errorf("%d decision records in the new file, want the 50 sent after rotating", n)
			}
		})
	}
}

// TestTrailKillWithSyslogDown kills the plugin (SIGKILL) while its syslog
// server is down. With a spool nothing is lost: the next run delivers
// every record; without one the next run reports the loss. Either way it
// records plugin.crashed with the last record id written.
func TestTrailKillWithSyslogDown(t *testing.T) {
	t.Parallel()
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			t.Parallel()
			dir := ShortTempDir(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // down
			args := []string{"--syslog", "tcp://" + addr}
			if spool {
				args = append(args, "--syslog-spool-dir", filepath.Join(dir, "spool"))
			}
			p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t), Args: args})
			c := newAuthzClient(p.Socket)
			const n = 40
			for range n {
				if _, err := c.call("request", "GET", "/v1.41/containers/json", nil); err != nil {
					t.Fatal(err)
				}
			}
			before := trailFile(t, p.AuditFile)
			lastID := before[len(before)-1].ID
			firstInstance := before[0].Instance
			p.Kill()

			// The server comes back; the plugin starts again.
			got := make(chan trailRecord, 1000)
			ln, err = net.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go acceptSyslog(t, ln, got)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			var crashed []trailRecord
			if !waitFor(10*time.Second, func() bool {
				crashed = ofType(trailFile(t, p.AuditFile), "plugin.crashed")
				return len(crashed) > 0
			}) {
				t.Fatal("no plugin.crashed record after a kill -9")
			}
			cr := crashed[0]
			if cr.LastRecordID != lastID || cr.PreviousInstance != firstInstance {
				t.Errorf("plugin.crashed names last record %q of %q, want %q of %q", cr.LastRecordID, cr.PreviousInstance, lastID, firstInstance)
			}
			delivered := map[string]bool{}
			sawCrash := false
			deadline := time.After(15 * time.Second)
			want := 0
			if spool {
				want = n
			}
			for !sawCrash || countDecisions(delivered) < want {
				select {
				case r := <-got:
					if r.Type == "plugin.crashed" {
						sawCrash = true
					}
					if r.Type == "decision" && r.Instance == firstInstance {
						delivered[r.ID] = true
					}
				case <-deadline:
					t.Fatalf("syslog got %d of the %d records of the killed run (crash record: %v)", len(delivered), want, sawCrash)
				}
			}
			if !spool && !strings.Contains(cr.Message, "lost") {
				t.Errorf("without a spool, plugin.crashed does not report the loss: %q", cr.Message)
			}
		})
	}
}

func countDecisions(m map[string]bool) int { return len(m) }

// acceptSyslog reads octet-counted syslog messages.
func acceptSyslog(t *testing.T, ln net.Listener, out chan<- trailRecord) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString(' ')
				if err != nil {
					return
				}
				n, err := strconv.Atoi(strings.TrimSpace(l))
				if err != nil {
					return
				}
				buf := make([]byte, n)
				if _, err := io.ReadFull(r, buf); err != nil {
					return
				}
				msg := string(buf)
				i := strings.Index(msg, " - {")
				if i < 0 {
					continue
				}
				var rec trailRecord
				if json.Unmarshal([]byte(msg[i+3:]), &rec) == nil {
					out <- rec
				}
			}
		}()
	}
}

// TestTrailSlowBody: a client that stops mid-body is cut off at the
// request timeout, and does not hold up shutdown.
func TestTrailSlowBody(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t),
		Args: []string{"--request-timeout", "1s", "--shutdown-timeout", "30s"}})
	slow := func() net.Conn {
		conn, err := net.Dial("unix", p.Socket)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"RequestMethod\":")
		return conn
	}
	conn := slow()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(conn)
	took := time.Since(start)
	conn.Close()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the plugin kept a stalled request open for 10s")
	}
	if took > 5*time.Second {
		t.Errorf("the stalled request was cut off after %v, want about the 1s request timeout", took)
	}
	// A stalled request in flight does not delay shutdown by the drain
	// timeout (30s here).
	conn = slow()
	defer conn.Close()
	time.Sleep(100 * time.Millisecond) // the plugin has read the headers
	start = time.Now()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v with a stalled request in flight", took)
	}
}

// procCPU returns the user+system CPU time of pid.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	d, err := proccpu.Of(pid)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTrailIdleConnections holds 5,000 idle connections open and measures
// the plugin's CPU and garbage collections for 400 requests with and
// without them: the collector does not thrash (it took 6.8 instead of 0.2
// CPU-seconds with a fixed memory limit).
func TestTrailIdleConnections(t *testing.T) {
	dir := ShortTempDir(t)
	p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t),
		Args: []string{"--max-connections", "6000", "--metrics-listen", "127.0.0.1:0"}})
	addr := metricsAddr(t, p)
	c := newAuthzClient(p.Socket)
	burst := func() (time.Duration, float64) {
		cpu0, gc0 := procCPU(t, p.PID()), scrapeValue(t, addr, "go_gc_duration_seconds_count")
		for range 400 {
			if _, err := c.call("request", "GET", "/v1.41/containers/json", nil); err != nil {
				t.Fatal(err)
			}
		}
		return procCPU(t, p.PID()) - cpu0, scrapeValue(t, addr, "go_gc_duration_seconds_count") - gc0
	}
	burst() // warm up
	base, baseGC := burst()

	const idle = 5000
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	req := "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 0\r\n\r\n"
	for i := range idle {
		conn, err := net.Dial("unix", p.Socket)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, conn)
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		// Read the answer: the connection is then idle, kept alive.
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if open := scrapeValue(t, addr, "portcullis_open_connections"); open < idle {
		t.Fatalf("%v connections open, want at least %d", open, idle)
	}
	// The memory limit follows what is held, measured each second: let a
	// measurement see the connections.
	time.Sleep(2 * time.Second)
	with, withGC := burst()
	t.Logf("400 requests: %v CPU and %v collections alone, %v and %v with %d idle connections open (heap in use %.0f MiB, stacks %.0f MiB)", base, baseGC, with, withGC, idle,
		scrapeValue(t, addr, "go_memstats_heap_inuse_bytes")/(1<<20), scrapeValue(t, addr, "go_memstats_stack_inuse_bytes")/(1<<20))
	if withGC > baseGC+3 {
		t.Errorf("collections for 400 requests grew from %v to %v with %d idle connections: the collector thrashes", baseGC, withGC, idle)
	}
	if with > 3*base+300*time.Millisecond {
		t.Errorf("CPU for 400 requests grew from %v to %v with %d idle connections", base, with, idle)
	}
}

// TestTrailConnectionCap: past --max-connections new connections wait,
// and the log says why, once.
func TestTrailConnectionCap(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t),
		Args: []string{"--max-connections", "20"}})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 30 {
		conn, err := net.Dial("unix", p.Socket)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(p.Log(), "connection limit reached") }) {
		t.Fatal("no log line when the connection limit was reached")
	}
	if n := strings.Count(p.Log(), "connection limit reached"); n != 1 {
		t.Errorf("%d log lines for one burst over the limit, want 1", n)
	}
	// Closing connections lets the waiting ones in: a call is answered.
	for _, c := range conns[:15] {
		c.Close()
	}
	conns = conns[15:]
	if _, err := newAuthzClient(p.Socket).call("request", "GET", "/v1.41/containers/json", nil); err != nil {
		t.Fatalf("no answer once connections closed: %v", err)
	}
}

// metricsAddr returns the address the plugin serves metrics on, from its
// log (it was started with --metrics-listen 127.0.0.1:0).
func metricsAddr(t *testing.T, p *Plugin) string {
	t.Helper()
	re := regexp.MustCompile(`msg="serving metrics" address="?([0-9.:]+)`)
	var addr string
	if !waitFor(10*time.Second, func() bool {
		m := re.FindStringSubmatch(p.Log())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("the plugin does not say where it serves metrics:\n%s", p.Log())
	}
	return addr
}

// scrapeValue returns the value of the sample line starting with prefix
// on the plugin's metrics endpoint.
func scrapeValue(t *testing.T, addr, prefix string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("sample %q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("no sample %s in the metrics", prefix)
	return 0
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTrailMetricsScrapedByPrometheus runs a real Prometheus (Debian's
// prometheus package) against the plugin's --metrics-listen endpoint with
// the example alert rules loaded, and queries what it scraped.
func TestTrailMetricsScrapedByPrometheus(t *testing.T) {
	t.Parallel()
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is needed (apt-get install prometheus): %v", err)
	}
	dir := ShortTempDir(t)
	p := StartPlugin(t, PluginConfig{Dir: dir, NoSpec: true, PolicyFiles: BaselinePolicy(t),
		Args: []string{"--metrics-listen", "127.0.0.1:0"}})
	addr := metricsAddr(t, p)
	c := newAuthzClient(p.Socket)
	for range 10 {
		if _, err := c.call("request", "POST", "/v1.41/containers/create", privilegedCreate); err != nil {
			t.Fatal(err)
		}
	}
	rules, err := filepath.Abs("../../examples/metrics/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\nrule_files: [%q]\nscrape_configs:\n  - job_name: portcullis\n    static_configs:\n      - targets: [%q]\n", rules, addr)
	confFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(promBin, "--config.file", confFile, "--storage.tsdb.path", filepath.Join(dir, "tsdb"),
		"--web.listen-address", web, "--log.level", "warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	proc, err := startProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.stop(10 * time.Second) })

	query := func(q string) []any {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil {
			return nil
		}
		return r.Data.Result
	}
	q := `portcullis_denials_total{rule="container.privileged"}`
	if !waitFor(30*time.Second, func() bool { return len(query(q)) == 1 }) {
		t.Fatalf("Prometheus did not scrape %s:\n%s", q, tailFile(filepath.Join(dir, "prometheus.log"), 40))
	}
	for _, q := range []string{
		`portcullis_decisions_total{action="container.create",decision="deny"}`,
		`portcullis_policy_revision_info`,
		`portcullis_audit_records_total{sink="file",outcome="written"}`,
		`portcullis_call_duration_seconds_count{phase="request"}`,
	} {
		if res := query(q); len(res) == 0 {
			t.Errorf("Prometheus has no %s", q)
		}
	}
	// The example rules loaded and evaluate without error.
	resp, err := http.Get("http://" + web + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if n := strings.Count(string(b), `"type":"alerting"`); n != 5 {
		t.Errorf("%d alerting rules loaded, want the 5 of examples/metrics/alerts.yml: %s", n, b)
	}
	if strings.Contains(string(b), `"health":"err"`) {
		t.Errorf("an example rule fails to evaluate: %s", b)
	}
}

// TestTrailReloadFixedByPermission runs the plugin as an unprivileged
// user (setpriv), adds a policy file it cannot read — the reload fails —
// and then fixes the permission, which changes no name, size or time:
// the retry at the next poll loads it, without a SIGHUP.
func TestTrailReloadFixedByPermission(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed: %v", err)
	}
	const uid = 65534 // nobody
	dir := ShortTempDir(t)
	policyDir := filepath.Join(dir, "policy")
	if err := os.MkdirAll(policyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range BaselinePolicy(t) {
		if err := os.WriteFile(filepath.Join(policyDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(run, uid, uid); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "portcullis-as-nobody")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --reuid=%d --regid=%d --clear-groups %s \"$@\"\n", setpriv, uid, uid, portcullisBin)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := StartPlugin(t, PluginConfig{Dir: run, NoSpec: true, PolicyDir: policyDir, Binary: wrapper,
		Args: []string{"--reload-interval", "100ms"}})
	before, err := exec.Command(portcullisBin, "status", "--socket", p.Socket, "--json").Output()
	if err != nil {
		t.Fatalf("status: %v", err)
	}

	// A new team file only root can read.
	team := filepath.Join(policyDir, "ops.hcl")
	src := "policy \"ops\" {\n  extends = \"default\"\n}\n\nteam \"ops\" {\n  policy = \"ops\"\n  ous    = [\"ops\"]\n}\n"
	if err := os.WriteFile(team, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool {
		return len(ofType(trailFile(t, p.AuditFile), "policy.reload_failed")) > 0
	}) {
		t.Fatalf("no policy.reload_failed record for an unreadable file:\n%s", p.Log())
	}
	// Fix the permission: nothing the poll compares changes.
	if err := os.Chmod(team, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool {
		for _, r := range ofType(trailFile(t, p.AuditFile), "policy.load") {
			if strings.Contains(r.Message, "reloaded") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the fixed policies were not loaded without a SIGHUP:\n%s", p.Log())
	}
	after, err := exec.Command(portcullisBin, "status", "--socket", p.Socket, "--json").Output()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if bytes.Equal(before, after) || !bytes.Contains(after, []byte(`"ops"`)) {
		t.Errorf("status after the fix: %s", after)
	}
	if n := len(ofType(trailFile(t, p.AuditFile), "policy.reload_failed")); n != 1 {
		t.Errorf("%d policy.reload_failed records for one failure retried at every poll, want 1", n)
	}
}

// TestTrailRevisionSpellings: the plugin serving a policy directory
// through a symlink reports the revision `portcullis validate` prints for
// the same directory spelled absolute, relative, "." and through the
// symlink.
func TestTrailRevisionSpellings(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	policyDir := filepath.Join(dir, "policies")
	if err := os.MkdirAll(policyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range BaselinePolicy(t) {
		if err := os.WriteFile(filepath.Join(policyDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "current")
	if err := os.Symlink("policies", link); err != nil {
		t.Fatal(err)
	}
	p := StartPlugin(t, PluginConfig{Dir: filepath.Join(dir, "run"), NoSpec: true, PolicyDir: policyDir,
		Args: []string{"--policy-dir", link}})
	out, err := exec.Command(portcullisBin, "status", "--socket", p.Socket, "--json").Output()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var st struct {
		PolicyRevision string `json:"policy_revision"`
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st.PolicyRevision) < 12 {
		t.Fatalf("status %s: %v", out, err)
	}
	for _, tc := range []struct{ cwd, arg string }{
		{dir, policyDir}, {dir, "policies"}, {dir, "./policies/"}, {policyDir, "."}, {dir, "current"}, {"/", link},
	} {
		cmd := exec.Command(portcullisBin, "validate", tc.arg)
		cmd.Dir = tc.cwd
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("validate %s (in %s): %v\n%s", tc.arg, tc.cwd, err, out)
		}
		if !strings.Contains(string(out), "revision "+st.PolicyRevision[:12]) {
			t.Errorf("validate %s (in %s) prints %q; the plugin serves revision %s", tc.arg, tc.cwd, strings.TrimSpace(string(out)), st.PolicyRevision)
		}
	}
}
