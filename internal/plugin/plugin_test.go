package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
)

func loadPolicies(t testing.TB) *policy.Set {
	t.Helper()
	set, files, diags := policy.LoadDir("testdata/policies")
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = policy.WriteDiagnostics(&b, files, diags)
		t.Fatalf("test policies: %s", b.String())
	}
	return set
}

// serve starts the plugin on a real Unix socket and returns a client for it.
func serve(t *testing.T, p *plugin.Plugin) (*http.Client, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := plugin.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- plugin.Serve(ctx, l, p, 5*time.Second, plugin.DefaultLimits) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s left behind after shutdown", sock)
		}
	})
	return unixClient(sock), sock
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func post(t *testing.T, c *http.Client, path string, body []byte) (authorization.Response, int) {
	t.Helper()
	res, err := c.Post("http://plugin"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out authorization.Response
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST %s: answer %q is not a Response: %v", path, data, err)
	}
	return out, res.StatusCode
}

func envelope(t testing.TB, method, uri string, body string) []byte {
	t.Helper()
	req := authorization.Request{RequestMethod: method, RequestURI: uri, RequestHeaders: map[string]string{"Content-Length": "0"}}
	if body != "" {
		req.RequestBody = []byte(body)
		req.RequestHeaders = map[string]string{"Content-Type": "application/json", "Content-Length": "1"}
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestActivate(t *testing.T) {
	c, _ := serve(t, plugin.New(loadPolicies(t)))
	res, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct{ Implements []string }
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || len(m.Implements) != 1 || m.Implements[0] != "authz" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
}

// TestFailClosed: every message the plugin cannot judge is denied with a
// reason, and an allow never carries an error.
func TestFailClosed(t *testing.T) {
	c, _ := serve(t, plugin.New(loadPolicies(t)))
	tests := []struct {
		name string
		body []byte
		want string // in Msg
	}{
		{"empty message", nil, "decode authorization request"},
		{"not JSON", []byte("garbage"), "decode authorization request"},
		{"null", []byte("null"), "decode authorization request"},
		{"array", []byte("[]"), "decode authorization request"},
		{"trailing data", append(envelope(t, "GET", "/_ping", ""), []byte(`{"RequestMethod":"POST"}`)...), "unexpected content"},
		{"zero request", []byte("{}"), "empty"},
		{"method only", []byte(`{"RequestMethod":"GET"}`), "no URI"},
		{"uri only", []byte(`{"RequestUri":"/_ping"}`), "no method"},
		{"body not base64", []byte(`{"RequestMethod":"POST","RequestUri":"/containers/create","RequestBody":"%%%"}`), "decode authorization request"},
		{"create without body", envelope(t, "POST", "/v1.41/containers/create", ""), "request.body_missing"},
		{"create with top-level HostConfig", envelope(t, "POST", "/v1.41/containers/create", `{"Image":"bb","Privileged":true}`), "request.legacy_hostconfig"},
		{"start with body", envelope(t, "POST", "/v1.41/containers/x/start", `{"Privileged":true}`), "request.body_unexpected"},
		{"bad peer certificate", []byte(`{"User":"u","RequestMethod":"GET","RequestUri":"/_ping","RequestPeerCertificates":["bm90IHBlbQ=="]}`), "peer certificate"},
		{"peer certificate not a string", []byte(`{"User":"u","RequestMethod":"GET","RequestUri":"/_ping","RequestPeerCertificates":[1]}`), "peer certificate"},
		{"privileged", envelope(t, "POST", "/v1.41/containers/create", `{"Image":"bb","HostConfig":{"Privileged":true}}`), "privileged"},
		{"unknown route", envelope(t, "GET", "/v1.41/nothing/here", ""), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, code := post(t, c, "/AuthZPlugin.AuthZReq", tt.body)
			if res.Allow {
				t.Fatalf("allowed: %+v", res)
			}
			if code != http.StatusOK {
				t.Errorf("status %d, want 200 so the daemon shows the message", code)
			}
			if !strings.HasPrefix(res.Msg, "portcullis: ") || !strings.Contains(res.Msg, tt.want) {
				t.Errorf("Msg = %q, want it to start with portcullis: and mention %q", res.Msg, tt.want)
			}
		})
	}
}

func TestAllowsOrdinaryWork(t *testing.T) {
	c, _ := serve(t, plugin.New(loadPolicies(t)))
	for _, e := range [][]byte{
		envelope(t, "HEAD", "/_ping", ""),
		envelope(t, "GET", "/v1.41/containers/json", ""),
		envelope(t, "POST", "/v1.41/containers/create", `{"Image":"bb","Cmd":["true"],"HostConfig":{"NetworkMode":"default"}}`),
		envelope(t, "POST", "/v1.41/containers/abc/start", ""),
	} {
		res, _ := post(t, c, "/AuthZPlugin.AuthZReq", e)
		if !res.Allow || res.Err != "" {
			t.Errorf("%s: %+v", e, res)
		}
		res, _ = post(t, c, "/AuthZPlugin.AuthZRes", e)
		if !res.Allow || res.Err != "" {
			t.Errorf("response phase %s: %+v", e, res)
		}
	}
}

func TestNoPolicyDeniesEverything(t *testing.T) {
	c, _ := serve(t, plugin.New(nil))
	res, _ := post(t, c, "/AuthZPlugin.AuthZReq", envelope(t, "HEAD", "/_ping", ""))
	if res.Allow || !strings.Contains(res.Msg, "no policy") {
		t.Fatalf("%+v", res)
	}
}

type auditorFunc func(*plugin.Outcome) error

func (f auditorFunc) Record(o *plugin.Outcome) error { return f(o) }

func TestPanicIsDenied(t *testing.T) {
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(auditorFunc(func(*plugin.Outcome) error { panic("boom") })))
	c, _ := serve(t, p)
	res, _ := post(t, c, "/AuthZPlugin.AuthZReq", envelope(t, "HEAD", "/_ping", ""))
	if res.Allow || !strings.Contains(res.Msg, "internal error") {
		t.Fatalf("%+v", res)
	}
}

