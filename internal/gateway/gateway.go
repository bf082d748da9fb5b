// Package gateway is `portcullis gateway`: a proxy on the local Docker
// socket that tells the daemon, and so the authorization plugin, who is
// calling. It learns the caller from the kernel (SO_PEERCRED) and the user
// database, and forwards every request to the daemon's TLS listener with a
// short-lived client certificate it mints for that user (CN = user name,
// OU = the user's groups), so that the plugin sees a local user exactly as
// it sees a remote TLS user. Streams, hijacked connections (Upgrade: tcp,
// h2c) and bodies are forwarded as streams, never buffered whole.
//
// It fails closed: a connection whose peer it cannot identify, or whose
// uid the user database does not know, is refused (and recorded); a
// daemon it cannot reach is an error to the client, never a fallback.
//
// The package never imports the policy language: identity reaches the
// plugin through the daemon's own channel, TLS client authentication.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/httpserve"
)

// StatusPath is answered by the gateway itself: who the caller is and
// whether the daemon accepts the caller's certificate (portcullis status
// --gateway).
const StatusPath = "/_portcullis/gateway"

// Config configures a Gateway.
type Config struct {
	// Daemon is host:port of the daemon's TLS listener (dockerd -H
	// tcp://127.0.0.1:2376 --tlsverify).
	Daemon string
	// ServerName is the name the daemon's certificate must carry; default
	// the host part of Daemon.
	ServerName string
	// DaemonCAs verify the daemon's certificate. Required.
	DaemonCAs *x509.CertPool
	// Authority mints the users' client certificates. Required.
	Authority *Authority
	// Accounts is the user database. Required.
	Accounts Accounts
	// Log is the operational log; default logrus's standard logger.
	Log logrus.FieldLogger
	// Refusals receives one JSON line per refused connection (see
	// docs/audit.md); nil logs them only.
	Refusals io.Writer
	// Version is reported by the status endpoint.
	Version string
	// DialTimeout bounds connecting to the daemon (default 10s).
	DialTimeout time.Duration
}

// Gateway serves the Docker API on a Unix socket and forwards it.
type Gateway struct {
	cfg        Config
	serverName string
	started    time.Time
	now        func() time.Time

	mu    sync.Mutex
	users map[string]*userConn

	refusalMu sync.Mutex
	refused   atomic.Int64

	hijacked sync.WaitGroup
	connsMu  sync.Mutex
	conns    map[net.Conn]struct{}
}

// New checks cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	switch {
	case cfg.Daemon == "":
		return nil, errors.New("gateway: no daemon address")
	case cfg.DaemonCAs == nil:
		return nil, errors.New("gateway: no CA to verify the daemon's certificate")
	case cfg.Authority == nil:
		return nil, errors.New("gateway: no certificate authority")
	case cfg.Accounts == nil:
		return nil, errors.New("gateway: no user database")
	}
	host, _, err := net.SplitHostPort(cfg.Daemon)
	if err != nil {
		return nil, fmt.Errorf("gateway: daemon address %q: %w", cfg.Daemon, err)
	}
	g := &Gateway{cfg: cfg, serverName: cfg.ServerName, users: map[string]*userConn{}, now: time.Now, conns: map[net.Conn]struct{}{}}
	if g.serverName == "" {
		g.serverName = host
	}
	if g.cfg.Log == nil {
		g.cfg.Log = logrus.StandardLogger()
	}
	if g.cfg.DialTimeout <= 0 {
		g.cfg.DialTimeout = 10 * time.Second
	}
	g.started = g.now()
	return g, nil
}

// Refused is how many connections the gateway has refused.
func (g *Gateway) Refused() int64 { return g.refused.Load() }

type connKey struct{}

// connState is one client connection: its peer is identified once, on
// its first request.
type connState struct {
	conn net.Conn
	once sync.Once
	peer Peer
	err  error
	// peerHeader is PeerHeader's value for peer.
	peerHeader string
}

