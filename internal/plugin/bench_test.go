package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/test/benchcpu"
	"github.com/portcullis/portcullis/test/corpus"
)

// Benchmarks for one AuthZ call as the daemon makes it: the envelope
// decoded, the request classified and judged by the shipped example
// policies, the answer encoded, through (*Plugin).Handler() with httptest.
// Run with
//
//	go test -run XXX -bench . -benchmem ./internal/plugin
//
// internal/policy/bench_test.go measures Decide alone, internal/audit/bench_test.go
// the audit encoding and file sink; docs/performance.md has the numbers.

type benchCall struct {
	name string
	env  plugin.Envelope
	msg  []byte
}

// benchCalls is the recorded traffic (the Engine 29 recording) as AuthZReq
// messages.
func benchCalls(b *testing.B) []benchCall {
	b.Helper()
	entries := corpus.Named(b, corpus.Engine29)
	var out []benchCall
	for _, e := range entries {
		env := plugin.Envelope{RequestMethod: e.Method, RequestURI: e.URI, RequestHeaders: e.Headers, RequestBody: e.BodyBytes()}
		out = append(out, benchCall{name: e.Name, env: env, msg: mustJSON(b, env)})
	}
	return out
}

func mustJSON(b *testing.B, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func findCall(b *testing.B, calls []benchCall, method, uriPart string) benchCall {
	for _, c := range calls {
		if c.env.RequestMethod == method && strings.Contains(c.env.RequestURI, uriPart) && (method != "POST" || c.env.RequestBody != nil) {
			return c
		}
	}
	b.Fatalf("no %s %s in the corpus", method, uriPart)
	return benchCall{}
}

// benchPlugin serves the shipped example policies, logging nowhere. With
// auditDir set, decisions go to the audit file sink there (as `portcullis
// serve --audit-file` does); otherwise they are not recorded.
func benchPlugin(b *testing.B, auditDir string, extra ...plugin.Option) http.Handler {
	b.Helper()
	set, files, diags := policy.LoadDir("../../examples/policies")
	if diags.HasErrors() || set == nil {
		var buf bytes.Buffer
		_ = policy.WriteDiagnostics(&buf, files, diags)
		b.Fatalf("example policies: %s", buf.String())
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	opts := []plugin.Option{plugin.WithLogger(log)}
	if auditDir != "" {
		a, err := sink.New(sink.Config{PluginVersion: "bench", Logger: log, File: &sink.FileConfig{Path: filepath.Join(auditDir, "audit.log")}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		opts = append(opts, plugin.WithAuditor(plugin.NewTrail(a)))
	}
	return plugin.New(set, append(opts, extra...)...).Handler()
}

// roundTrip sends one message through h the way net/http would deliver
// it, and checks the answer decodes.
func roundTrip(b *testing.B, h http.Handler, path string, msg []byte) (allow bool) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(msg))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var res struct {
		Allow bool
		Err   string
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil || res.Err != "" {
		b.Fatalf("%s: HTTP %d %s", path, w.Code, w.Body.Bytes())
	}
	return res.Allow
}

const (
	reqPath = "/AuthZPlugin.AuthZReq"
	resPath = "/AuthZPlugin.AuthZRes"
)

func benchHandler(b *testing.B, h http.Handler, path string, msg []byte, wantAllow bool) {
	b.Helper()
	if got := roundTrip(b, h, path, msg); got != wantAllow {
		b.Fatalf("allow = %v, want %v", got, wantAllow)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	done := benchcpu.Report(b)
	for b.Loop() {
		roundTrip(b, h, path, msg)
	}
	done()
}

// Envelope decoding alone, for a typical create (the body is base64 in
// the message).
func BenchmarkDecodeEnvelopeCreate(b *testing.B) {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	b.ReportAllocs()
	b.SetBytes(int64(len(c.msg)))
	done := benchcpu.Report(b)
	for b.Loop() {
		if _, err := plugin.DecodeEnvelope(bytes.NewReader(c.msg)); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

func BenchmarkHandlerPing(b *testing.B) {
	c := findCall(b, benchCalls(b), "HEAD", "/_ping")
	benchHandler(b, benchPlugin(b, ""), reqPath, c.msg, true)
}

func BenchmarkHandlerInspect(b *testing.B) {
	c := findCall(b, benchCalls(b), "GET", "/containers/web1/json")
	benchHandler(b, benchPlugin(b, ""), reqPath, c.msg, true)
}

// The CLI's plain `docker run` create (1.5 KB), allowed by the default
// policy.
func BenchmarkHandlerCreate(b *testing.B) {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	benchHandler(b, benchPlugin(b, ""), reqPath, c.msg, true)
}

// The same create with the audit file sink on.
func BenchmarkHandlerCreateAudited(b *testing.B) {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	benchHandler(b, benchPlugin(b, b.TempDir()), reqPath, c.msg, true)
}

// largeCreate is the CLI's create padded with Env entries and Labels to
// just under the daemon's 1 MiB forwarding limit.
func largeCreate(b *testing.B) plugin.Envelope {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	var m map[string]any
	if err := json.Unmarshal(c.env.RequestBody, &m); err != nil {
		b.Fatal(err)
	}
	var env []string
	labels := map[string]string{}
	for i := 0; ; i++ {
		env = append(env, "VAR_"+strconv.Itoa(i)+"="+strings.Repeat("v", 80))
		labels["com.example.label."+strconv.Itoa(i)] = "value-" + strconv.Itoa(i)
		if i%128 == 0 {
			m["Env"], m["Labels"] = env, labels
			if len(mustJSON(b, m)) > 1<<20-48<<10 {
				break
			}
		}
	}
	e := c.env
	e.RequestBody = append(mustJSON(b, m), '\n')
	if len(e.RequestBody) >= 1<<20 {
		b.Fatalf("body %d bytes, not under 1 MiB", len(e.RequestBody))
	}
	e.RequestHeaders = map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(e.RequestBody))}
	return e
}

// The 1 MiB create through the whole handler: envelope (1.4 MB of
// base64), decode, judge, answer.
func BenchmarkHandlerCreateLarge(b *testing.B) {
	e := largeCreate(b)
	benchHandler(b, benchPlugin(b, ""), reqPath, mustJSON(b, e), true)
}

// The 1 MiB create decoded and judged (Evaluate: request.Parse and
// Decide with the shipped policies), the measure. Target < 5 ms.
func BenchmarkEvaluateCreateLarge(b *testing.B) {
	e := largeCreate(b)
	set, _, diags := policy.LoadDir("../../examples/policies")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	p := plugin.New(set)
	if o := p.Evaluate(&e); !o.Allowed() {
		b.Fatalf("not allowed: %s", o.Message())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(e.RequestBody)))
	done := benchcpu.Report(b)
	for b.Loop() {
		p.Evaluate(&e)
	}
	done()
}

// A request the default policy denies (privileged), which builds the
// message the CLI shows.
func BenchmarkHandlerCreateDenied(b *testing.B) {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	var m map[string]any
	if err := json.Unmarshal(c.env.RequestBody, &m); err != nil {
		b.Fatal(err)
	}
	m["HostConfig"].(map[string]any)["Privileged"] = true
	e := c.env
	e.RequestBody = mustJSON(b, m)
	benchHandler(b, benchPlugin(b, ""), reqPath, mustJSON(b, e), false)
}

// The AuthZRes call that follows an allowed create.
func BenchmarkHandlerResponse(b *testing.B) {
	c := findCall(b, benchCalls(b), "POST", "/containers/create")
	e := c.env
	e.ResponseStatusCode = 201
	e.ResponseHeaders = map[string]string{"Content-Type": "application/json", "Api-Version": "1.41"}
	e.ResponseBody = []byte(`{"Id":"7dbf2888445d0bd82c47cf0d14291e088344463b37d170e49194acf5c9348248","Warnings":[]}` + "\n")
	benchHandler(b, benchPlugin(b, ""), resPath, mustJSON(b, e), true)
}

// Every recorded request once per iteration (104 AuthZReq calls), without
// and with the audit file sink, and with the ownership store; the -both
// variants follow each allowed request with its AuthZRes, as the daemon
// does (creates answered with an id, so the store records an owner, on
// disk, for each). ns/call is the mean per call, either phase.
func BenchmarkHandlerCorpus(b *testing.B) {
	for _, bc := range []struct {
		name    string
		audited bool
		owners  bool
		both    bool // also the AuthZRes of every allowed request
	}{{"plain", false, false, false}, {"audited", true, false, false}, {"owners", false, true, false},
		{"plain-both", false, false, true}, {"owners-both", false, true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := ""
			if bc.audited {
				dir = b.TempDir()
			}
			var extra []plugin.Option
			if bc.owners {
				st, err := state.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = st.Close() })
				st.Standalone() // as serve --docker-host none: nothing to reconcile
				extra = append(extra, plugin.WithOwners(st))
			}
			h := benchPlugin(b, dir, extra...)
			calls := benchCalls(b)
			var res [][]byte
			if bc.both {
				res = responses(b, calls)
			}
			b.ReportAllocs()
			done := benchcpu.Report(b)
			n := 0
			for b.Loop() {
				for i, c := range calls {
					n++
					if roundTrip(b, h, reqPath, c.msg) && res != nil {
						roundTrip(b, h, resPath, res[i])
						n++
					}
				}
			}
			done()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/call")
		})
	}
}

