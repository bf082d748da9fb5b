package main

import (
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
	"strings"
	"syscall"
	"time"
)

// process is a child process with its output in a log file.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess starts bin with args; env nil inherits the environment.
func startProcess(env []string, logPath, bin string, args ...string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = env
	// Its own process group, so that a Ctrl-C to the benchmark reaches
	// the benchmark, which then stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to 20 s, then kills.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// daemon is a private dockerd.
type daemon struct {
	dir, socket string
	proc        *process
	containerd  *process
	version     string // Engine version
	api         string // its API version
	driver      string // storage driver
}

// systemContainerd: if a containerd serves here, dockerd would use it
// rather than start its own; the benchmark then runs a private one.
const systemContainerd = "/run/containerd/containerd.sock"

// startDaemon starts dockerd from bin with its own everything below dir
// and waits until it answers. On error the returned daemon (if any) still
// needs stop.
func startDaemon(ctx context.Context, dir, bin, plugin string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, socket: filepath.Join(dir, "docker.sock")}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	configFile := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(configFile, []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--config-file", configFile,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", "unix://" + d.socket,
		"--bridge", "none", "--iptables=false", "--ip-masq=false", "--userland-proxy=false",
		"--shutdown-timeout", "3",
	}
	if plugin != "" {
		args = append(args, "--authorization-plugin", plugin)
	}
	if _, err := os.Stat(systemContainerd); err == nil {
		sock, err := d.startContainerd(ctx, bin, env)
		if err != nil {
			return d, fmt.Errorf("private containerd: %w", err)
		}
		args = append(args, "--containerd", sock)
	}
	dockerd := filepath.Join(bin, "dockerd")
	// bin first on PATH: dockerd finds the containerd, shim and runc
	// built with it there.
	p, err := startProcess(env, filepath.Join(dir, "dockerd.log"), dockerd, args...)
	if err != nil {
		return d, err
	}
	d.proc = p
	if err := d.wait(ctx); err != nil {
		return d, fmt.Errorf("%w; log %s:\n%s", err, filepath.Join(dir, "dockerd.log"), tail(filepath.Join(dir, "dockerd.log"), 20))
	}
	var v struct{ Version, APIVersion string }
	data, err := d.client().do(ctx, "GET", "/version", nil)
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		return d, fmt.Errorf("version: %w", err)
	}
	var info struct{ Driver string }
	if data, err = d.client().do(ctx, "GET", "/info", nil); err == nil {
		err = json.Unmarshal(data, &info)
	}
	if err != nil {
		return d, fmt.Errorf("info: %w", err)
	}
	d.version, d.api, d.driver = v.Version, v.APIVersion, info.Driver
	return d, nil
}

func (d *daemon) startContainerd(ctx context.Context, bin string, env []string) (string, error) {
	dir := filepath.Join(d.dir, "ctr")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sock := filepath.Join(dir, "c.sock")
	config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	cf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cf, []byte(config), 0o600); err != nil {
		return "", err
	}
	ctrd, err := exec.LookPath(filepath.Join(bin, "containerd"))
	if err != nil {
		if ctrd, err = exec.LookPath("containerd"); err != nil {
			return "", err
		}
	}
	p, err := startProcess(env, filepath.Join(dir, "containerd.log"), ctrd, "--config", cf)
	if err != nil {
		return "", err
	}
	d.containerd = p
	if err := waitSocket(ctx, sock, p); err != nil {
		return "", err
	}
	return sock, nil
}

func (d *daemon) wait(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := d.client().do(ctx, "GET", "/_ping", nil); err == nil {
			return nil
		}
		if d.proc.exited() {
			return errors.New("dockerd exited")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("dockerd did not answer /_ping within 60s")
}

func (d *daemon) stop() {
	if d.proc != nil {
		d.proc.stop()
	}
	if d.containerd != nil {
		d.containerd.stop()
	}
}

// client returns a client with its own connection to the daemon.
func (d *daemon) client() *client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		},
		MaxIdleConnsPerHost: 1,
	}
	prefix := ""
	if d.api != "" {
		prefix = "/v" + d.api
	}
	return &client{http: &http.Client{Transport: tr, Timeout: 60 * time.Second}, prefix: prefix}
}

// importImage imports the rootfs tar as the test image (POST
// /images/create?fromSrc=-, what `docker import` sends).
func (d *daemon) importImage(ctx context.Context, tarPath string) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	repo, tag, _ := strings.Cut(imageRef, ":")
	c := d.client()
	req, err := http.NewRequestWithContext(ctx, "POST", "http://docker"+c.prefix+"/images/create?fromSrc=-&repo="+repo+"&tag="+tag, f)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(out), `"error"`) {
		return fmt.Errorf("%s: %.300s", resp.Status, out)
	}
	return nil
}

// create creates a container from the CLI's body and returns its id.
func (d *daemon) create(ctx context.Context, body map[string]any) (string, error) {
	data, err := json.Marshal(withImage(body))
	if err != nil {
		return "", err
	}
	resp, err := d.client().do(ctx, "POST", "/containers/create", data)
	if err != nil {
		return "", err
	}
	var c struct{ ID string }
	if err := json.Unmarshal(resp, &c); err != nil || c.ID == "" {
		return "", fmt.Errorf("create answered %.300s", resp)
	}
	return c.ID, nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