// Serve answers on l until ctx is done, then stops accepting, lets
// in-flight requests finish (up to drain), closes hijacked streams still
// open, and closes l.
func (g *Gateway) Serve(ctx context.Context, l net.Listener, drain time.Duration) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{conn: c})
		},
	}
	// Streams (attach, exec, BuildKit sessions) are not the server's any
	// more after the shutdown: give them the rest of the drain time, then
	// cut them.
	serveErr, err := httpserve.Run(ctx, srv, l, drain, func(sctx context.Context) {
		done := make(chan struct{})
		go func() { g.hijacked.Wait(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			g.connsMu.Lock()
			for c := range g.conns {
				c.Close()
			}
			g.connsMu.Unlock()
			<-done
		}
	})
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// ServeHTTP identifies the caller and forwards the request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(connKey{}).(*connState)
	if st == nil {
		// Served outside Serve: nobody to identify.
		refuse(w, errors.New("the connection's peer is unknown"))
		return
	}
	st.once.Do(func() {
		st.peer, st.err = g.identify(st.conn)
		if st.err != nil {
			g.record(st.peer, st.err)
		}
		st.peerHeader = peerValue(st.peer)
	})
	if st.err != nil {
		refuse(w, st.err)
		return
	}
	u, err := g.userConn(st.peer)
	if err != nil {
		g.cfg.Log.WithError(err).WithField("user", st.peer.Name).Error("gateway: no certificate for the caller")
		writeError(w, http.StatusInternalServerError, "portcullis gateway: cannot issue a certificate for "+st.peer.Name+": "+err.Error())
		return
	}
	if r.URL.Path == StatusPath {
		g.status(w, r, st.peer, u)
		return
	}
	out := g.outbound(r, st.peerHeader)
	if wantsHijack(r) {
		g.hijack(w, r, out, u)
		return
	}
	g.forward(w, r, out, u)
}

// identify asks the kernel, then the user database, who is on c.
func (g *Gateway) identify(c net.Conn) (Peer, error) {
	cred, err := peerCred(c)
	if err != nil {
		return Peer{}, fmt.Errorf("the caller cannot be identified: %w", err)
	}
	p := Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid, Exe: exeOf(cred.Pid)}
	acc, err := g.cfg.Accounts.Lookup(cred.Uid)
	if err != nil {
		return p, fmt.Errorf("uid %d: %w", cred.Uid, err)
	}
	if acc.Name == "" {
		return p, fmt.Errorf("uid %d: %w", cred.Uid, ErrUnknownUser)
	}
	p.Account = acc
	return p, nil
}

// Refusal is the record of one refused connection.
type Refusal struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"` // "gateway.refused"
	Reason string    `json:"reason"`
	UID    *uint32   `json:"uid,omitempty"`
	GID    *uint32   `json:"gid,omitempty"`
	PID    int32     `json:"pid,omitempty"`
	Exe    string    `json:"exe,omitempty"`
}

// record writes the refusal of a connection, once per connection.
func (g *Gateway) record(p Peer, err error) {
	g.refused.Add(1)
	rec := Refusal{Time: g.now().UTC(), Event: "gateway.refused", Reason: err.Error(), PID: p.PID, Exe: p.Exe}
	if p.PID != 0 || p.UID != 0 || p.GID != 0 || errors.Is(err, ErrUnknownUser) {
		uid, gid := p.UID, p.GID
		rec.UID, rec.GID = &uid, &gid
	}
	g.cfg.Log.WithFields(logrus.Fields{"reason": rec.Reason, "pid": p.PID, "exe": p.Exe}).Warn("gateway: connection refused")
	if g.cfg.Refusals == nil {
		return
	}
	line, _ := json.Marshal(rec)
	line = append(line, '\n')
	g.refusalMu.Lock()
	_, werr := g.cfg.Refusals.Write(line)
	g.refusalMu.Unlock()
	if werr != nil {
		g.cfg.Log.WithError(werr).Error("gateway: refusal record not written")
	}
}

func refuse(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusForbidden, "portcullis gateway: connection refused: "+err.Error())
}

// writeError answers as the daemon does: JSON {"message": ...}, which the
// docker CLI prints after "Error response from daemon: ".
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// userConn is what the gateway keeps per user: the current certificate
// and a pool of TLS connections to the daemon made with it.
type userConn struct {
	cert      *tls.Certificate
	renewAt   time.Time
	tls       *tls.Config
	transport *http.Transport // the status check's
	dialer    *tls.Dialer
	pool      *pool
}