// responses are the daemon's answers to calls for AuthZRes: a create
// answered with an id derived from its URI (as test/loadgen does), a
// DELETE with 204, anything else with 200 and no body.
func responses(b *testing.B, calls []benchCall) [][]byte {
	out := make([][]byte, len(calls))
	for i, c := range calls {
		e := c.env
		path, _, _ := strings.Cut(e.RequestURI, "?")
		sum := sha256.Sum256([]byte(e.RequestURI))
		id := hex.EncodeToString(sum[:])
		e.ResponseStatusCode = http.StatusOK
		e.ResponseHeaders = map[string]string{"Api-Version": "1.41"}
		switch {
		case e.RequestMethod == "POST" && strings.HasSuffix(path, "/volumes/create"):
			e.ResponseStatusCode, e.ResponseBody = http.StatusCreated, []byte(`{"Name":"bench-volume","Driver":"local"}`+"\n")
		case e.RequestMethod == "POST" && (strings.HasSuffix(path, "/create") || strings.HasSuffix(path, "/exec")):
			e.ResponseStatusCode, e.ResponseBody = http.StatusCreated, []byte(`{"Id":"`+id+`"}`+"\n")
		case e.RequestMethod == "DELETE":
			e.ResponseStatusCode = http.StatusNoContent
		}
		if e.ResponseBody != nil {
			e.ResponseHeaders["Content-Type"] = "application/json"
		}
		out[i] = mustJSON(b, e)
	}
	return out
}