func TestAuditFailureDenies(t *testing.T) {
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(auditorFunc(func(*plugin.Outcome) error { return errors.New("disk full") })))
	c, _ := serve(t, p)
	res, _ := post(t, c, "/AuthZPlugin.AuthZReq", envelope(t, "HEAD", "/_ping", ""))
	if res.Allow || !strings.Contains(res.Msg, "audit") || !strings.Contains(res.Msg, "disk full") {
		t.Fatalf("%+v", res)
	}
	// The response phase happened already: it is not turned into an error.
	res, _ = post(t, c, "/AuthZPlugin.AuthZRes", envelope(t, "HEAD", "/_ping", ""))
	if !res.Allow {
		t.Fatalf("response phase: %+v", res)
	}
}

// TestIdentityFromCertificate: the team comes from the certificate the
// daemon verified, never from headers.
func TestIdentityFromCertificate(t *testing.T) {
	var got []*plugin.Outcome
	var mu sync.Mutex
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(auditorFunc(func(o *plugin.Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, o)
		return nil
	})))
	c, _ := serve(t, p)
	cert := selfSigned(t, "web-dev1", "web")
	req := authorization.Request{
		User: "web-dev1", UserAuthNMethod: "TLS", RequestMethod: "GET", RequestURI: "/v1.41/info",
		RequestHeaders:          map[string]string{"X-Portcullis-Team": "ops"},
		RequestPeerCertificates: []*authorization.PeerCertificate{(*authorization.PeerCertificate)(cert)},
	}
	b, _ := json.Marshal(req)
	if res, _ := post(t, c, "/AuthZPlugin.AuthZReq", b); !res.Allow {
		t.Fatalf("%+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	id := got[0].Identity
	if id.User != "web-dev1" || id.AuthNMethod != "TLS" || len(id.OrganizationalUnits) != 1 || id.OrganizationalUnits[0] != "web" || id.CommonName != "web-dev1" {
		t.Errorf("identity %+v", id)
	}
}

func selfSigned(t testing.TB, cn, ou string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestShutdownDrains: a request in flight when shutdown starts is answered,
// and Serve returns only after it.
func TestShutdownDrains(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(auditorFunc(func(*plugin.Outcome) error {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})))
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := plugin.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- plugin.Serve(ctx, l, p, 10*time.Second, plugin.DefaultLimits) }()

	answered := make(chan authorization.Response, 1)
	go func() {
		res, _ := post(t, unixClient(sock), "/AuthZPlugin.AuthZReq", envelope(t, "HEAD", "/_ping", ""))
		answered <- res
	}()
	<-entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("still accepting connections after shutdown began")
	}
	close(release)
	if res := <-answered; !res.Allow {
		t.Errorf("in-flight request: %+v", res)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestListenRefusesLiveSocketAndReplacesStale(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "p.sock")
	l, err := plugin.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := plugin.Listen(sock); err == nil {
		t.Error("a second Listen on a served socket succeeded")
	}
	// A stale socket: the file exists but nobody listens.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := plugin.Listen(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	// A regular file is never removed.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := plugin.Listen(file); err == nil {
		t.Error("Listen replaced a regular file")
	}
}

