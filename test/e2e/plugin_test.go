//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// specDir is where the daemon looks up legacy plugins by name.
const specDir = "/etc/docker/plugins"

// PluginConfig configures StartPlugin. Only Dir is required.
type PluginConfig struct {
	// Dir holds the socket, the audit file and the stderr log. Keep it
	// short: the socket path must fit in 107 bytes.
	Dir string
	// Name is the name the daemon knows the plugin by; the spec file is
	// /etc/docker/plugins/<Name>.spec. Default: "portcullis-e2e-<random>",
	// unique per call so nothing collides with a daemon already running on
	// the machine or a concurrent run.
	Name string
	// PolicyDir is passed as --policy-dir. Default: Dir/policy, created
	// and filled with PolicyFiles.
	PolicyDir string
	// PolicyFiles are written into PolicyDir (file name to content) before
	// the plugin starts.
	PolicyFiles map[string]string
	// Args are extra arguments after the serve flags.
	Args []string
	// DockerHost is passed as --docker-host: the daemon the plugin
	// follows for ownership. Default: a socket in Dir that nothing
	// serves, so that no test's plugin reads the machine's own daemon.
	DockerHost string
	// Binary replaces the binary built by TestMain.
	Binary string
	// NoSpec leaves out the spec file (for a plugin the daemon must not
	// discover, or one registered differently).
	NoSpec bool
}

// Plugin is a running `portcullis serve` process on a Unix socket, made
// discoverable to dockerd through a spec file. It can be stopped, killed and
// started again on the same socket. Everything it writes to stderr, across
// restarts, is kept in LogFile and logged when the test fails.
type Plugin struct {
	Name      string // the name dockerd's --authorization-plugin uses
	StateDir  string // --state-dir
	Socket    string // the Unix socket it serves
	PolicyDir string // --policy-dir
	AuditFile string // --audit-file
	SpecFile  string // /etc/docker/plugins/<Name>.spec, "" with NoSpec
	LogFile   string // stderr of every run

	t    testing.TB
	bin  string
	args []string
	env  []string

	mu   sync.Mutex
	proc *process
}

// StartPlugin starts the plugin, waits until its socket accepts
// connections and writes its spec file. Cleanup stops it and removes the
// spec file.
func StartPlugin(t testing.TB, cfg PluginConfig) *Plugin {
	t.Helper()
	if cfg.Dir == "" {
		t.Fatal("StartPlugin: PluginConfig.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cfg.Name == "" {
		cfg.Name = "portcullis-e2e-" + randomHex(4)
	}
	if cfg.PolicyDir == "" {
		cfg.PolicyDir = filepath.Join(cfg.Dir, "policy")
	}
	if err := os.MkdirAll(cfg.PolicyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range cfg.PolicyFiles {
		if err := os.WriteFile(filepath.Join(cfg.PolicyDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.DockerHost == "" {
		cfg.DockerHost = "unix://" + filepath.Join(cfg.Dir, "no-daemon.sock")
	}
	bin := cfg.Binary
	if bin == "" {
		bin = portcullisBin
	}
	p := &Plugin{
		Name:      cfg.Name,
		Socket:    filepath.Join(cfg.Dir, "authz.sock"),
		PolicyDir: cfg.PolicyDir,
		AuditFile: filepath.Join(cfg.Dir, "audit.log"),
		LogFile:   filepath.Join(cfg.Dir, "plugin.log"),
		StateDir:  filepath.Join(cfg.Dir, "state"),
		t:         t,
		bin:       bin,
	}
	p.args = append([]string{"serve",
		"--socket", p.Socket,
		"--policy-dir", p.PolicyDir,
		"--audit-file", p.AuditFile,
		"--state-dir", p.StateDir,
	}, cfg.Args...)
	// In the environment, not on the command line: the daemon's cleanup
	// kills every process whose command line names its directory.
	p.env = []string{"PORTCULLIS_DOCKER_HOST=" + cfg.DockerHost}

	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop plugin %s: %v", p.Name, err)
		}
		if p.SpecFile != "" {
			if err := os.Remove(p.SpecFile); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove spec file: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("plugin %s stderr:\n%s", p.Name, tailFile(p.LogFile, 200))
		}
	})
	if err := p.Start(); err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	if !cfg.NoSpec {
		if err := os.MkdirAll(specDir, 0o755); err != nil {
			t.Fatal(err)
		}
		spec := filepath.Join(specDir, p.Name+".spec")
		if err := os.WriteFile(spec, []byte("unix://"+p.Socket+"\n"), 0o644); err != nil {
			t.Fatalf("write spec file: %v", err)
		}
		p.SpecFile = spec
	}
	return p
}

// Start starts the plugin process (again) on the same socket and waits
// until the socket accepts connections. It does not remove a socket file
// left behind by Kill: coping with that is the binary's job.
func (p *Plugin) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && !p.proc.exited() {
		return fmt.Errorf("plugin %s is already running", p.Name)
	}
	log, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== e2e: start %s %v at %s\n", p.bin, p.args, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout = log
	cmd.Stderr = log
	proc, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.proc = proc
	deadline := time.Now().Add(15 * time.Second)
	for {
		if proc.exited() {
			return fmt.Errorf("plugin exited during startup (%v); its stderr: %s", proc.err, p.LogFile)
		}
		if c, err := net.DialTimeout("unix", p.Socket, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("plugin socket %s not accepting connections after 15s:\n%s", p.Socket, tailFile(p.LogFile, 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits up to 10s (then SIGKILLs). It returns the
// process's exit error, so a plugin that exits non-zero on SIGTERM is
// reported. Stopping a stopped plugin returns nil.
func (p *Plugin) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return nil
	}
	proc := p.proc
	p.proc = nil
	if proc.exited() {
		return nil
	}
	return proc.stop(10 * time.Second)
}

// Kill sends SIGKILL and waits for the process to end, leaving the socket
// file behind as a crash would.
func (p *Plugin) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		p.proc.kill()
		p.proc = nil
	}
}

// Restart stops the plugin with SIGTERM and starts it again on the same
// socket.
func (p *Plugin) Restart() error {
	if err := p.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return p.Start()
}

// Running reports whether the plugin process is alive.
func (p *Plugin) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil && !p.proc.exited()
}

// PID returns the process id of the running plugin, or 0.
func (p *Plugin) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.exited() {
		return 0
	}
	return p.proc.cmd.Process.Pid
}

// Log returns everything the plugin wrote to stderr so far.
func (p *Plugin) Log() string {
	b, _ := os.ReadFile(p.LogFile)
	return string(b)
}

// Audit returns the audit file's content.
func (p *Plugin) Audit() ([]byte, error) {
	return os.ReadFile(p.AuditFile)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
