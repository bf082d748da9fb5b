package policy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// TestDenialMessages pins, with a golden file, what people see: the
// message the docker CLI prints and each violation's rule, field and
// reason, for representative requests under the shipped policies.
func TestDenialMessages(t *testing.T) {
	s := loadExamples(t)
	data, err := os.ReadFile(filepath.Join("testdata", "messages", "requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, User, OU, Method, URI string
		Body                        json.RawMessage
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, c := range cases {
		id := request.Identity{User: c.User, CommonName: c.User}
		if c.OU != "" {
			id.AuthNMethod = "TLS"
			id.OrganizationalUnits = []string{c.OU}
		}
		var headers map[string]string
		var body []byte
		if len(c.Body) > 0 {
			headers = map[string]string{"Content-Type": "application/json"}
			body = c.Body
		}
		d := s.DecideRequest(id, c.Method, c.URI, headers, body)
		fmt.Fprintf(&out, "== %s\n", c.Name)
		if d.Allow {
			fmt.Fprintf(&out, "allow (policy %q)\n\n", d.Policy)
			continue
		}
		fmt.Fprintf(&out, "%s\n", d.Message())
		for _, v := range d.Violations {
			fmt.Fprintf(&out, "  %s  %s  %s\n", v.Rule, v.Field, v.Reason)
			// Every built-in rule says what to change; a custom rule's
			// message is its author's.
			if v.Remedy == "" && !strings.HasPrefix(v.Rule, "rule.") {
				t.Errorf("%s: %s has no remedy", c.Name, v.Rule)
			}
		}
		out.WriteString("\n")
	}
	golden(t, filepath.Join("testdata", "messages", "messages.golden"), []byte(out.String()))
}
