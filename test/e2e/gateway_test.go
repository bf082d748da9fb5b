//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gatewayEnv is a plugin, a private daemon with a loopback TLS listener,
// `portcullis gateway` in front of it on a Unix socket, and local Unix
// users created for the test (removed after).
type gatewayEnv struct {
	*Env
	Socket     string // the gateway's socket
	RefusalLog string
	LogFile    string
	Homes      string // parent of the users' home directories
	tag        string
	proc       *process
}

// localUser is a Unix user created for one test.
type localUser struct {
	Name     string
	UID, GID int
	Home     string
	// Unknown: the user database does not know the uid.
	Unknown bool
}

// gatewayPolicy: team "web" (Unix group <tag>web) must label its
// containers with its team; team "ops" (group <tag>ops) must run them
// read-only; everyone may bind their own home and nothing else.
func gatewayPolicy(tag, homes string) map[string]string {
	return map[string]string{"gateway.hcl": fmt.Sprintf(`
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.*", "session", "grpc"]
  }
  container {
    bind_allow = ["%[2]s/$user"]
  }
}
policy "web" {
  extends = "default"
  container {
    required_labels = { team = "$team" }
  }
}
policy "ops" {
  extends = "default"
  container {
    require_read_only_rootfs = true
  }
}
team "web" { groups = ["%[1]sweb"] }
team "ops" { groups = ["%[1]sops"] }
`, tag, homes)}
}

func newGatewayEnv(t *testing.T) *gatewayEnv {
	t.Helper()
	return newGatewayEnvPolicy(t, gatewayPolicy)
}