const maxUsers = 4096

// userConn returns p's certificate and connection pool, minting a new
// certificate when there is none, when p's name or groups changed, or
// when the current one has less than a quarter of its lifetime left.
func (g *Gateway) userConn(p Peer) (*userConn, error) {
	key := strconv.FormatUint(uint64(p.UID), 10) + ":" + strconv.FormatUint(uint64(p.GID), 10) + ":" + p.Name + ":" + strings.Join(p.Groups, ",")
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if u, ok := g.users[key]; ok && now.Before(u.renewAt) {
		return u, nil
	}
	cert, err := g.cfg.Authority.Mint(p)
	if err != nil {
		return nil, err
	}
	if old, ok := g.users[key]; ok {
		// Connections in use finish with the old certificate (the daemon
		// checks it when a connection starts); idle ones go now.
		old.transport.CloseIdleConnections()
		old.pool.closeIdle()
	}
	if len(g.users) >= maxUsers {
		for k, u := range g.users {
			u.transport.CloseIdleConnections()
			u.pool.closeIdle()
			delete(g.users, k)
		}
	}
	u := &userConn{cert: cert}
	u.renewAt = cert.Leaf.NotAfter.Add(-g.cfg.Authority.Lifetime() / 4)
	u.tls = &tls.Config{
		Certificates: []tls.Certificate{*cert},
		RootCAs:      g.cfg.DaemonCAs,
		ServerName:   g.serverName,
		MinVersion:   tls.VersionTLS12,
	}
	u.dialer = &tls.Dialer{NetDialer: &net.Dialer{Timeout: g.cfg.DialTimeout}, Config: u.tls}
	daemon := g.cfg.Daemon
	u.pool = &pool{now: g.now, dial: func(ctx context.Context) (*tls.Conn, error) {
		c, err := u.dialer.DialContext(ctx, "tcp", daemon)
		if err != nil {
			return nil, err
		}
		return c.(*tls.Conn), nil
	}}
	u.transport = &http.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return u.dialer.DialContext(ctx, "tcp", daemon)
		},
		// Never through a proxy, never HTTP/2 (the daemon's API is
		// HTTP/1.1), never decompressing what the client should see.
		Proxy:               nil,
		ForceAttemptHTTP2:   false,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	g.users[key] = u
	return u, nil
}

// hopHeaders are removed from forwarded messages (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = textprotoTrim(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

func textprotoTrim(s string) string { return strings.TrimSpace(s) }

// identityLooking reports whether a request header looks like it says who
// the caller is. Such headers are removed: the only identity the daemon
// and the plugin see is the certificate and the gateway's own PeerHeader.
// Names are compared case-insensitively with "_" as "-".
func identityLooking(name string) bool {
	if name == "" {
		return false
	}
	switch name[0] {
	case 'x', 'X', 'f', 'F', 'r', 'R':
	default:
		return false // the common headers, without allocating
	}
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	for _, p := range []string{"x-portcullis-", "x-forwarded-", "x-remote-", "x-auth-request-"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	switch n {
	case "x-portcullis", "forwarded", "x-real-ip", "remote-user", "x-user", "x-authenticated-user", "x-client-cert", "x-ssl-client-cert":
		return true
	}
	return false
}

// outbound is r as the daemon receives it: identity-looking headers
// removed, the gateway's PeerHeader set.
func (g *Gateway) outbound(r *http.Request, peerHeader string) *http.Request {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "https"
	out.URL.Host = g.cfg.Daemon
	for k := range out.Header {
		if identityLooking(k) {
			delete(out.Header, k)
		}
	}
	out.Header[PeerHeader] = []string{peerHeader}
	return out
}

// peerValue is PeerHeader's value for p: pid and exe, URL query encoded,
// each only when known.
func peerValue(p Peer) string {
	q := url.Values{}
	if p.PID > 0 {
		q.Set("pid", strconv.Itoa(int(p.PID)))
	}
	if p.Exe != "" {
		q.Set("exe", p.Exe)
	}
	return q.Encode()
}

// wantsHijack: requests the daemon may answer by taking the connection
// over — an Upgrade (tcp for attach and exec, h2c for BuildKit's /session
// and /grpc), or attach and exec start without one (old clients), where
// the daemon answers 200 and streams on the raw connection.
func wantsHijack(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/v") {
		if i := strings.IndexByte(p[1:], '/'); i >= 0 {
			p = p[i+1:]
		}
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	return len(parts) == 3 && (parts[0] == "containers" && parts[2] == "attach" || parts[0] == "exec" && parts[2] == "start")
}

// forward sends one ordinary request and streams the answer back, flushing
// as the daemon writes (logs -f, events, pull progress).
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, out *http.Request, u *userConn) {
	rc := http.NewResponseController(w)
	// The daemon may answer while it still reads the body (build
	// progress): read and write at the same time.
	_ = rc.EnableFullDuplex()
	removeHop(out.Header)
	// The gateway sends bodies at once; a 100 Continue from the daemon
	// would only be mistaken for its answer.
	out.Header.Del("Expect")
	ctx := r.Context()
	x, err := g.exchange(ctx, u, out)
	if err != nil {
		if ctx.Err() != nil {
			return // the client went away
		}
		g.cfg.Log.WithError(err).WithField("uri", r.RequestURI).Warn("gateway: daemon unreachable")
		writeError(w, http.StatusBadGateway, "portcullis gateway: the Docker daemon cannot be reached: "+err.Error())
		return
	}
	x.finish(u.pool, copyResponse(w, rc, x.resp))
}

