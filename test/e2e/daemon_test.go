//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// systemContainerdSocket is where dockerd looks for a system containerd
// before starting its own. If that socket exists, dockerd attaches to it
// and shares it (and its "moby" namespace) with whatever daemon owns it, so
// StartDaemon then runs a private containerd instead.
const systemContainerdSocket = "/run/containerd/containerd.sock"

// envPrivateContainerd forces a private containerd even when no system
// containerd is running (to exercise that path).
const envPrivateContainerd = "PORTCULLIS_E2E_PRIVATE_CONTAINERD"

// envStorageDriver forces a storage driver.
const envStorageDriver = "PORTCULLIS_E2E_STORAGE_DRIVER"

// storageDrivers are tried in order; the first that works is remembered for
// the rest of the run. overlay2 needs a kernel with overlayfs and a
// data root that is not itself on overlayfs (nested Docker); vfs works
// everywhere, slowly.
var storageDrivers = []string{"overlay2", "vfs"}

var (
	storageMu     sync.Mutex
	storageChosen string
)

// DaemonConfig configures StartDaemon. Only Dir is required.
type DaemonConfig struct {
	// Dir holds everything the daemon owns: data root, exec root, socket,
	// pidfile, log. Keep it short (see ShortTempDir).
	Dir string
	// AuthzPlugins are passed as --authorization-plugin, in order.
	AuthzPlugins []string
	// PKI, when set, also serves tcp://127.0.0.1:<free port> with
	// --tlsverify and the PKI's CA and server certificate.
	PKI *PKI
	// Args are extra dockerd arguments.
	Args []string
	// LogLevel is dockerd's --log-level; default "info". "debug" logs
	// every authorization request and response.
	LogLevel string
	// Activated, when set, is a Unix socket the harness creates and hands
	// to dockerd as systemd socket activation does (fd 3, LISTEN_FDS=1,
	// LISTEN_PID = dockerd's pid) with -H fd://, beside its own socket.
	Activated string
}

// Daemon is a private dockerd. It shares nothing with a daemon that may
// already run on the machine: its own data root, exec root, socket,
// pidfile and containerd, no bridge and no iptables rules.
type Daemon struct {
	Dir           string
	DataRoot      string // --data-root
	ExecRoot      string // --exec-root
	Socket        string // the Unix socket it serves
	PIDFile       string
	LogFile       string // dockerd's (and its containerd's) output
	ConfigDir     string // DOCKER_CONFIG for the CLI: empty, not the host's
	StorageDriver string // the driver it runs with
	TCPAddr       string // "127.0.0.1:port" with a PKI, else ""
	PKI           *PKI
	APIVersion    string // the daemon's (highest) API version, for example "1.41"; see API
	MinAPIVersion string // the oldest API version it accepts, for example "1.12"
	Version       string // the engine's version, for example "29.8.0" or "20.10.24+dfsg1"
	Containerd    string // the containerd socket it uses

	t          testing.TB
	proc       *process
	containerd *process // a private containerd we run, if any
	stopOnce   sync.Once
	stopErr    error
}

