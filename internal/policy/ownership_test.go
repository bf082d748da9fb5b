package policy_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// fakeObjects resolves like the state store, over a fixed list: full
// id, name, unique id prefix (volumes and execs: exact only).
type fakeObjects []request.Object

func (f fakeObjects) Resolve(kind request.Kind, ref string) (request.Object, request.Resolution) {
	var byName, byPrefix []request.Object
	for _, o := range f {
		if o.Kind != kind {
			continue
		}
		if o.ID == ref {
			return o, request.Found
		}
		if o.Name != "" && (o.Name == ref || kind == request.KindContainer && "/"+o.Name == ref) {
			byName = append(byName, o)
		}
		if kind != request.KindVolume && kind != request.KindExec && ref != "" && strings.HasPrefix(o.ID, ref) {
			byPrefix = append(byPrefix, o)
		}
	}
	for _, l := range [][]request.Object{byName, byPrefix} {
		switch len(l) {
		case 1:
			return l[0], request.Found
		case 0:
		default:
			return request.Object{}, request.Ambiguous
		}
	}
	return request.Object{}, request.NotFound
}

func loadObjects(t *testing.T) fakeObjects {
	t.Helper()
	b, err := os.ReadFile("testdata/ownership/objects.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Kind, ID, Name, User, Container string
		Owner                           *request.Owner
		UserKnown                       bool `json:"user_known"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]request.Kind{"container": request.KindContainer, "volume": request.KindVolume, "network": request.KindNetwork, "exec": request.KindExec,
		"service": request.KindService, "secret": request.KindSecret}
	var out fakeObjects
	for _, r := range raw {
		o := request.Object{Kind: kinds[r.Kind], ID: r.ID, Name: r.Name, User: r.User, UserKnown: r.UserKnown, Container: r.Container}
		if r.Owner != nil {
			o.Owned, o.Owner = true, *r.Owner
		}
		out = append(out, o)
	}
	return out
}

// TestOwnership judges the cases of testdata/ownership against its
// policy and objects: attacks on other teams' objects by every spelling
// of their names, references from bodies, unowned treatments, admins,
// prune, and the benign look-alikes that stay allowed.
func TestOwnership(t *testing.T) {
	src, err := os.ReadFile("testdata/ownership/policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	s := loadSource(t, string(src))
	objs := loadObjects(t)
	b, err := os.ReadFile("testdata/ownership/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, User, Method, URI string
		OUs                     []string
		Body                    json.RawMessage
		Deny, Field, Reason     string
		Allow                   bool
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if (c.Deny == "") != c.Allow {
				t.Fatal("a case needs exactly one of deny and allow")
			}
			id := request.Identity{User: c.User}
			if len(c.OUs) > 0 {
				id = request.Identity{User: c.OUs[0] + "-user", AuthNMethod: "TLS", OrganizationalUnits: c.OUs}
			}
			if c.User != "" {
				id.AuthNMethod = "TLS"
			}
			method := c.Method
			if method == "" {
				method = "POST"
			}
			h := map[string]string{}
			if len(c.Body) > 0 {
				h["Content-Type"] = "application/json"
			}
			h["Content-Length"] = strconv.Itoa(len(c.Body)) // as clients send it, 0 included
			r, err := request.Parse(method, c.URI, h, c.Body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			d := s.DecideWith(id, r, objs)
			if c.Allow {
				if !d.Allow {
					t.Fatalf("denied: %s", d.Message())
				}
				return
			}
			if d.Allow {
				t.Fatalf("allowed, want %s", c.Deny)
			}
			for _, v := range d.Violations {
				if v.Rule == c.Deny && strings.Contains(v.Field, c.Field) && strings.Contains(v.Reason, c.Reason) {
					return
				}
			}
			t.Fatalf("want %s (field %q, reason containing %q), got %s", c.Deny, c.Field, c.Reason, d.Message())
		})
	}
}

// TestOwnershipWithoutState: Decide (no state: eval, test) does not judge
// ownership, and DecideWith with nil objects neither.
func TestOwnershipWithoutState(t *testing.T) {
	src, err := os.ReadFile("testdata/ownership/policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	s := loadSource(t, string(src))
	r, err := request.Parse("DELETE", "/v1.41/containers/ghost", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := request.Identity{User: "w", AuthNMethod: "TLS", OrganizationalUnits: []string{"web"}}
	if d := s.Decide(id, r); !d.Allow {
		t.Errorf("Decide: %s", d.Message())
	}
	if d := s.DecideWith(id, r, nil); !d.Allow {
		t.Errorf("DecideWith nil: %s", d.Message())
	}
	var objs policy.Objects = fakeObjects{}
	if d := s.DecideWith(id, r, objs); d.Allow {
		t.Error("DecideWith: an unknown container was not judged as unowned")
	}
}
