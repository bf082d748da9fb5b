package policy_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
)

func TestExamplePolicyTests(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := policy.RunTests(filepath.Join("..", "..", "examples", "policies"), &out)
	if err != nil || failed > 0 || passed == 0 {
		t.Fatalf("passed=%d failed=%d err=%v\n%s", passed, failed, err, out.String())
	}
}
