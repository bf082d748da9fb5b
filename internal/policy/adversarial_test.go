package policy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// adversarialCase is one request an attacker would try, or its benign
// look-alike, judged by the shipped policies (examples/policies) exactly as
// the plugin judges it: request.Parse, then (*policy.Set).Decide.
//
// Cases live in testdata/adversarial/*.json, one file per control, each a
// JSON array. A denial names the rule it expects; next to it a benign
// look-alike is expected to be allowed.
type adversarialCase struct {
	Name string `json:"name"`
	// Who sends it: "" is an unauthenticated request (the default
	// policy); a user comes with AuthNMethod TLS and the certificate OUs.
	User string   `json:"user"`
	OUs  []string `json:"ous"`
	// Method defaults to POST.
	Method string `json:"method"`
	URI    string `json:"uri"`
	// Body is sent verbatim (duplicate keys, escapes and all); BodyText
	// when it is not JSON. BodySize simulates a body the daemon did not
	// forward because it is that large: no body, that Content-Length.
	Body     json.RawMessage `json:"body"`
	BodyText *string         `json:"body_text"`
	BodySize int             `json:"body_size"`
	// Headers default to Content-Type application/json and the body's
	// Content-Length when there is a body; Chunked drops Content-Length.
	Headers map[string]string `json:"headers"`
	Chunked bool              `json:"chunked"`

	// Exactly one of Deny (the rule that must be among the violations) and
	// Allow.
	Deny  string `json:"deny"`
	Allow bool   `json:"allow"`
	// Why explains a case whose outcome is not obvious.
	Why string `json:"why"`
}

func (c *adversarialCase) body() []byte {
	switch {
	case c.BodyText != nil:
		return []byte(*c.BodyText)
	case len(c.Body) > 0:
		return []byte(c.Body)
	}
	return nil
}

func (c *adversarialCase) headers() map[string]string {
	h := map[string]string{}
	if b := c.body(); b != nil {
		h["Content-Type"] = "application/json"
		if !c.Chunked {
			h["Content-Length"] = strconv.Itoa(len(b))
		}
	} else if c.BodySize > 0 {
		h["Content-Type"] = "application/json"
		h["Content-Length"] = strconv.Itoa(c.BodySize)
	}
	for k, v := range c.Headers {
		if v == "" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

func (c *adversarialCase) identity() request.Identity {
	if c.User == "" && len(c.OUs) == 0 {
		return request.Identity{}
	}
	return request.Identity{User: c.User, AuthNMethod: "TLS", CommonName: c.User, OrganizationalUnits: c.OUs}
}

// judge returns whether the request is allowed and the rule ids that
// speak against it.
func judge(s *policy.Set, c *adversarialCase) (bool, []string, string) {
	method := c.Method
	if method == "" {
		method = "POST"
	}
	r, err := request.Parse(method, c.URI, c.headers(), c.body())
	if err != nil {
		re, ok := request.AsError(err)
		if !ok {
			return false, []string{"?"}, err.Error()
		}
		return false, []string{re.Code}, re.Error()
	}
	d := s.Decide(c.identity(), r)
	var rules []string
	for _, v := range d.Violations {
		rules = append(rules, v.Rule)
	}
	return d.Allow, rules, d.Message()
}

func readAdversarial(t *testing.T) map[string][]adversarialCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "adversarial", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no adversarial cases: %v", err)
	}
	out := map[string][]adversarialCase{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var cases []adversarialCase
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		seen := map[string]bool{}
		for i, c := range cases {
			switch {
			case c.Name == "":
				t.Fatalf("%s: case %d has no name", p, i)
			case seen[c.Name]:
				t.Fatalf("%s: duplicate case %q", p, c.Name)
			case (c.Deny == "") == !c.Allow:
				t.Fatalf("%s: case %q must set exactly one of deny and allow", p, c.Name)
			case c.URI == "":
				t.Fatalf("%s: case %q has no uri", p, c.Name)
			}
			seen[c.Name] = true
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = cases
	}
	return out
}

// TestAdversarial runs every case against the shipped policies.
func TestAdversarial(t *testing.T) {
	s := loadExamples(t)
	for file, cases := range readAdversarial(t) {
		t.Run(file, func(t *testing.T) {
			var denials, allows int
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					allow, rules, msg := judge(s, &c)
					if c.Allow {
						if !allow {
							t.Errorf("benign request denied: %s", msg)
						}
						return
					}
					if allow {
						t.Errorf("ALLOWED, want denial by %s (violations %v) %s", c.Deny, rules, c.Why)
						return
					}
					if !slices.Contains(rules, c.Deny) {
						t.Errorf("denied by %v, want %s: %s", rules, c.Deny, msg)
					}
				})
				if c.Allow {
					allows++
				} else {
					denials++
				}
			}
			// Every control is tried both ways: an attack and a
			// look-alike that must keep working.
			if denials == 0 || allows == 0 {
				t.Errorf("%s: %d denials and %d allowed look-alikes; want both", file, denials, allows)
			}
		})
	}
}

// TestAdversarialParseErrorsArePolicyIndependent: the cases that fail in
// request.Parse (request.* rules) are denied whoever sends them, whatever
// the caller's team policy allows.
func TestAdversarialParseErrorsArePolicyIndependent(t *testing.T) {
	s := loadExamples(t)
	for _, cases := range readAdversarial(t) {
		for _, c := range cases {
			if !strings.HasPrefix(c.Deny, "request.") {
				continue
			}
			for _, id := range []struct{ user string }{{""}, {"ops-1"}, {"web-1"}} {
				cc := c
				cc.User, cc.OUs = id.user, nil
				if allow, _, _ := judge(s, &cc); allow {
					t.Errorf("%s: allowed for user %q", c.Name, id.user)
				}
			}
		}
	}
}
