package plugin_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/plugin"
)

// The plugin's own requests (the ownership follower's) are allowed by
// the secret they carry, only for list and event reads; every other
// spelling is judged by the policy, which here allows no volume or
// network action.
func TestSelfRequests(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	p := plugin.New(loadPolicies(t), plugin.WithSelfToken(token))
	for _, tc := range []struct {
		name    string
		method  string
		uri     string
		headers map[string]string
		body    string
		self    bool
	}{
		{"the follower's volume list", "GET", "/v1.51/volumes", map[string]string{plugin.SelfHeader: token}, "", true},
		{"the follower's network list", "GET", "/v1.51/networks", map[string]string{plugin.SelfHeader: token}, "", true},
		{"the follower's read of an image's user", "GET", "/v1.51/images/sha256:0123/json", map[string]string{plugin.SelfHeader: token}, "", true},
		{"the follower's events", "GET", "/v1.51/events?since=1", map[string]string{plugin.SelfHeader: token}, "", true},
		// The attack: a guessed or partial secret, a second value
		// (the daemon joins repeated headers with ","), another spelling
		// of the header, an action that is not a read of a list.
		{"no secret", "GET", "/v1.51/volumes", nil, "", false},
		{"wrong secret", "GET", "/v1.51/volumes", map[string]string{plugin.SelfHeader: token[:63] + "0"}, "", false},
		{"prefix of the secret", "GET", "/v1.51/volumes", map[string]string{plugin.SelfHeader: token[:32]}, "", false},
		{"empty secret", "GET", "/v1.51/volumes", map[string]string{plugin.SelfHeader: ""}, "", false},
		{"secret twice", "GET", "/v1.51/volumes", map[string]string{plugin.SelfHeader: token + "," + token}, "", false},
		{"header not as the daemon spells it", "GET", "/v1.51/volumes", map[string]string{"x-portcullis-self": token}, "", false},
		{"a create with the secret", "POST", "/v1.51/volumes/create", map[string]string{plugin.SelfHeader: token}, `{"Name":"x"}`, false},
		{"a removal with the secret", "DELETE", "/v1.51/networks/abc", map[string]string{plugin.SelfHeader: token}, "", false},
		{"an inspect with the secret", "GET", "/v1.51/volumes/abc", map[string]string{plugin.SelfHeader: token}, "", false},
		{"a prune with the secret", "POST", "/v1.51/volumes/prune", map[string]string{plugin.SelfHeader: token}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.Evaluate(&plugin.Envelope{RequestMethod: tc.method, RequestURI: tc.uri, RequestHeaders: tc.headers, RequestBody: []byte(tc.body)})
			if got := o.Decision.Policy == plugin.SelfPolicy; got != tc.self {
				t.Fatalf("judged as the plugin's own: %v, want %v (%+v)", got, tc.self, o.Decision)
			}
			if o.Allowed() != tc.self {
				t.Fatalf("allowed %v, want %v: %s", o.Allowed(), tc.self, o.Message())
			}
		})
	}

	// Without a secret configured, nothing is the plugin's own, whatever
	// the header says.
	q := plugin.New(loadPolicies(t))
	for _, v := range []string{"", token} {
		o := q.Evaluate(&plugin.Envelope{RequestMethod: "GET", RequestURI: "/v1.51/volumes", RequestHeaders: map[string]string{plugin.SelfHeader: v}})
		if o.Allowed() || o.Decision.Policy == plugin.SelfPolicy {
			t.Fatalf("no secret configured, header %q: allowed as the plugin's own", v)
		}
	}
}