// StartDaemon starts dockerd and waits until it answers /_ping. Cleanup
// stops it, kills what it left behind and unmounts everything under Dir.
func StartDaemon(t testing.TB, cfg DaemonConfig) *Daemon {
	t.Helper()
	if cfg.Dir == "" {
		t.Fatal("StartDaemon: DaemonConfig.Dir is required")
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	d := &Daemon{
		Dir:       cfg.Dir,
		ExecRoot:  filepath.Join(cfg.Dir, "x"),
		Socket:    filepath.Join(cfg.Dir, "docker.sock"),
		PIDFile:   filepath.Join(cfg.Dir, "docker.pid"),
		LogFile:   filepath.Join(cfg.Dir, "dockerd.log"),
		ConfigDir: filepath.Join(cfg.Dir, "cli"),
		PKI:       cfg.PKI,
		t:         t,
	}
	for _, dir := range []string{d.Dir, d.ConfigDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// An empty daemon.json so the host's /etc/docker/daemon.json (hosts,
	// storage driver, registry mirrors, ...) is not read.
	configFile := filepath.Join(cfg.Dir, "daemon.json")
	if err := os.WriteFile(configFile, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop dockerd: %v", err)
		}
		if t.Failed() {
			t.Logf("dockerd log (grpc chatter left out):\n%s", tailFile(d.LogFile, 150, "[core]", "module=grpc"))
		}
	})

	if os.Getenv(envPrivateContainerd) != "" || exists(systemContainerdSocket) {
		if err := d.startContainerd(); err != nil {
			t.Fatalf("private containerd: %v", err)
		}
	}

	storageMu.Lock()
	defer storageMu.Unlock()
	drivers := storageDrivers
	if s := os.Getenv(envStorageDriver); s != "" {
		drivers = []string{s}
	} else if storageChosen != "" {
		drivers = []string{storageChosen}
	}
	var errs []error
	for i, driver := range drivers {
		// A fresh data root per attempt: a failed driver leaves its
		// directory behind and dockerd would insist on it.
		d.DataRoot = filepath.Join(cfg.Dir, "data"+strconv.Itoa(i))
		d.StorageDriver = driver
		err := d.start(cfg, configFile)
		if err == nil {
			storageChosen = driver
			return d
		}
		errs = append(errs, fmt.Errorf("storage driver %s: %w", driver, err))
		if !errors.Is(err, errStorageDriver) {
			break
		}
		t.Logf("dockerd failed with storage driver %s, trying the next one", driver)
	}
	t.Fatalf("start dockerd: %v", errors.Join(errs...))
	return nil
}

var errStorageDriver = errors.New("storage driver unusable")

