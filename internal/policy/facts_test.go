package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// TestHostFacts checks what the host facts change: user remapping lets a
// root container have a writable bind (unless it opts out with
// --userns=host), the learnt sockets are denied as bind sources whatever
// the allow-list says, and so is any Unix socket, unless the policy names
// it in bind_sockets.
func TestHostFacts(t *testing.T) {
	def, err := os.ReadFile(filepath.Join("..", "..", "examples", "policies", "default.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	sockets := map[string]bool{"/srv/app/agent.sock": true, "/srv/pulse/native": true, "/tmp/e2e/docker.sock": true}
	isSocket := func(p string) (bool, error) {
		if p == "/srv/broken" {
			return false, errors.New("permission denied")
		}
		return sockets[p], nil
	}
	// The shipped roots widened to /srv and /tmp, as a team's policy may
	// widen them: the sockets of these cases lie below them, so that the
	// socket rules, not the allow-list, decide.
	const roots = `bind_allow = ["/home/$user", "/srv/$team", "/srv/scratch"]`
	if strings.Count(string(def), roots) != 1 {
		t.Fatalf("default.hcl has no %s", roots)
	}
	def = []byte(strings.Replace(string(def), roots, `bind_allow = ["/home/$user", "/srv", "/tmp"]`, 1))
	load := func(t *testing.T, facts policy.HostFacts, extra string) *policy.Set {
		src := string(def)
		if extra != "" {
			src += extra
		}
		s, files, diags := policy.LoadSource("default.hcl", []byte(src), policy.WithHostFacts(func() policy.HostFacts { return facts }), policy.WithSocketCheck(isSocket))
		if diags.HasErrors() {
			_ = policy.WriteDiagnostics(os.Stderr, files, diags)
			t.Fatal("does not load")
		}
		return s
	}
	const pulse = `
team "audio" {
  users = ["alice"]
}
policy "audio" {
  extends = "default"
  container {
    bind_sockets = ["/srv/pulse/*"]
  }
}
`
	plain := policy.HostFacts{Sockets: []string{"/tmp/e2e/docker.sock", "/tmp/e2e/exec/containerd/containerd.sock"}}
	remap := policy.HostFacts{UsernsRemap: true}
	cases := []struct {
		name  string
		facts policy.HostFacts
		user  string
		body  string
		rules []string
	}{
		{"root writable bind, no remap", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/x:/x"]}}`, []string{"mounts.root_writable"}},
		{"root writable bind, daemon remaps users", remap, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/x:/x"]}}`, nil},
		{"remap, but --userns=host", remap, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/x:/x"],"UsernsMode":"host"}}`, []string{"mounts.root_writable", "namespaces.host"}},
		{"remap: service mount", remap, "", `{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"bb","Mounts":[{"Type":"bind","Source":"/srv/x","Target":"/x"}]}}}`, nil},
		{"learnt daemon socket under /tmp, read-only", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/tmp/e2e/docker.sock:/s:ro"]}}`, []string{"mounts.docker_socket"}},
		{"directory holding a learnt socket", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/tmp/e2e:/e:ro"]}}`, []string{"mounts.docker_socket"}},
		{"parent of a learnt containerd socket", plain, "", `{"Image":"bb","HostConfig":{"Mounts":[{"Type":"bind","Source":"/tmp/e2e/exec","Target":"/e","ReadOnly":true}]}}`, []string{"mounts.docker_socket"}},
		{"some other socket under /srv", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/app/agent.sock:/a.sock:ro"]}}`, []string{"mounts.socket"}},
		{"path that cannot be inspected", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/broken:/b:ro"]}}`, []string{"mounts.unresolvable"}},
		{"look-alike: sibling of the socket directory", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/tmp/e2e-other:/e:ro"]}}`, nil},
		{"look-alike: a file beside the socket", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/app/config:/c:ro"]}}`, nil},
		{"named socket the team's policy allows", plain, "alice", `{"Image":"bb","HostConfig":{"Binds":["/srv/pulse/native:/p:ro"]}}`, nil},
		{"named socket for someone else", plain, "", `{"Image":"bb","HostConfig":{"Binds":["/srv/pulse/native:/p:ro"]}}`, []string{"mounts.socket"}},
		{"bind_sockets does not reach the daemon's socket", plain, "alice", `{"Image":"bb","HostConfig":{"Binds":["/tmp/e2e/docker.sock:/s:ro"]}}`, []string{"mounts.docker_socket"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, tc.facts, pulse)
			uri := "/v1.41/containers/create"
			if tc.body[2:6] == "Name" {
				uri = "/v1.41/services/create"
			}
			d := s.DecideRequest(request.Identity{User: tc.user}, "POST", uri, map[string]string{"Content-Type": "application/json"}, []byte(tc.body))
			checkRules(t, d, tc.rules)
		})
	}
}
