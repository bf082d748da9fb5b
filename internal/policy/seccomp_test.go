package policy_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/profiles/seccomp"

	"github.com/portcullis/portcullis/internal/request"
)

// TestSeccompDefaultProfileAsCustom: Docker's own default profile, sent
// inline, is judged like the builtin one for every capability set the
// policy allows, and a one-syscall widening of it is caught.
func TestSeccompDefaultProfileAsCustom(t *testing.T) {
	s := loadExamples(t)
	def, err := json.Marshal(seccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	widened := seccomp.DefaultProfile()
	widened.Syscalls[0].Names = append(widened.Syscalls[0].Names, "kexec_load")
	wide, err := json.Marshal(widened)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		profile []byte
		capAdd  []string
		capDrop []string
		deny    string
	}{
		{name: "default caps", profile: def},
		{name: "caps dropped", profile: def, capDrop: []string{"ALL"}},
		{name: "caps re-added", profile: def, capAdd: []string{"CHOWN", "cap_kill"}},
		{name: "widened", profile: wide, deny: "kexec_load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"Image": "bb", "HostConfig": map[string]any{
				"SecurityOpt": []string{"seccomp=" + string(tc.profile)}, "CapAdd": tc.capAdd, "CapDrop": tc.capDrop,
			}})
			d := s.DecideRequest(request.Identity{}, "POST", "/v1.41/containers/create", map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body))}, body)
			switch {
			case tc.deny == "" && !d.Allow:
				t.Fatalf("denied: %s", d.Message())
			case tc.deny != "" && (d.Allow || !strings.Contains(d.Message(), tc.deny)):
				t.Fatalf("want a denial naming %s, got %s (allow %v)", tc.deny, d.Message(), d.Allow)
			}
		})
	}
}
