package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// readBufferSize is each connection's read buffer: a request line or
// header line longer than this is refused, and a body that fits is
// handed to the handler from it without a copy.
const readBufferSize = 4096

// Handler answers one request: it sets a.Status (0: 200) and
// a.ContentType, and either appends the answer's body to a.Body (an empty
// pooled buffer) or points a.Body at bytes it does not modify later.
type Handler func(r *Request, a *Answer)

// Answer is what a Handler fills in.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Server serves Handler on the connections of a listener.
type Server struct {
	Handler Handler
	// MaxBody bounds Content-Length (413 beyond it).
	MaxBody int64
	// HeaderTimeout bounds the time from a request's first byte (or from
	// accepting the connection, for its first request) to the end of its
	// headers; RequestTimeout, to the end of its body (0: no bound).
	HeaderTimeout, RequestTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request for this
	// long (0: never).
	IdleTimeout time.Duration
	// Logf, when set, receives a handler's panic.
	Logf func(format string, args ...any)
	// Refused, when set, is told of each request the parser refused.
	Refused func(*Error)

	mu       sync.Mutex
	conns    map[*conn]struct{}
	wg       sync.WaitGroup
	shutting atomic.Bool
}

// Connection states.
const (
	stateIdle   = iota // waiting for the first byte of a request
	stateActive        // reading, judging or answering a request
	stateClosed        // closed by the shutdown
)

type conn struct {
	nc    net.Conn
	state atomic.Int32
	// want is the read deadline the current step needs, set is the one
	// set on nc: a read sets want first if they differ, so a request that
	// arrives whole with its first read costs no deadline change.
	want, set time.Time
}

// Read is the connection's reads, with the deadline the current step
// needs.
func (c *conn) Read(p []byte) (int, error) {
	if !c.want.Equal(c.set) {
		if err := c.nc.SetReadDeadline(c.want); err != nil {
			return 0, err
		}
		c.set = c.want
	}
	return c.nc.Read(p)
}

// ErrDrain is returned by Serve when calls were still in flight when the
// drain time ran out (their connections were closed).
var ErrDrain = errors.New("calls still in flight when the drain time ran out")

// Serve accepts connections on l and serves them until ctx is done or
// accepting fails. Then it closes l, closes idle connections, lets the
// requests being read or answered finish within drain (their connections
// closed after the answer), and closes whatever is left.
func (s *Server) Serve(ctx context.Context, l net.Listener, drain time.Duration) (serveErr, err error) {
	s.mu.Lock()
	s.conns = make(map[*conn]struct{})
	s.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- s.accept(l) }()
	select {
	case err := <-errc:
		l.Close()
		return err, nil
	case <-ctx.Done():
	}
	s.shutting.Store(true)
	l.Close()
	<-errc
	s.mu.Lock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-done:
		return nil, nil
	case <-t.C:
	}
	s.mu.Lock()
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.nc.Close()
	}
	s.mu.Unlock()
	return nil, ErrDrain
}

// accept runs until l fails; a closed l during the shutdown is not an
// error.
func (s *Server) accept(l net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shutting.Load() {
				return nil
			}
			// Out of descriptors or memory, or a connection reset while
			// in the backlog: wait and retry, as net/http does.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
				errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := &conn{nc: nc}
		s.mu.Lock()
		if s.shutting.Load() {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

func (s *Server) serveConn(c *conn) {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.nc.Close()
		s.wg.Done()
	}()
	// The first request must begin and end its headers within the
	// header timeout of the connection's start; a later one within the
	// header timeout of its first byte.
	start := time.Now()
	c.want = deadline(start, s.HeaderTimeout)
	for first := true; ; first = false {
		if _, err := br.Peek(1); err != nil {
			return
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return
		}
		if !first {
			start = time.Now()
			c.want = deadline(start, s.HeaderTimeout)
		}
		if !s.serveRequest(c, br, start) || s.shutting.Load() {
			return
		}
		c.state.Store(stateIdle)
		if s.shutting.Load() && c.state.CompareAndSwap(stateIdle, stateClosed) {
			return
		}
		c.want = deadline(time.Now(), s.IdleTimeout)
	}
}

func deadline(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return from.Add(d)
}

// serveRequest reads, handles and answers one request; it reports
// whether the connection stays open.
func (s *Server) serveRequest(c *conn, br *bufio.Reader, start time.Time) (keep bool) {
	h, err := readHead(br, s.MaxBody)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if s.Refused != nil {
				s.Refused(e)
			}
			s.refuse(c, e)
		}
		return false
	}
	c.want = deadline(start, s.RequestTimeout)
	req := Request{Method: h.method, Path: h.path, Close: h.close}
	n := int(h.length)
	body, pooled, err := readBody(br, n)
	if err != nil {
		return false
	}
	req.Body = body
	scratch := getBuffer(512)
	a := Answer{Body: (*scratch)[:0]}
	s.handle(&req, &a)
	if pooled != nil {
		putBuffer(pooled)
	} else if n > 0 {
		_, _ = br.Discard(n)
	}
	keep = !req.Close && a.Status != 500 && !s.shutting.Load()
	out := getBuffer(128 + len(a.Body))
	*out = appendAnswer((*out)[:0], a.Status, a.ContentType, a.Body, !keep)
	putBuffer(scratch)
	_, err = c.nc.Write(*out)
	putBuffer(out)
	return keep && err == nil
}