// exchange sends out on one of u's connections; a request without a
// body that finds a kept-alive connection closed is sent once more on a
// new one.
func (g *Gateway) exchange(ctx context.Context, u *userConn, out *http.Request) (*exchange, error) {
	for attempt := 0; ; attempt++ {
		up, reused, err := u.pool.get(ctx)
		if err != nil {
			return nil, err
		}
		x, err := up.send(ctx, out)
		if err == nil {
			return x, nil
		}
		up.conn.Close()
		if !reused || attempt > 0 || ctx.Err() != nil || !retryable(out, err) {
			return nil, err
		}
	}
}

// copyResponse writes resp to w and reports whether its body was read to
// the end.
func copyResponse(w http.ResponseWriter, rc *http.ResponseController, resp *http.Response) bool {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHop(h)
	w.WriteHeader(resp.StatusCode)
	// A stream (no Content-Length: logs -f, events, pull progress) is
	// flushed as it comes, its header first: it may be all there is for a
	// long time (POST /containers/{id}/wait answers at once and writes its
	// body when the container exits), and the client waits for it. An
	// answer of known length is written through the server's buffer.
	stream := resp.ContentLength < 0
	if stream && rc.Flush() != nil {
		return false
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false
			}
			if stream && rc.Flush() != nil {
				return false
			}
		}
		if err != nil {
			return err == io.EOF
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hijack sends a request the daemon may answer by taking the connection
// over on a connection of its own, and when the daemon does, joins the
// client's connection to it: both directions copied as they come, a
// client's half-close (stdin closed) passed on as the end of its writes.
func (g *Gateway) hijack(w http.ResponseWriter, r *http.Request, out *http.Request, u *userConn) {
	ctx := r.Context()
	dc, err := u.dialer.DialContext(ctx, "tcp", g.cfg.Daemon)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		writeError(w, http.StatusBadGateway, "portcullis gateway: the Docker daemon cannot be reached: "+err.Error())
		return
	}
	daemon := dc.(*tls.Conn)
	// Until the connection is handed over, the client going away ends it.
	stop := context.AfterFunc(ctx, func() { daemon.Close() })
	// The request body of an upgrade is small (exec start options); it
	// is sent whole before the answer is read.
	if err := out.Write(daemon); err != nil {
		stop()
		daemon.Close()
		if ctx.Err() == nil {
			writeError(w, http.StatusBadGateway, "portcullis gateway: sending to the Docker daemon: "+err.Error())
		}
		return
	}
	br := newReader(daemon)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		stop()
		daemon.Close()
		if ctx.Err() == nil {
			writeError(w, http.StatusBadGateway, "portcullis gateway: reading the Docker daemon's answer: "+err.Error())
		}
		return
	}
	if !stop() {
		daemon.Close()
		return
	}
	if !takesOver(resp) {
		defer daemon.Close()
		defer resp.Body.Close()
		copyResponse(w, http.NewResponseController(w), resp)
		return
	}
	client, cbuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		daemon.Close()
		writeError(w, http.StatusInternalServerError, "portcullis gateway: cannot take over the connection: "+err.Error())
		return
	}
	g.hijacked.Add(1)
	defer g.hijacked.Done()
	g.track(client, daemon, true)
	defer g.track(client, daemon, false)
	// The daemon's status line and headers as it sent them.
	fmt.Fprintf(cbuf, "HTTP/%d.%d %s\r\n", resp.ProtoMajor, resp.ProtoMinor, resp.Status)
	_ = resp.Header.Write(cbuf)
	_, _ = cbuf.WriteString("\r\n")
	if err := cbuf.Flush(); err != nil {
		client.Close()
		daemon.Close()
		return
	}
	splice(client, cbuf.Reader, daemon, br)
}

