// Package wire is the plugin socket's HTTP/1.1: exactly what the daemon's
// plugin client (github.com/docker/docker/pkg/plugins, a net/http client)
// sends — POST with a Content-Length body on kept-alive connections — and
// the GET or POST without a body that `portcullis status` sends. It is a
// strict parser of untrusted input: anything else is answered with a 4xx
// status and the connection is closed, and a request reaches the handler
// only when its request line, headers and whole body were read.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
)

// Bounds on one request.
const (
	// MaxHeaderBytes bounds the request line and header lines together,
	// line ends included.
	MaxHeaderBytes = 64 << 10
	// MaxHeaders bounds the number of header lines.
	MaxHeaders = 100
	// maxLine bounds one line: the connection's read buffer.
	maxLine = readBufferSize
)

// Request is one parsed request.
type Request struct {
	Method string
	// Path is the request target as sent: "/" and then letters, digits
	// and "._~-/" only (no query, no escapes).
	Path string
	// Body is the whole body (Content-Length bytes). It is the server's
	// buffer: valid until the handler returns.
	Body []byte
	// Close is set when the client asked for the connection to end after
	// the answer (Connection: close, or HTTP/1.0).
	Close bool
}

// Error is a request the server refuses: it answers Status and closes the
// connection.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, statusText(e.Status), e.Reason)
}

func bad(format string, args ...any) *Error {
	return &Error{Status: 400, Reason: fmt.Sprintf(format, args...)}
}

// head is what readHead parses of a request before its body.
type head struct {
	method, path string
	length       int64 // -1: no Content-Length
	close        bool
	http10       bool
}

// readHead reads and checks the request line and the header lines. An
// error that is not an *Error is the connection's (EOF, timeout).
func readHead(br *bufio.Reader, maxBody int64) (head, error) {
	h := head{length: -1}
	total := 0
	line, err := readLine(br, &total)
	if err != nil {
		return h, err
	}
	if err := parseRequestLine(line, &h); err != nil {
		return h, err
	}
	var host, headers int
	for {
		line, err := readLine(br, &total)
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			break
		}
		headers++
		if headers > MaxHeaders {
			return h, &Error{Status: 431, Reason: fmt.Sprintf("more than %d header lines", MaxHeaders)}
		}
		name, value, err := splitHeader(line)
		if err != nil {
			return h, err
		}
		switch {
		case equalFold(name, "content-length"):
			if h.length >= 0 {
				return h, bad("more than one Content-Length")
			}
			n, err := parseLength(value)
			if err != nil {
				return h, err
			}
			if n > maxBody {
				return h, &Error{Status: 413, Reason: fmt.Sprintf("Content-Length %d is larger than %d bytes", n, maxBody)}
			}
			h.length = n
		case equalFold(name, "transfer-encoding"):
			// The daemon's client sends its message from a bytes.Buffer:
			// always with a Content-Length.
			return h, &Error{Status: 411, Reason: "Transfer-Encoding is not accepted; send a Content-Length"}
		case equalFold(name, "host"):
			host++
			if host > 1 || !validHost(value) {
				return h, bad("a bad or repeated Host header")
			}
		case equalFold(name, "connection"):
			if hasToken(value, "close") {
				h.close = true
			}
		case equalFold(name, "expect"):
			return h, &Error{Status: 417, Reason: "Expect is not supported"}
		}
	}
	if !h.http10 && host == 0 {
		// HTTP/1.0 needs no Host.
		return h, bad("no Host header")
	}
	if h.length < 0 {
		if h.method == "POST" || h.method == "PUT" || h.method == "PATCH" {
			return h, &Error{Status: 411, Reason: "a " + h.method + " without Content-Length"}
		}
		h.length = 0
	}
	return h, nil
}

// readLine returns the next line without its CRLF, from br's buffer (valid
// until the next read). A bare LF, a line longer than the buffer and more
// than MaxHeaderBytes in all are errors.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*total += len(line)
	if *total > MaxHeaderBytes {
		return nil, &Error{Status: 431, Reason: fmt.Sprintf("request line and headers longer than %d bytes", MaxHeaderBytes)}
	}
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &Error{Status: 431, Reason: fmt.Sprintf("a header line longer than %d bytes", maxLine)}
		}
		// The connection's error: it ended or timed out mid-request.
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, bad("a line ends with a bare LF")
	}
	return line[:len(line)-2], nil
}

// parseRequestLine parses METHOD SP path SP HTTP/1.x.
func parseRequestLine(line []byte, h *head) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return bad("malformed request line")
	}
	method := line[:sp1]
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return bad("malformed request line")
	}
	path, version := rest[:sp2], rest[sp2+1:]
	if len(method) > 16 {
		return bad("malformed method")
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return bad("malformed method")
		}
	}
	if len(path) > 1024 || path[0] != '/' {
		return bad("malformed path")
	}
	for _, c := range path {
		if !pathByte[c] {
			return bad("malformed path")
		}
	}
	switch string(version) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.http10, h.close = true, true
	default:
		if bytes.HasPrefix(version, []byte("HTTP/")) && len(version) == 8 {
			return &Error{Status: 505, Reason: "only HTTP/1.0 and HTTP/1.1"}
		}
		return bad("malformed HTTP version")
	}
	h.method = internMethod(method)
	h.path = string(path)
	return nil
}

func internMethod(m []byte) string {
	switch string(m) {
	case "POST":
		return "POST"
	case "GET":
		return "GET"
	}
	return string(m)
}

// splitHeader splits "Name: value" and checks both: the name a token, the
// value without control characters other than tab, no obsolete line
// folding.
func splitHeader(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, bad("a header line without a name and a colon")
	}
	name = line[:colon]
	for _, c := range name {
		if !tokenByte[c] {
			return nil, nil, bad("a malformed header name")
		}
	}
	value = line[colon+1:]
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, bad("a control character in a header value")
		}
	}
	return name, bytes.Trim(value, " \t"), nil
}

// parseLength parses a Content-Length: decimal digits only, at most 18 of
// them (no sign, no list, no overflow).
func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, bad("a malformed Content-Length")
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, bad("a malformed Content-Length")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// hasToken reports whether the comma-separated list v holds tok (ASCII
// case-insensitively).
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		if equalFold(bytes.Trim(item, " \t"), tok) {
			return true
		}
	}
	return false
}

// equalFold compares b with the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// validHost accepts the bytes net/http accepts in a Host: letters,
// digits and "!$%&'()*+,-.:;=@[]_~". The value is not used; the daemon's
// client sends "plugin.moby.localhost" (moby pkg/plugins dummyHost), and
// older clients that put the socket path in the URL may send it escaped.
func validHost(v []byte) bool {
	if len(v) == 0 || len(v) > 255 {
		return len(v) == 0 // an empty Host is allowed (RFC 9112 3.2)
	}
	for _, c := range v {
		if !hostByte[c] {
			return false
		}
	}
	return true
}

var pathByte, tokenByte, hostByte [256]bool

func init() {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		pathByte[c] = alnum || c == '.' || c == '_' || c == '~' || c == '-' || c == '/'
		hostByte[c] = alnum || (c < 0x7f && bytes.IndexByte([]byte("!$%&'()*+,-.:;=@[]_~"), byte(c)) >= 0)
		tokenByte[c] = alnum || (c < 0x7f && c > ' ' && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0)
	}
}
