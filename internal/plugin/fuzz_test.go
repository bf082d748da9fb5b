package plugin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/test/corpus"
)

// The fuzz targets judge with the shipped policies (examples/policies),
// the ones a user installs, not the package's test policies.
var (
	shippedOnce    sync.Once
	shippedHandler http.Handler
)

func shipped(t testing.TB) http.Handler {
	t.Helper()
	shippedOnce.Do(func() {
		set, files, diags := policy.LoadDir("../../examples/policies")
		if diags.HasErrors() {
			var b bytes.Buffer
			_ = policy.WriteDiagnostics(&b, files, diags)
			panic("shipped policies: " + b.String())
		}
		log := logrus.New()
		log.SetOutput(io.Discard)
		shippedHandler = plugin.New(set, plugin.WithLogger(log)).Handler()
	})
	return shippedHandler
}

// authz POSTs raw bytes to the AuthZReq endpoint, as the daemon would, and
// decodes the answer. Any answer that is not a well-formed protocol
// response fails the test: the daemon would treat it as an error, but the
// plugin must always answer.
func authz(t *testing.T, h http.Handler, raw []byte) authorization.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/"+authorization.AuthZApiRequest, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d for %q", rec.Code, raw)
	}
	var res authorization.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("answer %q does not decode: %v", rec.Body.Bytes(), err)
	}
	if strings.Contains(res.Msg, "internal error while judging") {
		t.Fatalf("the plugin panicked on %q: %s", raw, res.Msg)
	}
	if !res.Allow && res.Msg == "" {
		t.Fatalf("denial without a message for %q", raw)
	}
	return res
}

// wellFormed reports whether raw is what the definition of garbage
// excludes: exactly one JSON object (white space around it allowed)
// with a non-empty RequestMethod and RequestUri (keys matched as
// encoding/json matches them, case-insensitively).
func wellFormed(raw []byte) bool {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return false
	}
	var e struct {
		RequestMethod string
		RequestUri    string //nolint:revive // Docker's JSON name
	}
	if err := json.Unmarshal(trimmed, &e); err != nil {
		return false
	}
	return e.RequestMethod != "" && e.RequestUri != ""
}

