package request_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/benchcpu"
	"github.com/portcullis/portcullis/test/corpus"
)

// Benchmarks for the work every AuthZ call does before a policy sees the
// request: classifying the URI and decoding the body. Run with
//
//	go test -run XXX -bench . -benchmem internal/request
//
// docs/performance.md records the numbers and the targets.

// benchEntry is one recorded request, with the body as the daemon forwards
// it (the CLI's JSON plus its trailing newline).
type benchEntry struct {
	name, method, uri string
	headers           map[string]string
	body              []byte
}

func benchCorpus(b *testing.B) []benchEntry {
	b.Helper()
	var out []benchEntry
	for _, e := range corpus.Named(b, corpus.Engine29) {
		out = append(out, benchEntry{name: e.Name, method: e.Method, uri: e.URI, headers: e.Headers, body: e.BodyBytes()})
	}
	return out
}

// typicalCreate is the first container create the CLI sent (`docker run`
// with its defaults: about 1.5 KB, mostly false, null and "").
func typicalCreate(b *testing.B) benchEntry {
	for _, e := range benchCorpus(b) {
		if e.method == "POST" && bytes.Contains([]byte(e.uri), []byte("/containers/create")) && e.body != nil {
			return e
		}
	}
	b.Fatal("no container create in the corpus")
	return benchEntry{}
}

// LargeCreateBody returns a container create body of just under limit
// bytes: the typical CLI body with its Env and Labels padded out. The
// daemon forwards bodies below 1 MiB, so this is the most a plugin is
// ever asked to decode.
func largeCreateBody(b *testing.B, limit int) []byte {
	var m map[string]any
	if err := json.Unmarshal(typicalCreate(b).body, &m); err != nil {
		b.Fatal(err)
	}
	var env []string
	labels := map[string]string{}
	size := func() int {
		m["Env"], m["Labels"] = env, labels
		data, _ := json.Marshal(m)
		return len(data) + 1
	}
	// Grow in large steps, then fill up to the limit one entry at a time.
	for i := 0; ; i++ {
		env = append(env, fmt.Sprintf("VAR_%06d=%s", i, bytes.Repeat([]byte{'v'}, 80)))
		labels["com.example.label."+strconv.Itoa(i)] = "value-" + strconv.Itoa(i)
		if i%256 == 0 && size() > limit-16<<10 {
			break
		}
	}
	for size() < limit-64 {
		env = append(env, "PAD="+strconv.Itoa(len(env)))
	}
	data, _ := json.Marshal(m)
	data = append(data, '\n')
	if len(data) >= limit {
		b.Fatalf("large body is %d bytes, not under %d", len(data), limit)
	}
	return data
}

func benchParse(b *testing.B, e benchEntry) {
	b.Helper()
	if _, err := request.Parse(e.method, e.uri, e.headers, e.body); err != nil {
		b.Fatalf("%s %s: %v", e.method, e.uri, err)
	}
	b.ReportAllocs()
	if e.body != nil {
		b.SetBytes(int64(len(e.body)))
	}
	b.ResetTimer()
	done := benchcpu.Report(b)
	for b.Loop() {
		_, _ = request.Parse(e.method, e.uri, e.headers, e.body)
	}
	done()
}

var cliHeaders = map[string]string{"User-Agent": "Docker-Client/28.2.2 (linux)"}

// Classification alone: bodiless requests, the bulk of real traffic.
func BenchmarkParsePing(b *testing.B) {
	benchParse(b, benchEntry{method: "HEAD", uri: "/_ping", headers: cliHeaders})
}

func BenchmarkParseGet(b *testing.B) {
	benchParse(b, benchEntry{method: "GET", uri: "/v1.41/containers/json?all=1", headers: cliHeaders})
}

func BenchmarkParsePostNoBody(b *testing.B) {
	benchParse(b, benchEntry{method: "POST", uri: "/v1.41/containers/7dbf2888445d0bd82c47cf0d14291e088344463b37d170e49194acf5c9348248/start", headers: cliHeaders})
}

// A typical `docker run` create body from the recorded traffic.
func BenchmarkParseCreateTypical(b *testing.B) {
	benchParse(b, typicalCreate(b))
}

// A create body just under the daemon's 1 MiB forwarding limit.
// Target: decode (+ judge, see plugin's BenchmarkHandlerCreateLarge) < 5 ms.
func BenchmarkParseCreateLarge(b *testing.B) {
	e := typicalCreate(b)
	e.body = largeCreateBody(b, 1<<20)
	e.headers = map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(e.body))}
	benchParse(b, e)
}

// Every recorded request once per iteration (104 requests).
func BenchmarkParseCorpus(b *testing.B) {
	es := benchCorpus(b)
	for _, e := range es {
		if _, err := request.Parse(e.method, e.uri, e.headers, e.body); err != nil {
			b.Fatalf("%s: %v", e.name, err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := benchcpu.Report(b)
	for b.Loop() {
		for _, e := range es {
			_, _ = request.Parse(e.method, e.uri, e.headers, e.body)
		}
	}
	done()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(es)), "ns/request")
}

// The typical create body with one key spelled in lower case: the body is
// walked for unknown fields with the folded key.
func BenchmarkParseCreateFolded(b *testing.B) {
	e := typicalCreate(b)
	e.body = bytes.Replace(e.body, []byte(`"Image":`), []byte(`"image":`), 1)
	benchParse(b, e)
}

// The 1 MiB create body, folded as above.
func BenchmarkParseCreateLargeFolded(b *testing.B) {
	e := typicalCreate(b)
	e.body = bytes.Replace(largeCreateBody(b, 1<<20), []byte(`"Image":`), []byte(`"image":`), 1)
	e.headers = map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(e.body))}
	benchParse(b, e)
}
