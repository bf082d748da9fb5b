package policy_test

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

func loadIdentityPolicies(t *testing.T) *policy.Set {
	t.Helper()
	s, files, diags := policy.LoadDir("testdata/identity")
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = policy.WriteDiagnostics(&b, files, diags)
		t.Fatalf("testdata/identity: %s", b.String())
	}
	return s
}

func local(user string, groups ...string) request.Identity {
	return request.Identity{User: user, AuthNMethod: "TLS", CommonName: user, OrganizationalUnits: groups, Local: true, Groups: groups, UID: "1000"}
}

func remote(user string, ous ...string) request.Identity {
	return request.Identity{User: user, AuthNMethod: "TLS", CommonName: user, OrganizationalUnits: ous}
}

// TestTeamOfIdentity: which team judges whom, with groups, OUs,
// precedence and the identity's own order.
func TestTeamOfIdentity(t *testing.T) {
	s := loadIdentityPolicies(t)
	for _, c := range []struct {
		name string
		id   request.Identity
		team string
	}{
		{"local user whose supplementary group is a team", local("alice", "alice", "web"), "web"},
		{"local user in two teams: the primary group decides", local("bob", "ops", "web"), "ops"},
		{"local user in two teams, other primary group", local("bob2", "web", "ops"), "web"},
		{"local user in two teams, neither primary: the first listed", local("eve", "eve", "ops", "web"), "ops"},
		{"precedence beats the primary group", local("carol", "web", "wheel"), "admins"},
		{"local user in no team's group", local("dave", "dave", "users"), ""},
		{"local user named like a glob team member", local("ci-bot", "ci-bot", "web"), "ci"},
		{"a remote certificate's OU is not a Unix group", remote("mallory", "web"), ""},
		{"a remote certificate cannot claim wheel", remote("mallory", "wheel"), ""},
		{"a remote certificate matches ous", remote("frank", "web-ou"), "web"},
		{"a remote certificate with two team OUs: the first decides, no blanket denial", remote("grace", "web-ou", "ops"), "web"},
		{"a local user's group names an ous entry too", local("heidi", "web-ou"), "web"},
		{"orgs still match", request.Identity{User: "ivan", AuthNMethod: "TLS", Organizations: []string{"ops-org"}}, "ops"},
		{"unauthenticated", request.Identity{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := s.TeamOf(c.id); got != c.team {
				t.Errorf("team %q, want %q", got, c.team)
			}
		})
	}
}

// TestCallerVariables: $user and $team in bind_allow, bind_deny and
// required labels, with the attacks (another's home, climbing out, names
// that are not one path segment) and their benign look-alikes.
func TestCallerVariables(t *testing.T) {
	s := loadIdentityPolicies(t)
	alice, bob := local("alice", "alice", "web"), local("bob", "ops")
	labels := map[string]string{"owner": "alice", "project": "web-site"}
	for _, c := range []struct {
		name   string
		id     request.Identity
		bind   string
		labels map[string]string
		deny   string // "" allowed
	}{
		{"own home", alice, "/home/alice/project:/app", labels, ""},
		{"own home itself exposes the denied .ssh", alice, "/home/alice:/app", labels, "mounts.bind"},
		{"own team's directory", alice, "/srv/web/data:/d", labels, ""},
		{"literal $ in a path", alice, "/data/$literal:/d", labels, ""},
		{"own prefix under scratch", alice, "/scratch/alice-tmp:/d", labels, ""},
		{"another's home", alice, "/home/bob:/app", labels, "mounts.bind"},
		{"another's home through ..", alice, "/home/alice/../bob/x:/app", labels, "mounts.bind"},
		{"a home named like a prefix", alice, "/home/alice2:/app", labels, "mounts.bind"},
		{"another team's directory", alice, "/srv/ops:/d", labels, "mounts.bind"},
		{"own .ssh is denied", alice, "/home/alice/.ssh:/k", labels, "mounts.bind"},
		{"another's scratch prefix", alice, "/scratch/bob-tmp:/d", labels, "mounts.bind"},
		{"the variable's name itself", alice, "/home/$user:/app", labels, "mounts.bind"},
		{"bob in his home", bob, "/home/bob/src:/app", map[string]string{"owner": "bob", "project": "ops-x"}, ""},
		{"bob in alice's", bob, "/home/alice/src:/app", map[string]string{"owner": "bob", "project": "ops-x"}, "mounts.bind"},
		{"no user: no home", request.Identity{}, "/home/:/app", nil, "mounts.bind"},
		{"default policy: no team directory", remote("zed"), "/srv/:/d", map[string]string{"owner": "zed", "project": "-x"}, "mounts.bind"},
		{"a CN that is a glob", remote("*"), "/home/anyone:/app", map[string]string{"owner": "*", "project": "x"}, "mounts.bind"},
		{"a CN that climbs", remote(".."), "/home/../etc:/app", nil, "mounts.bind"},
		{"a CN with a slash", remote("a/b"), "/home/a/b:/app", nil, "mounts.bind"},
		{"label names another user", alice, "/home/alice/src:/app", map[string]string{"owner": "bob", "project": "web-x"}, "labels.required"},
		{"label of another team", alice, "/home/alice/src:/app", map[string]string{"owner": "alice", "project": "ops-x"}, "labels.required"},
		{"label with a glob user cannot be filled in", remote("*"), "", map[string]string{"owner": "*", "project": "-"}, "labels.required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A uid:gid with no-new-privileges: writable binds are for
			// containers that cannot be root (mounts.root_writable).
			body := `{"Image":"bb","User":"1000:1000","Labels":` + jsonMap(c.labels) + `,"HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":[` + quoteIf(c.bind) + `]}}`
			r, err := request.Parse("POST", "/v1.41/containers/create", map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body))}, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			d := s.Decide(c.id, r)
			var rules []string
			for _, v := range d.Violations {
				rules = append(rules, v.Rule)
			}
			if c.deny == "" && !d.Allow {
				t.Errorf("denied: %s", d.Message())
			}
			if c.deny != "" && (d.Allow || !slices.Contains(rules, c.deny)) {
				t.Errorf("want %s, got allow=%v %s", c.deny, d.Allow, d.Message())
			}
		})
	}
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

func jsonMap(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	var b bytes.Buffer
	b.WriteByte('{')
	i := 0
	for _, k := range []string{"owner", "project"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k) + ":" + strconv.Quote(v))
		i++
	}
	b.WriteByte('}')
	return b.String()
}