// daemonEnvelope is the AuthZReq message the daemon sends for a request.
func daemonEnvelope(tb testing.TB, user, method, uri string, headers map[string]string, body []byte) []byte {
	req := authorization.Request{
		User: user, RequestMethod: method, RequestURI: uri,
		RequestHeaders: headers, RequestBody: body,
	}
	if user != "" {
		req.UserAuthNMethod = "TLS"
	}
	raw, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// FuzzAuthZReq: arbitrary bytes as an AuthZReq message never make the
// plugin panic or fail to answer, and garbage (anything but one JSON
// object naming a method and a URI) is never allowed. Seeded with
// hand-written messages and with the daemon's message for every recorded
// request (both daemons) and every adversarial case, headers and sender
// included.
func FuzzAuthZReq(f *testing.F) {
	for _, e := range corpus.ForTest(f) {
		f.Add(daemonEnvelope(f, e.User, e.Method, e.URI, e.Headers, e.BodyBytes()))
	}
	for _, c := range corpus.Adversarial(f) {
		f.Add(daemonEnvelope(f, c.User, c.RequestMethod(), c.URI, c.RequestHeaders(), c.RequestBody()))
	}
	for _, s := range []string{
		``,
		`null`,
		`{}`,
		`[]`,
		`"x"`,
		`{"RequestMethod":"GET","RequestUri":"/_ping"}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping"} {}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping"}]`,
		`{"RequestMethod":"GET"}`,
		`{"RequestUri":"/_ping"}`,
		`{"requestmethod":"GET","requesturi":"/v1.41/version"}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping","RequestPeerCertificates":["bm90IHBlbQ=="]}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping","RequestPeerCertificates":[{}]}`,
		`{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","RequestHeaders":{"Content-Type":"application/json"},"RequestBody":"eyJJbWFnZSI6ImJiIn0="}`,
		`{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","RequestHeaders":{"Content-Type":"application/json"},"RequestBody":"eyJJbWFnZSI6ImJiIiwiSG9zdENvbmZpZyI6eyJQcml2aWxlZ2VkIjp0cnVlfX0="}`,
		`{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","RequestBody":"%%%"}`,
		`{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","RequestBody":null}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping","User":"ops-1","UserAuthNMethod":"TLS"}`,
		`{"RequestMethod":"GET","RequestUri":"/_ping","RequestHeaders":{"a":1}}`,
		"\xef\xbb\xbf{\"RequestMethod\":\"GET\",\"RequestUri\":\"/_ping\"}",
		`{"RequestMethod":"GET","RequestUri":"/_ping","RequestMethod":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := shipped(t)
		res := authz(t, h, raw)
		if res.Allow && !wellFormed(raw) {
			t.Fatalf("garbage allowed: %q", raw)
		}
	})
}

// FuzzAuthZEnvelope builds well-formed envelopes from a fuzzed method,
// URI, headers ("Key: value" lines, corpus.HeaderText), user and body,
// and checks the one property an attacker wants
// to break: a body that the daemon would decode as a container create
// with HostConfig.Privileged (or, on older daemons, a top-level
// Privileged) is never allowed on a URI the daemon routes to container
// create. No shipped policy allows privileged containers.
func FuzzAuthZEnvelope(f *testing.F) {
	priv := `{"Image":"bb","HostConfig":{"Privileged":true}}`
	for _, s := range []struct {
		method, uri, ct, cl, user string
		body                      string
	}{
		{"POST", "/v1.41/containers/create", "application/json", "", "", priv},
		{"POST", "/containers/create", "application/json; charset=utf-8", "", "", priv},
		{"POST", "/v01.041/containers/%63reate", "application/json", "", "", priv},
		{"POST", "/v1.41/containers/create?name=x", "application/json", "", "web-dev1", `{"image":"bb","hostconfig":{"privileged":true}}`},
		{"POST", "/v1.41/containers/create", "application/json", "", "", `{"Image":"bb","HostConfig":{"Privileged":false},"HostConfig":{"Privileged":true}}`},
		{"POST", "/v1.41/containers/create", "application/json", "", "", `{"Image":"bb","HostConfig":{"Privileged":true},"HostConfig":{"CapAdd":["NET_RAW"]}}`},
		{"POST", "/v1.41/containers/create", "application/json", "", "", "{\"Image\":\"bb\",\"Ho\u017ftConfig\":{\"Privileged\":true}}"},
		{"POST", "/v1.41/containers/create", "application/json", "", "", `{"Image":"bb","Privileged":true}`},
		{"POST", "/v1.41/containers/create", "application/json", "", "", `{"Image":"bb","HostConfig":null,"Privileged":true}`},
		{"POST", "/v1.41/containers/create", "text/plain", "", "", priv},
		{"POST", "/v1.41/containers/create", "application/json", "0", "", priv},
		{"POST", "/v1.41/containers//create", "application/json", "", "", priv},
		{"POST", "/v1.41/containers/./create", "application/json", "", "", priv},
		{"POST", "/v1.41/containers/create/", "application/json", "", "", priv},
		{"POST", "http://localhost/v1.41/containers/create", "application/json", "", "", priv},
		{"POST", "/v1.41/containers/create?x=/auth", "application/json", "", "", priv},
		{"POST", "/v1.41/containers/x/exec", "application/json", "", "", `{"User":"0","Privileged":true,"Cmd":["sh"]}`},
		{"POST", "/v1.41/containers/create", "application/json", "", "ops-1", `{"Image":"bb","User":"1000","HostConfig":{"CapAdd":["NET_ADMIN"]}}`},
		{"GET", "/_ping", "", "", "", ""},
		{"post", "/v1.41/containers/create", "application/json", "", "", priv},
	} {
		// cl "" is the body's length, "-" no Content-Length (chunked).
		hdr := map[string]string{}
		if s.ct != "" {
			hdr["Content-Type"] = s.ct
		}
		switch s.cl {
		case "":
			hdr["Content-Length"] = strconv.Itoa(len(s.body))
		case "-":
		default:
			hdr["Content-Length"] = s.cl
		}
		f.Add(s.method, s.uri, corpus.HeaderText(hdr), s.user, []byte(s.body))
	}
	for _, c := range corpus.Adversarial(f) {
		f.Add(c.RequestMethod(), c.URI, corpus.HeaderText(c.RequestHeaders()), c.User, c.RequestBody())
	}
	f.Fuzz(func(t *testing.T, method, uri, headers, user string, body []byte) {
		h := shipped(t)
		env := plugin.Envelope{
			User: user, RequestMethod: method, RequestURI: uri, RequestBody: body,
			RequestHeaders: corpus.ParseHeaderText(headers),
		}
		if user != "" {
			env.UserAuthNMethod = "TLS"
		}
		raw, err := json.Marshal(env)
		if err != nil {
			t.Skip() // strings that are not UTF-8 do not survive JSON either way
		}
		res := authz(t, h, raw)
		if !res.Allow {
			return
		}
		if method == "" || uri == "" {
			t.Fatalf("envelope without method or URI allowed: %s", raw)
		}
		if routesToCreate(method, uri) && daemonSeesPrivileged(body) {
			t.Fatalf("privileged create allowed: %s %s body %q headers %v", method, uri, body, env.RequestHeaders)
		}
	})
}

// routesToCreate is an independent, deliberately generous reading of the
// daemon's router: any POST whose cleaned path, without a version prefix,
// is /containers/create (with or without a trailing slash, absolute form
// or not).
func routesToCreate(method, uri string) bool {
	if !strings.EqualFold(method, "POST") {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	p := path.Clean("/" + u.Path)
	if strings.HasPrefix(p, "/v") {
		if i := strings.IndexByte(p[1:], '/'); i > 0 && strings.Trim(p[2:i+1], "0123456789.") == "" {
			p = p[i+1:]
		}
	}
	return p == "/containers/create"
}

// daemonSeesPrivileged decodes body as daemons do (encoding/json: keys
// case-insensitive, the last duplicate wins) and reports whether either
// the HostConfig or, for pre-25.0 daemons, the top level asks for a
// privileged container.
func daemonSeesPrivileged(body []byte) bool {
	var b struct {
		Privileged bool
		HostConfig *struct{ Privileged bool }
	}
	// The daemon reads the first JSON value and ignores what follows.
	if json.NewDecoder(bytes.NewReader(body)).Decode(&b) != nil {
		return false
	}
	return b.Privileged || (b.HostConfig != nil && b.HostConfig.Privileged)
}
