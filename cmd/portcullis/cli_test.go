package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const examples = "../../examples/policies"

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndVersion(t *testing.T) {
	if code, _, stderr := runCLI(t); code != exitUsage || !strings.Contains(stderr, "serve") {
		t.Errorf("no args: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCLI(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	code, out, _ := runCLI(t, "version")
	if code != exitOK || !strings.Contains(out, "portcullis") || !strings.Contains(out, "docker api") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestValidate(t *testing.T) {
	code, out, stderr := runCLI(t, "validate", examples)
	if code != exitOK || !strings.Contains(out, "valid") {
		t.Fatalf("examples: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "validate", "testdata/invalid")
	if code != exitFailed {
		t.Fatalf("invalid: exit %d", code)
	}
	// HCL's format: file:line,col, the source line and a caret.
	for _, want := range []string{"testdata/invalid/default.hcl:3", "container.craete", "no_such_block", "^"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(out, "invalid") {
		t.Errorf("stdout %q", out)
	}
	if code, _, _ := runCLI(t, "validate", "testdata/nonexistent"); code != exitRuntime {
		t.Errorf("missing path: exit %d", code)
	}
}

func TestEval(t *testing.T) {
	code, out, stderr := runCLI(t, "eval", "--policy-dir", examples, "testdata/privileged.json")
	if code != exitFailed || !strings.Contains(out, "decision: deny") || !strings.Contains(out, "container.privileged") {
		t.Errorf("privileged: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "eval", "--policy-dir", examples, "testdata/plain.json")
	if code != exitOK || !strings.Contains(out, "decision: allow") {
		t.Errorf("plain: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "eval", "--policy-dir", examples, "--json", "--user", "web-dev1", "--ou", "web", "testdata/plain.json")
	var res struct {
		Allow bool
		Team  string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if res.Team != "web" {
		t.Errorf("--ou web judged as team %q (exit %d)", res.Team, code)
	}
}

// TestServe runs the whole daemon: it serves, reports status, reloads a
// changed policy, refuses an invalid one, writes audit records, and on
// cancellation stops and removes its socket.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "p.sock")
	pol := filepath.Join(dir, "policies")
	os.MkdirAll(pol, 0o755)
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(pol, "default.hcl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`policy "default" {
  actions { allow = ["system.*"] }
}
`)
	auditFile := filepath.Join(dir, "audit", "audit.log")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--socket", sock, "--policy-dir", pol, "--audit-file", auditFile, "--reload-interval", "50ms",
			"--state-dir", filepath.Join(dir, "state"), "--docker-host", "unix://" + filepath.Join(dir, "no-daemon.sock")}, &bytes.Buffer{}, &stderr)
	}()
	waitFor(t, "socket", func() bool { _, err := os.Stat(sock); return err == nil })

	code, out, _ := runCLI(t, "status", "--socket", sock)
	if code != exitOK || !strings.Contains(out, "healthy") {
		t.Fatalf("status: exit %d %q", code, out)
	}
	rev := field(out, "policy revision:")

	write(`policy "default" {
  actions { allow = ["system.*", "container.list"] }
}
`)
	waitFor(t, "reload", func() bool {
		_, out, _ := runCLI(t, "status", "--socket", sock)
		return field(out, "policy revision:") != rev
	})
	_, out, _ = runCLI(t, "status", "--socket", sock)
	rev2 := field(out, "policy revision:")

	// Wait for evidence that the plugin processed the invalid file — its
	// log of the failed reload — then check that it still serves rev2.
	failures := strings.Count(stderr.String(), "policy reload failed")
	write(`policy "default" { bogus = 1 }`)
	waitFor(t, "the failed reload", func() bool {
		return strings.Count(stderr.String(), "policy reload failed") > failures
	})
	_, out, _ = runCLI(t, "status", "--socket", sock)
	if got := field(out, "policy revision:"); got != rev2 {
		t.Errorf("an invalid policy replaced the loaded one: %s -> %s", rev2, got)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Error("socket left behind")
	}
	if code, _, _ := runCLI(t, "status", "--socket", sock); code != exitFailed {
		t.Errorf("status of a stopped plugin: exit %d", code)
	}

	types := map[string]int{}
	f, err := os.Open(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		types[rec.Type]++
	}
	for _, want := range []string{"plugin.start", "plugin.stop", "policy.load", "policy.reload_failed"} {
		if types[want] == 0 {
			t.Errorf("no %s record in the audit file: %v", want, types)
		}
	}
	if types["policy.load"] < 2 {
		t.Errorf("the reload was not recorded: %v", types)
	}
}

func field(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFlagsFromEnv(t *testing.T) {
	t.Setenv("PORTCULLIS_LOG_LEVEL", "debug")
	t.Setenv("PORTCULLIS_POLICY_DIR", "/from/env")
	fs := newFlags("x", "", &bytes.Buffer{})
	level := fs.String("log-level", "info", "")
	dir := fs.String("policy-dir", "/etc", "")
	other := fs.String("audit-file", "/a", "")
	if err := flagsFromEnv(fs, "PORTCULLIS_"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--policy-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if *level != "debug" || *dir != "/from/flag" || *other != "/a" {
		t.Errorf("level %q dir %q audit %q", *level, *dir, *other)
	}
	t.Setenv("PORTCULLIS_RELOAD_INTERVAL", "soon")
	fs2 := newFlags("y", "", &bytes.Buffer{})
	fs2.Duration("reload-interval", 0, "")
	if err := flagsFromEnv(fs2, "PORTCULLIS_"); err == nil || !strings.Contains(err.Error(), "PORTCULLIS_RELOAD_INTERVAL") {
		t.Errorf("bad env value: %v", err)
	}
}

// TestEvalDockerCommand judges docker run and docker create command lines.
func TestEvalDockerCommand(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"docker", "run", "--rm", "-v", "/srv/scratch/x:/x", "busybox"}, exitFailed, []string{"decision: deny", "mounts.root_writable", "to fix: mount it read-only"}},
		{[]string{"docker", "run", "--rm", "-v", "/srv/scratch/x:/x:ro", "busybox"}, exitOK, []string{"decision: allow"}},
		{[]string{"docker", "container", "create", "-u", "1000:1000", "--security-opt", "no-new-privileges", "--mount", "type=bind,src=/srv/scratch/x,dst=/x", "busybox"}, exitOK, []string{"decision: allow"}},
		{[]string{"run", "--privileged", "busybox"}, exitFailed, []string{"container.privileged", "to fix: remove --privileged"}},
		{[]string{"docker", "ps"}, exitUsage, nil},
		{[]string{"docker", "run", "--no-such-flag", "busybox"}, exitUsage, nil},
	}
	for _, c := range cases {
		code, out, stderr := runCLI(t, append([]string{"eval", "--policy-dir", examples, "--"}, c.args...)...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s%s", c.args, code, c.code, out, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// TestEvalDecision judges a recorded request again, from its audit record,
// against the current policies: the writable bind data was allowed before
// the no-host-root rule is denied now.
func TestEvalDecision(t *testing.T) {
	code, out, stderr := runCLI(t, "eval", "--policy-dir", examples, "--audit-file", "testdata/audit.log", "--decision", "0195-bind")
	if code != exitFailed || !strings.Contains(out, "recorded: allow by policy \"data\"") || !strings.Contains(out, "mounts.root_writable") || !strings.Contains(out, "team \"data\"") {
		t.Errorf("0195-bind: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "eval", "--policy-dir", examples, "--audit-file", "testdata/audit.log", "--decision", "0195-ro")
	if code != exitOK || !strings.Contains(out, "decision: allow") {
		t.Errorf("0195-ro: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "eval", "--policy-dir", examples, "--audit-file", "testdata/audit.log", "--decision", "0195-ping")
	if code != exitOK || !strings.Contains(out, "action:   system.ping") {
		t.Errorf("0195-ping: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "eval", "--policy-dir", examples, "--audit-file", "testdata/audit.log", "--decision", "0195-svc"); code != exitRuntime || !strings.Contains(stderr, "does not hold the request body") {
		t.Errorf("0195-svc: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "eval", "--policy-dir", examples, "--audit-file", "testdata/audit.log", "--decision", "nope"); code != exitRuntime || !strings.Contains(stderr, "no decision nope") {
		t.Errorf("missing id: exit %d %s", code, stderr)
	}
	// Against another policy directory and another identity.
	code, out, _ = runCLI(t, "eval", "--policy-dir", "testdata/invalid", "--audit-file", "testdata/audit.log", "--decision", "0195-ro")
	if code != exitRuntime {
		t.Errorf("invalid policy dir: exit %d\n%s", code, out)
	}
}
