package plugin

import (
	"bytes"
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
		w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
		fmt.Fprintln(w, `{"Implements": ["`+authorization.AuthZApiImplements+`"]}`)
	})
	mux.HandleFunc("/"+authorization.AuthZApiRequest, p.serve("request"))
	mux.HandleFunc("/"+authorization.AuthZApiResponse, p.serve("response"))
	mux.HandleFunc("/Portcullis.Status", p.serveStatus)
	return mux
}

func (p *Plugin) serve(phase string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.metrics != nil {
			start := time.Now()
			defer func() { p.metrics.Call(phase, time.Since(start)) }()
		}
		var res authorization.Response
		func() {
			defer func() {
				if v := recover(); v != nil {
					p.log.WithField("panic", v).Errorf("plugin panic while judging a %s: %s", phase, debug.Stack())
					res = authorization.Response{Allow: false, Msg: fmt.Sprintf("portcullis: request rejected: [plugin.internal] internal error while judging the %s", phase)}
				}
			}()
			decode := decodeEnvelope
			if phase == "response" {
				decode = decodeResponseEnvelope
			}
			e, err := decode(r.Body, r.ContentLength)
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
		writeResponse(w, res)
	}
}

// writeResponse sends the answer with the protocol's content type. A
// denial is a normal answer (200 with Allow false), so the daemon shows its
// Msg to the user.
func writeResponse(w http.ResponseWriter, res authorization.Response) {
	if res.Allow && res.Err != "" {
		res.Allow = false
	}
	w.Header()["Content-Type"] = contentType
	if res == (authorization.Response{Allow: true}) {
		_, _ = w.Write(allowAnswer)
		return
	}
	_ = json.NewEncoder(w).Encode(res)
}

var (
	contentType = []string{sdk.DefaultContentTypeV1_1}
	// allowAnswer is the encoded plain allow, the answer to most calls.
	allowAnswer = func() []byte {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(authorization.Response{Allow: true})
		return b.Bytes()
	}()
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
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}
