package request

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Reasons a request is rejected before any policy sees it. Each is the
// rule id reported in denials and audit records.
const (
	CodeMalformed      = "request.malformed"       // envelope, method or URI unusable
	CodeBodyMissing    = "request.body_missing"    // a body that decides the request was not forwarded
	CodeBodyInvalid    = "request.body_invalid"    // the body does not decode as the daemon would decode it
	CodeBodyUnexpected = "request.body_unexpected" // a body where the daemon would read a legacy one
	CodeLegacyConfig   = "request.legacy_hostconfig"
	CodeAPIVersion     = "request.api_version"
	CodeFormBody       = "request.form_body" // a body the daemon would read as form values
)

// Error is a request the plugin cannot judge safely. It always leads to a
// denial; Code is a stable rule id, Reason a sentence for the person who
// sent the request.
type Error struct {
	Code   string
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("[%s] %s: %s", e.Code, e.Field, e.Reason)
	}
	return fmt.Sprintf("[%s] %s", e.Code, e.Reason)
}

func reject(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// legacyStartVersion is the API version from which the daemon ignores a
// body on container start. Older versions apply a HostConfig sent there.
var legacyStartVersion = [2]int{1, 24}

// Parse classifies and decodes one request as the daemon reported it to the
// plugin: method, request URI, headers (the first value of each) and body
// (nil or empty when the daemon did not forward one). Any error is an
// *Error and means the request must be denied.
func Parse(method, uri string, headers map[string]string, body []byte) (*Request, error) {
	r, rt, err := classify(method, uri)
	if err != nil {
		return nil, err
	}
	r.HasBody = len(body) > 0
	if rt == nil {
		return r, nil
	}
	if err := formBody(r, headers); err != nil {
		return r, err
	}

	if r.HasBody {
		ct, _, err := mime.ParseMediaType(header(headers, "Content-Type"))
		if err == nil {
			r.ContentType = ct
		}
	}

	switch rt.body.kind {
	case bodyForbidden:
		if r.HasBody {
			return r, reject(CodeBodyUnexpected, "body", "%s %s must not carry a body: daemons before API 1.24 apply a HostConfig sent here", method, r.Path)
		}
		if r.APIVersion != "" && versionLess(r.APIVersion, legacyStartVersion) && !declaresEmptyBody(headers) {
			return r, reject(CodeAPIVersion, "RequestUri", "container start with API version %s may carry a HostConfig the plugin cannot see; use API 1.24 or later", r.APIVersion)
		}
		return r, nil
	case bodyRequired, bodyOptional:
		if !r.HasBody {
			if rt.body.kind == bodyRequired {
				return r, missingBody(r, headers)
			}
			return r, nil
		}
		if r.ContentType != "application/json" {
			return r, reject(CodeBodyInvalid, "Content-Type", "%s needs a JSON body, got Content-Type %q", r.Action, header(headers, "Content-Type"))
		}
		if err := decodeBody(r, rt.body.decode, body); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Classify is Parse without the body: the route, action, target and
// query of a request, and no check of what its body must be. The response
// phase uses it; the request phase judged the body.
func Classify(method, uri string) (*Request, error) {
	r, _, err := classify(method, uri)
	return r, err
}

// Route returns the request as Classify describes it: the route fields
// of r (method, URI, path, query, API version, action, target,
// checkpoint), without its body. It shares r's query values, which
// neither is to modify.
func (r *Request) Route() *Request {
	return &Request{
		Method: r.Method, URI: r.URI, Path: r.Path, Query: r.Query, APIVersion: r.APIVersion,
		Action: r.Action, Target: r.Target, TargetKind: r.TargetKind, Creates: r.Creates, Checkpoint: r.Checkpoint,
	}
}

// classify parses method and uri and finds the daemon's route; rt is nil
// for a request no route matches (Action is then ActionUnknown).
func classify(method, uri string) (r *Request, rt *route, err error) {
	if method == "" {
		return nil, nil, reject(CodeMalformed, "RequestMethod", "the request has no method")
	}
	if uri == "" {
		return nil, nil, reject(CodeMalformed, "RequestUri", "the request has no URI")
	}
	if strings.ToUpper(method) != method || strings.ContainsAny(method, " \t/") {
		return nil, nil, reject(CodeMalformed, "RequestMethod", "method %q is not a valid HTTP method", method)
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, nil, reject(CodeMalformed, "RequestUri", "the URI does not parse: %v", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The daemon's form parsing drops what does not parse; judging a
		// query it reads differently from us is not safe.
		return nil, nil, reject(CodeMalformed, "RequestUri", "the query does not parse: %v", err)
	}

	r = &Request{Method: method, URI: uri, Query: q}
	p := cleanPath(u.Path)
	r.APIVersion, r.Path = splitVersion(p)

	rt, v := match(method, r.Path)
	if rt == nil {
		r.Action = ActionUnknown
		return r, nil, nil
	}
	switch {
	case rt.action == ActionImagePull && q.Get("fromSrc") != "":
		rt = &imageImport
	case rt.action == ActionServiceUpdate && q.Get("rollback") == "previous":
		rt = &serviceRollback
	}
	r.Action = rt.action
	r.Target = v
	r.TargetKind = rt.target
	r.Creates = rt.creates
	if rt.action == ActionCheckpointDelete {
		r.Target, r.Checkpoint, _ = strings.Cut(v, "\x00")
	}
	return r, rt, nil
}

// formReaders are the routes whose query values decide the request and
// which the daemon reads through its form parser (httputils.ParseForm,
// r.FormValue): image create (pull, import), commit, tag, push, build.
var formReaders = map[Action]bool{
	ActionImagePull: true, ActionImageImport: true, ActionCommit: true, ActionImageTag: true,
	ActionImagePush: true, ActionImageBuild: true,
}

// formBody denies a request whose body the daemon would read as form
// values. Go's Request.ParseForm, which every handler runs, merges an
// application/x-www-form-urlencoded body of a POST, PUT or PATCH into the
// query's values, the body's first (net/http parsePostForm), and
// FormValue parses multipart/form-data bodies too; the daemon forwards
// neither to plugins (pkg/authorization/authz.go sendBody: JSON only), so
// the query the plugin judges would not be the one the daemon uses.
//
// The plugin sees the last value of each header, the daemon's form parser
// the first. On the routes in formReaders whose body is not a stream the
// daemon reads (everything but build and import from stdin), any body
// the plugin was not shown is therefore denied too, whatever its declared
// type; so is a body of unknown length (no Content-Length: chunked).
func formBody(r *Request, headers map[string]string) *Error {
	switch r.Method {
	case "POST", "PUT", "PATCH":
	default:
		return nil
	}
	cl := header(headers, "Content-Length")
	if cl == "0" {
		return nil // nothing to parse
	}
	ct, _, _ := mime.ParseMediaType(header(headers, "Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
		return reject(CodeFormBody, "Content-Type", "the daemon reads a %s body as form values that override the query, and does not show it to the plugin; send parameters in the query only", ct)
	}
	if !formReaders[r.Action] || r.HasBody {
		return nil
	}
	stream := r.Action == ActionImageBuild || r.Action == ActionImageImport && r.Query.Get("fromSrc") == "-"
	if stream {
		return nil
	}
	if cl == "" {
		return reject(CodeFormBody, "Content-Length", "%s reads form values, and this request may carry a body (no Content-Length) the plugin cannot see; send parameters in the query and Content-Length: 0", r.Action)
	}
	return reject(CodeFormBody, "body", "%s reads form values, and this request carries a body the plugin was not shown, which the daemon may read as a form; send parameters in the query only", r.Action)
}

func missingBody(r *Request, headers map[string]string) *Error {
	why := "the daemon did not forward it"
	switch {
	case strings.HasSuffix(r.URI, "/auth"):
		why = "the daemon does not forward bodies of URIs ending in /auth"
	case header(headers, "Content-Length") != "0":
		// Chunked or not: the daemons measure the bytes, not the header
		// (test/e2e/facts_test.go).
		why = "the daemon forwards a body only when it is sent as application/json and is small enough (under 1 MiB on Docker 20.10 to 28, up to 4 MiB on Docker 29)"
	}
	return reject(CodeBodyMissing, "body", "%s needs its JSON body to be judged, and %s", r.Action, why)
}

// declaresEmptyBody reports whether the headers say the body is empty.
func declaresEmptyBody(headers map[string]string) bool {
	return header(headers, "Content-Length") == "0"
}

// header looks a header up case-insensitively, as net/http would after
// canonicalising the daemon's map keys.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// cleanPath mirrors the daemon router's path cleaning: the daemon redirects
// a path that is not clean instead of serving it, and a trailing slash is
// kept. Classifying the cleaned path judges what a client that follows the
// redirect would reach.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// splitVersion strips a "/v{version:[0-9.]+}" prefix, as the daemon's
// router does, and normalises the version the way the daemon compares it.
func splitVersion(p string) (version, rest string) {
	if len(p) < 3 || p[1] != 'v' {
		return "", p
	}
	end := 2
	for end < len(p) && (p[end] >= '0' && p[end] <= '9' || p[end] == '.') {
		end++
	}
	if end == 2 || (end < len(p) && p[end] != '/') {
		return "", p
	}
	rest = p[end:]
	if rest == "" {
		rest = "/"
	}
	return normaliseVersion(p[2:end]), rest
}

// normaliseVersion renders a version as the daemon compares it: each
// dot-separated part as an integer (what does not parse counts as 0), and
// trailing zero parts past the second dropped ("01.041.0" is "1.41").
func normaliseVersion(v string) string {
	parts := strings.Split(v, ".")
	nums := make([]int, len(parts))
	for i, s := range parts {
		nums[i], _ = strconv.Atoi(s)
	}
	for len(nums) > 2 && nums[len(nums)-1] == 0 {
		nums = nums[:len(nums)-1]
	}
	var b strings.Builder
	for i, n := range nums {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// versionLess reports whether a normalised version is below want.
func versionLess(v string, want [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	var got [2]int
	for i := 0; i < 2 && i < len(parts); i++ {
		got[i], _ = strconv.Atoi(parts[i])
	}
	if got[0] != want[0] {
		return got[0] < want[0]
	}
	return got[1] < want[1]
}

// VersionAtLeast reports whether the request's API version is at least
// major.minor. A request without a version uses the daemon's current API,
// which is always at least any version a policy names.
func (r *Request) VersionAtLeast(major, minor int) bool {
	if r.APIVersion == "" {
		return true
	}
	return !versionLess(r.APIVersion, [2]int{major, minor})
}
