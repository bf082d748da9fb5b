package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

func benchCreate(b *testing.B, user string, ous []string, e corpus.Entry) {
	s := loadExamples(b)
	r, err := request.Parse(e.Method, e.URI, e.Headers, e.BodyBytes())
	if err != nil {
		b.Fatal(err)
	}
	id := request.Identity{User: user, OrganizationalUnits: ous}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Decide(id, r)
	}
}

// The requests below are from the Engine 29 recording (testdata/traffic),
// named by the CLI command that sent them (test/recorder/record.sh).

// BenchmarkDecideCreate: the CLI's plain `docker run` create.
func BenchmarkDecideCreate(b *testing.B) {
	benchCreate(b, "nobody1", nil, recorded(b, "run", "POST", "/containers/create"))
}

// BenchmarkDecideHardenedCreate: a hardened create (read-only, caps
// dropped, no-new-privileges, a user, limits).
func BenchmarkDecideHardenedCreate(b *testing.B) {
	benchCreate(b, "nobody1", nil, recorded(b, "run-hardened", "POST", "/containers/create"))
}

// BenchmarkDecideHardenedCreateWeb: the same as team web (OU lookup, custom rule).
func BenchmarkDecideHardenedCreateWeb(b *testing.B) {
	benchCreate(b, "web-dev1", []string{"web"}, recorded(b, "run-hardened", "POST", "/containers/create"))
}

// BenchmarkDecideDeniedCreate: the socket and host binds, with messages.
func BenchmarkDecideDeniedCreate(b *testing.B) {
	benchCreate(b, "nobody1", nil, recorded(b, "run-host-binds", "POST", "/containers/create"))
}

// BenchmarkDecideStop: container stop, one of the actions of the shipped
// self_protect rule, so the rule's HCL runs.
func BenchmarkDecideStop(b *testing.B) {
	benchCreate(b, "nobody1", nil, recorded(b, "stop", "POST", "/stop"))
}

// BenchmarkDecidePing: a read-only request.
func BenchmarkDecidePing(b *testing.B) {
	benchCreate(b, "nobody1", nil, recorded(b, "version", "HEAD", "/_ping"))
}

func writeTeams(t testing.TB, n int) string {
	dir := t.TempDir()
	def, err := os.ReadFile(filepath.Join("..", "..", "examples", "policies", "default.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.hcl"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		src := fmt.Sprintf(`team "t%[1]d" {
  users = ["user%[1]d", "svc%[1]d-*"]
  ous   = ["ou%[1]d"]
}
policy "t%[1]d" {
  extends = "default"
  container {
    bind_allow = ["/srv/t%[1]d", "/tmp"]
    cap_drop_required = ["ALL"]
  }
  actions { deny = ["container.archive.put"] }
}
`, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("t%04d.hcl", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadThousandTeams: 1,000 team files load and each team is found.
// How long loading takes is measured by BenchmarkLoadThousandTeams and
// reported in docs/performance.md, not asserted here.
func TestLoadThousandTeams(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := writeTeams(t, 1000)
	// Best of three, so that a busy machine does not fail the test.
	var s *policy.Set
	var files map[string]*hcl.File
	var diags hcl.Diagnostics
	took := time.Hour
	for i := 0; i < 3; i++ {
		start := time.Now()
		s, files, diags = policy.LoadDir(dir)
		took = min(took, time.Since(start))
	}
	if s == nil {
		policy.WriteDiagnostics(os.Stderr, files, diags)
		t.Fatal("does not load")
	}
	if len(s.Policies()) != 1001 {
		t.Fatalf("%d policies", len(s.Policies()))
	}
	t.Logf("loading 1000 team files took %v (best of three)", took)
	d := s.Decide(request.Identity{User: "svc512-api"}, &request.Request{Method: "GET", Action: "system.ping"})
	if d.Team != "t512" || !d.Allow {
		t.Fatalf("team %q allow %v", d.Team, d.Allow)
	}
	d = s.Decide(request.Identity{User: "x", OrganizationalUnits: []string{"ou999"}}, &request.Request{Method: "GET", Action: "system.ping"})
	if d.Team != "t999" {
		t.Fatalf("team %q", d.Team)
	}
}

// BenchmarkLoadThousandTeams also reports live-B: the heap a loaded Set
// of 1,000 teams keeps (after a collection, with the set alive and the
// parsed files dropped, as serve does).
func BenchmarkLoadThousandTeams(b *testing.B) {
	dir := writeTeams(b, 1000)
	b.ReportAllocs()
	var s *policy.Set
	for i := 0; i < b.N; i++ {
		if s, _, _ = policy.LoadDir(dir); s == nil {
			b.Fatal("does not load")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(liveAfter(func() any { s, _, _ := policy.LoadDir(dir); return s })), "live-B")
	runtime.KeepAlive(s)
}

// liveAfter returns by how much load grows the live heap while what it
// returns is kept.
func liveAfter(load func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := load()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

func BenchmarkDecideThousandTeams(b *testing.B) {
	s, _, _ := policy.LoadDir(writeTeams(b, 1000))
	r := &request.Request{Method: "GET", Action: "system.ping"}
	id := request.Identity{User: "nobody", OrganizationalUnits: []string{"ou999"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Decide(id, r)
	}
}