// BenchmarkSocket is one ping call over a real Unix socket, as the
// daemon's plugin client sends it (its exact request bytes, one
// kept-alive connection, calls one after another), to the plugin served
// by plugin.Serve (the wire server) and, for comparison, by net/http
// around Handler() as before. CPU per op counts client and server (one
// process).
func BenchmarkSocket(b *testing.B) {
	c := findCall(b, benchCalls(b), "HEAD", "/_ping")
	req := []byte("POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: plugin.moby.localhost\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: " +
		strconv.Itoa(len(c.msg)) + "\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nAccept-Encoding: gzip\r\n\r\n" + string(c.msg))
	for _, server := range []string{"wire", "net-http"} {
		b.Run(server, func(b *testing.B) {
			set, _, diags := policy.LoadDir("../../examples/policies")
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			log := logrus.New()
			log.SetOutput(io.Discard)
			p := plugin.New(set, plugin.WithLogger(log))
			sock := filepath.Join(b.TempDir(), "p.sock")
			l, err := plugin.Listen(sock)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				if server == "wire" {
					_ = plugin.Serve(ctx, l, p, time.Second, plugin.DefaultLimits)
					return
				}
				srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
				go func() { <-ctx.Done(); srv.Close() }()
				_ = srv.Serve(l)
			}()
			b.Cleanup(func() { cancel(); <-done })
			conn, err := net.Dial("unix", sock)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			call := func() {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != 200 || !bytes.Equal(body, []byte("{\"Allow\":true}\n")) {
					b.Fatalf("answer %d %q", res.StatusCode, body)
				}
			}
			call()
			b.ReportAllocs()
			cpu := benchcpu.Report(b)
			for b.Loop() {
				call()
			}
			cpu()
		})
	}
}
