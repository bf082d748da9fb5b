package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/answers.golden")

// echo answers with what it was asked, so that the golden file shows what
// the handler received.
func echo(r *Request, a *Answer) {
	a.ContentType = "text/plain"
	a.Body = fmt.Appendf(a.Body, "%s %s %q\n", r.Method, r.Path, r.Body)
}

// start serves h on a Unix socket in a temporary directory until the test
// ends, and returns the socket's path.
func start(t *testing.T, s *Server) string {
	t.Helper()
	if s.MaxBody == 0 {
		s.MaxBody = 1 << 20
	}
	sock := filepath.Join(t.TempDir(), "w.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		serveErr, err := s.Serve(ctx, l, 5*time.Second)
		done <- errors.Join(serveErr, err)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock
}

func dial(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

// exchange sends in, half-closes, and returns everything the server
// sends until it closes.
func exchange(t *testing.T, sock string, in []byte) []byte {
	t.Helper()
	c := dial(t, sock)
	if _, err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answers: %v (so far %q)", err, out)
	}
	return out
}

type wireCase struct {
	name string
	in   []byte
}

func readCases(t testing.TB) []wireCase {
	t.Helper()
	data, err := os.ReadFile("testdata/requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases []wireCase
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, lit, ok := strings.Cut(line, "\t")
		in, err := strconv.Unquote(lit)
		if !ok || err != nil {
			t.Fatalf("testdata/requests.txt:%d: want NAME<TAB>\"go string\": %v", i+1, err)
		}
		cases = append(cases, wireCase{name, []byte(in)})
	}
	return cases
}

// generated are the cases too long for a line of requests.txt.
func generated() []wireCase {
	body := bytes.Repeat([]byte("b"), 3*readBufferSize)
	many := "POST /a HTTP/1.1\r\nHost: p\r\n" + strings.Repeat("X-A: b\r\n", MaxHeaders) + "Content-Length: 0\r\n\r\n"
	long := "POST /a HTTP/1.1\r\nHost: p\r\nX-A: " + strings.Repeat("b", readBufferSize) + "\r\nContent-Length: 0\r\n\r\n"
	huge := "POST /a HTTP/1.1\r\nHost: p\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 4000)+"\r\n", 17) + "Content-Length: 0\r\n\r\n"
	bodyOf := func(n int) string {
		return "POST /big HTTP/1.1\r\nHost: p\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
	}
	return []wireCase{
		{"body_larger_than_buffer_then_another", []byte(bodyOf(len(body)) + string(body) + bodyOf(1) + "z")},
		{"body_exactly_buffer", []byte(bodyOf(readBufferSize) + string(body[:readBufferSize]))},
		{"body_at_limit", []byte(bodyOf(1<<20) + strings.Repeat("c", 1<<20))},
		{"headers_too_many", []byte(many)},
		{"header_line_longer_than_buffer", []byte(long)},
		{"headers_larger_than_64KiB", []byte(huge)},
	}
}

// TestWire sends each request of testdata/requests.txt (and a few
// generated ones) on its own connection and compares everything the
// server answers with testdata/answers.golden.
func TestWire(t *testing.T) {
	sock := start(t, &Server{Handler: echo, HeaderTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	var got bytes.Buffer
	for _, c := range append(readCases(t), generated()...) {
		out := exchange(t, sock, c.in)
		if len(out) > 300 {
			out = append(out[:300:300], fmt.Sprintf("... (%d bytes)", len(out))...)
		}
		fmt.Fprintf(&got, "== %s\n%s\n", c.name, bytes.ReplaceAll(out, []byte("\r\n"), []byte("\\r\\n\n")))
	}
	const golden = "testdata/answers.golden"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("answers differ from %s (go test -run TestWire -update to rewrite, then review the diff):\n%s", golden, got.Bytes())
	}
}

// TestRefusedNeverHandled: a request the parser refuses never reaches
// the handler.
func TestRefusedNeverHandled(t *testing.T) {
	var handled atomic.Int64
	sock := start(t, &Server{Handler: func(r *Request, a *Answer) { handled.Add(1) }})
	for _, c := range append(readCases(t), generated()...) {
		out := exchange(t, sock, c.in)
		n := handled.Swap(0)
		refused := bytes.Contains(out, []byte("Connection: close")) && !bytes.HasPrefix(out, []byte("HTTP/1.1 200"))
		if refused && n != 0 {
			t.Errorf("%s: refused, yet the handler ran %d times", c.name, n)
		}
		if strings.HasPrefix(c.name, "half_") && n != 0 {
			t.Errorf("%s: a request cut short reached the handler", c.name)
		}
	}
}

// readAnswer reads one answer from br.
func readAnswer(t *testing.T, br *bufio.Reader) (status string, body string) {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading an answer: %v", err)
	}
	n := -1
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if h == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(h, "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line), string(b)
}

// closedWithin waits for the server to close c and returns how long it
// took; it fails if c receives data or stays open for max.
func closedWithin(t *testing.T, c net.Conn, max time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(max))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %v", max)
	}
	if len(b) > 0 {
		t.Errorf("unexpected answer %q", b)
	}
	return time.Since(begin)
}

