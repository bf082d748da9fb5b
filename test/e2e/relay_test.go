//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// envRelay makes the test binary a relay instead of running tests
// ("LISTEN UPSTREAM": two Unix socket paths); TestGatewayBench starts it
// as its own process so that its CPU time is its own.
const envRelay = "PORTCULLIS_E2E_RELAY"

// runRelay serves envRelay's listen socket, forwarding each connection's
// bytes both ways to a new connection to the upstream socket, until the
// process is killed. It is the least a hop between the Docker client and
// the daemon can do — no HTTP, no identity, no TLS — so TestGatewayBench's
// "relay" row is the ceiling of any gateway on the machine it runs on.
func runRelay(spec string) int {
	listen, upstream, ok := strings.Cut(spec, " ")
	if !ok {
		fmt.Fprintf(os.Stderr, "relay: %s=%q: want \"LISTEN UPSTREAM\"\n", envRelay, spec)
		return 2
	}
	_ = os.Remove(listen)
	l, err := net.Listen("unix", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "relay: %v\n", err)
		return 1
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "relay: %v\n", err)
			return 1
		}
		go relayConn(c.(*net.UnixConn), upstream)
	}
}

func relayConn(c *net.UnixConn, upstream string) {
	defer c.Close()
	u, err := net.Dial("unix", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	up := u.(*net.UnixConn)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, c)
		_ = up.CloseWrite()
	}()
	_, _ = io.Copy(c, up)
	_ = c.CloseWrite()
	wg.Wait()
}

// startRelay starts the test binary as a relay from a socket in dir to
// upstream, with one P like the gateway's default (--max-procs 1).
func startRelay(t *testing.T, dir, upstream string) (socket string, proc *process) {
	t.Helper()
	socket = filepath.Join(dir, "relay.sock")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRelay+"="+socket+" "+upstream, "GOMAXPROCS=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if proc, err = startProcess(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.kill) // it keeps nothing
	deadline := time.Now().Add(10 * time.Second)
	for !canDial(socket) {
		if proc.exited() || time.Now().After(deadline) {
			t.Fatalf("relay did not start: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return socket, proc
}
