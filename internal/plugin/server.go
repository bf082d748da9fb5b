package plugin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/httpserve"
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
// accepting, lets in-flight requests finish (up to drain), and closes l,
// which removes a socket made by Listen.
func Serve(ctx context.Context, l net.Listener, h http.Handler, drain time.Duration, lim ServerLimits) error {
	if lim.Log == nil {
		lim.Log = logrus.StandardLogger()
	}
	if lim.MaxConnections > 0 || lim.Open != nil {
		l = newLimitListener(l, lim.MaxConnections, lim.Open, lim.Log)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, lim.RequestTimeout),
		ReadTimeout:       lim.RequestTimeout,
		// The daemon keeps connections to its plugins open between calls.
		IdleTimeout: lim.IdleTimeout,
	}
	if lim.RequestTimeout <= 0 {
		srv.ReadHeaderTimeout = 10 * time.Second
	}
	serveErr, err := httpserve.Run(ctx, srv, l, drain, nil)
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// limitListener counts open connections and, with a cap (sem not nil),
// accepts one only while fewer than the cap are open.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	log  logrus.FieldLogger
	full rateLog
	open *atomic.Int64
}

func newLimitListener(l net.Listener, max int, open *atomic.Int64, log logrus.FieldLogger) *limitListener {
	ll := &limitListener{Listener: l, log: log, open: open, full: rateLog{every: 10 * time.Second, now: time.Now}}
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
			l.sem <- struct{}{}
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
