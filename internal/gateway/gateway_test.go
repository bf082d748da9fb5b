package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	stdlog "log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// testCA is a CA made for one test, with a server certificate for
// 127.0.0.1 that the fake daemon presents.
type testCA struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	server          tls.Certificate
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	ca := &testCA{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		cert:    cert, key: key,
	}
	skey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	sder, err := x509.CreateCertificate(rand.Reader, stmpl, cert, skey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca.server = tls.Certificate{Certificate: [][]byte{sder}, PrivateKey: skey}
	return ca
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// fakeDaemon is a TLS listener on loopback that, like dockerd
// --tlsverify, requires a client certificate from the CA.
type fakeDaemon struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	seen     []seenRequest
}

type seenRequest struct {
	CN, Path         string
	OUs              []string
	URIs             []string
	Serial           string
	Peer             []string // every PeerHeader value
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	BodySHA          string
}

func newFakeDaemon(t testing.TB, ca *testCA, mux func(d *fakeDaemon) http.Handler, clientCAs *x509.CertPool) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{}
	d.srv = httptest.NewUnstartedServer(mux(d))
	if clientCAs == nil {
		clientCAs = ca.pool()
	}
	d.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.server}, ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert}
	d.srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	d.srv.StartTLS()
	t.Cleanup(d.srv.Close)
	return d
}

func (d *fakeDaemon) note(r *http.Request, bodySHA string) seenRequest {
	d.requests.Add(1)
	s := seenRequest{Path: r.URL.Path, Header: r.Header.Clone(), ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, BodySHA: bodySHA}
	if c := r.TLS.PeerCertificates; len(c) > 0 {
		s.CN, s.OUs, s.Serial = c[0].Subject.CommonName, c[0].Subject.OrganizationalUnit, c[0].SerialNumber.String()
		for _, u := range c[0].URIs {
			s.URIs = append(s.URIs, u.String())
		}
	}
	s.Peer = r.Header.Values(PeerHeader)
	d.mu.Lock()
	d.seen = append(d.seen, s)
	d.mu.Unlock()
	return s
}

func (d *fakeDaemon) last(t *testing.T) seenRequest {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		t.Fatal("the daemon saw no request")
	}
	return d.seen[len(d.seen)-1]
}

// standardMux answers the routes the tests use.
func standardMux(release <-chan struct{}, gone chan<- struct{}) func(d *fakeDaemon) http.Handler {
	return func(d *fakeDaemon) http.Handler {
		m := http.NewServeMux()
		m.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			w.Header().Set("Api-Version", "1.51")
			io.WriteString(w, "OK")
		})
		m.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(d.note(r, ""))
		})
		m.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			io.Copy(h, r.Body)
			s := d.note(r, fmt.Sprintf("%x", h.Sum(nil)))
			json.NewEncoder(w).Encode(s)
		})
		// /echo answers each piece of the body as it arrives.
		m.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			rc := http.NewResponseController(w)
			rc.EnableFullDuplex()
			w.WriteHeader(200)
			rc.Flush()
			buf := make([]byte, 64)
			for {
				n, err := r.Body.Read(buf)
				if n > 0 {
					w.Write(bytes.ToUpper(buf[:n]))
					rc.Flush()
				}
				if err != nil {
					return
				}
			}
		})
		// /stream writes one line, waits for release, writes another;
		// then waits for the client to go.
		m.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			io.WriteString(w, "first\n")
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				gone <- struct{}{}
				return
			}
			io.WriteString(w, "second\n")
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
			gone <- struct{}{}
		})
		// /wait answers its header at once and its body on release, as
		// POST /containers/{id}/wait does.
		m.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, `{"StatusCode":0}`)
		})
		// /deny answers 403 without reading the body, as the daemon
		// does when the plugin denies a body it did not forward.
		m.HandleFunc("/deny", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"authorization denied by plugin test"}`)
		})
		// attach: the daemon's hijack. It answers 101, then upper-cases
		// what it reads until the client's end of writes, then says bye.
		m.HandleFunc("/v1.41/containers/c1/attach", func(w http.ResponseWriter, r *http.Request) {
			d.note(r, "")
			if r.Header.Get("Upgrade") == "" {
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"message":"want upgrade"}`)
				return
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			proto := r.Header.Get("Upgrade")
			fmt.Fprintf(buf, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", proto)
			buf.Flush()
			in, _ := io.ReadAll(buf.Reader)
			conn.Write(bytes.ToUpper(in))
			conn.Write([]byte(" bye"))
		})
		return m
	}
}

