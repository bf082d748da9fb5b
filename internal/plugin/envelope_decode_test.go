package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/test/corpus"
)

// daemonMessage encodes req the way the daemon sends it: a json.Encoder
// with its defaults (HTML escaping on, a trailing newline).
func daemonMessage(t testing.TB, req authorization.Request) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(req); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// unmarshalEnvelope is the definition the fast path must agree with.
func unmarshalEnvelope(data []byte) (*plugin.Envelope, error) {
	var e *plugin.Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errors.New("null")
	}
	return e, nil
}

// Every message the daemon would send for the recorded traffic, in both
// phases and with a TLS user, decodes as encoding/json decodes it.
func TestDecodeEnvelopeDaemonMessages(t *testing.T) {
	entries := corpus.ForTest(t)
	cert := (*authorization.PeerCertificate)(selfSigned(t, "alice", "web"))
	var msgs [][]byte
	for _, e := range entries {
		req := authorization.Request{RequestMethod: e.Method, RequestURI: e.URI, RequestHeaders: e.Headers, RequestBody: e.BodyBytes()}
		msgs = append(msgs, daemonMessage(t, req))
		req.User, req.UserAuthNMethod = "alice", "TLS"
		req.RequestPeerCertificates = []*authorization.PeerCertificate{cert}
		msgs = append(msgs, daemonMessage(t, req))
		req.ResponseStatusCode = 200
		req.ResponseHeaders = map[string]string{"Content-Type": "application/json", "Api-Version": "1.41", "Docker-Experimental": "false"}
		req.ResponseBody = []byte(`{"Id":"7dbf2888445d","Warnings":["<&>"]}` + "\n")
		msgs = append(msgs, daemonMessage(t, req))
	}
	for _, msg := range msgs {
		got, err := plugin.DecodeEnvelope(bytes.NewReader(msg))
		if err != nil {
			t.Errorf("DecodeEnvelope: %v: %.300s", err, msg)
			continue
		}
		want, err := unmarshalEnvelope(msg)
		if err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeEnvelope %+v\nencoding/json %+v\nfor %.300s", got, want, msg)
		}
	}
}

// DecodeEnvelope agrees with encoding/json on every message: the same
// envelope, or an error from both. Seeded with hand-written messages and
// the daemon's message for every adversarial case, headers and sender
// included.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, c := range corpus.Adversarial(f) {
		req := authorization.Request{User: c.User, RequestMethod: c.RequestMethod(), RequestURI: c.URI,
			RequestHeaders: c.RequestHeaders(), RequestBody: c.RequestBody()}
		if c.User != "" {
			req.UserAuthNMethod = "TLS"
		}
		f.Add(daemonMessage(f, req))
	}
	cert := (*authorization.PeerCertificate)(selfSigned(f, "alice", "web"))
	f.Add(daemonMessage(f, authorization.Request{
		User: "alice", UserAuthNMethod: "TLS", RequestMethod: "POST", RequestURI: "/v1.41/containers/create?name=a&b=<c>",
		RequestBody:             []byte(`{"Image":"busybox","HostConfig":{"Privileged":true}}`),
		RequestHeaders:          map[string]string{"Content-Type": "application/json"},
		RequestPeerCertificates: []*authorization.PeerCertificate{cert},
		ResponseStatusCode:      201, ResponseBody: []byte(`{"Id":"x"}`),
		ResponseHeaders: map[string]string{"Api-Version": "1.41"},
	}))
	for _, s := range []string{`{}`, `{"User":"\u00e9"}`, `{"RequestHeaders":{"A":"1","A":"2"}}`, `{"ResponseStatusCode":-12}`,
		`{"RequestBody":"eyJh\r\nIjoxfQ=="}`, `{"RequestPeerCertificates":["YQ=="]}`, `{"user":"a"}`, `{"User":"a","User":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := plugin.DecodeEnvelope(bytes.NewReader(data))
		want, werr := unmarshalEnvelope(data)
		if (err != nil) != (werr != nil) {
			t.Fatalf("DecodeEnvelope error %v, encoding/json %v for %q", err, werr, data)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeEnvelope %+v, encoding/json %+v for %q", got, want, data)
		}
	})
}
