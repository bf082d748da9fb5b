// Command recorder is an allow-all authorization plugin that writes every
// request the daemon asks it about, one JSON object a line, in the format
// test/corpus reads. test/recorder/record.sh runs it beside a private
// dockerd while the real Docker CLI runs a series of commands; the result
// is the recorded traffic under testdata/traffic/.
//
//	go run ./test/recorder -socket /tmp/rec/rec.sock -out traffic.jsonl -step-file /tmp/rec/step
//
// The step file holds a label for the command being run (the script
// rewrites it before each command); every request is recorded with the
// label read from it at that moment, so the CLI's requests can be told
// apart by command. Only AuthZReq is recorded; responses are allowed and
// not written.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/test/corpus"
)

type recorder struct {
	mu       sync.Mutex
	out      io.Writer
	stepFile string
	err      error // the first write error; the plugin then denies
}

// AuthZReq records the request and allows it. If the record cannot be
// written the request is denied, so a recording never silently misses
// traffic.
func (r *recorder) AuthZReq(req authorization.Request) authorization.Response {
	e := entry(req, r.step())
	line, err := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && r.err == nil {
		_, err = r.out.Write(append(line, '\n'))
	}
	if err != nil && r.err == nil {
		r.err = err
		fmt.Fprintf(os.Stderr, "recorder: %v\n", err)
	}
	if r.err != nil {
		return authorization.Response{Msg: "recorder: " + r.err.Error()}
	}
	return authorization.Response{Allow: true}
}

func (r *recorder) AuthZRes(authorization.Request) authorization.Response {
	return authorization.Response{Allow: true}
}

func (r *recorder) step() string {
	if r.stepFile == "" {
		return ""
	}
	data, err := os.ReadFile(r.stepFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// entry turns the daemon's request into a corpus entry. A body that is
// compact JSON in valid UTF-8 followed by one newline (what the CLI sends)
// is kept as JSON, readable in the file; any other body is kept byte for byte in
// base64. Either way Entry.BodyBytes gives back exactly what the daemon
// forwarded.
func entry(req authorization.Request, step string) corpus.Entry {
	e := corpus.Entry{
		Step:    step,
		Name:    strings.TrimSpace(step + " " + req.RequestMethod + " " + req.RequestURI),
		User:    req.User,
		Method:  req.RequestMethod,
		URI:     req.RequestURI,
		Headers: req.RequestHeaders,
	}
	if len(req.RequestBody) == 0 {
		return e
	}
	if trimmed, ok := bytes.CutSuffix(req.RequestBody, []byte("\n")); ok && utf8.Valid(trimmed) && json.Valid(trimmed) {
		var compact bytes.Buffer
		if json.Compact(&compact, trimmed) == nil && bytes.Equal(compact.Bytes(), trimmed) {
			e.Body = json.RawMessage(trimmed)
			return e
		}
	}
	e.BodyBase64 = base64.StdEncoding.EncodeToString(req.RequestBody)
	return e
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("recorder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "Unix socket to serve the plugin protocol on (required)")
	out := fs.String("out", "", "file to append the recorded requests to (required)")
	stepFile := fs.String("step-file", "", "file holding the label of the command being run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "recorder: %v\n", err)
		return 1
	}
	defer f.Close()
	_ = os.Remove(*socket)
	l, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(stderr, "recorder: %v\n", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	err = authorization.NewHandler(&recorder{out: f, stepFile: *stepFile}).Serve(l)
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return 0
	}
	fmt.Fprintf(stderr, "recorder: %v\n", err)
	return 1
}
