package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatewayRefusesToStart: the gateway does not start without a CA key
// that only its owner can read, nor with bad flags; it never serves
// without one.
func TestGatewayRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "ca-key.pem")
	cert := filepath.Join(dir, "ca.pem")
	os.WriteFile(key, []byte("not a key"), 0o644)
	os.WriteFile(cert, []byte("not a cert"), 0o644)
	sock := filepath.Join(dir, "gw.sock")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"readable key", []string{"--listen", sock, "--ca-cert", cert, "--ca-key", key, "--refusal-log", ""}, exitRuntime, "readable by others"},
		{"missing key", []string{"--listen", sock, "--ca-cert", cert, "--ca-key", filepath.Join(dir, "none"), "--refusal-log", ""}, exitRuntime, "CA key"},
		{"bad socket mode", []string{"--listen", sock, "--socket-mode", "999", "--ca-cert", cert, "--ca-key", key}, exitRuntime, "--socket-mode"},
		{"negative max-procs", []string{"--listen", sock, "--max-procs", "-1", "--ca-cert", cert, "--ca-key", key}, exitRuntime, "--max-procs"},
		{"stray argument", []string{"extra"}, exitUsage, "unexpected arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"gateway"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, c.code, stderr, c.want)
			}
			if _, err := os.Stat(sock); err == nil {
				t.Errorf("a socket was created")
			}
		})
	}
	os.Chmod(key, 0o600)
	code, _, stderr := runCLI(t, "gateway", "--listen", sock, "--ca-cert", cert, "--ca-key", key, "--refusal-log", "")
	if code != exitRuntime || !strings.Contains(stderr, "CA certificate") {
		t.Errorf("unparsable CA: exit %d, %q", code, stderr)
	}
}

func TestStatusGatewayUnreachable(t *testing.T) {
	code, out, _ := runCLI(t, "status", "--gateway", filepath.Join(t.TempDir(), "none.sock"))
	if code != exitFailed || !strings.HasPrefix(out, "unhealthy") {
		t.Errorf("exit %d, %q", code, out)
	}
}