// newGatewayEnvPolicy is newGatewayEnv with the policy files policy
// returns for the test's tag (group names are <tag><team>) and the
// users' homes, and extra dockerd arguments.
func newGatewayEnvPolicy(t *testing.T, policy func(tag, homes string) map[string]string, daemonArgs ...string) *gatewayEnv {
	t.Helper()
	tag := "gateway" + randomHex(3)
	dir0 := ShortTempDir(t)
	homes := filepath.Join(dir0, "home")
	e := &gatewayEnv{tag: tag, Homes: homes}
	e.Env = NewEnv(t, Options{TLS: true, PolicyFiles: policy(tag, homes), DaemonArgs: daemonArgs})
	// Users must reach the gateway's socket and their homes.
	for _, d := range []string{dir0, e.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(homes, 0o755); err != nil {
		t.Fatal(err)
	}
	pki := e.Daemon.PKI
	keyFile := filepath.Join(pki.Dir, "ca-key.pem")
	der, err := x509.MarshalECPrivateKey(pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", der); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Socket, e.RefusalLog, e.LogFile, e.proc = e.startGateway(t, "gw", nil)
	return e
}

// startGateway starts a gateway in front of e's daemon, with its socket,
// refusal log and log in e.Dir/name and env added to its environment;
// stopped when the test ends.
func (e *gatewayEnv) startGateway(t *testing.T, name string, env []string) (socket, refusalLog, logFile string, proc *process) {
	t.Helper()
	pki := e.Daemon.PKI
	gw := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(gw, 0o755); err != nil {
		t.Fatal(err)
	}
	socket = filepath.Join(gw, "docker.sock")
	refusalLog = filepath.Join(gw, "refused.log")
	logFile = filepath.Join(gw, "gateway.log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(portcullisBin, "gateway", "--listen", socket, "--daemon", e.Daemon.TCPAddr,
		"--ca-cert", pki.CAFile, "--ca-key", filepath.Join(pki.Dir, "ca-key.pem"), "--refusal-log", refusalLog,
		"--user-cache", "0s", "--shutdown-timeout", "5s", "--log-level", "debug")
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	proc, err = startProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := proc.stop(10 * time.Second); err != nil {
			t.Errorf("gateway stop: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", tailFile(logFile, 60))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !canDial(socket) {
		if proc.exited() || time.Now().After(deadline) {
			t.Fatalf("gateway did not start:\n%s", tailFile(logFile, 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return socket, refusalLog, logFile, proc
}

// user creates a Unix user whose primary group is primary ("" for a
// group of its own) with a home under e.Homes; removed when the test ends.
func (e *gatewayEnv) user(t *testing.T, suffix, primary string) *localUser {
	t.Helper()
	name := e.tag + suffix
	home := filepath.Join(e.Homes, name)
	args := []string{"-M", "-d", home, "-s", "/bin/sh"}
	if primary == "" {
		args = append(args, "-U")
	} else {
		group := e.tag + primary
		if out, err := exec.Command("groupadd", group).CombinedOutput(); err != nil && !strings.Contains(string(out), "already exists") {
			t.Fatalf("groupadd %s: %v %s", group, err, out)
		}
		t.Cleanup(func() { exec.Command("groupdel", group).Run() })
		args = append(args, "-N", "-g", group)
	}
	if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v %s", name, err, out)
		}
		if primary == "" {
			exec.Command("groupdel", name).Run() // when userdel left it
		}
	})
	u := &localUser{Name: name, Home: home}
	for _, f := range []struct {
		flag string
		dst  *int
	}{{"-u", &u.UID}, {"-g", &u.GID}} {
		out, err := exec.Command("id", f.flag, name).Output()
		if err != nil {
			t.Fatal(err)
		}
		*f.dst, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, u.UID, u.GID)
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

// as runs the docker CLI on the gateway's socket as u, in dir (u's home
// when ""), with stdin and extra environment.
func (e *gatewayEnv) as(u *localUser, dir string, stdin io.Reader, extraEnv []string, args ...string) Result {
	return e.asCmd(u, dir, stdin, extraEnv, append([]string{dockerBin}, args...)...)
}

// asCmd runs any command as u with the gateway as DOCKER_HOST.
func (e *gatewayEnv) asCmd(u *localUser, dir string, stdin io.Reader, extraEnv []string, argv ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	groups := "--init-groups"
	if u.Unknown {
		groups = "--clear-groups"
	}
	full := append([]string{"--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), groups, "--"}, argv...)
	cmd := exec.CommandContext(ctx, "setpriv", full...)
	cmd.WaitDelay = 5 * time.Second
	if dir == "" {
		dir = u.Home
	}
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name, "PWD=" + dir,
		"DOCKER_HOST=unix://" + e.Socket, "DOCKER_CONFIG=" + filepath.Join(u.Home, ".docker"), "DOCKER_CLI_HINTS=false",
	}, extraEnv...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Args: argv, Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: -1}
	var exit *exec.ExitError
	switch {
	case err == nil:
		r.ExitCode = 0
	case ctx.Err() != nil:
		r.Err = fmt.Errorf("timed out: %w", err)
	case errorsAs(err, &exit):
		r.ExitCode = exit.ExitCode()
	default:
		r.Err = err
	}
	return r
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// auditIdentity is the part of an audit record these tests read.
type auditIdentity struct {
	Decision string `json:"decision"`
	Type     string `json:"type"`
	Phase    string `json:"phase"`
	Action   string `json:"action"`
	URI      string `json:"uri"`
	Identity *struct {
		User string `json:"user"`
		Team string `json:"team"`
		UID  string `json:"uid"`
		PID  int    `json:"pid"`
		Exe  string `json:"exe"`
	} `json:"identity"`
}

func (e *gatewayEnv) records(t *testing.T) []auditIdentity {
	t.Helper()
	b, err := e.Plugin.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var out []auditIdentity
	for _, line := range bytes.Split(b, []byte("\n")) {
		var r auditIdentity
		if len(line) > 0 && json.Unmarshal(line, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// requireRecord waits for a request record of action by user (the audit
// file is written before the daemon is answered, so it is there when the
// CLI returns) and returns it.
func (e *gatewayEnv) requireRecord(t *testing.T, user, action string) auditIdentity {
	t.Helper()
	for _, r := range e.records(t) {
		if r.Identity != nil && r.Identity.User == user && r.Action == action && r.Decision != "" {
			return r
		}
	}
	t.Fatalf("no %s record for user %s in the audit trail", action, user)
	return auditIdentity{}
}

// TestGatewayIdentity: three local users (two in different team groups,
// one in none) reach the daemon through the gateway; each is named in the
// audit trail with uid, pid and executable, their team policies apply,
// -v "$PWD":/app works in one's own home only, and no header, environment
// variable or socket trick passes as another user.
func TestGatewayIdentity(t *testing.T) {
	e := newGatewayEnv(t)
	alice := e.user(t, "a", "web")
	bob := e.user(t, "b", "ops")
	carol := e.user(t, "c", "")
	img := e.Image

	t.Run("teams apply", func(t *testing.T) {
		e.RequireDenied(t, e.as(alice, "", nil, nil, "run", "--rm", img, "true"), "labels.required", `label "team" is required`)
		RequireOK(t, e.as(alice, "", nil, nil, "run", "--rm", "--label", "team=web", img, "true"))
		e.RequireDenied(t, e.as(bob, "", nil, nil, "run", "--rm", img, "true"), "read-only")
		RequireOK(t, e.as(bob, "", nil, nil, "run", "--rm", "--read-only", img, "true"))
		RequireOK(t, e.as(carol, "", nil, nil, "run", "--rm", img, "true"))
	})

	t.Run("audit names each user", func(t *testing.T) {
		for _, c := range []struct {
			u    *localUser
			team string
		}{{alice, "web"}, {bob, "ops"}, {carol, ""}} {
			r := e.requireRecord(t, c.u.Name, "container.create")
			id := r.Identity
			if id.UID != strconv.Itoa(c.u.UID) || id.Team != c.team || id.PID <= 0 || filepath.Base(id.Exe) != "docker" {
				t.Errorf("%s: identity %+v, want uid %d team %q, a pid and the docker executable", c.u.Name, *id, c.u.UID, c.team)
			}
		}
	})

	t.Run("bind the caller's own home only", func(t *testing.T) {
		sub := filepath.Join(alice.Home, "project")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(sub, alice.UID, alice.GID)
		// As the default asks of a writable bind: the caller's own uid,
		// unable to become root (mounts.root_writable).
		run := []string{"sh", "-c", `exec "$0" run --rm --label team=web --user "$(id -u):$(id -g)" --security-opt no-new-privileges -v "$PWD":/app "$1" true`, dockerBin, img}
		RequireOK(t, e.asCmd(alice, sub, nil, nil, run...))
		r := e.asCmd(alice, carol.Home, nil, nil, run...)
		e.RequireDenied(t, r, "mounts.bind", carol.Home)
		// Carol's own home is hers.
		RequireOK(t, e.asCmd(carol, "", nil, nil, "sh", "-c", `exec "$0" run --rm --user "$(id -u):$(id -g)" --security-opt no-new-privileges -v "$PWD":/app "$1" true`, dockerBin, img))
	})

	t.Run("no header passes as another", func(t *testing.T) {
		cfg := filepath.Join(carol.Home, ".docker", "config.json")
		headers := fmt.Sprintf(`{"HttpHeaders":{"X-Portcullis-Peer":"pid=1&exe=%%2Fsbin%%2Finit","X-Forwarded-User":%q,"X-Remote-User":%q,"Remote-User":%q}}`, alice.Name, alice.Name, alice.Name)
		if err := os.WriteFile(cfg, []byte(headers), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(cfg)
		// As alice this would need the label; as carol it runs.
		RequireOK(t, e.as(carol, "", nil, nil, "run", "--rm", "--label", "forged=1", img, "true"))
		for _, r := range e.records(t) {
			if r.Action == "container.create" && r.Identity != nil && r.Identity.PID == 1 {
				t.Errorf("a client's header set the pid: %+v", *r.Identity)
			}
		}
	})

	t.Run("no environment passes as another", func(t *testing.T) {
		env := []string{"USER=" + alice.Name, "LOGNAME=" + alice.Name, "SUDO_USER=" + alice.Name, "SUDO_UID=" + strconv.Itoa(alice.UID), "DOCKER_CERT_PATH=" + e.Daemon.PKI.Dir}
		r := e.as(carol, "", nil, env, "run", "--rm", "--label", "env=1", img, "true")
		RequireOK(t, r)
		var last auditIdentity
		for _, rec := range e.records(t) {
			if rec.Action == "container.create" && rec.Identity != nil {
				last = rec
			}
		}
		if last.Identity == nil || last.Identity.User != carol.Name {
			t.Errorf("last create judged as %+v, want %s", last.Identity, carol.Name)
		}
	})

	t.Run("no socket trick passes as another", func(t *testing.T) {
		// The daemon's own socket and its TLS listener are not the way in.
		r := e.asCmd(carol, "", nil, nil, dockerBin, "-H", "unix://"+e.Daemon.Socket, "version", "--format", "{{.Server.Version}}")
		if r.ExitCode == 0 {
			t.Errorf("a user reached the daemon's socket directly: %s", r)
		}
		r = e.asCmd(carol, "", nil, nil, dockerBin, "-H", "tcp://"+e.Daemon.TCPAddr, "version", "--format", "{{.Server.Version}}")
		if r.ExitCode == 0 {
			t.Errorf("a user reached the TLS listener without a certificate: %s", r)
		}
		// A certificate of one's own naming alice, from a CA the daemon
		// does not trust.
		other := NewPKI(t, filepath.Join(carol.Home, "pki"))
		certDir := other.ClientCert(t, alice.Name, "web")
		filepath.Walk(filepath.Join(carol.Home, "pki"), func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, carol.UID, carol.GID) })
		r = e.asCmd(carol, "", nil, []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + certDir}, dockerBin, "-H", "tcp://"+e.Daemon.TCPAddr, "version", "--format", "{{.Server.Version}}")
		if r.ExitCode == 0 {
			t.Errorf("a self-made certificate naming alice was accepted: %s", r)
		}
	})

	t.Run("unknown user refused and recorded", func(t *testing.T) {
		ghost := &localUser{Name: "ghost", UID: 64999, GID: 64999, Home: "/tmp", Unknown: true}
		if _, err := exec.Command("getent", "passwd", "64999").Output(); err == nil {
			t.Fatal("uid 64999 exists on this host; pick another for this test")
		}
		r := e.as(ghost, "/tmp", nil, []string{"DOCKER_CONFIG=" + filepath.Join(e.Dir, "gw")}, "version", "--format", "{{.Server.Version}}")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "no such user") {
			t.Fatalf("want a refusal naming the unknown user, got %s", r)
		}
		b, err := os.ReadFile(e.RefusalLog)
		if err != nil || !bytes.Contains(b, []byte(`"uid":64999`)) || !bytes.Contains(b, []byte(`"event":"gateway.refused"`)) {
			t.Fatalf("refusal log %q: %v", b, err)
		}
	})

	t.Run("status", func(t *testing.T) {
		r := e.asCmd(alice, "", nil, nil, portcullisBin, "status", "--gateway", e.Socket)
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, "healthy") || !strings.Contains(r.Stdout, alice.Name) {
			t.Errorf("status: %s", r)
		}
	})
}

// TestGatewayCLIFlows: what the docker CLI does works through the
// gateway: hijacked streams with and without a terminal, attach, logs -f,
// events (left mid-stream), cp both ways, the classic builder, BuildKit's
// session upgrade, --rm, and bodies of 1 MiB and more and chunked bodies,
// which the daemon treats exactly as it does without the gateway (daemon
// behaviour it depends on: BodyForwarding, which differs between 29 and
// 20.10).
func TestGatewayCLIFlows(t *testing.T) {
	e := newGatewayEnv(t)
	u := e.user(t, "c", "")
	img := e.Image
	d := func(args ...string) Result { return e.as(u, "", nil, nil, args...) }

	t.Run("run -i with stdin", func(t *testing.T) {
		r := e.as(u, "", strings.NewReader("hello through the gateway\n"), nil, "run", "-i", "--rm", img, "cat")
		RequireOK(t, r)
		if r.Stdout != "hello through the gateway\n" {
			t.Errorf("stdout %q", r.Stdout)
		}
	})

	t.Run("run -it in a terminal", func(t *testing.T) {
		r := e.asCmd(u, "", strings.NewReader(""), nil, "script", "-qec", dockerBin+" run -it --rm "+img+" sh -c 'echo tty-ok; tty'", "/dev/null")
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, "tty-ok") || !strings.Contains(r.Stdout, "/dev/pts/") {
			t.Errorf("stdout %q", r.Stdout)
		}
	})

	name := e.tag + "-box"
	RequireOK(t, d("run", "-d", "--name", name, img, "sleep", "300"))
	t.Cleanup(func() { e.Docker("rm", "-f", name) })

	t.Run("exec -i and exec -it", func(t *testing.T) {
		r := e.as(u, "", strings.NewReader("from stdin"), nil, "exec", "-i", name, "cat")
		RequireOK(t, r)
		if r.Stdout != "from stdin" {
			t.Errorf("exec -i stdout %q", r.Stdout)
		}
		r = e.asCmd(u, "", strings.NewReader(""), nil, "script", "-qec", dockerBin+" exec -it "+name+" sh -c 'echo exec-tty; tty'", "/dev/null")
		RequireOK(t, r)
		if !strings.Contains(r.Stdout, "exec-tty") || !strings.Contains(r.Stdout, "/dev/pts/") {
			t.Errorf("exec -it stdout %q", r.Stdout)
		}
	})

	t.Run("cp both ways", func(t *testing.T) {
		src := filepath.Join(u.Home, "in.txt")
		payload := strings.Repeat("portcullis gateway cp\n", 50000) // about 1 MiB
		os.WriteFile(src, []byte(payload), 0o644)
		os.Chown(src, u.UID, u.GID)
		RequireOK(t, d("cp", src, name+":/tmp/in.txt"))
		RequireOK(t, d("cp", name+":/tmp/in.txt", filepath.Join(u.Home, "out.txt")))
		got, err := os.ReadFile(filepath.Join(u.Home, "out.txt"))
		if err != nil || string(got) != payload {
			t.Errorf("cp round trip: %d bytes, %v", len(got), err)
		}
	})

	t.Run("attach", func(t *testing.T) {
		att := e.tag + "-att"
		RequireOK(t, d("run", "-d", "-i", "--name", att, img, "sh", "-c", "read line; echo got $line"))
		t.Cleanup(func() { e.Docker("rm", "-f", att) })
		// Stdin stays open until the answer is seen: the daemon ends an
		// attach whose stdin closes (the container has no StdinOnce).
		cmd := exec.Command("setpriv", "--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), "--init-groups", "--", dockerBin, "attach", att)
		cmd.Env = []string{"HOME=" + u.Home, "DOCKER_HOST=unix://" + e.Socket, "DOCKER_CONFIG=" + filepath.Join(u.Home, ".docker")}
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := make(chan string, 4)
		go func() {
			s := bufio.NewScanner(stdout)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		// The attach is up once the CLI has its stream; the container
		// waits for a line, so send until it answers.
		got := false
		for i := 0; i < 40 && !got; i++ {
			if i == 0 {
				io.WriteString(stdin, "hi\n")
			}
			select {
			case l := <-lines:
				got = l == "got hi"
			case <-time.After(500 * time.Millisecond):
			}
		}
		stdin.Close()
		if !got {
			t.Fatal("no answer through the attached stream")
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("attach: %v", err)
		}
	})

	t.Run("logs -f", func(t *testing.T) {
		lg := e.tag + "-logs"
		RequireOK(t, d("run", "-d", "--name", lg, img, "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"))
		t.Cleanup(func() { e.Docker("rm", "-f", lg) })
		r := d("logs", "-f", lg)
		RequireOK(t, r)
		if r.Stdout != "line1\nline2\nline3\n" {
			t.Errorf("logs -f stdout %q", r.Stdout)
		}
	})

	t.Run("events, left mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "setpriv", "--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), "--init-groups", "--",
			dockerBin, "events", "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
		cmd.Env = []string{"HOME=" + u.Home, "DOCKER_HOST=unix://" + e.Socket, "DOCKER_CONFIG=" + filepath.Join(u.Home, ".docker")}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 16)
		go func() {
			s := bufio.NewScanner(out)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		ev := e.tag + "-ev"
		// The events stream is open once the daemon has answered; the
		// create below may race it, so create until it is seen.
		seen := false
		for i := 0; i < 20 && !seen; i++ {
			RequireOK(t, d("create", "--name", fmt.Sprintf("%s%d", ev, i), img, "true"))
			defer e.Docker("rm", "-f", fmt.Sprintf("%s%d", ev, i))
			timer := time.NewTimer(2 * time.Second)
		wait:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatal("events ended early")
					}
					if strings.HasPrefix(l, "create "+ev) {
						seen = true
						break wait
					}
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		if !seen {
			t.Fatal("no create event came through the gateway")
		}
		// The client goes away mid-stream; the gateway keeps serving.
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		RequireOK(t, d("version"))
	})

	t.Run("--rm waits and removes", func(t *testing.T) {
		rm := e.tag + "-rm"
		RequireOK(t, d("run", "--rm", "--name", rm, img, "sh", "-c", "sleep 0.5; exit 0"))
		r := d("ps", "-a", "--filter", "name="+rm, "--format", "{{.Names}}")
		RequireOK(t, r)
		if strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("container left after --rm: %q", r.Stdout)
		}
		r = d("run", "--rm", img, "sh", "-c", "exit 3")
		if r.ExitCode != 3 {
			t.Errorf("exit code through --rm: %s", r)
		}
	})

	t.Run("classic build", func(t *testing.T) {
		ctxDir := filepath.Join(u.Home, "build")
		os.MkdirAll(ctxDir, 0o755)
		os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+img+"\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n"), 0o644)
		os.WriteFile(filepath.Join(ctxDir, "hello.txt"), []byte("built through the gateway\n"), 0o644)
		filepath.Walk(ctxDir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, u.UID, u.GID) })
		tag := e.tag + "-built:1"
		r := e.as(u, "", nil, []string{"DOCKER_BUILDKIT=0"}, "build", "-t", tag, ctxDir)
		RequireOK(t, r)
		t.Cleanup(func() { e.Docker("rmi", "-f", tag) })
		r = d("run", "--rm", tag, "cat", "/hello.txt")
		RequireOK(t, r)
		if r.Stdout != "built through the gateway\n" {
			t.Errorf("built image: %q", r.Stdout)
		}
	})

	// The HTTP tests below run as root (this process), a user of this
	// host like any other.
	client := unixHTTPClient(e.Socket, time.Minute)

	t.Run("BuildKit session upgrades to h2c", func(t *testing.T) {
		c, err := net.Dial("unix", e.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nX-Docker-Expose-Session-Uuid: %s\r\nX-Docker-Expose-Session-Name: e2e\r\nX-Docker-Expose-Session-Sharedkey: k\r\nContent-Length: 0\r\n\r\n", e.Daemon.API("/session"), randomHex(16))
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
			t.Fatalf("session: %q, %v", status, err)
		}
	})

	bigCreate := func(size int, privileged bool) []byte {
		b := []byte(fmt.Sprintf(`{"Image":%q,"Cmd":["true"],"HostConfig":{"Privileged":%v},"Labels":{"pad":""}}`, img, privileged))
		pad := size - len(b)
		if pad < 0 {
			pad = 0
		}
		return bytes.Replace(b, []byte(`"pad":""`), []byte(`"pad":"`+strings.Repeat("x", pad)+`"`), 1)
	}
	// What the daemon does with bodies (Daemon.BodyForwarding): 20.10
	// forwards bodies under 1 MiB, 29 up to 4 MiB and refuses larger ones
	// itself. Through the gateway it must be exactly that.
	fw := e.Daemon.BodyForwarding()
	post := func(body []byte, chunked bool) (int, []byte) {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			pr, pw := io.Pipe()
			go func() {
				for len(body) > 0 {
					n := min(len(body), 64<<10)
					pw.Write(body[:n])
					body = body[n:]
				}
				pw.Close()
			}()
			rd = pr
		}
		req, _ := http.NewRequest(http.MethodPost, "http://docker"+e.Daemon.API("/containers/create"), rd)
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, b
	}
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("bodies of 1 MiB and more, chunked %v", chunked), func(t *testing.T) {
			// A privileged create of 1 MiB: judged and denied where the
			// daemon forwards it (29), denied for its missing body where
			// it does not (20.10).
			code, b := post(bigCreate(1<<20, true), chunked)
			if code != http.StatusForbidden || !bytes.Contains(b, []byte("authorization denied")) {
				t.Fatalf("privileged, 1 MiB: %d %s", code, b)
			}
			// Over the daemon's limit: never created.
			code, b = post(bigCreate(fw.Max+1024, false), chunked)
			switch {
			case fw.RefusesLarger && (code != http.StatusInternalServerError || !bytes.Contains(b, []byte(refusedTooLarge))):
				t.Fatalf("over the limit: %d %s, want the daemon's refusal", code, b)
			case !fw.RefusesLarger && (code != http.StatusForbidden || !bytes.Contains(b, []byte("authorization denied"))):
				t.Fatalf("over the limit: %d %s, want the plugin's denial", code, b)
			}
			// A small privileged one is judged as directly.
			code, b = post(bigCreate(200, true), chunked)
			if code != http.StatusForbidden || !bytes.Contains(b, []byte("privileged")) {
				t.Fatalf("privileged, small: %d %s", code, b)
			}
		})
	}

	t.Run("a small body as root is judged as root", func(t *testing.T) {
		resp, err := client.Post("http://docker"+e.Daemon.API("/containers/create"), "application/json", bytes.NewReader(bigCreate(10, false)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var created struct{ Id string }
		json.Unmarshal(b, &created)
		defer e.Docker("rm", "-f", created.Id)
		r := e.requireRecord(t, "root", "container.create")
		if r.Identity.UID != "0" {
			t.Errorf("root's record: %+v", *r.Identity)
		}
	})
}