// TestStatusVersion: /Portcullis.Status reports the version the plugin
// was made with, "dev" by default.
func TestStatusVersion(t *testing.T) {
	for _, tc := range []struct {
		opts []plugin.Option
		want string
	}{
		{nil, "dev"},
		{[]plugin.Option{plugin.WithVersion("1.2.3")}, "1.2.3"},
	} {
		c, _ := serve(t, plugin.New(loadPolicies(t), tc.opts...))
		res, err := c.Get("http://plugin/Portcullis.Status")
		if err != nil {
			t.Fatal(err)
		}
		var st plugin.Status
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != tc.want {
			t.Errorf("version %q, want %q", st.Version, tc.want)
		}
	}
}

// TestSocketRefusesWhatTheDaemonDoesNotSend: on the plugin socket, a
// request the daemon's plugin client would not send is refused before
// judging (never an allow); an unknown endpoint or method is an error
// status, which the daemon reads as a failed call (a denial).
func TestSocketRefusesWhatTheDaemonDoesNotSend(t *testing.T) {
	p := plugin.New(loadPolicies(t))
	_, sock := serve(t, p)
	ping := string(envelope(t, "HEAD", "/_ping", ""))
	for _, tc := range []struct {
		name, in, status string
	}{
		{"daemon's own call", "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: plugin.moby.localhost\r\nContent-Length: " + strconv.Itoa(len(ping)) + "\r\nConnection: close\r\n\r\n" + ping, "200"},
		{"chunked body", "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(ping)), 16) + "\r\n" + ping + "\r\n0\r\n\r\n", "411"},
		{"no length", "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\n\r\n" + ping, "411"},
		{"envelope too large", "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nContent-Length: 8388609\r\n\r\n", "413"},
		{"two lengths", "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\nContent-Length: " + strconv.Itoa(len(ping)) + "\r\n\r\n" + ping, "400"},
		{"wrong method", "GET /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(ping)) + "\r\n\r\n" + ping, "405"},
		{"unknown endpoint", "POST /AuthZPlugin.AuthZReq2 HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(ping)) + "\r\n\r\n" + ping, "404"},
		{"query string", "POST /AuthZPlugin.AuthZReq?x=1 HTTP/1.1\r\nHost: p\r\nContent-Length: " + strconv.Itoa(len(ping)) + "\r\n\r\n" + ping, "400"},
		{"status by GET", "GET /Portcullis.Status HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n", "200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.in); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			out, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("%v (read %q)", err, out)
			}
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 "+tc.status+" ")) {
				t.Fatalf("answer %q, want status %s", out, tc.status)
			}
			if tc.status != "200" && bytes.Contains(out, []byte(`"Allow":true`)) {
				t.Fatalf("refused with an allow: %q", out)
			}
		})
	}
}

// TestShutdownAtConnectionCap: with the cap reached (one idle connection
// open, one more waiting in the backlog), shutdown still ends at once,
// and the open-connection count returns to zero.
func TestShutdownAtConnectionCap(t *testing.T) {
	p := plugin.New(loadPolicies(t))
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := plugin.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- plugin.Serve(ctx, l, p, 10*time.Second, plugin.ServerLimits{RequestTimeout: time.Minute, IdleTimeout: time.Hour, MaxConnections: 1, Open: &open})
	}()
	first, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := io.WriteString(first, "POST /Plugin.Activate HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := http.ReadResponse(bufio.NewReader(first), nil); err != nil {
		t.Fatal(err)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections counted open, want 1", n)
	}
	second, err := net.Dial("unix", sock) // waits in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown hangs with the connection cap reached")
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections counted open after shutdown", n)
	}
}
