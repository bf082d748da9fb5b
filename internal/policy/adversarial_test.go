package policy_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

// adversarialCase is one request an attacker would try, or its benign
// look-alike, judged by the shipped policies (examples/policies) exactly as
// the plugin judges it: request.Parse, then (*policy.Set).Decide.
//
// Cases live in testdata/adversarial/*.json, one file per control, each a
// JSON array. A denial names the rule it expects; next to it a benign
// look-alike is expected to be allowed. test/corpus reads them (the fuzz
// targets of other packages are seeded from them too) and documents the
// fields.
type adversarialCase struct{ corpus.Case }

func (c *adversarialCase) body() []byte { return c.RequestBody() }

func (c *adversarialCase) headers() map[string]string { return c.RequestHeaders() }

func (c *adversarialCase) identity() request.Identity {
	if c.User == "" && len(c.OUs) == 0 {
		return request.Identity{}
	}
	return request.Identity{User: c.User, AuthNMethod: "TLS", CommonName: c.User, OrganizationalUnits: c.OUs}
}

// judge returns whether the request is allowed and the rule ids that
// speak against it.
func judge(s *policy.Set, c *adversarialCase) (bool, []string, string) {
	r, err := request.Parse(c.RequestMethod(), c.URI, c.headers(), c.body())
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

func readAdversarial(t testing.TB) map[string][]adversarialCase {
	t.Helper()
	out := map[string][]adversarialCase{}
	for _, c := range corpus.Adversarial(t) {
		out[c.File] = append(out[c.File], adversarialCase{c})
	}
	return out
}

// fakeHosts is the name resolution the adversarial cases assume, instead
// of the network: names not listed do not resolve.
var fakeHosts = map[string][]netip.Addr{
	"files.example.com": {netip.MustParseAddr("93.184.216.34")},
	"github.com":        {netip.MustParseAddr("140.82.121.4")},
	"metadata.example":  {netip.MustParseAddr("169.254.169.254")},
	"rebind.example":    {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
	"v6.example":        {netip.MustParseAddr("fd00::1")},
}

func fakeResolve(host string) ([]netip.Addr, error) {
	if a, ok := fakeHosts[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

// TestAdversarial runs every case against the shipped policies.
func TestAdversarial(t *testing.T) {
	s := loadExamples(t, policy.WithHostResolver(fakeResolve))
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
