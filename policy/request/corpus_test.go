package request_test

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/portcullis/portcullis/policy/request"
)

// corpusPath is the recorded Docker CLI traffic shared with CI.
const corpusPath = "../../../shared/corpus/docker-cli-traffic.jsonl"

// CorpusEntry is one recorded request.
type CorpusEntry struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Body    json.RawMessage   `json:"body"`
	Headers map[string]string `json:"headers"`
}

func loadCorpus(t testing.TB) []CorpusEntry {
	f, err := os.Open(corpusPath)
	if err != nil {
		t.Skipf("recorded traffic not available: %v", err)
	}
	defer f.Close()
	var out []CorpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e CorpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("corpus line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	return out
}

// Every request the real CLI sent is classified to a route and decodes.
func TestCorpusParses(t *testing.T) {
	for _, e := range loadCorpus(t) {
		var body []byte
		if len(e.Body) > 0 {
			body = e.Body
		}
		r, err := request.Parse(e.Method, e.URI, e.Headers, body)
		if err != nil {
			t.Errorf("%s: %v", e.Name, err)
			continue
		}
		if r.Action == request.ActionUnknown {
			t.Errorf("%s: no route", e.Name)
		}
		if r.Action == "container.create" && (r.ContainerCreate == nil || r.ContainerCreate.Config.Image == "") {
			t.Errorf("%s: create body not decoded", e.Name)
		}
	}
}
