// Package describe says what a Docker request asked for in the terms of
// an audit record: the objects it targets, the security-relevant settings
// of its body with secrets masked (Summarize), and its URI with secret
// query values masked. It reads the request model (internal/request) and
// fills the record's fields (internal/audit); the record, its encoder and
// its sinks know nothing of Docker requests.
package describe

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/request"
)

// SetRequest fills the request fields of a decision record from a decoded
// request: action, method, sanitised URI, API version, target, summary and
// the list of masked values. It is safe on a nil request (it does nothing).
func SetRequest(r *audit.Record, req *request.Request) {
	if req == nil {
		return
	}
	r.Action = string(req.Action)
	r.Method = req.Method
	r.APIVersion = req.APIVersion
	var uriMasked, sumMasked []string
	r.URI, uriMasked = SanitizeURI(req.URI)
	r.Target = TargetOf(req)
	r.Summary = Summarize(req)
	if r.Summary != nil {
		sumMasked = r.Summary.Masked
	}
	n := len(r.Masked) + len(uriMasked) + len(sumMasked)
	if n == 0 {
		r.Masked = nil
		return
	}
	masked := make([]string, 0, n)
	masked = append(append(append(masked, r.Masked...), uriMasked...), sumMasked...)
	r.Masked = dedupe(masked)
}

func dedupe(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	if len(s) <= 16 { // no map for a few
		out := s[:0]
		for _, v := range s {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TargetOf is the record's target: what req names (request.Names, from
// its route's row). It returns nil when req names nothing.
func TargetOf(req *request.Request) *audit.Target {
	if req == nil {
		return nil
	}
	n := req.Names()
	if n == (request.Names{}) {
		return nil
	}
	return &audit.Target{Container: n.Container, Exec: n.Exec, Image: n.Image, Volume: n.Volume, Network: n.Network, Object: n.Object}
}

// SanitizeURI masks secrets in a request URI's query and returns it with
// the list of masked paths ("uri.buildargs.NAME", …). It masks every build
// arg value, sensitive keys of the labels JSON, query parameters with
// sensitive names, and the password of URLs in remote, fromSrc and
// similar parameters. A URI with nothing to mask is returned unchanged; a
// URI that does not parse is replaced by Mask (Parse would have rejected
// it anyway).
func SanitizeURI(uri string) (string, []string) {
	p, rawQuery, ok := strings.Cut(uri, "?")
	if !ok || rawQuery == "" {
		return uri, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return audit.Mask, []string{"uri"}
	}
	m := &masker{}
	var buf [16]string
	for _, k := range appendSortedKeys(buf[:0], q) {
		vs := q[k]
		for i, v := range vs {
			switch {
			case strings.EqualFold(k, "buildargs"):
				vs[i] = maskJSONValues(m, "uri.buildargs", v, func(string) bool { return true })
			case strings.EqualFold(k, "labels"):
				vs[i] = maskJSONValues(m, "uri.labels", v, sensitive)
			case sensitive(k):
				vs[i] = audit.Mask
				m.note("uri." + k)
			default:
				// Only a URL with "@" in it has a user (url.Parse's
				// parseAuthority); skip parsing the others.
				if !strings.Contains(v, "@") {
					continue
				}
				if u, err := url.Parse(v); err == nil && u.User != nil {
					if _, has := u.User.Password(); has {
						u.User = url.UserPassword(u.User.Username(), audit.Mask)
						vs[i] = strings.Replace(u.String(), url.QueryEscape(audit.Mask), audit.Mask, 1)
						m.note("uri." + k)
					}
				}
			}
		}
	}
	if len(m.masked) == 0 {
		return uri, nil
	}
	return p + "?" + q.Encode(), dedupe(m.masked)
}

// maskJSONValues masks the values of a JSON object's keys for which mask
// is true. A value that is not a JSON object is masked whole.
func maskJSONValues(m *masker, prefix, v string, mask func(string) bool) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		m.note(prefix)
		return audit.Mask
	}
	changed := false
	for _, k := range sortedKeys(obj) {
		if mask(k) {
			obj[k] = audit.Mask
			m.note(prefix + "." + k)
			changed = true
		}
	}
	if !changed {
		return v
	}
	b, _ := json.Marshal(obj)
	return string(b)
}
