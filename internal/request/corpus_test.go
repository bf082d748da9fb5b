package request_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

// Every request the real CLI sent, on either daemon, is classified to a
// route and decodes.
func TestCorpusParses(t *testing.T) {
	for _, e := range corpus.ForTest(t) {
		r, err := request.Parse(e.Method, e.URI, e.Headers, e.BodyBytes())
		if err != nil {
			t.Errorf("%s %s: %v", e.Recording, e.Name, err)
			continue
		}
		if r.Action == request.ActionUnknown {
			t.Errorf("%s %s: no route", e.Recording, e.Name)
		}
		if r.Action == "container.create" && (r.ContainerCreate == nil || r.ContainerCreate.Config.Image == "") {
			t.Errorf("%s %s: create body not decoded", e.Recording, e.Name)
		}
	}
}