// readBody reads a body of n bytes: from br's buffer when it fits (the
// caller discards it after use), else into a pooled buffer (the caller
// puts it back).
func readBody(br *bufio.Reader, n int) (body []byte, pooled *[]byte, err error) {
	switch {
	case n == 0:
		return nil, nil, nil
	case n <= br.Size():
		body, err = br.Peek(n)
		return body, nil, err
	}
	// The buffer grows with what arrives, not with what Content-Length
	// announces: a client that announces 8 MiB and sends nothing holds
	// no more than the first 64 KiB.
	pooled = getBuffer(min(n, maxPooled))
	b := (*pooled)[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(b, make([]byte, min(n, 2*cap(b))-len(b))...)[:len(b)]
			*pooled = b
		}
		m, err := br.Read(b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil && len(b) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			putBuffer(pooled)
			return nil, nil, err
		}
	}
	return b, pooled, nil
}

// handle calls the handler; a panic is a 500 answer, never the handler's
// partial answer.
func (s *Server) handle(r *Request, a *Answer) {
	defer func() {
		if v := recover(); v != nil {
			if s.Logf != nil {
				s.Logf("panic while answering %s %s: %v\n%s", r.Method, r.Path, v, debug.Stack())
			}
			*a = Answer{Status: 500, ContentType: "application/json", Body: errorBody(nil, "internal error")}
		}
	}()
	s.Handler(r, a)
	if a.Status == 0 {
		a.Status = 200
	}
	if a.ContentType == "" {
		a.ContentType = "application/json"
	}
}

// refuse answers a request the parser refused, and the connection closes.
func (s *Server) refuse(c *conn, e *Error) {
	out := getBuffer(256)
	body := errorBody(nil, e.Reason)
	*out = appendAnswer((*out)[:0], e.Status, "application/json", body, true)
	_, _ = c.nc.Write(*out)
	putBuffer(out)
	lingerClose(c.nc)
}

// lingerClose ends a connection whose client may still be sending what
// the server refused: it shuts the sending side, then reads and discards
// for a moment (as net/http does), so that closing with unread input
// does not reset the connection before the client reads the answer.
func lingerClose(nc net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := nc.(closeWriter)
	if !ok {
		return
	}
	if cw.CloseWrite() != nil {
		return
	}
	_ = nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.CopyN(io.Discard, nc, 256<<10)
}

// errorBody is {"Err": reason}: what the daemon's plugin client reads of
// an answer that is not 200.
func errorBody(dst []byte, reason string) []byte {
	dst = append(dst, `{"Err":`...)
	dst = strconv.AppendQuote(dst, "portcullis: "+reason)
	return append(dst, "}\n"...)
}

// appendAnswer appends a whole answer: status line, Content-Type,
// Content-Length, Connection: close when the connection ends, the body.
func appendAnswer(dst []byte, status int, contentType string, body []byte, close bool) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	dst = append(dst, "\r\nContent-Type: "...)
	dst = append(dst, contentType...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	if close {
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status"
}

// Buffers up to maxPooled bytes are reused; larger ones (a rare big
// envelope) are left to the collector.
const maxPooled = 64 << 10

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuffer(n int) *[]byte {
	b := bufferPool.Get().(*[]byte)
	if cap(*b) < n {
		nb := make([]byte, 0, max(n, 2*cap(*b)))
		*b = nb
	}
	return b
}

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufferPool.Put(b)
	}
}