type fakeAccounts map[uint32]Account

func (f fakeAccounts) Lookup(uid uint32) (Account, error) {
	a, ok := f[uid]
	if !ok {
		return Account{}, ErrUnknownUser
	}
	return a, nil
}

type rig struct {
	gw      *Gateway
	daemon  *fakeDaemon
	socket  string
	refused *bytes.Buffer
	client  *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func newRig(t testing.TB, accounts Accounts, mux func(*fakeDaemon) http.Handler, daemonAddr string) (*rig, *syncBuffer) {
	return newRigTrust(t, accounts, mux, daemonAddr, nil)
}

// newRigTrust is newRig with a daemon that trusts clientCAs instead of
// the gateway's CA.
func newRigTrust(t testing.TB, accounts Accounts, mux func(*fakeDaemon) http.Handler, daemonAddr string, clientCAs *x509.CertPool) (*rig, *syncBuffer) {
	t.Helper()
	ca := newTestCA(t)
	r := &rig{}
	if mux != nil {
		r.daemon = newFakeDaemon(t, ca, mux, clientCAs)
		daemonAddr = r.daemon.srv.Listener.Addr().String()
	}
	auth, err := NewAuthority(ca.certPEM, ca.keyPEM, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	refusals := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(io.Discard)
	gw, err := New(Config{Daemon: daemonAddr, DaemonCAs: ca.pool(), Authority: auth, Accounts: accounts, Refusals: refusals, Version: "test", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r.gw = gw
	dir, err := os.MkdirTemp("", "gw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r.socket = filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", r.socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, l, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	r.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", r.socket)
	}}}
	t.Cleanup(r.client.CloseIdleConnections)
	return r, refusals
}

func me() fakeAccounts {
	return fakeAccounts{uint32(os.Getuid()): {Name: "alice", Groups: []string{"web", "builders"}}}
}

func (r *rig) get(t *testing.T, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://docker"+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestIdentityReachesTheDaemon(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	resp, body := r.get(t, "/whoami", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := r.daemon.last(t)
	if s.CN != "alice" || strings.Join(s.OUs, ",") != "web,builders" {
		t.Errorf("certificate CN %q OU %q, want alice web,builders", s.CN, s.OUs)
	}
	wantURI := fmt.Sprintf("portcullis://gateway?gid=%d&uid=%d", os.Getgid(), os.Getuid())
	if len(s.URIs) != 1 || s.URIs[0] != wantURI {
		t.Errorf("URIs %q, want %q", s.URIs, wantURI)
	}
	exe, _ := os.Executable()
	want := url.Values{"pid": {fmt.Sprint(os.Getpid())}, "exe": {exe}}.Encode()
	if len(s.Peer) != 1 || s.Peer[0] != want {
		t.Errorf("%s = %q, want %q", PeerHeader, s.Peer, want)
	}
}

func TestClientIdentityHeadersRemoved(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	forged := http.Header{
		"X-Portcullis-Peer":  {"pid=1&exe=%2Fsbin%2Finit"},
		"X_portcullis_peer":  {"pid=1"},
		"X-Portcullis-User":  {"root"},
		"X-Forwarded-User":   {"root"},
		"X-Forwarded-For":    {"10.0.0.1"},
		"Forwarded":          {"for=10.0.0.1"},
		"X-Remote-User":      {"root"},
		"Remote-User":        {"root"},
		"X-Real-Ip":          {"10.0.0.1"},
		"X-Registry-Auth":    {"e30="}, // not identity: kept
		"X-Docker-Something": {"kept"},
	}
	resp, body := r.get(t, "/whoami", forged)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := r.daemon.last(t)
	for k := range forged {
		got := s.Header.Values(k)
		if k == "X-Registry-Auth" || k == "X-Docker-Something" {
			if len(got) != 1 || got[0] != forged[k][0] {
				t.Errorf("%s = %q, want it kept", k, got)
			}
			continue
		}
		if k == PeerHeader {
			if len(got) != 1 || strings.Contains(got[0], "init") || !strings.Contains(got[0], fmt.Sprint(os.Getpid())) {
				t.Errorf("%s = %q, want the gateway's own value only", k, got)
			}
			continue
		}
		if len(got) != 0 {
			t.Errorf("%s = %q reached the daemon", k, got)
		}
	}
	if s.CN != "alice" {
		t.Errorf("CN %q", s.CN)
	}
}

func TestUnknownUserRefusedAndRecorded(t *testing.T) {
	r, refusals := newRig(t, fakeAccounts{}, standardMux(nil, nil), "")
	resp, body := r.get(t, "/whoami", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "no such user") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if n := r.daemon.requests.Load(); n != 0 {
		t.Errorf("the daemon saw %d requests from an unknown user", n)
	}
	var rec Refusal
	if err := json.Unmarshal(refusals.Bytes(), &rec); err != nil {
		t.Fatalf("refusal record %q: %v", refusals.String(), err)
	}
	if rec.Event != "gateway.refused" || rec.UID == nil || *rec.UID != uint32(os.Getuid()) || rec.PID != int32(os.Getpid()) {
		t.Errorf("refusal record %+v", rec)
	}
	if r.gw.Refused() != 1 {
		t.Errorf("Refused() = %d", r.gw.Refused())
	}
}

func TestUnidentifiablePeerRefused(t *testing.T) {
	g := &Gateway{cfg: Config{Accounts: me()}}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := g.identify(a); err == nil {
		t.Fatal("a connection without peer credentials was identified")
	}
}

func TestDaemonUnreachableIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r, _ := newRig(t, me(), nil, addr)
	resp, body := r.get(t, "/_ping", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "cannot be reached") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestDaemonWithoutClientCertTrustRefusesGateway(t *testing.T) {
	// A daemon that does not trust the gateway's CA: an error, never a
	// request without identity.
	r, _ := newRigTrust(t, me(), standardMux(nil, nil), "", newTestCA(t).pool())
	resp, body := r.get(t, "/_ping", nil)
	if resp.StatusCode != http.StatusBadGateway || r.daemon.requests.Load() != 0 {
		t.Fatalf("status %d: %s; daemon requests %d", resp.StatusCode, body, r.daemon.requests.Load())
	}
}

func TestLargeBodyForwardedWhole(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	body := bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16) // 2 MiB
	resp, err := r.client.Post("http://docker/body", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s := r.daemon.last(t)
	if s.ContentLength != int64(len(body)) || len(s.TransferEncoding) != 0 {
		t.Errorf("daemon saw Content-Length %d, Transfer-Encoding %q; want %d and none", s.ContentLength, s.TransferEncoding, len(body))
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(body)); s.BodySHA != want {
		t.Errorf("body changed on the way")
	}
}

func TestChunkedBodyStaysChunkedAndStreams(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://docker/echo", pr)
	req.ContentLength = -1
	type result struct {
		resp *http.Response
		err  error
	}
	rc := make(chan result, 1)
	go func() { resp, err := r.client.Do(req); rc <- result{resp, err} }()
	pw.Write([]byte("one"))
	res := <-rc
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	br := bufio.NewReader(res.resp.Body)
	// The daemon's answer to the first piece arrives while the body is
	// still open: nothing waits for the whole body.
	got := make([]byte, 3)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ONE" {
		t.Fatalf("first piece %q, %v", got, err)
	}
	pw.Write([]byte("two"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "TWO" {
		t.Fatalf("second piece %q, %v", got, err)
	}
	pw.Close()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("unexpected %q", rest)
	}
	s := r.daemon.last(t)
	if len(s.TransferEncoding) != 1 || s.TransferEncoding[0] != "chunked" {
		t.Errorf("daemon saw Transfer-Encoding %q, want chunked (the daemon then withholds it from the plugin, which denies)", s.TransferEncoding)
	}
}

func TestResponseStreamsAndClientDisconnectEndsIt(t *testing.T) {
	release, gone := make(chan struct{}), make(chan struct{}, 1)
	r, _ := newRig(t, me(), standardMux(release, gone), "")
	resp, err := r.client.Get("http://docker/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	if line, err = br.ReadString('\n'); err != nil || line != "second\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
	// The client goes away mid-stream: the daemon's side ends too.
	resp.Body.Close()
	r.client.CloseIdleConnections()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon's stream outlived the client")
	}
}

// TestStreamHeaderBeforeBody: a streamed answer's header reaches the
// client before any of its body (the CLI waits for /wait's header before
// it starts the container).
func TestStreamHeaderBeforeBody(t *testing.T) {
	release := make(chan struct{})
	r, _ := newRig(t, me(), standardMux(release, nil), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/wait", nil)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("no header while the body waits: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	close(release)
	if b, _ := io.ReadAll(resp.Body); string(b) != `{"StatusCode":0}` {
		t.Errorf("body %q", b)
	}
}

// TestAnswerBeforeBody: the daemon denying a large body it never reads
// reaches the client as the daemon's answer, not as a gateway error.
func TestAnswerBeforeBody(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	body := bytes.Repeat([]byte("x"), 4<<20)
	resp, err := r.client.Post("http://docker/deny", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "authorization denied") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// And the next requests work, on this connection or a new one (the
	// server reads the unread rest of the body, or closes).
	for i := 0; i < 3; i++ {
		resp, err := r.client.Post("http://docker/deny", "application/json", bytes.NewReader(body[:300<<10]))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("after %d: %d %s", i, resp.StatusCode, b)
		}
		if resp, body := r.get(t, "/_ping", nil); resp.StatusCode != 200 {
			t.Fatalf("after %d: %d %s", i, resp.StatusCode, body)
		}
	}
}

// TestKeptConnectionClosedByDaemon: a request without a body that finds
// its kept-alive connection closed by the daemon is sent again on a new
// one.
func TestKeptConnectionClosedByDaemon(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	for i := 0; i < 3; i++ {
		if resp, body := r.get(t, "/_ping", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		r.daemon.srv.CloseClientConnections()
	}
}

// rawUpgrade sends an attach with Upgrade: proto on a raw connection and
// returns the connection and the answer's status line.
func rawUpgrade(t *testing.T, socket, proto string) (*net.UnixConn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1.41/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n", proto)
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	return c.(*net.UnixConn), br, status
}

func TestUpgradeHalfClose(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	for _, proto := range []string{"tcp", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			c, br, status := rawUpgrade(t, r.socket, proto)
			if !strings.HasPrefix(status, "HTTP/1.1 101") {
				t.Fatalf("status %q", status)
			}
			c.Write([]byte("hello "))
			c.Write([]byte("world"))
			// stdin at EOF: the daemon sees the end, and its answer
			// still arrives.
			c.CloseWrite()
			out, err := io.ReadAll(br)
			if err != nil || string(out) != "HELLO WORLD bye" {
				t.Fatalf("got %q, %v", out, err)
			}
			if s := r.daemon.last(t); s.CN != "alice" || s.Header.Get("Upgrade") != proto {
				t.Errorf("daemon saw CN %q Upgrade %q", s.CN, s.Header.Get("Upgrade"))
			}
		})
	}
}

func TestCertificateCachedUntilNearExpiry(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	now := time.Now()
	clock := func() time.Time { return now }
	// Only the gateway's clock moves: the certificates it mints stay
	// valid for the daemon's real clock.
	r.gw.now = clock
	serial := func() string {
		r.get(t, "/whoami", nil)
		r.client.CloseIdleConnections() // a new connection: a new TLS handshake
		return r.daemon.last(t).Serial
	}
	first := serial()
	if again := serial(); again != first {
		t.Errorf("certificate re-minted within its lifetime: %s then %s", first, again)
	}
	now = now.Add(44 * time.Minute)
	if again := serial(); again != first {
		t.Errorf("certificate re-minted with more than a quarter of its lifetime left")
	}
	now = now.Add(2 * time.Minute) // 46 of 60 minutes gone
	if again := serial(); again == first {
		t.Errorf("certificate not renewed near expiry")
	}
}

func TestGroupChangeMintsNewCertificate(t *testing.T) {
	acc := me()
	r, _ := newRig(t, acc, standardMux(nil, nil), "")
	r.get(t, "/whoami", nil)
	acc[uint32(os.Getuid())] = Account{Name: "alice", Groups: []string{"web"}}
	r.client.CloseIdleConnections()
	r.get(t, "/whoami", nil)
	if s := r.daemon.last(t); strings.Join(s.OUs, ",") != "web" {
		t.Errorf("OUs %q after the group change", s.OUs)
	}
}

func TestStatus(t *testing.T) {
	r, _ := newRig(t, me(), standardMux(nil, nil), "")
	resp, body := r.get(t, StatusPath, nil)
	var st Status
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d %s: %v", resp.StatusCode, body, err)
	}
	if st.User != "alice" || st.DaemonStatus != 200 || st.APIVersion != "1.51" || st.CertExpires.IsZero() {
		t.Errorf("status %+v", st)
	}
	if s := r.daemon.last(t); s.Path != "/_ping" || s.CN != "alice" {
		t.Errorf("the status check reached the daemon as %+v", s)
	}
}

