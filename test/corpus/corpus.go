// Package corpus reads the recorded Docker CLI traffic that tests,
// benchmarks and the load generator replay: testdata/traffic/ in this
// repository, one file per daemon it was recorded on (see the README
// there for how it was made, and test/recorder for the tooling).
package corpus

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir is the recordings' directory relative to the repository root.
const Dir = "testdata/traffic"

// The recordings, one per daemon.
const (
	Engine29   = "docker-29.jsonl"    // Docker Engine 29 (what users run); the default
	Engine2010 = "docker-20.10.jsonl" // Docker Engine 20.10 (Debian's docker.io)
)

// Recordings lists every recording, the default first.
var Recordings = []string{Engine29, Engine2010}

// module is the go.mod line that marks the repository root.
const module = "module github.com/portcullis/portcullis"

// Entry is one recorded request.
type Entry struct {
	// Step labels the CLI command that sent the request (see
	// test/recorder/record.sh); Name is the step, method and URI.
	Step   string `json:"step,omitempty"`
	Name   string `json:"name"`
	User   string `json:"user,omitempty"`
	Method string `json:"method"`
	URI    string `json:"uri"`
	// Body is the JSON body as the CLI sent it without its trailing
	// newline; BodyBase64 holds any other body byte for byte. Both are
	// absent when the daemon forwarded no body.
	Body       json.RawMessage   `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`

	// Recording is the file the entry was read from (not stored).
	Recording string `json:"-"`
}

// BodyBytes is the body exactly as the daemon forwarded it, or nil when
// it forwarded none.
func (e Entry) BodyBytes() []byte {
	if e.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(e.BodyBase64)
		if err != nil {
			// Load rejects such entries; an Entry built by hand
			// with a bad body is a programming error.
			panic(fmt.Sprintf("corpus: %s: body_base64: %v", e.Name, err))
		}
		return b
	}
	if len(e.Body) == 0 || string(e.Body) == "null" {
		return nil
	}
	return append(append([]byte(nil), e.Body...), '\n')
}

// Root returns the repository root: the nearest directory above the
// working directory whose go.mod declares this module.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			first, _, _ := bytes.Cut(data, []byte("\n"))
			if string(bytes.TrimSpace(first)) == module {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("corpus: not inside the portcullis repository (no go.mod declaring it above the working directory)")
		}
		dir = parent
	}
}

// Path returns the path of the named recording (one of Recordings).
func Path(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, Dir, name), nil
}

// Load reads the recording at path.
func Load(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read recorded traffic: %w", err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if e.Method == "" || e.URI == "" {
			return nil, fmt.Errorf("%s:%d: no method or URI", path, line)
		}
		if e.BodyBase64 != "" {
			if len(e.Body) != 0 {
				return nil, fmt.Errorf("%s:%d: both body and body_base64", path, line)
			}
			if _, err := base64.StdEncoding.DecodeString(e.BodyBase64); err != nil {
				return nil, fmt.Errorf("%s:%d: body_base64: %w", path, line, err)
			}
		}
		e.Recording = filepath.Base(path)
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("recorded traffic %s is empty", path)
	}
	return out, nil
}

// LoadNamed reads the named recording (one of Recordings) from the
// repository.
func LoadNamed(name string) ([]Entry, error) {
	p, err := Path(name)
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// ForTest loads every recording, the default first, for a test; it fails
// tb when any is missing or does not read. The files are part of the
// repository, so nothing here skips.
func ForTest(tb testing.TB) []Entry {
	tb.Helper()
	var all []Entry
	for _, name := range Recordings {
		all = append(all, Named(tb, name)...)
	}
	return all
}

// Named loads one recording for a test or benchmark, failing tb when it
// is missing or does not read. Benchmarks use Named(b, Engine29).
func Named(tb testing.TB, name string) []Entry {
	tb.Helper()
	entries, err := LoadNamed(name)
	if err != nil {
		tb.Fatal(err)
	}
	return entries
}