// TestSlowloris: a request that trickles in, a byte at a time, is cut
// off at the request timeout counted from its first byte: each byte does
// not buy more time.
func TestSlowloris(t *testing.T) {
	const timeout = 300 * time.Millisecond
	sock := start(t, &Server{Handler: echo, HeaderTimeout: timeout, RequestTimeout: timeout, IdleTimeout: time.Minute})
	for _, part := range []string{"headers", "body"} {
		t.Run(part, func(t *testing.T) {
			c := dial(t, sock)
			req := "POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 40\r\n\r\n" + strings.Repeat("x", 40)
			if part == "body" {
				// The headers arrive at once; the body trickles.
				n := strings.Index(req, "\r\n\r\n") + 4
				if _, err := io.WriteString(c, req[:n]); err != nil {
					t.Fatal(err)
				}
				req = req[n:]
			}
			begin := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				b, _ := io.ReadAll(c)
				if len(b) > 0 {
					t.Errorf("answered %q", b)
				}
				closed <- time.Since(begin)
			}()
			// 20ms a byte: the whole request would take about a second.
			for i := 0; i < len(req); i++ {
				if _, err := io.WriteString(c, req[i:i+1]); err != nil {
					break // closed by the server
				}
				time.Sleep(20 * time.Millisecond)
			}
			took := <-closed
			if took < timeout-50*time.Millisecond || took > 3*timeout {
				t.Errorf("cut off after %v, want about %v", took, timeout)
			}
		})
	}
}

// TestSlowButInTime: a request whose pieces arrive apart, all within the
// request timeout, is answered, on a connection that stays open.
func TestSlowButInTime(t *testing.T) {
	sock := start(t, &Server{Handler: echo, HeaderTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second})
	c := dial(t, sock)
	br := bufio.NewReader(c)
	body := strings.Repeat("y", 2*readBufferSize)
	req := "POST /slow HTTP/1.1\r\nHost: p\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	for round := 0; round < 2; round++ {
		for i := 0; i < len(req); i += len(req) / 5 {
			if _, err := io.WriteString(c, req[i:min(len(req), i+len(req)/5)]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Millisecond)
		}
		status, got := readAnswer(t, br)
		if status != "HTTP/1.1 200 OK" || got != fmt.Sprintf("POST /slow %q\n", body) {
			t.Fatalf("round %d: %s %.80q", round, status, got)
		}
	}
}

// TestIdleTimeout: a kept-alive connection with no request is closed
// after the idle timeout; a connection that never sent a request, after
// the header timeout.
func TestIdleTimeout(t *testing.T) {
	const idle, header = 200 * time.Millisecond, 400 * time.Millisecond
	sock := start(t, &Server{Handler: echo, HeaderTimeout: header, RequestTimeout: header, IdleTimeout: idle})

	c := dial(t, sock)
	if _, err := io.WriteString(c, "POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if status, _ := readAnswer(t, bufio.NewReader(c)); status != "HTTP/1.1 200 OK" {
		t.Fatal(status)
	}
	if took := closedWithin(t, c, 5*time.Second); took < idle-50*time.Millisecond || took > 5*idle {
		t.Errorf("idle connection closed after %v, want about %v", took, idle)
	}

	fresh := dial(t, sock)
	if took := closedWithin(t, fresh, 5*time.Second); took < header-50*time.Millisecond || took > 5*header {
		t.Errorf("silent new connection closed after %v, want about %v", took, header)
	}
}

// TestHandlerPanic: a panicking handler gives a 500 (which the daemon
// reads as a failed call: a denial) and the connection closes.
func TestHandlerPanic(t *testing.T) {
	var logged atomic.Bool
	sock := start(t, &Server{
		Handler: func(r *Request, a *Answer) {
			a.Body = append(a.Body, `{"Allow":true}`...)
			panic("boom")
		},
		Logf: func(string, ...any) { logged.Store(true) },
	})
	out := exchange(t, sock, []byte("POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"))
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 500 ")) || bytes.Contains(out, []byte("Allow")) || !bytes.Contains(out, []byte("Connection: close")) {
		t.Errorf("answer %q", out)
	}
	if !logged.Load() {
		t.Error("the panic was not logged")
	}
}

// TestShutdown: at shutdown idle connections close at once, a call in
// flight is answered (with Connection: close) and Serve returns after it;
// past the drain time what is left is closed and Serve says so.
func TestShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release bool
		want    error
	}{{"drained", true, nil}, {"drain_time_runs_out", false, ErrDrain}} {
		t.Run(tc.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			s := &Server{MaxBody: 100, Handler: func(r *Request, a *Answer) {
				if r.Path == "/block" {
					close(entered)
					<-release
				}
				echo(r, a)
			}}
			sock := filepath.Join(t.TempDir(), "w.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				serveErr, err := s.Serve(ctx, l, 300*time.Millisecond)
				done <- errors.Join(serveErr, err)
			}()
			idle := dial(t, sock)
			if _, err := io.WriteString(idle, "POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			readAnswer(t, bufio.NewReader(idle))
			busy := dial(t, sock)
			if _, err := io.WriteString(busy, "POST /block HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			<-entered
			cancel()
			closedWithin(t, idle, 5*time.Second)
			if _, err := net.Dial("unix", sock); err == nil {
				t.Error("still accepting after shutdown began")
			}
			if tc.release {
				close(release)
				out, _ := io.ReadAll(busy)
				if !bytes.HasPrefix(out, []byte("HTTP/1.1 200 OK")) || !bytes.Contains(out, []byte("Connection: close")) {
					t.Errorf("in-flight call answered %q", out)
				}
			}
			if err := <-done; !errors.Is(err, tc.want) {
				t.Errorf("Serve = %v, want %v", err, tc.want)
			}
			if !tc.release {
				closedWithin(t, busy, 5*time.Second)
				close(release)
			}
		})
	}
}
