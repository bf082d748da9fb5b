// Package corpus reads the recorded Docker CLI traffic that tests,
// benchmarks and the load generator replay: shared/corpus/
// docker-cli-traffic.jsonl beside the repository (see its README).
package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// File is the corpus's path relative to the directory that holds both the
// repository and shared/.
const File = "shared/corpus/docker-cli-traffic.jsonl"

// Entry is one recorded request.
type Entry struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	User   string `json:"user"`
	Method string `json:"method"`
	URI    string `json:"uri"`
	// Body is the decoded JSON body, absent when the request had none.
	Body    json.RawMessage   `json:"body"`
	Headers map[string]string `json:"headers"`
}

// BodyBytes is the body as the daemon forwards it (the CLI's JSON with its
// trailing newline), or nil when the request had none.
func (e Entry) BodyBytes() []byte {
	if len(e.Body) == 0 || string(e.Body) == "null" {
		return nil
	}
	return append(append([]byte(nil), e.Body...), '\n')
}

// ErrNotFound is returned by Find when no corpus is beside the repository.
var ErrNotFound = errors.New("recorded traffic not found")

// Find returns the corpus's path: shared/ is looked for beside the
// repository, going up from the working directory.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, File)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no %s above the working directory", ErrNotFound, File)
		}
		dir = parent
	}
}

// Load reads the corpus at path; with path "" it finds it first.
func Load(path string) ([]Entry, error) {
	if path == "" {
		p, err := Find()
		if err != nil {
			return nil, err
		}
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("corpus line %d: %w", len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus %s is empty", path)
	}
	return out, nil
}

// ForTest loads the corpus for a test or benchmark: it skips tb when no
// corpus is beside the repository (a checkout without shared/) and fails
// it when the corpus is there but does not read.
func ForTest(tb testing.TB) []Entry {
	tb.Helper()
	entries, err := Load("")
	if errors.Is(err, ErrNotFound) {
		tb.Skipf("recorded traffic not available: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return entries
}
