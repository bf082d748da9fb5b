package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

func loadExamples(t testing.TB, opts ...policy.Option) *policy.Set {
	t.Helper()
	s, files, diags := policy.LoadDir(filepath.Join("..", "..", "examples", "policies"), opts...)
	if diags.HasErrors() || s == nil {
		policy.WriteDiagnostics(os.Stderr, files, diags)
		t.Fatal("examples do not load")
	}
	return s
}

// TestCorpusDefault replays the recorded CLI traffic (both daemons) as a
// user in no team through the shipped default policy. The requests it
// must deny are listed by the recording step (the CLI command, see
// test/recorder/record.sh) and action, with the rules that deny them;
// every other request must be allowed.
func TestCorpusDefault(t *testing.T) {
	s := loadExamples(t)
	deny := map[string][]string{
		"exec-privileged container.exec":       {"exec.privileged"}, // root exec itself is allowed: docs/security.md
		"cp-to container.archive.put":          {"actions.denied"},
		"run-privileged container.create":      {"container.privileged"},
		"run-capabilities container.create":    {"capabilities.add", "security.apparmor", "security.seccomp", "security.selinux"},
		"run-host-namespaces container.create": {"namespaces.host", "network.mode"},
		"run-host-binds container.create":      {"mounts.bind", "mounts.docker_socket"},
		"run-devices container.create":         {"devices.device", "logging.driver", "sysctls.sysctl"},
		"volume-create-host volume.create":     {"volume.host_path"},
		"build image.build":                    {"actions.denied"},
	}
	id := request.Identity{User: "nobody1", AuthNMethod: "TLS", CommonName: "nobody1"}
	seen := map[string]map[string]bool{} // deny key -> recordings where it was seen
	for _, e := range corpus.ForTest(t) {
		r, err := request.Parse(e.Method, e.URI, e.Headers, e.BodyBytes())
		if err != nil {
			t.Fatalf("%s %s: parse: %v", e.Recording, e.Name, err)
		}
		key := e.Step + " " + string(r.Action)
		d := s.Decide(id, r)
		want, wantDeny := deny[key]
		if wantDeny {
			if seen[key] == nil {
				seen[key] = map[string]bool{}
			}
			seen[key][e.Recording] = true
		}
		if d.Allow == wantDeny {
			t.Errorf("%s %s (%s): allow=%v, want %v: %s", e.Recording, e.Name, key, d.Allow, !wantDeny, d.Message())
			continue
		}
		var got []string
		for _, v := range d.Violations {
			if !slices.Contains(got, v.Rule) {
				got = append(got, v.Rule)
			}
		}
		if wantDeny && !slices.Equal(got, want) {
			t.Errorf("%s %s: rules %v, want %v: %s", e.Recording, e.Name, got, want, d.Message())
		}
		if d.Policy != "default" || d.Team != "" {
			t.Errorf("%s %s: judged by %q/%q, want default", e.Recording, e.Name, d.Policy, d.Team)
		}
	}
	// Every listed denial was exercised by every recording.
	for key := range deny {
		for _, rec := range corpus.Recordings {
			if !seen[key][rec] {
				t.Errorf("%s: no request %q", rec, key)
			}
		}
	}
}

// recorded returns the first request of the Engine 29 recording that the
// step sent with method to a URI containing part.
func recorded(tb testing.TB, step, method, part string) corpus.Entry {
	tb.Helper()
	for _, e := range corpus.Named(tb, corpus.Engine29) {
		if e.Step == step && e.Method == method && strings.Contains(e.URI, part) {
			return e
		}
	}
	tb.Fatalf("%s: no %s %s request in step %s", corpus.Engine29, method, part, step)
	return corpus.Entry{}
}
