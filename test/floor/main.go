// Command floor is the least an authorization plugin obeying Portcullis's
// rules must do, and nothing else: a lower bound of what `portcullis
// serve` costs, which test/loadgen measures beside the allow-all baseline
// (test/allowall) and Portcullis.
//
//	go run ./test/floor -socket /tmp/floor.sock -record-file /tmp/floor.log
//
// What it does, all of it work the project's rules force on any plugin
// that judges the way Portcullis must:
//
//   - the transport of `portcullis serve`: plugin.ServeHandler, the plugin
//     socket's own HTTP/1.1 (internal/plugin/wire) with serve's connection
//     cap and timeouts, on a socket made by plugin.Listen; /Plugin.Activate
//     is answered with the AuthZ manifest, as Portcullis answers it; the
//     collector tuned as serve tunes it (GOGC=400 unless GOGC or
//     GOMEMLIMIT is set; serve's soft memory limit, at least 64 MiB, is
//     never reached by the floor's small heap), so that the comparison is
//     of work, not of tuning;
//   - AuthZReq: the daemon's envelope decoded as Portcullis decodes it
//     (plugin.ParseEnvelope: the daemon's own shape by the strict fast
//     path, anything else by encoding/json, issue 12); then request.Parse,
//     the request decoded into the daemon's own types by encoding/json
//     (issue 12) with the walk for unknown fields (issue 15); then the
//     record handed to the kernel before the answer (issue 17 item 10): by
//     default as Portcullis's file sink does it, the records of calls
//     waiting together in one write(2) to a file opened O_APPEND, each
//     call answered after it (-group-commit=false: one write(2) per
//     record, under a mutex); then allow;
//   - AuthZRes: the envelope decoded as Portcullis decodes the response
//     phase (plugin.ParseResponseEnvelope: the same fast path first, the
//     bodies of a GET or HEAD left undecoded); then allow, with nothing
//     written.
//
// It fails closed as any plugin must: a message that does not decode, or a
// record that could not be written, is denied. Parse's error is ignored:
// the floor does not judge, so it allows what Portcullis would deny.
//
// The record is one fixed line of -record-bytes bytes (default 660: the
// mean size of Portcullis's request-phase records for the recorded
// traffic, 1,999 of them measured on 2026-12-01 with test/loadgen
// -socket; they ranged from 419 B to 1.8 KB).
//
// Why it is a lower bound: it leaves out everything Portcullis does beyond
// that, each of which costs more than nothing — judging (the policy set,
// Decide, the denial's message), the real audit record (its id, time and
// identity, the description of the request, its encoding, and the sinks'
// coordination: the fsync interval, rotation, syslog, loss accounting),
// ownership (the store, resolving references, the response phase
// recording what a create made), identity (peer certificates, the
// gateway's), metrics, the connection cap and the status endpoint. So the
// ratio floor/allow-all is what the rules force, and portcullis/floor is
// what Portcullis's own work costs on top.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/docker/go-plugins-helpers/sdk"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/plugin/wire"
	"github.com/portcullis/portcullis/internal/request"
)

// defaultRecordBytes is the measured mean size of a request-phase record.
const defaultRecordBytes = 660

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "Unix socket to serve the plugin protocol on (required)")
	recordFile := fs.String("record-file", "", "file each request's record is appended to (required)")
	recordBytes := fs.Int("record-bytes", defaultRecordBytes, "size of the fixed record line, newline included (at least 32)")
	groupCommit := fs.Bool("group-commit", true, "write the records of calls waiting together with one write(2), as Portcullis's file sink does (false: one write(2) per record)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *socket == "" || *recordFile == "" || *recordBytes < 32 || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	f, err := os.OpenFile(*recordFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	defer f.Close()
	l, err := plugin.Listen(*socket)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400) // as serve's tuneGC
	}
	var rec recorder = &single{out: f, record: record(*recordBytes)}
	if *groupCommit {
		rec = newGroup(f, record(*recordBytes))
	}
	fl := &floor{rec: rec}
	// serve's transport with serve's defaults.
	if err := plugin.ServeHandler(ctx, l, fl.serve, 5*time.Second, plugin.DefaultLimits); err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	return 0
}

// record is the fixed line written for every request: a JSON object of n
// bytes with its newline.
func record(n int) []byte {
	const head, tail = `{"type":"floor","pad":"`, `"}` + "\n"
	return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

// floor answers the plugin protocol.
type floor struct {
	rec recorder
}

var (
	allowAnswer    = encode(authorization.Response{Allow: true})
	activateAnswer = []byte(`{"Implements": ["` + authorization.AuthZApiImplements + `"]}` + "\n")
	badMessage     = encode(authorization.Response{Msg: "floor: request rejected: the authorization message does not decode"})
	notRecorded    = encode(authorization.Response{Msg: "floor: request rejected: the record could not be written"})
)

func encode(r authorization.Response) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func (fl *floor) serve(r *wire.Request, a *wire.Answer) {
	a.ContentType = sdk.DefaultContentTypeV1_1
	switch r.Path {
	case "/Plugin.Activate", "/" + authorization.AuthZApiRequest, "/" + authorization.AuthZApiResponse:
	default:
		a.Status = 404
		a.Body = encode(authorization.Response{Err: "floor: no such plugin endpoint"})
		return
	}
	if r.Method != "POST" {
		a.Status = 405
		a.Body = encode(authorization.Response{Err: "floor: method " + r.Method + " not allowed here"})
		return
	}
	switch r.Path {
	case "/Plugin.Activate":
		a.Body = activateAnswer
	case "/" + authorization.AuthZApiRequest:
		a.Body = fl.request(r.Body)
	default:
		a.Body = response(r.Body)
	}
}

// request is the request phase: decode, parse, record, allow.
func (fl *floor) request(body []byte) []byte {
	e, err := plugin.ParseEnvelope(body)
	if err == nil {
		// The floor does not judge: what Parse refuses is allowed.
		_, _ = request.Parse(e.RequestMethod, e.RequestURI, e.RequestHeaders, e.RequestBody)
	}
	// A call that does not decode is recorded too, as Portcullis records
	// its denial.
	werr := fl.rec.write()
	switch {
	case werr != nil:
		return notRecorded
	case err != nil:
		return badMessage
	}
	return allowAnswer
}

// response is the response phase: decode, allow.
func response(body []byte) []byte {
	if _, err := plugin.ParseResponseEnvelope(body); err != nil {
		return badMessage
	}
	return allowAnswer
}
