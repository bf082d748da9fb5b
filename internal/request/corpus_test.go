package request_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

func loadCorpus(t testing.TB) []corpus.Entry {
	t.Helper()
	entries := corpus.ForTest(t)
	return entries
}

// Every request the real CLI sent is classified to a route and decodes.
func TestCorpusParses(t *testing.T) {
	for _, e := range loadCorpus(t) {
		r, err := request.Parse(e.Method, e.URI, e.Headers, e.BodyBytes())
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
