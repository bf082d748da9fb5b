package plugin

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// responseCases are AuthZRes messages and whether the response phase
// decodes them: valid ones, and every way a body can differ from what
// the plain decoder accepts.
var responseCases = []struct {
	name string
	msg  string
	ok   bool
}{
	{"GET with a body", `{"RequestMethod":"GET","RequestUri":"/v1.50/containers/json","ResponseStatusCode":200,"ResponseBody":"W3siSWQiOiJhIn1d"}`, true},
	{"POST create", `{"RequestMethod":"POST","RequestUri":"/v1.50/containers/create","RequestBody":"eyJJbWFnZSI6ImIifQ==","ResponseStatusCode":201,"ResponseBody":"eyJJZCI6IngifQo="}`, true},
	{"POST null bodies", `{"RequestMethod":"POST","RequestBody":null,"ResponseBody":null}`, true},
	{"POST escaped base64", `{"RequestMethod":"POST","RequestBody":"eyJhIjoxfQ\u003d\u003d"}`, true},
	{"POST line breaks", `{"RequestMethod":"POST","ResponseBody":"eyJh\r\nIjoxfQ=="}`, true},
	{"folded key", `{"RequestMethod":"POST","requestbody":"YQ=="}`, true},
	{"duplicate body", `{"RequestMethod":"POST","RequestBody":"YQ==","RequestBody":"Yg=="}`, true},
	{"duplicate body, folded", `{"RequestMethod":"POST","RequestBody":"YQ==","REQUESTBODY":null}`, true},

	{"POST bad base64", `{"RequestMethod":"POST","RequestBody":"e@=="}`, false},
	{"POST bad response base64", `{"RequestMethod":"POST","ResponseBody":"-_8="}`, false},
	{"POST earlier bad base64", `{"RequestMethod":"POST","RequestBody":"e@==","RequestBody":"YQ=="}`, false},
	{"GET body number", `{"RequestMethod":"GET","ResponseBody":1}`, false},
	{"GET body object", `{"RequestMethod":"GET","RequestBody":{}}`, false},
	{"GET earlier body number", `{"RequestMethod":"GET","ResponseBody":1,"ResponseBody":"YQ=="}`, false},
	{"GET bad header", `{"RequestMethod":"GET","ResponseHeaders":{"A":1}}`, false},
	{"trailing data", `{"RequestMethod":"GET"} x`, false},
	{"null", `null`, false},
}

func TestDecodeResponseEnvelope(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			checkResponseDecode(t, []byte(tc.msg))
			_, err := parseResponseEnvelope([]byte(tc.msg))
			if (err == nil) != tc.ok {
				t.Fatalf("parseResponseEnvelope: %v, want ok %v", err, tc.ok)
			}
		})
	}
	// What it accepts beyond the plain decoder: a GET's or HEAD's bodies
	// it never turns into bytes.
	for _, m := range []string{`{"RequestMethod":"GET","ResponseBody":"e@=="}`, `{"RequestMethod":"HEAD","RequestBody":"-_8="}`} {
		if _, err := parseEnvelope([]byte(m)); err == nil {
			t.Fatalf("parseEnvelope accepted %s", m)
		}
		e, err := parseResponseEnvelope([]byte(m))
		if err != nil || e.RequestBody != nil || e.ResponseBody != nil {
			t.Fatalf("parseResponseEnvelope(%s) = %+v, %v; want no bodies, no error", m, e, err)
		}
	}
}

// checkResponseDecode holds the response phase's decoder to the plain
// one, encoding/json alone: the same envelope (bodies left out for GET
// and HEAD) or the same error, except that it may accept a GET or HEAD
// the plain one refuses.
func checkResponseDecode(t *testing.T, data []byte) {
	t.Helper()
	want, werr := decodeEnvelopeJSON(data)
	got, err := parseResponseEnvelope(data)
	switch {
	case err != nil && werr != nil:
		if err.Error() != werr.Error() {
			t.Fatalf("errors differ: %v, plain %v for %q", err, werr, data)
		}
	case err != nil:
		t.Fatalf("error %v, plain decoder accepts %q", err, data)
	case got.RequestMethod == "GET" || got.RequestMethod == "HEAD":
		if got.RequestBody != nil || got.ResponseBody != nil {
			t.Fatalf("bodies of a %s turned into bytes: %q", got.RequestMethod, data)
		}
		if werr == nil {
			w := *want
			w.RequestBody, w.ResponseBody = nil, nil
			if !reflect.DeepEqual(*got, w) {
				t.Fatalf("got %+v, plain %+v for %q", got, w, data)
			}
		}
	case werr != nil:
		t.Fatalf("accepted a %s the plain decoder refuses (%v): %q", got.RequestMethod, werr, data)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("got %+v, plain %+v for %q", got, want, data)
	}
}

func FuzzDecodeResponseEnvelope(f *testing.F) {
	for _, tc := range responseCases {
		f.Add([]byte(tc.msg))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkResponseDecode(t, data) })
}

// The AuthZRes of a container list: a 2 KB answer, as test/loadgen sends
// for JSON GETs, decoded by the plain decoder and by the response phase's.
func BenchmarkDecodeResponseList(b *testing.B) {
	body := bytes.Repeat([]byte(`{"Id":"4a9c1f0e","Names":["/web-1"],"State":"running"},`), 36)
	msg, err := json.Marshal(Envelope{
		RequestMethod: "GET", RequestURI: "/v1.50/containers/json?all=1",
		RequestHeaders:     map[string]string{"User-Agent": "Docker-Client/29.1.0 (linux)", "Accept": "*/*"},
		ResponseStatusCode: 200, ResponseBody: body,
		ResponseHeaders: map[string]string{"Api-Version": "1.50", "Content-Type": "application/json", "Ostype": "linux", "Server": "Docker/29.1.0 (linux)"},
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		parse func([]byte) (*Envelope, error)
	}{{"plain", parseEnvelope}, {"response", parseResponseEnvelope}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
