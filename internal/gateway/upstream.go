package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// upstream is one TLS connection to the daemon, made with one user's
// certificate. A request is written and its answer read by the handler's
// own goroutine (the body, if any, by one more), which is what makes the
// gateway cheap: no transport goroutines to hand each request over to.
type upstream struct {
	conn   *tls.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// pool keeps one user's idle connections to the daemon.
type pool struct {
	dial func(ctx context.Context) (*tls.Conn, error)
	now  func() time.Time

	mu   sync.Mutex
	idle []*upstream
}

const (
	maxIdlePerUser = 64
	// idleTimeout: a connection idle longer is closed rather than reused.
	idleTimeout = 60 * time.Second
)

// get returns an idle connection (reused true) or a new one.
func (p *pool) get(ctx context.Context) (up *upstream, reused bool, err error) {
	now := p.now()
	p.mu.Lock()
	for len(p.idle) > 0 {
		up = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(up.idleAt) < idleTimeout {
			p.mu.Unlock()
			return up, true, nil
		}
		up.conn.Close()
	}
	p.mu.Unlock()
	c, err := p.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &upstream{conn: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, false, nil
}

// put keeps up for the next request of this user.
func (p *pool) put(up *upstream) {
	up.idleAt = p.now()
	p.mu.Lock()
	if len(p.idle) < maxIdlePerUser {
		p.idle = append(p.idle, up)
		up = nil
	}
	p.mu.Unlock()
	if up != nil {
		up.conn.Close()
	}
}

// closeIdle closes the idle connections (a certificate was replaced).
func (p *pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, up := range idle {
		up.conn.Close()
	}
}

// exchange is one request in flight on an upstream connection.
type exchange struct {
	up   *upstream
	resp *http.Response
	werr chan error // the request's write result
	stop func() bool
}

// send writes out and reads the answer's header. The body, if any, is
// written while the answer is read: the daemon may answer before it has
// read it all (a denial of a body it did not forward). ctx ending (the
// client gone) closes the connection.
func (up *upstream) send(ctx context.Context, out *http.Request) (*exchange, error) {
	x := &exchange{up: up, werr: make(chan error, 1)}
	x.stop = context.AfterFunc(ctx, func() { up.conn.Close() })
	write := func() error {
		if err := out.Write(up.bw); err != nil {
			return err
		}
		return up.bw.Flush()
	}
	if out.Body == nil || out.Body == http.NoBody {
		err := write()
		x.werr <- err
		if err != nil {
			x.stop()
			return nil, err
		}
	} else {
		go func() { x.werr <- write() }()
	}
	resp, err := http.ReadResponse(up.br, out)
	if err != nil {
		x.stop()
		return nil, err
	}
	x.resp = resp
	return x, nil
}

// finish ends the exchange after the answer's body was copied (whole when
// drained is true) and returns the connection to p when it can carry
// another request, else closes it.
func (x *exchange) finish(p *pool, drained bool) {
	x.resp.Body.Close()
	reusable := x.stop() && drained && !x.resp.Close
	written := false
	if reusable {
		select {
		case err := <-x.werr:
			written, reusable = true, err == nil
		default:
			reusable = false // the body is still being written
		}
	}
	if reusable {
		p.put(x.up)
		return
	}
	x.up.conn.Close()
	if !written {
		// The writer reads the client's request body, which belongs to
		// the server once the handler returns: wait until it has
		// stopped (the closed connection fails its next write).
		<-x.werr
	}
}

// retryable reports whether a request that failed on a reused
// connection before any answer may be sent again on a new one: only when
// it has no body to have consumed.
func retryable(out *http.Request, err error) bool {
	if out.Body != nil && out.Body != http.NoBody {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err)
}