func TestLoadAuthorityRefusesReadableKey(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	os.WriteFile(cf, ca.certPEM, 0o644)
	os.WriteFile(kf, ca.keyPEM, 0o640)
	if _, err := LoadAuthority(cf, kf, time.Hour); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a group-readable CA key was accepted: %v", err)
	}
	os.Chmod(kf, 0o600)
	if _, err := LoadAuthority(cf, kf, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A key that is not the CA's.
	other := newTestCA(t)
	if _, err := NewAuthority(ca.certPEM, other.keyPEM, time.Hour); err == nil {
		t.Fatal("a key that does not match the CA was accepted")
	}
}

func TestIdentityLooking(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Portcullis-Peer": true, "x_portcullis_peer": true, "X-PORTCULLIS": true, "X-Forwarded-User": true,
		"Forwarded": true, "X-Real-IP": true, "Remote-User": true, "X-Remote-User": true,
		"X-Registry-Auth": false, "Content-Type": false, "User-Agent": false, "X-Registry-Config": false,
	} {
		if got := identityLooking(name); got != want {
			t.Errorf("identityLooking(%q) = %v", name, got)
		}
	}
}

func TestWantsHijack(t *testing.T) {
	for _, c := range []struct {
		method, path, upgrade string
		want                  bool
	}{
		{"POST", "/v1.41/containers/abc/attach", "", true},
		{"POST", "/containers/abc/attach", "", true},
		{"POST", "/v1.44/exec/123/start", "", true},
		{"POST", "/session", "h2c", true},
		{"POST", "/grpc", "h2c", true},
		{"GET", "/v1.41/containers/abc/attach/ws", "", false},
		{"POST", "/v1.41/containers/abc/start", "", false},
		{"GET", "/v1.41/containers/abc/logs", "", false},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.upgrade != "" {
			r.Header.Set("Upgrade", c.upgrade)
		}
		if got := wantsHijack(r); got != c.want {
			t.Errorf("%s %s Upgrade %q: %v", c.method, c.path, c.upgrade, got)
		}
	}
}
