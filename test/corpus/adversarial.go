package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// AdversarialDir holds the adversarial cases, relative to the repository
// root: one JSON array per control (see internal/policy/adversarial_test.go,
// which judges them).
const AdversarialDir = "internal/policy/testdata/adversarial"

// Case is one request an attacker would try, or its benign look-alike.
// The fuzz targets are seeded from these, headers and sender included.
type Case struct {
	Name string `json:"name"`
	// Who sends it: "" is an unauthenticated request (the default
	// policy); a user comes with AuthNMethod TLS and the certificate OUs.
	User string   `json:"user"`
	OUs  []string `json:"ous"`
	// Method defaults to POST.
	Method string `json:"method"`
	URI    string `json:"uri"`
	// Body is sent verbatim (duplicate keys, escapes and all); BodyText
	// when it is not JSON. BodySize simulates a body the daemon did not
	// forward because it is that large: no body, that Content-Length.
	Body     json.RawMessage `json:"body"`
	BodyText *string         `json:"body_text"`
	BodySize int             `json:"body_size"`
	// Headers default to Content-Type application/json and the body's
	// Content-Length when there is a body; Chunked drops Content-Length.
	// A header given as "" is removed.
	Headers map[string]string `json:"headers"`
	Chunked bool              `json:"chunked"`

	// Exactly one of Deny (the rule that must be among the violations) and
	// Allow.
	Deny  string `json:"deny"`
	Allow bool   `json:"allow"`
	// Why explains a case whose outcome is not obvious.
	Why string `json:"why"`
	// Daemon names the daemon behaviour the case relies on: the source
	// file (module and path) where the daemon does what the rule assumes.
	Daemon string `json:"daemon"`

	// File is the file's name without .json: the control (not stored).
	File string `json:"-"`
}

// RequestMethod is the method, POST when the case gives none.
func (c *Case) RequestMethod() string {
	if c.Method == "" {
		return "POST"
	}
	return c.Method
}

// RequestBody is the body the daemon forwards, or nil.
func (c *Case) RequestBody() []byte {
	switch {
	case c.BodyText != nil:
		return []byte(*c.BodyText)
	case len(c.Body) > 0:
		return []byte(c.Body)
	}
	return nil
}

// RequestHeaders are the headers the daemon forwards with the request.
func (c *Case) RequestHeaders() map[string]string {
	h := map[string]string{}
	if b := c.RequestBody(); b != nil {
		h["Content-Type"] = "application/json"
		if !c.Chunked {
			h["Content-Length"] = strconv.Itoa(len(b))
		}
	} else if c.BodySize > 0 {
		h["Content-Type"] = "application/json"
		h["Content-Length"] = strconv.Itoa(c.BodySize)
	}
	for k, v := range c.Headers {
		if v == "" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

// HeaderText writes headers one "Key: value" line each, sorted: the form
// the fuzz targets take headers in (ParseHeaderText reads it back).
func HeaderText(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + ": " + h[k] + "\n")
	}
	return b.String()
}

// ParseHeaderText reads "Key: value" lines into a map; a line without a
// colon is a key with an empty value. Any string reads.
func ParseHeaderText(s string) map[string]string {
	h := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		h[k] = strings.TrimPrefix(v, " ")
	}
	return h
}

// LoadAdversarial reads every adversarial case, sorted by file and in file
// order, and checks the files' invariants.
func LoadAdversarial() ([]Case, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(root, AdversarialDir, "*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no adversarial cases in %s: %v", AdversarialDir, err)
	}
	sort.Strings(paths)
	var out []Case
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var cases []Case
		if err := dec.Decode(&cases); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		file := strings.TrimSuffix(filepath.Base(p), ".json")
		seen := map[string]bool{}
		for i := range cases {
			c := &cases[i]
			switch {
			case c.Name == "":
				return nil, fmt.Errorf("%s: case %d has no name", p, i)
			case seen[c.Name]:
				return nil, fmt.Errorf("%s: duplicate case %q", p, c.Name)
			case (c.Deny == "") == !c.Allow:
				return nil, fmt.Errorf("%s: case %q must set exactly one of deny and allow", p, c.Name)
			case c.URI == "":
				return nil, fmt.Errorf("%s: case %q has no uri", p, c.Name)
			}
			seen[c.Name] = true
			c.File = file
		}
		out = append(out, cases...)
	}
	return out, nil
}

// Adversarial loads the adversarial cases for a test or fuzz target,
// failing tb when they do not read.
func Adversarial(tb testing.TB) []Case {
	tb.Helper()
	cases, err := LoadAdversarial()
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}
