//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/plugin"
)

// auditLine is one line of the plugin's audit file.
type auditLine struct {
	Line string
	Rec  audit.Record
}

// auditLines reads the plugin's audit file, which holds every record.
func auditLines(t testing.TB, p *Plugin) []auditLine {
	t.Helper()
	b, err := p.Audit()
	if err != nil {
		t.Fatalf("read audit file: %v", err)
	}
	var out []auditLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var l auditLine
		l.Line = sc.Text()
		if err := json.Unmarshal(sc.Bytes(), &l.Rec); err != nil {
			t.Fatalf("audit file line is not a record: %v: %.300s", err, l.Line)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read audit file: %v", err)
	}
	return out
}

// syslogCopy is a record as rsyslog received it.
type syslogCopy struct {
	RsyslogMsg
	Rec audit.Record
}

// waitSyslog polls rsyslog until every record of want has arrived (APP-NAME
// portcullis) and returns, in arrival order, what arrived from the
// instances that wrote want.
func waitSyslog(t testing.TB, rs *Rsyslog, want []auditLine, timeout time.Duration) []syslogCopy {
	t.Helper()
	instances := map[string]bool{}
	for _, l := range want {
		instances[l.Rec.Instance] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		var got []syslogCopy
		seen := map[string]bool{}
		for _, m := range rs.Messages("portcullis") {
			c := syslogCopy{RsyslogMsg: m}
			if err := json.Unmarshal([]byte(m.Msg), &c.Rec); err != nil {
				t.Fatalf("rsyslog got a MSG that is not a JSON record: %v: %.300s", err, m.Msg)
			}
			if instances[c.Rec.Instance] {
				got = append(got, c)
				seen[c.Rec.ID] = true
			}
		}
		var missing []string
		for _, l := range want {
			if !seen[l.Rec.ID] {
				missing = append(missing, fmt.Sprintf("%s %s %s %s", l.Rec.ID, l.Rec.Type, l.Rec.Action, l.Rec.Phase))
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d records have not reached rsyslog, e.g. %v", timeout, len(missing), len(want), missing[:min(5, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSyslogQuiet waits until every record in p's audit file has reached
// rsyslog and the file has stopped growing: no record is on its way.
func waitSyslogQuiet(t testing.TB, rs *Rsyslog, p *Plugin) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := auditLines(t, p)
		waitSyslog(t, rs, lines, time.Until(deadline))
		// Longer than the file sink holds a response record back.
		time.Sleep(200 * time.Millisecond)
		if len(auditLines(t, p)) == len(lines) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit file kept growing for 30s with no requests sent")
		}
	}
}

// wantSeverity is the RFC 5424 severity docs/audit.md gives a record.
func wantSeverity(r audit.Record) int {
	switch {
	case r.Type == audit.TypeDecision && (r.Decision == audit.Deny || r.WouldDeny != nil && *r.WouldDeny):
		return 4
	case r.Type == audit.TypeDecision:
		return 6
	case r.Type == audit.TypeAuditLoss || r.Type == audit.TypePolicyReloadFailed:
		return 4
	}
	return 5
}

// bigCreateBody is a privileged container create whose summary (the
// masked environment) is about 100 KB: more than one UDP datagram holds.
func bigCreateBody(t testing.TB, image string) []byte {
	env := make([]string, 3000)
	for i := range env {
		env[i] = fmt.Sprintf("E2E_VARIABLE_NAME_%06d=value", i)
	}
	b, err := json.Marshal(map[string]any{"Image": image, "Cmd": []string{"true"}, "Env": env,
		"HostConfig": map[string]any{"Privileged": true}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSyslogRsyslog sends the records of real docker CLI actions through
// a real rsyslogd over each transport and checks what rsyslog parsed: the
// RFC 5424 header (APP-NAME, facility and severity, MSGID, PROCID) and MSG,
// which is the audit file's line exactly, once. A record too large for a
// UDP datagram arrives as a truncated copy over UDP, whole otherwise.
func TestSyslogRsyslog(t *testing.T) {
	t.Parallel()
	rs := StartRsyslog(t)
	for _, tc := range []struct{ network, input string }{
		{"tcp", "imtcp"}, {"udp", "imudp"}, {"unixgram", "imuxsock"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			t.Parallel()
			e := NewEnv(t, Options{PluginArgs: []string{"--syslog", rs.URL(tc.network)}})
			RequireOK(t, e.Docker("ps"))
			RequireOK(t, e.Docker("run", "--rm", e.Image, "true"))
			e.RequireDenied(t, e.Docker("run", "--rm", "--privileged", e.Image, "true"), "privileged")
			resp, body, err := e.Daemon.Do("POST", e.Daemon.API("/containers/create"),
				http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(bigCreateBody(t, e.Image)))
			if err != nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("big privileged create: want 403, got %v %v: %.300s", resp, err, body)
			}

			file := auditLines(t, e.Plugin)
			got := waitSyslog(t, rs, file, 30*time.Second)
			byID := map[string][]syslogCopy{}
			for _, c := range got {
				byID[c.Rec.ID] = append(byID[c.Rec.ID], c)
			}
			pid := strconv.Itoa(e.Plugin.PID())
			var list, create, denied, big bool
			for _, l := range file {
				r := l.Rec
				cs := byID[r.ID]
				if len(cs) != 1 {
					t.Errorf("record %s (%s %s) reached rsyslog %d times, want once", r.ID, r.Type, r.Action, len(cs))
					continue
				}
				c := cs[0]
				sev := wantSeverity(r)
				if c.AppName != "portcullis" || c.Facility != 10 || c.Severity != sev || c.PRI != 10*8+sev ||
					c.MsgID != string(r.Type) || c.ProcID != pid || c.Input != tc.input {
					t.Errorf("record %s (%s %s %s): rsyslog parsed pri=%d facility=%d severity=%d app=%q msgid=%q procid=%q input=%q; want pri=%d, authpriv (10), severity %d, portcullis, %s, %s, %s",
						r.ID, r.Type, r.Action, r.Decision, c.PRI, c.Facility, c.Severity, c.AppName, c.MsgID, c.ProcID, c.Input,
						10*8+sev, sev, r.Type, pid, tc.input)
				}
				isBig := r.Summary != nil && len(r.Summary.Env) == 3000
				switch {
				case isBig && tc.network == "udp":
					if !c.Rec.Truncated || c.Rec.Summary != nil || c.Rec.Decision != audit.Deny || c.Rec.Action != "container.create" || len(c.Msg) > 65507 {
						t.Errorf("over UDP, want a truncated copy (no summary, decision kept) of the big record, got %d bytes: %.400s", len(c.Msg), c.Msg)
					}
				case c.Msg != l.Line:
					t.Errorf("rsyslog's MSG differs from the audit file's line:\n syslog: %.400s\n file:   %.400s", c.Msg, l.Line)
				}
				if r.Type != audit.TypeDecision || r.Phase != audit.PhaseRequest {
					continue
				}
				switch {
				case r.Action == "container.list" && r.Decision == audit.Allow:
					list = true
				case r.Action == "container.create" && r.Decision == audit.Allow:
					create = true
				case isBig && r.Decision == audit.Deny:
					big = true
				case r.Action == "container.create" && r.Decision == audit.Deny && r.Summary != nil && r.Summary.Privileged && len(r.Violations) > 0:
					denied = true
				}
			}
			if !list || !create || !denied || !big {
				t.Errorf("audit file lacks decisions: container.list allow %v, container.create allow %v, privileged create deny %v, big create deny %v",
					list, create, denied, big)
			}
		})
	}
}

// TestSyslogRsyslogOutage stops rsyslogd, makes 50 decisions, starts it
// again on the same port and expects every record, matched by id against
// the audit file, to arrive over TCP in the file's order, exactly once.
// With a spool directory the plugin also restarts during the outage, so
// the first run's queue goes to the spool and the second run delivers it.
func TestSyslogRsyslogOutage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		spool bool
	}{
		{"memory", false},
		{"spool_across_plugin_restart", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := StartRsyslog(t)
			args := []string{"--syslog", rs.URL("tcp")}
			spool := ""
			if tc.spool {
				spool = filepath.Join(ShortTempDir(t), "spool")
				args = append(args, "--syslog-spool-dir", spool)
			}
			// The plugin follows the daemon, as it does in production:
			// the follower's own requests (allowed as the plugin's own,
			// though this policy denies volume.list) interleave with
			// the test's around the restart.
			e := NewEnv(t, Options{PluginArgs: args, NoImage: true})
			RequireOK(t, e.Docker("ps"))
			// Nothing may be in flight when rsyslogd stops: a record
			// written into the connection as the server closes it is
			// lost unnoticed (plain TCP syslog has no acknowledgements,
			// docs/audit.md), and the follower's first reconciliation
			// can land just then.
			waitReconciled(t, e.Plugin, 1)
			waitSyslogQuiet(t, rs, e.Plugin)

			if err := rs.Stop(); err != nil {
				t.Fatalf("stop rsyslogd: %v", err)
			}
			const n = 50
			for i := 0; i < n; i++ {
				if tc.spool && i == n/2 {
					if err := e.Plugin.Restart(); err != nil {
						t.Fatalf("restart plugin: %v", err)
					}
				}
				path := "/containers/json"
				if i%2 == 1 {
					path = "/images/json"
				}
				resp, body, err := e.Daemon.Do("GET", e.Daemon.API(path), nil, nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %v %v: %.300s", path, resp, err, body)
				}
			}
			if tc.spool {
				segs, _ := filepath.Glob(filepath.Join(spool, "*.spool"))
				if len(segs) == 0 {
					t.Fatalf("the plugin restarted during the outage but %s holds no spool segment", spool)
				}
			}
			if err := rs.Start(); err != nil {
				t.Fatalf("restart rsyslogd: %v", err)
			}

			file := auditLines(t, e.Plugin)
			got := waitSyslog(t, rs, file, 90*time.Second)
			var want, have []string
			for _, l := range file {
				want = append(want, l.Rec.ID)
			}
			for _, c := range got {
				have = append(have, c.Rec.ID)
			}
			decisions := 0
			self := map[string]bool{}
			for _, l := range file {
				if l.Rec.Type == audit.TypeDecision && l.Rec.Phase == audit.PhaseRequest && l.Rec.Policy == plugin.SelfPolicy {
					self[l.Rec.ID] = true
				}
				if l.Rec.Type == audit.TypeDecision && l.Rec.Policy != plugin.SelfPolicy && (l.Rec.Action == "container.list" || l.Rec.Action == "image.list") {
					decisions++
				}
			}
			if decisions < n {
				t.Errorf("audit file has %d request decisions of the test's list calls, want at least %d", decisions, n)
			}
			// Every record exactly once. Records of concurrent
			// requests (the follower's and the test's) may reach the
			// two sinks in different orders; records of one client's
			// sequential calls may not.
			if !sameIDs(want, have) {
				t.Fatalf("rsyslog did not get the audit file's %d records exactly once: got %d\n%s", len(want), len(have), diffIDs(want, have))
			}
			mine := func(recs []*audit.Record) []string {
				var ids []string
				for _, r := range recs {
					if !self[r.ID] && !self[r.RequestID] {
						ids = append(ids, r.ID)
					}
				}
				return ids
			}
			var fileRecs, gotRecs []*audit.Record
			for i := range file {
				fileRecs = append(fileRecs, &file[i].Rec)
			}
			for i := range got {
				gotRecs = append(gotRecs, &got[i].Rec)
			}
			if w, h := mine(fileRecs), mine(gotRecs); strings.Join(w, "\n") != strings.Join(h, "\n") {
				t.Fatalf("rsyslog got the test's own %d records in another order than the audit file:\n%s", len(w), diffIDs(w, h))
			}
		})
	}
}

// sameIDs reports whether a and b hold the same ids, each as often.
func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	n := map[string]int{}
	for _, id := range a {
		n[id]++
	}
	for _, id := range b {
		if n[id]--; n[id] < 0 {
			return false
		}
	}
	return true
}

// diffIDs describes the first difference of two id sequences.
func diffIDs(want, got []string) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			return fmt.Sprintf("first difference at %d: want %q, got %q", i, w, g)
		}
	}
	return "equal"
}
