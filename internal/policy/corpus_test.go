package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

// corpusEntry is one recorded request of the shared corpus.
type corpusEntry struct{ corpus.Entry }

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	entries := corpus.ForTest(t)
	out := make([]corpusEntry, len(entries))
	for i, e := range entries {
		out[i] = corpusEntry{e}
	}
	return out
}

func (e corpusEntry) body() []byte {
	if len(e.Body) == 0 || string(e.Body) == "null" {
		return nil
	}
	return e.Body
}

func (e corpusEntry) headers() map[string]string {
	h := map[string]string{}
	for k, v := range e.Headers {
		h[k] = v
	}
	if e.body() != nil {
		h["Content-Type"] = "application/json"
	}
	return h
}

func loadExamples(t testing.TB) *policy.Set {
	t.Helper()
	s, files, diags := policy.LoadDir(filepath.Join("..", "..", "examples", "policies"))
	if diags.HasErrors() || s == nil {
		policy.WriteDiagnostics(os.Stderr, files, diags)
		t.Fatal("examples do not load")
	}
	return s
}

// TestCorpusDefault replays the recorded CLI traffic as a user in no team
// through the shipped default policy. Each entry's expected rules are
// listed by line number (0-based); every other entry must be allowed.
func TestCorpusDefault(t *testing.T) {
	s := loadExamples(t)
	entries := readCorpus(t)
	deny := map[int][]string{
		24: {"exec.privileged", "exec.root"},                                                  // docker exec --privileged -u root
		46: {"container.privileged"},                                                          // docker run --privileged
		51: {"capabilities.add", "security.apparmor", "security.seccomp", "security.selinux"}, // --cap-add ALL,SYS_ADMIN + unconfined
		56: {"namespaces.host", "network.mode"},                                               // --pid/--ipc/--uts/--userns/--network host
		61: {"mounts.bind", "mounts.docker_socket"},                                           // docker.sock, /, /etc
		66: {"devices.device", "logging.driver", "sysctls.sysctl"},                            // --device, --sysctl, --log-driver none
		71: {"volume.host_path"},                                                              // volume create -o bind device=/etc
		99: {"actions.denied"},                                                                // docker build
	}
	if len(entries) != 104 {
		t.Fatalf("corpus has %d entries, the table was written for 104", len(entries))
	}
	id := request.Identity{User: "nobody1", AuthNMethod: "TLS", CommonName: "nobody1"}
	for i, e := range entries {
		r, err := request.Parse(e.Method, e.URI, e.headers(), e.body())
		if err != nil {
			t.Fatalf("%d %s: parse: %v", i, e.Name, err)
		}
		d := s.Decide(id, r)
		want, wantDeny := deny[i]
		if d.Allow == wantDeny {
			t.Errorf("%d %s: allow=%v, want %v: %s", i, e.Name, d.Allow, !wantDeny, d.Message())
			continue
		}
		var got []string
		for _, v := range d.Violations {
			if !slices.Contains(got, v.Rule) {
				got = append(got, v.Rule)
			}
		}
		if wantDeny && !slices.Equal(got, want) {
			t.Errorf("%d %s: rules %v, want %v: %s", i, e.Name, got, want, d.Message())
		}
		if d.Policy != "default" || d.Team != "" {
			t.Errorf("%d: judged by %q/%q, want default", i, d.Policy, d.Team)
		}
	}
}
