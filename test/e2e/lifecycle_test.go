//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lifecycleRecord is the part of a container lifecycle record this test
// reads.
type lifecycleRecord struct {
	Type      string `json:"type"`
	EventTime string `json:"event_time"`
	ExitCode  *int   `json:"exit_code"`
	GapFrom   string `json:"gap_from"`
	GapTo     string `json:"gap_to"`
	Target    struct {
		Container string `json:"container"`
		ID        string `json:"id"`
		OwnerTeam string `json:"owner_team"`
		OwnerUser string `json:"owner_user"`
	} `json:"target"`
}

func lifecycleRecords(t *testing.T, path string) []lifecycleRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []lifecycleRecord
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r lifecycleRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if strings.HasPrefix(r.Type, "container.") || r.Type == "events.gap" {
			out = append(out, r)
		}
	}
	return out
}

// TestLifecycleTrail: what the daemon does to web's containers on its
// own is in the trail with web as the owner: a non-zero exit with its
// code, a restart by the restart policy, a kill for memory, a removal by
// --rm; a death while the plugin was stopped is replayed at its next
// start, and the first start reports that nothing before it was followed.
func TestLifecycleTrail(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{TLS: true, PolicyFiles: map[string]string{"default.hcl": ownershipPolicy}})
	waitReconciled(t, e.Plugin, 1)
	web := e.Daemon.As(t, "web-lc1", "web")

	// Decisions first: every run is allowed; whether the container
	// could run here is the daemon's business, checked below by its
	// events.
	for _, args := range [][]string{
		{"run", "--name", "lc-exit", e.Image, "sh", "-c", "exit 3"},
		{"run", "-d", "--name", "lc-restart", "--restart", "on-failure:1", e.Image, "sh", "-c", "exit 4"},
		{"run", "--name", "lc-oom", "--memory", "8m", "--memory-swap", "8m", e.Image, "sh", "-c", "x=a; while :; do x=$x$x; done"},
		{"run", "--rm", "--name", "lc-rm", e.Image, "true"},
	} {
		r := web.DockerOpts(DockerOpts{Timeout: 60 * time.Second}, args...)
		RequireAllowed(t, r)
		t.Logf("%v: %s", args, r)
	}

	has := func(recs []lifecycleRecord, typ, name string, exit int) bool {
		for _, r := range recs {
			if r.Type == typ && r.Target.Container == name && r.Target.OwnerTeam == "web" && r.Target.OwnerUser == "web-lc1" &&
				len(r.Target.ID) == 64 && r.EventTime != "" && (exit < 0 || (r.ExitCode != nil && *r.ExitCode == exit)) {
				return true
			}
		}
		return false
	}
	want := []struct {
		typ, name string
		exit      int
	}{
		{"container.died", "lc-exit", 3},
		{"container.restarted", "lc-restart", -1},
		{"container.died", "lc-restart", 4},
		{"container.oom", "lc-oom", -1},
		{"container.died", "lc-oom", 137},
		{"container.died", "lc-rm", 0},
		{"container.removed", "lc-rm", -1},
	}
	// The kill for memory is in the trail when the daemon saw it: a
	// daemon can miss the kernel's OOM notice (it then reports only the
	// exit, 137, and State.OOMKilled stays false), and the plugin can
	// only record what the daemon reports.
	daemonOOM := func(name string) bool {
		r := web.Docker("inspect", "--format", "{{.State.OOMKilled}}", name)
		return r.Err == nil && r.ExitCode == 0 && strings.TrimSpace(r.Stdout) == "true"
	}
	expected := func(typ, name string) bool { return typ != "container.oom" || daemonOOM(name) }
	var recs []lifecycleRecord
	waitFor(30*time.Second, func() bool {
		recs = lifecycleRecords(t, e.Plugin.AuditFile)
		for _, w := range want {
			if !has(recs, w.typ, w.name, w.exit) && expected(w.typ, w.name) {
				return false
			}
		}
		return true
	})
	for _, w := range want {
		if has(recs, w.typ, w.name, w.exit) {
			continue
		}
		if !expected(w.typ, w.name) {
			t.Logf("the daemon reported no OOM kill for %s (State.OOMKilled false, exit 137): no %s record to expect", w.name, w.typ)
			continue
		}
		t.Errorf("no %s record for %s (exit %d) owned by web/web-lc1 in %+v", w.typ, w.name, w.exit, recs)
	}
	if len(recs) == 0 || recs[0].Type != "events.gap" || recs[0].GapFrom != "" || recs[0].GapTo == "" {
		t.Errorf("the first start's record is not a gap from the beginning: %+v", recs)
	}

	// A container that dies while the plugin is stopped: its death is
	// replayed from the daemon at the next start, with no new gap.
	RequireAllowed(t, web.Docker("run", "-d", "--name", "lc-late", e.Image, "sh", "-c", "sleep 2; exit 5"))
	late := fullID(t, web, "lc-late")
	if err := e.Plugin.Stop(); err != nil {
		t.Fatal(err)
	}
	// The death happens on the daemon's side while the plugin is down:
	// wait for it in the daemon's own state on disk (its API needs the
	// plugin).
	stateFile := filepath.Join(e.Daemon.DataRoot, "containers", late, "config.v2.json")
	if !waitFor(30*time.Second, func() bool {
		b, err := os.ReadFile(stateFile)
		return err == nil && strings.Contains(string(b), `"ExitCode":5`) && strings.Contains(string(b), `"Running":false`)
	}) {
		t.Fatalf("lc-late did not exit while the plugin was stopped: %s", stateFile)
	}
	// Without the saved time of the last event the plugin subscribes
	// from 2 s before its start: let the death be older than that, so
	// only a replay from the saved time finds it.
	time.Sleep(3 * time.Second)
	if err := e.Plugin.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(30*time.Second, func() bool {
		return has(lifecycleRecords(t, e.Plugin.AuditFile), "container.died", "lc-late", 5)
	})
	recs = lifecycleRecords(t, e.Plugin.AuditFile)
	if !has(recs, "container.died", "lc-late", 5) {
		t.Errorf("the death while the plugin was stopped was not replayed: %+v", recs)
	}
	gaps := 0
	for _, r := range recs {
		if r.Type == "events.gap" {
			gaps++
		}
	}
	if gaps != 1 {
		t.Errorf("%d gap records, want only the first start's: %+v", gaps, recs)
	}
}
