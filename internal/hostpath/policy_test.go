package hostpath_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/hostpath"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

func loadShipped(t *testing.T, opts ...policy.Option) *policy.Set {
	t.Helper()
	set, files, diags := policy.LoadDir("../../examples/policies", opts...)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = policy.WriteDiagnostics(&b, files, diags)
		t.Fatalf("shipped policies: %s", b.String())
	}
	return set
}

// TestPolicyWithResolver: the shipped default policy allows binds below
// /srv/scratch (the scratch root of callers with no identity); with the
// resolver, a symlink below it that points at /etc is
// judged as /etc. The host is a temp tree seen below a host root, as a
// managed plugin sees it.
func TestPolicyWithResolver(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"srv/scratch/x/real", "etc", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"srv/scratch/x/link":  "/etc",
		"srv/scratch/x/rel":   "../../../etc",
		"srv/scratch/x/sock":  "/run/docker.sock",
		"srv/scratch/x/loop":  "loop",
		"srv/scratch/x/okdir": "real",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := hostpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	with := loadShipped(t, policy.WithPathResolver(r.Resolve))
	without := loadShipped(t)

	type want struct {
		allow bool
		rule  string
	}
	for _, tc := range []struct {
		name    string
		body    string
		with    want
		without want // lexical judgement: the reason the resolver exists
	}{
		{"real directory", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/real:/m"]}}`, want{true, ""}, want{true, ""}},
		{"symlink to a real directory", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/okdir:/m"]}}`, want{true, ""}, want{true, ""}},
		{"missing path", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/new/dir:/m"]}}`, want{true, ""}, want{true, ""}},
		{"symlink to /etc, -v", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/link:/m"]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"symlink to /etc, read-only", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/link:/m:ro"]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"below a symlink to /etc", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/link/shadow:/m"]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"relative symlink to /etc", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/rel:/m"]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"missing then dotdot into the link", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/new/../link:/m"]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"symlink to /etc, --mount", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Mounts":[{"Type":"bind","Source":"/srv/scratch/x/link","Target":"/m"}]}}`, want{false, "mounts.bind"}, want{true, ""}},
		{"symlink to the socket", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/sock:/s"]}}`, want{false, "mounts.docker_socket"}, want{true, ""}},
		{"symlink loop", `{"Image":"bb","User":"1000:1000","HostConfig":{"SecurityOpt":["no-new-privileges"],"Binds":["/srv/scratch/x/loop:/m"]}}`, want{false, "mounts.unresolvable"}, want{true, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := request.Parse("POST", "/v1.41/containers/create", map[string]string{"Content-Type": "application/json"}, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				set  *policy.Set
				want want
			}{{"with resolver", with, tc.with}, {"without resolver", without, tc.without}} {
				d := c.set.Decide(request.Identity{}, req)
				if d.Allow != c.want.allow {
					t.Errorf("%s: allow = %v, want %v (%s)", c.what, d.Allow, c.want.allow, d.Message())
					continue
				}
				if c.want.rule != "" && !hasRule(d, c.want.rule) {
					t.Errorf("%s: violations %+v, want rule %s", c.what, d.Violations, c.want.rule)
				}
			}
		})
	}
}

func hasRule(d policy.Decision, rule string) bool {
	for _, v := range d.Violations {
		if v.Rule == rule {
			return true
		}
	}
	return false
}
