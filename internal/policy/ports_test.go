package policy_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// TestHostPorts: a binding's HostPort is read as the daemon reads it
// (request.ParseHostPort): a "/protocol" suffix, a leading "+" or zeros
// and a range that starts at 0 still bind a privileged port, and a
// HostPort the daemon refuses is denied with its reason.
func TestHostPorts(t *testing.T) {
	s := loadSource(t, `
policy "default" {
  actions { allow = ["container.*"] }
  container { privileged_host_ports = false }
}
`)
	cases := []struct {
		hostPort string
		rule     string // "" for allowed
		msg      string
	}{
		{"80", "ports.privileged", "host port 80 is privileged (below 1024)"},
		{"80/tcp", "ports.privileged", "host port 80/tcp is privileged (below 1024)"},
		{"80/udp", "ports.privileged", ""},
		{"+80", "ports.privileged", ""},
		{"0080", "ports.privileged", ""},
		{"0-80", "ports.privileged", ""},
		{"1000-1100", "ports.privileged", ""},
		{"1-65535", "ports.privileged", ""},
		{"80-79", "ports.invalid", `host port "80-79" is not valid: invalid port range: 80-79`},
		{"http", "ports.invalid", `host port "http" is not valid: invalid start port 'http': invalid syntax`},
		{"65536", "ports.invalid", ""},
		{"/tcp", "ports.invalid", ""},
		// Benign look-alikes.
		{"", "", ""},
		{"0", "", ""},
		{"8080", "", ""},
		{"8080/tcp", "", ""},
		{"1024-2048", "", ""},
	}
	for _, c := range cases {
		body, _ := json.Marshal(map[string]any{"Image": "busybox", "HostConfig": map[string]any{
			"PortBindings": map[string]any{"80/tcp": []map[string]string{{"HostPort": c.hostPort}}},
		}})
		r, err := request.Parse("POST", "/v1.47/containers/create", map[string]string{"Content-Type": "application/json"}, body)
		if err != nil {
			t.Fatal(err)
		}
		d := s.Decide(request.Identity{}, r)
		var rules, msgs []string
		for _, v := range d.Violations {
			rules, msgs = append(rules, v.Rule), append(msgs, v.Reason)
		}
		switch {
		case c.rule == "" && !d.Allow:
			t.Errorf("HostPort %q: denied %v %q", c.hostPort, rules, msgs)
		case c.rule != "" && (d.Allow || !slices.Equal(rules, []string{c.rule})):
			t.Errorf("HostPort %q: rules %v, want [%s]", c.hostPort, rules, c.rule)
		case c.msg != "" && (len(msgs) != 1 || msgs[0] != c.msg):
			t.Errorf("HostPort %q: message %q, want %q", c.hostPort, msgs, c.msg)
		}
	}
}
