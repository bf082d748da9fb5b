package plugin

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/test/corpus"
)

// fastCases are messages, whether fastEnvelope reads them (fast) or
// leaves them to encoding/json, and whether encoding/json reads them as
// an envelope (valid): the daemon's shape, each way a message can leave
// it, and each way it can be broken.
var fastCases = []struct {
	name  string
	msg   string
	fast  bool
	valid bool
}{
	{"empty object", `{}`, true, true},
	{"empty object, newline", "{}\n", true, true},
	{"daemon request", `{"User":"alice","UserAuthNMethod":"TLS","RequestMethod":"POST","RequestUri":"/v1.50/containers/create?name=web","RequestBody":"eyJJbWFnZSI6ImIifQ==","RequestHeaders":{"Content-Type":"application/json","User-Agent":"Docker-Client/29.1.0 (linux)"}}` + "\n", true, true},
	{"daemon response", `{"RequestMethod":"POST","RequestUri":"/v1.50/containers/create","RequestBody":"eyJJbWFnZSI6ImIifQ==","ResponseStatusCode":201,"ResponseBody":"eyJJZCI6IngifQo=","ResponseHeaders":{"Api-Version":"1.50"}}`, true, true},
	{"GET response", `{"RequestMethod":"GET","RequestUri":"/v1.50/containers/json","ResponseStatusCode":200,"ResponseBody":"W3siSWQiOiJhIn1d"}`, true, true},
	{"GET response, body not base64", `{"RequestMethod":"GET","ResponseBody":"e@=="}`, true, false},
	{"keys in another order", `{"RequestUri":"/_ping","RequestMethod":"HEAD"}`, true, true},
	{"escaped URI", `{"RequestMethod":"GET","RequestUri":"/v1.41/build?q=1\u0026t=a%3A1"}`, true, true},
	{"escapes everywhere", `{"User":"\u00e9\"\\\/\b\f\n\r\t","RequestHeaders":{"X-\u0041":"\ud83d\ude00","x-a":"b"}}`, true, true},
	{"invalid surrogate", `{"User":"\ud800x"}`, true, true},
	{"non-ASCII", `{"User":"é日本"}`, true, true},
	{"invalid UTF-8", "{\"User\":\"a\xffb\"}", true, true},
	{"DEL", "{\"User\":\"a\x7fb\"}", true, true},
	{"duplicate header", `{"RequestHeaders":{"A":"1","A":"2"}}`, true, true},
	{"empty header map", `{"RequestHeaders":{}}`, true, true},
	{"empty body", `{"RequestBody":""}`, true, true},
	{"certificates", `{"RequestPeerCertificates":["YQ==","Yg=="]}`, true, true},
	{"no certificates", `{"RequestPeerCertificates":[]}`, true, true},
	{"status zero", `{"ResponseStatusCode":0}`, true, true},
	{"status nine digits", `{"ResponseStatusCode":999999999}`, true, true},
	{"status", `{"ResponseStatusCode":201}`, true, true},
	{"body", `{"RequestBody":"eyJhIjoxfQ=="}`, true, true},

	// Left to encoding/json: valid, but not the daemon's shape.
	{"white space", " {\"User\":\"a\"}", false, true},
	{"white space everywhere", " \t\r\n{ \"User\" : \"a\" , \"RequestMethod\":\"GET\" }\n ", false, true},
	{"white space inside", `{ "User":"a"}`, false, true},
	{"white space after a value", `{"User":"a" }`, false, true},
	{"other case", `{"user":"a"}`, false, true},
	{"folded key", "{\"U\u017fer\":\"a\"}", false, true},
	{"escaped key", `{"\u0055ser":"a"}`, false, true},
	{"unknown key", `{"Team":"ops"}`, false, true},
	{"duplicate key", `{"User":"a","User":"b"}`, false, true},
	{"duplicate map", `{"RequestHeaders":{"A":"1"},"RequestHeaders":{"B":"2"}}`, false, true},
	{"duplicate body", `{"RequestMethod":"POST","RequestBody":"YQ==","RequestBody":"Yg=="}`, false, true},
	{"null string", `{"User":null}`, false, true},
	{"null map", `{"RequestHeaders":null}`, false, true},
	{"null body", `{"RequestBody":null}`, false, true},
	{"null certificate", `{"RequestPeerCertificates":[null]}`, false, true},
	{"escaped body", `{"RequestBody":"eyJhIjoxfQ\u003d\u003d"}`, false, true},
	{"escaped certificate", `{"RequestPeerCertificates":["\u0059Q=="]}`, false, true},
	{"certificates, one escaped", `{"RequestPeerCertificates":["YQ==","\u0059Q=="]}`, false, true},
	{"body with line breaks", `{"RequestBody":"eyJh\r\nIjoxfQ=="}`, false, true},
	{"negative zero status", `{"ResponseStatusCode":-0}`, false, true},
	{"ten digits", `{"ResponseStatusCode":1000000000}`, false, true},
	{"certificate object", `{"RequestPeerCertificates":[{}]}`, false, true},

	// Invalid: encoding/json refuses them, and so fastEnvelope must not
	// read them.
	{"top-level null", `null`, false, false},
	{"array", `[]`, false, false},
	{"number as string", `{"User":1}`, false, false},
	{"fraction", `{"ResponseStatusCode":200.0}`, false, false},
	{"exponent", `{"ResponseStatusCode":2e2}`, false, false},
	{"leading zero", `{"ResponseStatusCode":0200}`, false, false},
	{"overflow", `{"ResponseStatusCode":99999999999999999999}`, false, false},
	{"bad base64", `{"RequestBody":"e@=="}`, false, false},
	{"URL base64", `{"RequestBody":"-_8="}`, false, false},
	{"bad response base64", `{"RequestMethod":"POST","ResponseBody":"-_8="}`, false, false},
	{"control character", "{\"User\":\"a\x01\"}", false, false},
	{"control character in a GET's body", "{\"RequestMethod\":\"GET\",\"ResponseBody\":\"YQ\x01=\"}", false, false},
	{"bad escape", `{"User":"\x41"}`, false, false},
	{"header number", `{"RequestHeaders":{"A":1}}`, false, false},
	{"header trailing comma", `{"RequestHeaders":{"A":"1",}}`, false, false},
	{"trailing comma", `{"User":"a",}`, false, false},
	{"trailing data", `{"User":"a"}x`, false, false},
	{"second value", `{} {}`, false, false},
	{"unterminated", `{"User":"a`, false, false},
	{"unterminated escape", `{"User":"a\`, false, false},
	{"unterminated body", `{"RequestBody":"YQ==`, false, false},
	{"unterminated object", `{"User":"a"`, false, false},
	{"missing colon", `{"User" "a"}`, false, false},
	{"empty", ``, false, false},
	{"brace", `{`, false, false},
}

// checkFast holds fastEnvelope to encoding/json: whatever it reads, in
// either phase, is valid and reads exactly as decodeEnvelopeJSON and
// decodeResponseJSON read it.
func checkFast(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	for _, response := range []bool{false, true} {
		got, ok := fastEnvelope(data, response)
		if !ok {
			continue
		}
		fast = true
		decode := decodeEnvelopeJSON
		if response {
			decode = decodeResponseJSON
		}
		want, err := decode(data)
		if err != nil {
			t.Fatalf("fast path (response %v) read what encoding/json refuses (%v): %q", response, err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path (response %v) %+v\nencoding/json %+v\nfor %q", response, got, want, data)
		}
	}
	return fast
}

func TestFastEnvelope(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFast(t, []byte(tc.msg)); got != tc.fast {
				t.Fatalf("read by the fast path: %v, want %v", got, tc.fast)
			}
			want, werr := decodeEnvelopeJSON([]byte(tc.msg))
			if (werr == nil) != tc.valid {
				t.Fatalf("encoding/json: %v, want valid %v", werr, tc.valid)
			}
			// Whoever reads it, the plugin answers as encoding/json
			// does, from its buffer or from a reader.
			got, err := parseEnvelope([]byte(tc.msg))
			if (err == nil) != (werr == nil) || err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("parseEnvelope %+v (%v), encoding/json %+v (%v)", got, err, want, werr)
			}
			got, err = DecodeEnvelope(bytes.NewReader([]byte(tc.msg)))
			if (err == nil) != (werr == nil) || err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeEnvelope %+v (%v), encoding/json %+v (%v)", got, err, want, werr)
			}
		})
	}
}

