package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/test/corpus"
)

// Every container and exec id the recordings use after creating it is
// named by that create's answer in the replayed traffic, so that the
// ownership store knows the objects the traffic goes on to use.
func TestCreatedIDs(t *testing.T) {
	for _, rec := range []string{corpus.Engine29, corpus.Engine2010} {
		t.Run(rec, func(t *testing.T) {
			entries, err := corpus.Load(filepath.Join("..", "..", corpus.Dir, rec))
			if err != nil {
				t.Fatal(err)
			}
			calls, err := buildWorkload(workloadConfig{corpus: entries, respBytes: 64, seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			named := map[string]bool{}
			for _, c := range calls {
				var env envelope
				if err := json.Unmarshal(c.res, &env); err != nil {
					t.Fatal(err)
				}
				if env.ResponseStatusCode != 201 {
					continue
				}
				var v struct{ ID, Name string }
				if err := json.Unmarshal(env.ResponseBody, &v); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				named[v.ID], named[v.Name] = true, true
			}
			used := 0
			for _, e := range entries {
				for _, seg := range []string{"/containers/", "/exec/"} {
					if id := idAfter(e.URI, seg); id != "" {
						used++
						if !named[id] {
							t.Errorf("%s: %s is used but no create's answer names it", e.Name, id)
						}
					}
				}
				if e.Method == "DELETE" && strings.Contains(e.URI, "/volumes/") {
					name := e.URI[strings.LastIndex(e.URI, "/")+1:]
					if !named[name] {
						t.Errorf("%s: volume %s is removed but no create's answer names it", e.Name, name)
					}
				}
			}
			if used == 0 {
				t.Fatal("the recording uses no container or exec id: the test checks nothing")
			}
		})
	}
}
