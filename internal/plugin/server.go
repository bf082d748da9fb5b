package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/docker/go-plugins-helpers/sdk"
	"github.com/portcullis/portcullis/internal/plugin/wire"
	"github.com/portcullis/portcullis/internal/unixsock"
	"github.com/sirupsen/logrus"
)

// DefaultSocket is where the daemon's legacy plugin discovery looks for a
// plugin named "portcullis".
const DefaultSocket = "/run/docker/plugins/portcullis.sock"

// Listen creates the Unix socket at path: its directory is created, a
// stale socket left by a crashed run is replaced, and anything else at
// path is an error. The socket is 0660: only root (and the group) may
// speak to the plugin.
func Listen(path string) (net.Listener, error) {
	l, err := unixsock.Listen(path, 0o117)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ActivationListener returns the socket systemd passed (LISTEN_FDS=1 for
// this process), or nil when there is none.
func ActivationListener() (net.Listener, error) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n == 0 {
		return nil, nil
	}
	if n != 1 {
		return nil, fmt.Errorf("systemd passed %d sockets; portcullis takes one", n)
	}
	const firstFD = 3
	syscall.CloseOnExec(firstFD)
	f := os.NewFile(firstFD, "LISTEN_FD_3")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("systemd socket: %w", err)
	}
	return l, nil
}

// ServerLimits bound what one client can hold of the plugin.
type ServerLimits struct {
	// RequestTimeout bounds reading a whole request, headers and body: a
	// client that stalls mid-body is cut off, and cannot delay shutdown.
	RequestTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request for this
	// long.
	IdleTimeout time.Duration
	// MaxConnections caps open connections; further ones wait in the
	// listen backlog until one closes, and a log line says so (at most one
	// per LogInterval). 0: no cap.
	MaxConnections int
	// Log receives the line about the cap. Default: logrus's standard
	// logger.
	Log logrus.FieldLogger
	// Open, when set, counts the open connections (for metrics).
	Open *atomic.Int64
}

// DefaultLimits are serve's defaults.
var DefaultLimits = ServerLimits{RequestTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxConnections: 4096}

// Serve answers the plugin protocol on l until ctx is done, then stops
// accepting, closes idle connections, lets in-flight calls finish (up to
// drain), and closes l, which removes a socket made by Listen. The socket
// speaks the strict HTTP/1.1 of package wire, not net/http: what the
// daemon's plugin client sends, and nothing more.
func Serve(ctx context.Context, l net.Listener, p *Plugin, drain time.Duration, lim ServerLimits) error {
	return ServeHandler(ctx, l, p.serveWire, drain, lim)
}

// ServeHandler is Serve with another handler behind the same socket: the
// same HTTP/1.1, connection cap, timeouts and draining. test/floor serves
// its lower bound of the plugin's cost through it, so that it measures
// Portcullis's transport, not a copy of it.
func ServeHandler(ctx context.Context, l net.Listener, h wire.Handler, drain time.Duration, lim ServerLimits) error {
	if lim.Log == nil {
		lim.Log = logrus.StandardLogger()
	}
	if lim.MaxConnections > 0 || lim.Open != nil {
		l = newLimitListener(l, lim.MaxConnections, lim.Open, lim.Log)
	}
	srv := &wire.Server{
		Handler: h,
		MaxBody: maxEnvelope,
		// As net/http was set before: headers within 10s (or the request
		// timeout if shorter), the whole request within the request
		// timeout.
		HeaderTimeout:  10 * time.Second,
		RequestTimeout: lim.RequestTimeout,
		// The daemon keeps connections to its plugins open between calls.
		IdleTimeout: lim.IdleTimeout,
		Logf:        lim.Log.Errorf,
	}
	refused := rateLog{every: 10 * time.Second, now: time.Now}
	srv.Refused = func(e *wire.Error) {
		refused.log(lim.Log.WithFields(logrus.Fields{"status": e.Status, "reason": e.Reason}), logrus.WarnLevel,
			"plugin socket: refused a request the daemon does not send (one line per interval)")
	}
	if lim.RequestTimeout > 0 {
		srv.HeaderTimeout = min(srv.HeaderTimeout, lim.RequestTimeout)
	}
	if srv.IdleTimeout <= 0 {
		// net/http's rule: no idle timeout means the read timeout.
		srv.IdleTimeout = lim.RequestTimeout
	}
	serveErr, err := srv.Serve(ctx, l, drain)
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// serveWire answers one request of the plugin socket.
func (p *Plugin) serveWire(r *wire.Request, a *wire.Answer) {
	a.ContentType = sdk.DefaultContentTypeV1_1
	switch r.Path {
	case "/Plugin.Activate":
		if methodIs(r, a, "POST") {
			a.Body = activateAnswer
		}
	case "/" + authorization.AuthZApiRequest:
		if methodIs(r, a, "POST") {
			a.Body = answer(p.call("request", r.Body, nil), a.Body)
		}
	case "/" + authorization.AuthZApiResponse:
		if methodIs(r, a, "POST") {
			a.Body = answer(p.call("response", r.Body, nil), a.Body)
		}
	case "/Portcullis.Status":
		if methodIs(r, a, "GET", "POST") {
			a.ContentType = "application/json"
			a.Body = appendJSON(a.Body, p.status())
		}
	default:
		// The daemon reads a status other than 200 as the plugin's
		// failure: the call is denied.
		a.Status = 404
		a.Body = appendJSON(a.Body, authorization.Response{Err: "portcullis: no such plugin endpoint"})
	}
}

// methodIs reports whether r's method is one of ms; otherwise it answers
// 405.
func methodIs(r *wire.Request, a *wire.Answer, ms ...string) bool {
	for _, m := range ms {
		if r.Method == m {
			return true
		}
	}
	a.Status = 405
	a.Body = appendJSON(a.Body, authorization.Response{Err: "portcullis: method " + r.Method + " not allowed here"})
	return false
}

// limitListener counts open connections and, with a cap (sem not nil),
// accepts one only while fewer than the cap are open.
type limitListener struct {
	net.Listener
	sem chan struct{}
	// closed ends a wait for a free slot when the listener closes.
	closed    chan struct{}
	closeOnce sync.Once
	log       logrus.FieldLogger
	full      rateLog
	open      *atomic.Int64
}

func newLimitListener(l net.Listener, max int, open *atomic.Int64, log logrus.FieldLogger) *limitListener {
	ll := &limitListener{Listener: l, log: log, open: open, full: rateLog{every: 10 * time.Second, now: time.Now}, closed: make(chan struct{})}
	if max > 0 {
		ll.sem = make(chan struct{}, max)
	}
	if ll.open == nil {
		ll.open = new(atomic.Int64)
	}
	return ll
}

func (l *limitListener) Accept() (net.Conn, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		default:
			l.full.log(l.log.WithField("max_connections", cap(l.sem)), logrus.WarnLevel,
				"connection limit reached: new connections wait until one closes (raise --max-connections, or find the client holding them)")
			select {
			case l.sem <- struct{}{}:
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		if l.sem != nil {
			<-l.sem
		}
		return nil, err
	}
	l.open.Add(1)
	return &limitConn{Conn: c, release: func() {
		l.open.Add(-1)
		if l.sem != nil {
			<-l.sem
		}
	}}, nil
}

// CloseWrite shuts the sending side, when the connection has one (the
// wire server does before it closes a connection it refused a request on).
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Close closes the listener and ends a wait for a free slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