// daemonMessages are the messages the daemon sends for the recorded
// traffic of both engines: each request phase as sent, with a TLS user,
// and the response phase with an answer.
func daemonMessages(tb testing.TB) [][]byte {
	cert := &authorization.PeerCertificate{Raw: []byte("a certificate's DER")}
	var msgs [][]byte
	enc := func(req authorization.Request) {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(req); err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, b.Bytes())
	}
	for _, name := range corpus.Recordings {
		for _, e := range corpus.Named(tb, name) {
			req := authorization.Request{RequestMethod: e.Method, RequestURI: e.URI, RequestHeaders: e.Headers, RequestBody: e.BodyBytes()}
			enc(req)
			req.User, req.UserAuthNMethod = "alice", "TLS"
			req.RequestPeerCertificates = []*authorization.PeerCertificate{cert}
			enc(req)
			req.ResponseStatusCode = 200
			req.ResponseHeaders = map[string]string{"Content-Type": "application/json", "Api-Version": "1.41", "Docker-Experimental": "false"}
			req.ResponseBody = []byte(`{"Id":"7dbf2888445d","Warnings":["<&>"]}` + "\n")
			enc(req)
		}
	}
	return msgs
}

// Every message the daemon sends for the recorded traffic takes the fast
// path, so that a change that sends it to encoding/json fails here rather
// than only costing time.
func TestFastEnvelopeDaemonMessages(t *testing.T) {
	for _, msg := range daemonMessages(t) {
		if !checkFast(t, msg) {
			t.Errorf("left to encoding/json: %.300s", msg)
		}
	}
}

// fastEnvelope reads nothing encoding/json would read otherwise or
// refuse, in either phase. Seeded with the cases above and a sample of
// the daemon's messages.
func FuzzFastEnvelope(f *testing.F) {
	for _, tc := range fastCases {
		f.Add([]byte(tc.msg))
	}
	for _, tc := range responseCases {
		f.Add([]byte(tc.msg))
	}
	msgs := daemonMessages(f)
	for i := 0; i < len(msgs); i += 17 {
		f.Add(msgs[i])
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}

// The daemon's messages for the recorded traffic (both phases), read by
// the fast path and by encoding/json alone; ns/op is per message.
func BenchmarkFastEnvelope(b *testing.B) {
	msgs := daemonMessages(b)
	for _, bc := range []struct {
		name  string
		parse func([]byte) (*Envelope, error)
	}{{"fast", parseEnvelope}, {"encoding-json", decodeEnvelopeJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := bc.parse(msgs[n%len(msgs)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