func (g *Gateway) track(a, b net.Conn, add bool) {
	g.connsMu.Lock()
	defer g.connsMu.Unlock()
	if add {
		g.conns[a], g.conns[b] = struct{}{}, struct{}{}
	} else {
		delete(g.conns, a)
		delete(g.conns, b)
	}
}

// takesOver reports whether the daemon took the connection over: 101
// Switching Protocols, or a raw stream answer to attach or exec start.
func takesOver(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	if resp.StatusCode != http.StatusOK {
		return false
	}
	ct := resp.Header.Get("Content-Type")
	return ct == "application/vnd.docker.raw-stream" || ct == "application/vnd.docker.multiplexed-stream"
}

// halfCloser is a connection whose write side can be closed alone.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// splice copies both ways until the daemon ends its side. The client
// ending its writes (CloseWrite, stdin at EOF) ends ours to the daemon and
// the daemon's output still reaches the client; the daemon ending its side
// (the container exited, the session ended) ends the client's connection.
func splice(client net.Conn, fromClient io.Reader, daemon halfCloser, fromDaemon io.Reader) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.Copy(daemon, fromClient); err == nil {
			_ = daemon.CloseWrite()
			return
		}
		daemon.Close()
	}()
	_, _ = io.Copy(client, fromDaemon)
	if hc, ok := client.(halfCloser); ok {
		_ = hc.CloseWrite()
	}
	client.Close()
	daemon.Close()
	<-done
}

// Status is what StatusPath answers.
type Status struct {
	Version       string    `json:"version"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Refused       int64     `json:"refused_connections"`
	User          string    `json:"user"`
	UID           uint32    `json:"uid"`
	GID           uint32    `json:"gid"`
	Groups        []string  `json:"groups"`
	PID           int32     `json:"pid,omitempty"`
	Exe           string    `json:"exe,omitempty"`
	CertExpires   time.Time `json:"certificate_expires"`
	Daemon        string    `json:"daemon"`
	// DaemonStatus is the HTTP status of GET /_ping sent to the daemon as
	// the caller; 0 when the daemon could not be reached (DaemonError).
	DaemonStatus int    `json:"daemon_status"`
	DaemonError  string `json:"daemon_error,omitempty"`
	APIVersion   string `json:"api_version,omitempty"`
}

func (g *Gateway) status(w http.ResponseWriter, r *http.Request, p Peer, u *userConn) {
	st := Status{
		Version: g.cfg.Version, UptimeSeconds: int64(g.now().Sub(g.started) / time.Second), Refused: g.refused.Load(),
		User: p.Name, UID: p.UID, GID: p.GID, Groups: p.Groups, PID: p.PID, Exe: p.Exe,
		CertExpires: u.cert.Leaf.NotAfter.UTC(), Daemon: g.cfg.Daemon,
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.DialTimeout)
	defer cancel()
	ping, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+g.cfg.Daemon+"/_ping", nil)
	ping.Host = "docker"
	ping.Header.Set(PeerHeader, peerValue(p))
	resp, err := u.transport.RoundTrip(ping)
	if err != nil {
		st.DaemonError = err.Error()
	} else {
		st.DaemonStatus = resp.StatusCode
		st.APIVersion = resp.Header.Get("Api-Version")
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	code := http.StatusOK
	if st.DaemonStatus != http.StatusOK {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
