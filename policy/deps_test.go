package policy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection pins that the policy packages never import the
// plugin, logrus or the plugin protocol helpers.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/portcullis/portcullis/policy/...").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/portcullis/portcullis/plugin", "github.com/sirupsen/logrus", "github.com/docker/go-plugins-helpers"} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("policy depends on %s", dep)
			}
		}
	}
}
