package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// TestCustomRules: rules see the request, the identity and the create
// settings they name; regex functions return what cty's stdlib returns.
func TestCustomRules(t *testing.T) {
	src := `
policy "default" {
  actions { allow = ["container.*", "exec.*", "system.*"] }
  rule "debug-image" {
    when    = startswith(create.image, "debug/")
    message = "debug images (${create.image}) are for laptops"
  }
  rule "named-groups" {
    when    = length(regexall("(?P<reg>[a-z.]+)/(?P<repo>.+)", create.image)) > 0 && regexall("(?P<reg>[a-z.]+)/(?P<repo>.+)", create.image)[0].reg == "evil.io"
    message = "registry ${regex("(?P<reg>[a-z.]+)/", create.image).reg} is not trusted"
  }
  rule "tuple-groups" {
    when    = length(regexall("^(x)(y)?$", create.user)) > 0 && regex("^(x)(y)?$", create.user)[1] == null
    message = "user x"
  }
  rule "whole-object" {
    when    = length(keys(create)) < 10
    message = "create object is missing attributes"
  }
  rule "exec-sh" {
    when    = exec.present && contains(exec.cmd, "sh")
    message = "no shells by exec for ${user.name == "" ? "anonymous" : user.name}"
  }
  rule "query" {
    when    = lookup(request.query, "name", "") == "forbidden"
    message = "that name is reserved"
  }
  rule "whole-request" {
    when    = length(keys(request)) != 8 || length(keys(user)) != 6
    message = "request or user object is missing attributes"
  }
}
`
	s := loadSource(t, src)
	json := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, uri, body string
		want            string // rule id, or "" for allowed
		msg             string
	}{
		{"plain", "/containers/create", `{"Image":"busybox"}`, "", ""},
		{"debug image", "/containers/create", `{"Image":"debug/tools"}`, "rule.debug-image", "debug images (debug/tools) are for laptops"},
		{"named groups", "/containers/create", `{"Image":"evil.io/x"}`, "rule.named-groups", "registry evil.io is not trusted"},
		{"tuple with null group", "/containers/create", `{"Image":"busybox","User":"x"}`, "rule.tuple-groups", "user x"},
		{"tuple with both groups", "/containers/create", `{"Image":"busybox","User":"xy"}`, "", ""},
		{"query", "/containers/create?name=forbidden", `{"Image":"busybox"}`, "rule.query", "that name is reserved"},
		{"exec shell", "/containers/c/exec", `{"Cmd":["sh"]}`, "rule.exec-sh", "no shells by exec for anonymous"},
		{"exec other", "/containers/c/exec", `{"Cmd":["ls"],"User":"1000"}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := request.Parse("POST", c.uri, json, []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			d := s.Decide(request.Identity{}, r)
			if c.want == "" {
				if !d.Allow {
					t.Fatalf("denied: %s", d.Message())
				}
				return
			}
			if d.Allow || len(d.Violations) != 1 || d.Violations[0].Rule != c.want || d.Violations[0].Reason != c.msg {
				t.Fatalf("got %+v, want one %s: %q", d.Violations, c.want, c.msg)
			}
		})
	}
}

// TestRulePartialVariables: when rules read only some attributes of
// request and user, only those are built, and the rules see them.
func TestRulePartialVariables(t *testing.T) {
	src := `
policy "default" {
  actions { allow = ["container.*", "exec.*"] }
  rule "target" {
    when    = request.target == "bad" && !user.authenticated && length(user.ous) == 0
    message = "${request.method} on ${request.target} by ${user.team == "" ? "nobody" : user.team}"
  }
  rule "query" {
    when    = lookup(request.query, "name", "") == "forbidden"
    message = "that name is reserved"
  }
}
`
	s := loadSource(t, src)
	json := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct{ uri, want, msg string }{
		{"/containers/bad/exec", "rule.target", "POST on bad by nobody"},
		{"/containers/good/exec", "", ""},
		{"/containers/good/exec?name=forbidden", "rule.query", "that name is reserved"},
	} {
		r, err := request.Parse("POST", c.uri, json, []byte(`{"Cmd":["ls"]}`))
		if err != nil {
			t.Fatal(err)
		}
		d := s.Decide(request.Identity{}, r)
		if c.want == "" {
			if !d.Allow {
				t.Errorf("%s denied: %s", c.uri, d.Message())
			}
			continue
		}
		if d.Allow || len(d.Violations) != 1 || d.Violations[0].Rule != c.want || d.Violations[0].Reason != c.msg {
			t.Errorf("%s: got %+v, want one %s: %q", c.uri, d.Violations, c.want, c.msg)
		}
	}
}

// loadSource loads one policy file holding src.
func loadSource(t *testing.T, src string) *policy.Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, files, diags := policy.LoadDir(dir)
	if diags.HasErrors() {
		policy.WriteDiagnostics(os.Stderr, files, diags)
		t.Fatal("does not load")
	}
	return s
}

// TestRuleActions: a rule with actions runs only for those actions, and
// its action names are checked at load time.
func TestRuleActions(t *testing.T) {
	load := func(src string) (*policy.Set, string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644)
		s, files, diags := policy.LoadDir(dir)
		var b strings.Builder
		policy.WriteDiagnostics(&b, files, diags)
		return s, b.String()
	}
	s, diag := load(`policy "default" {
  actions { allow = ["container.*", "system.*"] }
  rule "no-stop" {
    actions = ["container.stop", "container.kill"]
    when    = true
    message = "no"
  }
}`)
	if s == nil {
		t.Fatal(diag)
	}
	for uri, want := range map[string]bool{"/_ping": true, "/containers/x/stop": false, "/containers/x/kill": false, "/containers/x/restart": true} {
		method := "POST"
		if uri == "/_ping" {
			method = "GET"
		}
		d := s.DecideRequest(request.Identity{}, method, uri, nil, nil)
		if d.Allow != want {
			t.Errorf("%s %s: allow %v, want %v (%s)", method, uri, d.Allow, want, d.Message())
		}
	}
	if s, diag := load(`policy "default" {
  rule "typo" {
    actions = ["container.stpo"]
    when    = true
    message = "x"
  }
}`); s != nil || !strings.Contains(diag, `"container.stpo" is not an action name`) || !strings.Contains(diag, "p.hcl:3:16") {
		t.Errorf("a misspelt rule action loaded:\n%s", diag)
	}
}

// TestAuditModeStillDeniesUnjudgeable: audit mode allows what a policy
// would deny, but never a request whose body could not be judged.
func TestAuditModeStillDeniesUnjudgeable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(`policy "default" {
  mode = "audit"
  actions { allow = ["container.*"] }
}`), 0o644)
	s, _, diags := policy.LoadDir(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	priv := &request.Request{Method: "POST", Action: "container.create", ContainerCreate: nil}
	if d := s.Decide(request.Identity{}, priv); d.Allow {
		t.Errorf("a create without a decoded body was allowed in audit mode: %+v", d)
	}
	r, _ := request.Parse("POST", "/containers/create", map[string]string{"Content-Type": "application/json"}, []byte(`{"HostConfig":{"Privileged":true}}`))
	if d := s.Decide(request.Identity{}, r); !d.Allow || !d.WouldDeny() {
		t.Errorf("audit mode: privileged create should be allowed and recorded as would-deny: %+v", d)
	}
}
