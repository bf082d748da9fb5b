package plugin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/docker/go-plugins-helpers/sdk"

	"github.com/portcullis/portcullis/internal/plugin/wire"
)

// Handler serves the plugin protocol over net/http with the plugin
// socket's own routing and answers (serveWire): tests and benchmarks
// drive the plugin through it. Unlike the protocol library's handler it
// never calls the plugin with a zero request when the daemon's message
// does not decode, and it turns a panic into a denial. A message that
// cannot be read whole is refused (400), as the socket's server refuses
// one.
func (p *Plugin) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := wire.Answer{ContentType: sdk.DefaultContentTypeV1_1}
		if data, err := readEnvelope(r.Body, r.ContentLength); err != nil {
			a.Status = http.StatusBadRequest
			a.Body = appendJSON(nil, authorization.Response{Err: "portcullis: " + err.Error()})
		} else {
			p.serveWire(&wire.Request{Method: r.Method, Path: r.URL.Path, Body: data}, &a)
		}
		w.Header().Set("Content-Type", a.ContentType)
		if a.Status != 0 {
			w.WriteHeader(a.Status)
		}
		_, _ = w.Write(a.Body)
	})
}

// call is one AuthZ call of phase ("request" or "response"), whichever
// server read it: the daemon's message (data, or the error reading it
// ended in) is decoded, judged or recorded, and answered; a message that
// could not be read or does not decode, and a panic, are denials. data
// may be the server's buffer: nothing kept points into it.
func (p *Plugin) call(phase string, data []byte, readErr error) (res authorization.Response) {
	if p.metrics != nil {
		start := time.Now()
		defer func() { p.metrics.Call(phase, time.Since(start)) }()
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				p.log.WithField("panic", v).Errorf("plugin panic while judging a %s: %s", phase, debug.Stack())
				res = authorization.Response{Allow: false, Msg: fmt.Sprintf("portcullis: request rejected: [plugin.internal] internal error while judging the %s", phase)}
			}
		}()
		parse := parseEnvelope
		if phase == "response" {
			parse = parseResponseEnvelope
		}
		err := readErr
		var e *Envelope
		if err == nil {
			e, err = parse(data)
		}
		if err != nil {
			res = p.fail(phase, &Envelope{}, err)
			return
		}
		if phase == "request" {
			res = p.judge(e)
		} else {
			res = p.respond(e)
		}
	}()
	if res.Allow && res.Err != "" {
		res.Allow = false
	}
	return res
}

// answer is the encoded answer (a line of JSON): the shared plain allow,
// or res appended to buf. A denial is a normal answer (200 with Allow
// false), so the daemon shows its Msg to the user.
func answer(res authorization.Response, buf []byte) []byte {
	if res == (authorization.Response{Allow: true}) {
		return allowAnswer
	}
	return appendJSON(buf, res)
}

// appendJSON appends v as json.Encoder writes it: a line.
func appendJSON(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the plugin's own types come here; they always encode.
		panic(err)
	}
	return append(append(dst, b...), '\n')
}

var (
	// allowAnswer is the encoded plain allow, the answer to most calls.
	allowAnswer = appendJSON(nil, authorization.Response{Allow: true})
	// activateAnswer is the plugin's manifest.
	activateAnswer = []byte(`{"Implements": ["` + authorization.AuthZApiImplements + `"]}` + "\n")
)

// Status is what /Portcullis.Status reports, for `portcullis status`.
type Status struct {
	Instance       string   `json:"instance"`
	Version        string   `json:"version"`
	Started        string   `json:"started"`
	UptimeSeconds  float64  `json:"uptime_seconds"`
	PolicyRevision string   `json:"policy_revision"`
	Policies       []string `json:"policies"`
}

// status is what the plugin reports of itself.
func (p *Plugin) status() Status {
	st := Status{
		Instance:      p.instance,
		Version:       p.version,
		Started:       p.started.UTC().Format("2006-01-02T15:04:05Z07:00"),
		UptimeSeconds: p.now().Sub(p.started).Seconds(),
	}
	if set := p.policies.Load(); set != nil {
		st.PolicyRevision = set.Revision()
		st.Policies = set.Policies()
	}
	return st
}