func (d *Daemon) start(cfg DaemonConfig, configFile string) error {
	args := []string{
		"--config-file", configFile,
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"--pidfile", d.PIDFile,
		"-H", "unix://" + d.Socket,
		"--storage-driver", d.StorageDriver,
		"--log-level", cfg.LogLevel,
		// Networking: no docker0 bridge and no iptables rules. The host
		// may have its own docker0 and DOCKER chains; a second daemon
		// touching either would break it or us. Containers get only a
		// loopback interface ("none"), which is all these tests need.
		// --ip-masq and the userland proxy only matter with a bridge;
		// they are off so nothing reaches for iptables or spawns proxies.
		"--bridge", "none",
		"--iptables=false",
		"--ip-masq=false",
		"--userland-proxy=false",
		// Containers still running at shutdown get 3s, not 15s.
		"--shutdown-timeout", "3",
	}
	for _, name := range cfg.AuthzPlugins {
		args = append(args, "--authorization-plugin", name)
	}
	if d.Containerd != "" {
		args = append(args, "--containerd", d.Containerd)
	}
	if d.PKI != nil {
		d.TCPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeTCPPort(d.t)))
		args = append(args,
			"--tlsverify",
			"--tlscacert", d.PKI.CAFile,
			"--tlscert", d.PKI.ServerCert,
			"--tlskey", d.PKI.ServerKey,
			"-H", "tcp://"+d.TCPAddr,
		)
	}
	args = append(args, cfg.Args...)

	log, err := os.OpenFile(d.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== e2e: start %s %s\n", dockerdBin, strings.Join(args, " "))
	offset, _ := log.Seek(0, io.SeekEnd)
	cmd := exec.Command(dockerdBin, args...)
	cmd.Env = daemonEnv()
	var activated *os.File
	if cfg.Activated != "" {
		if activated, err = activationSocket(cfg.Activated); err != nil {
			return err
		}
		defer activated.Close()
		// LISTEN_PID must be dockerd's own: the shell's, which exec keeps.
		cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, dockerdBin)
		cmd.Args = append(cmd.Args, args...)
		cmd.Args = append(cmd.Args, "-H", "fd://")
		cmd.Env = append(daemonEnv(), "LISTEN_FDS=1")
		cmd.ExtraFiles = []*os.File{activated}
	}
	cmd.Stdout = log
	cmd.Stderr = log
	proc, err := startProcess(cmd)
	if err != nil {
		return err
	}
	d.proc = proc

	deadline := time.Now().Add(60 * time.Second)
	for {
		if proc.exited() {
			b, _ := os.ReadFile(d.LogFile)
			if int(offset) <= len(b) {
				b = b[offset:]
			}
			err := fmt.Errorf("dockerd exited during startup (%v):\n%s", proc.err, lastLines(string(b), 30, "[core]"))
			if bytes.Contains(b, []byte("graphdriver")) || bytes.Contains(b, []byte("storage-driver")) || bytes.Contains(b, []byte("storage driver")) {
				err = fmt.Errorf("%w: %w", errStorageDriver, err)
			}
			d.cleanupProcesses()
			return err
		}
		if d.ping() == nil {
			break
		}
		if time.Now().After(deadline) {
			d.cleanupProcesses()
			return fmt.Errorf("dockerd not answering /_ping on %s after 60s:\n%s", d.Socket, tailFile(d.LogFile, 30, "[core]"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	if d.Containerd == "" {
		// dockerd started its own containerd below the exec root; had it
		// found a system containerd it would have attached to that.
		managed := filepath.Join(d.ExecRoot, "containerd", "containerd.sock")
		if !exists(managed) {
			return fmt.Errorf("dockerd is not using its own containerd (%s missing); is a system containerd running?", managed)
		}
		d.Containerd = managed
	}
	var v struct {
		Version       string
		APIVersion    string `json:"ApiVersion"`
		MinAPIVersion string `json:"MinAPIVersion"`
	}
	if err := d.getJSON("/version", &v); err != nil {
		return fmt.Errorf("GET /version: %w", err)
	}
	d.Version, d.APIVersion, d.MinAPIVersion = v.Version, v.APIVersion, v.MinAPIVersion
	if !strings.HasPrefix(d.Version, engine+".") {
		return fmt.Errorf("the daemon reports version %q, not Docker Engine %s", d.Version, engine)
	}
	return nil
}

// activationSocket creates a listening Unix socket at path (mode 0600)
// and returns its file, for a child to inherit.
func activationSocket(path string) (*os.File, error) {
	os.Remove(path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// The file outlives the listener; closing the listener must not
	// remove the socket dockerd serves.
	l.SetUnlinkOnClose(false)
	defer l.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, err
	}
	return l.File()
}

// ping checks that the daemon answers HTTP on its socket. Any status
// counts: a policy may deny /_ping, and the daemon is up all the same.
func (d *Daemon) ping() error {
	c := unixHTTPClient(d.Socket, 2*time.Second)
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

func (d *Daemon) getJSON(path string, v any) error {
	resp, err := unixHTTPClient(d.Socket, 10*time.Second).Get("http://docker" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// startContainerd runs a containerd that only this daemon uses, with its
// root, state and sockets under Dir.
func (d *Daemon) startContainerd() error {
	bin, err := exec.LookPath("containerd")
	if engineBinDir != "" {
		bin, err = filepath.Join(engineBinDir, "containerd"), nil
	}
	if err != nil {
		return err
	}
	dir := filepath.Join(d.Dir, "ctr")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sock := filepath.Join(dir, "c.sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	configFile := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(bin, "--config", configFile)
	cmd.Env = daemonEnv()
	cmd.Stdout = log
	cmd.Stderr = log
	proc, err := startProcess(cmd)
	if err != nil {
		return err
	}
	d.containerd = proc
	deadline := time.Now().Add(30 * time.Second)
	for !canDial(sock) {
		if proc.exited() || time.Now().After(deadline) {
			return fmt.Errorf("containerd did not come up (%v):\n%s", proc.err, tailFile(log.Name(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.Containerd = sock
	return nil
}

// Stop stops dockerd with SIGTERM (SIGKILL after 30s), then its private
// containerd if any, kills every process left that refers to Dir
// (containerd-shims) and unmounts everything under Dir. It is idempotent and
// runs on cleanup; a test may call it earlier.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		var errs []error
		if d.proc != nil {
			if err := d.proc.stop(30 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, d.cleanupProcesses())
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

func (d *Daemon) cleanupProcesses() error {
	var errs []error
	if d.containerd != nil {
		if err := d.containerd.stop(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("containerd: %w", err))
		}
	}
	if killed := killProcessesUnder(d.Dir); len(killed) > 0 {
		d.t.Logf("killed processes left behind by dockerd:\n  %s", strings.Join(killed, "\n  "))
	}
	if err := unmountAll(d.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Running reports whether dockerd is alive.
func (d *Daemon) Running() bool { return d.proc != nil && !d.proc.exited() }

// Log returns dockerd's output so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.LogFile)
	return string(b)
}

// API prefixes path with the daemon's API version: API("/containers/create")
// is "/v1.41/containers/create" on 20.10 and "/v1.56/containers/create" on
// Engine 29.
func (d *Daemon) API(path string) string { return "/v" + d.APIVersion + path }

// APIAt prefixes path with the given API version: APIAt("1.44", "/info")
// is "/v1.44/info".
func (d *Daemon) APIAt(version, path string) string { return "/v" + version + path }

// Engine is the release line of the daemon: "29" or "20.10".
func (d *Daemon) Engine() string { return engine }

// Is29 reports whether the daemon is Docker Engine 29.
func (d *Daemon) Is29() bool { return engine == "29" }

// APIAtLeast reports whether the daemon's API version is v or newer.
func (d *Daemon) APIAtLeast(v string) bool { return compareAPIVersions(d.APIVersion, v) >= 0 }

// daemonEnv is the environment of dockerd and a private containerd: this
// process's, with engineBinDir first on PATH so dockerd starts the
// containerd, shim and runc built with it.
func daemonEnv() []string {
	env := os.Environ()
	if engineBinDir == "" {
		return env
	}
	path := engineBinDir + ":" + os.Getenv("PATH")
	out := []string{"PATH=" + path}
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return out
}

// compareAPIVersions compares API versions such as "1.41" and "1.9"
// numerically, part by part: -1, 0 or 1.
func compareAPIVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Local is a client on the daemon's Unix socket: no TLS, no user.
func (d *Daemon) Local() *Client {
	return &Client{
		Host:    "unix://" + d.Socket,
		d:       d,
		http:    unixHTTPClient(d.Socket, 2*time.Minute),
		baseURL: "http://docker",
	}
}

// As is a client on the daemon's TLS port whose certificate names user
// (CN) and teams (OU). It needs a daemon started with a PKI.
func (d *Daemon) As(t testing.TB, user string, teams ...string) *Client {
	t.Helper()
	if d.PKI == nil {
		t.Fatal("Daemon.As: the daemon has no TLS listener (start it with a PKI)")
	}
	return d.WithCerts(t, d.PKI.ClientCert(t, user, teams...))
}

// WithCerts is a client on the daemon's TLS port using the ca.pem,
// cert.pem and key.pem in certDir.
func (d *Daemon) WithCerts(t testing.TB, certDir string) *Client {
	t.Helper()
	if d.PKI == nil {
		t.Fatal("Daemon.WithCerts: the daemon has no TLS listener (start it with a PKI)")
	}
	cfg, err := d.PKI.TLSConfig(certDir)
	if err != nil {
		t.Fatalf("client TLS config: %v", err)
	}
	return &Client{
		Host:    "tcp://" + d.TCPAddr,
		CertDir: certDir,
		d:       d,
		http: &http.Client{
			Timeout:   2 * time.Minute,
			Transport: &http.Transport{TLSClientConfig: cfg},
		},
		baseURL: "https://" + d.TCPAddr,
	}
}

// Docker runs the docker CLI on the Unix socket.
func (d *Daemon) Docker(args ...string) Result { return d.Local().Docker(args...) }

// Do sends a request on the Unix socket; see Client.Do.
func (d *Daemon) Do(method, path string, header http.Header, body io.Reader) (*http.Response, []byte, error) {
	return d.Local().Do(method, path, header, body)
}

// Raw writes raw, a complete HTTP/1.1 request exactly as given, to the
// daemon's Unix socket and reads one response. For what net/http will not
// send: chunked bodies with a chosen framing, conflicting headers, bad
// lengths.
func (d *Daemon) Raw(raw []byte) (*http.Response, []byte, error) {
	conn, err := net.DialTimeout("unix", d.Socket, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	// Write while reading: the daemon may answer (a denial, a refusal)
	// before it has read the whole body and then close the connection,
	// and a large request would fail to write with EPIPE. A write error
	// matters only when no response came.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(raw)
		wrote <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		if werr := <-wrote; werr != nil {
			return nil, nil, fmt.Errorf("write request: %w (read response: %v)", werr, err)
		}
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	conn.Close()
	<-wrote
	return resp, body, err
}

// Client talks to the daemon as one identity: over the Unix socket
// (Daemon.Local) or over TLS with a client certificate (Daemon.As).
type Client struct {
	Host    string // DOCKER_HOST
	CertDir string // DOCKER_CERT_PATH; "" on the Unix socket

	d       *Daemon
	http    *http.Client
	baseURL string
}

// Result is what a docker CLI invocation produced.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int   // -1 when the CLI did not run to completion
	Err      error // why it did not run, or timed out
}

func (r Result) String() string {
	return fmt.Sprintf("docker %s: exit %d (err %v)\nstdout: %s\nstderr: %s",
		strings.Join(r.Args, " "), r.ExitCode, r.Err, r.Stdout, r.Stderr)
}

// Denied reports whether the daemon refused a request because an
// authorization plugin denied it.
func (r Result) Denied() bool { return strings.Contains(r.Stderr, "authorization denied by plugin") }

// Docker runs the docker CLI with args and a 2 minute timeout.
func (c *Client) Docker(args ...string) Result {
	return c.DockerOpts(DockerOpts{}, args...)
}

// DockerOpts are the less common settings of a CLI run.
type DockerOpts struct {
	Stdin   io.Reader
	Timeout time.Duration // default 2 minutes
	Env     []string      // extra KEY=value pairs
}

// DockerOpts runs the docker CLI with args. The environment is this
// process's without any DOCKER_* variable, plus DOCKER_HOST, DOCKER_CONFIG
// (an empty directory, so no host config or context is read) and, over TLS,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
func (c *Client) DockerOpts(o DockerOpts, args ...string) Result {
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = c.env(o.Env)
	cmd.Stdin = o.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: -1}
	var exit *exec.ExitError
	switch {
	case err == nil:
		r.ExitCode = 0
	case ctx.Err() != nil:
		r.Err = fmt.Errorf("timed out after %v: %w", o.Timeout, err)
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	default:
		r.Err = err
	}
	return r
}

func (c *Client) env(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_HOST="+c.Host, "DOCKER_CONFIG="+c.d.ConfigDir, "DOCKER_CLI_HINTS=false")
	if c.CertDir != "" {
		env = append(env, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+c.CertDir)
	}
	return append(env, extra...)
}

// HTTP returns the client's *http.Client; URL gives the addresses to use
// with it.
func (c *Client) HTTP() *http.Client { return c.http }

// URL is the full URL of path on this client's connection, for example
// "http://docker/v1.41/info" on the Unix socket.
func (c *Client) URL(path string) string { return c.baseURL + path }

// Do sends one request and returns the response with its body read.
// path should carry the API version (Daemon.API). A nil header sends
// Content-Type: application/json when there is a body.
func (c *Client) Do(method, path string, header http.Header, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, c.URL(path), body)
	if err != nil {
		return nil, nil, err
	}
	if header == nil && body != nil {
		header = http.Header{"Content-Type": {"application/json"}}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func unixHTTPClient(socket string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", socket)
			},
		},
	}
}

func canDial(socket string) bool {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
