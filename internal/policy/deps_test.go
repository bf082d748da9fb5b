package policy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection pins the direction of the house: the request model
// imports none of the packages above it, and the policy language imports
// neither the protocol, nor the audit trail, nor logrus or the plugin
// helpers. It fails, not skips, when the graph cannot be read.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/portcullis/portcullis/"
	rules := []struct {
		pkg string
		bad []string
	}{
		{mod + "internal/request/...", []string{mod + "internal/policy", mod + "internal/plugin", mod + "internal/audit", mod + "internal/state", mod + "internal/gateway", mod + "cmd"}},
		{mod + "internal/metrics/...", []string{mod + "internal/plugin", mod + "internal/audit", mod + "internal/policy", mod + "internal/state", mod + "internal/gateway", mod + "internal/request", mod + "cmd"}},
		{mod + "internal/audit/...", []string{mod + "internal/plugin", mod + "internal/metrics", mod + "internal/policy", mod + "internal/state", mod + "internal/gateway", mod + "cmd"}},
		// The record and its encoder stand alone; the sinks (and the
		// auditor that feeds them) know the record and nothing of Docker
		// requests; the description of Docker requests knows the record
		// and the request model, never a sink.
		{mod + "internal/audit", []string{mod + "internal/audit/describe", mod + "internal/audit/sink", mod + "internal/request", "github.com/docker/docker", "github.com/sirupsen/logrus"}},
		{mod + "internal/audit/sink", []string{mod + "internal/audit/describe", mod + "internal/request", "github.com/docker/docker"}},
		{mod + "internal/audit/describe", []string{mod + "internal/audit/sink", "github.com/sirupsen/logrus"}},
		// Test support (recorded traffic, the recorder, load and
		// end-to-end benchmarks) never ships, and the traffic reader
		// stands on the standard library alone.
		{mod + "cmd/...", []string{mod + "test"}},
		{mod + "internal/...", []string{mod + "test"}},
		{mod + "test/corpus", []string{mod + "internal", mod + "cmd", "github.com/docker/docker"}},
		// The gateway tells the daemon who calls; it never judges.
		{mod + "internal/gateway/...", []string{mod + "internal/policy", mod + "internal/plugin", mod + "internal/audit", mod + "internal/metrics", mod + "internal/state", mod + "internal/request", mod + "cmd"}},
		// The plugin socket's HTTP/1.1 knows nothing of the plugin, and
		// is not net/http.
		{mod + "internal/plugin/wire", []string{mod + "internal/policy", mod + "internal/audit", mod + "internal/state", mod + "internal/metrics", mod + "internal/request", mod + "internal/gateway", mod + "cmd", "net/http", "github.com/sirupsen/logrus", "github.com/docker"}},
		{mod + "internal/state/...", []string{mod + "internal/policy", mod + "internal/plugin", mod + "internal/audit", mod + "internal/gateway", mod + "cmd"}},
		{mod + "internal/hostfacts/...", []string{mod + "internal/policy", mod + "internal/plugin", mod + "internal/audit", mod + "internal/state", mod + "internal/gateway", mod + "internal/request", mod + "cmd"}},
		{mod + "internal/policy/...", []string{mod + "internal/plugin", mod + "internal/audit", mod + "internal/state", mod + "internal/gateway", mod + "cmd", "github.com/sirupsen/logrus", "github.com/docker/go-plugins-helpers", "go.etcd.io/bbolt", "github.com/docker/docker/client", "github.com/moby/moby/client"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", r.pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list -deps %s printed nothing", r.pkg)
		}
		for _, dep := range deps {
			for _, bad := range r.bad {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", r.pkg, dep)
				}
			}
		}
	}
}
