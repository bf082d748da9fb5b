package plugin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/docker/go-plugins-helpers/sdk"
)

// Handler serves the plugin protocol: /Plugin.Activate, /AuthZPlugin.AuthZReq
// and /AuthZPlugin.AuthZRes. Unlike the protocol library's handler it never
// calls the plugin with a zero request when the daemon's message does not
// decode, and it turns a panic into a denial.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = contentType
		_, _ = w.Write(activateAnswer)
	})
	mux.HandleFunc("/"+authorization.AuthZApiRequest, p.serve("request"))
	mux.HandleFunc("/"+authorization.AuthZApiResponse, p.serve("response"))
	mux.HandleFunc("/Portcullis.Status", p.serveStatus)
	return mux
}

func (p *Plugin) serve(phase string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := readEnvelope(r.Body, r.ContentLength)
		res := p.call(phase, data, err)
		w.Header()["Content-Type"] = contentType
		_, _ = w.Write(answer(res, nil))
	}
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
	contentType = []string{sdk.DefaultContentTypeV1_1}
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

func (p *Plugin) serveStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(appendJSON(nil, p.status()))
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
