package plugin_test

import (
	"encoding/json"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/plugin"
)

// BenchmarkEvaluateTLS: a request from a TLS user, whose identity comes
// from the peer certificate the daemon sends with every request.
func BenchmarkEvaluateTLS(b *testing.B) {
	p := plugin.New(loadPolicies(b))
	raw, err := (*authorization.PeerCertificate)(selfSigned(b, "web-dev1", "web")).MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	e := &plugin.Envelope{User: "web-dev1", UserAuthNMethod: "TLS", RequestMethod: "GET", RequestURI: "/v1.41/containers/json",
		RequestPeerCertificates: []json.RawMessage{raw}}
	b.ReportAllocs()
	for b.Loop() {
		if o := p.Evaluate(e); !o.Allowed() || o.Decision.Team != "web" {
			b.Fatalf("%+v", o)
		}
	}
}
