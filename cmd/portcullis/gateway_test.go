package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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

// TestGatewayMaxProcs: the gateway runs on one P unless --max-procs says
// otherwise (docs/performance.md, "Through the gateway").
func TestGatewayMaxProcs(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	writeTestCA(t, cert, key)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "max_procs=1"},
		{[]string{"--max-procs", "3"}, "max_procs=3"},
	} {
		sock := filepath.Join(dir, "gw.sock")
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr bytes.Buffer
		done := make(chan int)
		go func() {
			args := append([]string{"gateway", "--listen", sock, "--ca-cert", cert, "--ca-key", key, "--refusal-log", ""}, c.args...)
			done <- run(ctx, args, &stdout, &stderr)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			conn, err := net.Dial("unix", sock)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("%v: the gateway did not listen: exit %d, %s", c.args, <-done, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("%v: exit %d, %s", c.args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: the start line does not say %s:\n%s", c.args, c.want, stderr.String())
		}
	}
}

// writeTestCA writes a self-signed ECDSA CA and its key (mode 0600).
func writeTestCA(t *testing.T, certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}
