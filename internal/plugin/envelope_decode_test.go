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

func TestDecodeEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		ok   bool // a valid envelope
	}{
		{"empty object", `{}`, true},
		{"white space", " \t\r\n{ \"User\" : \"a\" , \"RequestMethod\":\"GET\" }\n ", true},
		{"escaped URI", `{"RequestMethod":"GET","RequestUri":"/v1.41/build?q=1\u0026t=a%3A1"}`, true},
		{"escapes everywhere", `{"User":"\u00e9\"\\\/\b\f\n\r\t","RequestHeaders":{"X-\u0041":"\ud83d\ude00","x-a":"b"}}`, true},
		{"invalid surrogate", `{"User":"\ud800x"}`, true},
		{"non-ASCII", `{"User":"é日本"}`, true},
		{"invalid UTF-8", "{\"User\":\"a\xffb\"}", true},
		{"duplicate header", `{"RequestHeaders":{"A":"1","A":"2"}}`, true},
		{"empty header map", `{"RequestHeaders":{}}`, true},
		{"empty body", `{"RequestBody":""}`, true},
		{"body", `{"RequestBody":"eyJhIjoxfQ=="}`, true},
		{"body with line breaks", `{"RequestBody":"eyJh\r\nIjoxfQ=="}`, true},
		{"escaped body", `{"RequestBody":"eyJhIjoxfQ\u003d\u003d"}`, true},
		{"certificates", `{"RequestPeerCertificates":["YQ==","\u0059Q=="]}`, true},
		{"no certificates", `{"RequestPeerCertificates":[]}`, true},
		{"status", `{"ResponseStatusCode":201}`, true},
		{"negative status", `{"ResponseStatusCode":-0}`, true},

		{"top-level null", `null`, false},
		{"array", `[]`, false},
		{"other case", `{"user":"a"}`, true},
		{"folded key", "{\"U\u017fer\":\"a\"}", true},
		{"escaped key", `{"\u0055ser":"a"}`, true},
		{"unknown key", `{"Team":"ops"}`, true},
		{"duplicate key", `{"User":"a","User":"b"}`, true},
		{"duplicate map", `{"RequestHeaders":{"A":"1"},"RequestHeaders":{"B":"2"}}`, true},
		{"null string", `{"User":null}`, true},
		{"null map", `{"RequestHeaders":null}`, true},
		{"number as string", `{"User":1}`, false},
		{"fraction", `{"ResponseStatusCode":200.0}`, false},
		{"exponent", `{"ResponseStatusCode":2e2}`, false},
		{"leading zero", `{"ResponseStatusCode":0200}`, false},
		{"overflow", `{"ResponseStatusCode":99999999999999999999}`, false},
		{"bad base64", `{"RequestBody":"e@=="}`, false},
		{"URL base64", `{"RequestBody":"-_8="}`, false},
		{"control character", "{\"User\":\"a\x01\"}", false},
		{"bad escape", `{"User":"\x41"}`, false},
		{"certificate object", `{"RequestPeerCertificates":[{}]}`, true},
		{"header number", `{"RequestHeaders":{"A":1}}`, false},
		{"trailing comma", `{"User":"a",}`, false},
		{"trailing data", `{"User":"a"}x`, false},
		{"second value", `{} {}`, false},
		{"unterminated", `{"User":"a`, false},
		{"unterminated escape", `{"User":"a\`, false},
		{"missing colon", `{"User" "a"}`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := unmarshalEnvelope([]byte(tc.msg))
			if (err == nil) != tc.ok {
				t.Fatalf("encoding/json: %v, want valid %v", err, tc.ok)
			}
			// DecodeEnvelope answers as encoding/json does.
			dec, derr := plugin.DecodeEnvelope(bytes.NewReader([]byte(tc.msg)))
			if (derr != nil) != (err != nil) || err == nil && !reflect.DeepEqual(dec, want) {
				t.Fatalf("DecodeEnvelope %+v (%v), encoding/json %+v (%v)", dec, derr, want, err)
			}
		})
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
