package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"testing"
)

// FuzzReadRequest feeds arbitrary bytes to the parser: it never panics,
// refuses with a status it can answer, and whatever it accepts net/http's
// http.ReadRequest accepts too, with the same method, path and body, and
// passes the Host rules net/http's server adds (differential: the lean
// parser is never more lenient than net/http).
func FuzzReadRequest(f *testing.F) {
	for _, c := range append(readCases(f), generated()...) {
		if len(c.in) < 4096 {
			f.Add(c.in)
		}
	}
	f.Add([]byte("POST /AuthZPlugin.AuthZRes HTTP/1.1\r\nHost: plugin.moby.localhost\r\nContent-Length: 4\r\n\r\nnull"))
	f.Add([]byte("GET /Portcullis.Status HTTP/1.0\r\n\r\n"))
	f.Add([]byte("POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 000001\r\n\r\nx"))
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: 1\r\n\r\n\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxBody = 1 << 16
		br := bufio.NewReaderSize(bytes.NewReader(data), readBufferSize)
		h, err := readHead(br, maxBody)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				if e.Status < 400 || e.Status > 599 || statusText(e.Status) == "Status" {
					t.Fatalf("refused with status %d", e.Status)
				}
			}
			return
		}
		body, pooled, err := readBody(br, int(h.length))
		if err != nil {
			return // cut short: never handled
		}
		if pooled != nil {
			defer putBuffer(pooled)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("accepted %s %s, net/http refuses: %v", h.method, h.path, err)
		}
		// What net/http's server checks beyond http.ReadRequest.
		// (http.ReadRequest moves the Host header out of req.Header.)
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
		_, _ = tp.ReadLine()
		mh, _ := tp.ReadMIMEHeader()
		if hosts := mh["Host"]; len(hosts) > 1 || (req.ProtoAtLeast(1, 1) && len(hosts) == 0) {
			t.Fatalf("accepted %s %s with Host %q, net/http's server refuses it", h.method, h.path, hosts)
		}
		got, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("accepted %s %s with %d bytes of body, net/http's body: %v", h.method, h.path, len(body), err)
		}
		if req.Method != h.method || req.RequestURI != h.path || !bytes.Equal(got, body) {
			t.Fatalf("parsed %s %s %q, net/http %s %s %q", h.method, h.path, body, req.Method, req.RequestURI, got)
		}
		if req.Close && !h.close {
			t.Fatalf("keeps the connection, net/http would close it")
		}
	})
}
