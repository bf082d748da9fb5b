//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Observer is an allow-all authorization plugin served by the test process
// itself, which keeps every request the daemon sends it: what the daemon
// forwards to a plugin (URI, headers, body or none), as opposed to what the
// client sent. With Options.Observe, NewEnv puts it first in the daemon's
// chain, before Portcullis, so it sees every request including the ones
// Portcullis then denies. (The daemon asks its plugins in order and stops
// at the first denial.)
type Observer struct {
	Name     string // the name dockerd's --authorization-plugin uses
	Socket   string
	SpecFile string

	srv *http.Server
	mu  sync.Mutex
	log []Observed
}

// Observed is one AuthZReq as the plugin received it.
type Observed struct {
	User           string
	Method         string
	URI            string
	Headers        map[string]string
	Body           []byte
	BodyForwarded  bool // RequestBody present (non-null) in the envelope
	ResponseStatus int  // from the matching AuthZRes, 0 until then
}

// authzEnvelope is the part of pkg/authorization.Request the observer reads.
type authzEnvelope struct {
	User               string            `json:"User"`
	RequestMethod      string            `json:"RequestMethod"`
	RequestURI         string            `json:"RequestUri"`
	RequestBody        json.RawMessage   `json:"RequestBody"`
	RequestHeaders     map[string]string `json:"RequestHeaders"`
	ResponseStatusCode int               `json:"ResponseStatusCode"`
}

// StartObserver serves an Observer on a socket in dir and writes its spec
// file; cleanup stops it and removes the spec file.
func StartObserver(t testing.TB, dir string) *Observer {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	o := &Observer{
		Name:   "portcullis-e2e-observer-" + randomHex(4),
		Socket: filepath.Join(dir, "observer.sock"),
	}
	l, err := net.Listen("unix", o.Socket)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
		io.WriteString(w, `{"Implements":["authz"]}`)
	})
	mux.HandleFunc("/AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		var env authzEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := Observed{User: env.User, Method: env.RequestMethod, URI: env.RequestURI, Headers: env.RequestHeaders}
		if len(env.RequestBody) > 0 && string(env.RequestBody) != "null" {
			rec.BodyForwarded = true
			if err := json.Unmarshal(env.RequestBody, &rec.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		o.mu.Lock()
		o.log = append(o.log, rec)
		o.mu.Unlock()
		io.WriteString(w, `{"Allow":true}`)
	})
	mux.HandleFunc("/AuthZPlugin.AuthZRes", func(w http.ResponseWriter, r *http.Request) {
		var env authzEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err == nil {
			o.mu.Lock()
			for i := len(o.log) - 1; i >= 0; i-- {
				if o.log[i].URI == env.RequestURI && o.log[i].Method == env.RequestMethod && o.log[i].ResponseStatus == 0 {
					o.log[i].ResponseStatus = env.ResponseStatusCode
					break
				}
			}
			o.mu.Unlock()
		}
		io.WriteString(w, `{"Allow":true}`)
	})
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(l)
	if err := os.MkdirAll(specDir, 0o755); err != nil {
		t.Fatal(err)
	}
	o.SpecFile = filepath.Join(specDir, o.Name+".spec")
	if err := os.WriteFile(o.SpecFile, []byte("unix://"+o.Socket+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		o.srv.Close()
		if err := os.Remove(o.SpecFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove %s: %v", o.SpecFile, err)
		}
	})
	return o
}

// Requests returns what the observer has received so far.
func (o *Observer) Requests() []Observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Observed(nil), o.log...)
}

// Mark returns a position in the log; Since(mark) is what came after it.
func (o *Observer) Mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.log)
}

// Since returns the requests received after mark.
func (o *Observer) Since(mark int) []Observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Observed(nil), o.log[mark:]...)
}

// Find returns the requests whose method is method and whose URI contains
// uriPart.
func (o *Observer) Find(method, uriPart string) []Observed {
	var out []Observed
	for _, r := range o.Requests() {
		if r.Method == method && strings.Contains(r.URI, uriPart) {
			out = append(out, r)
		}
	}
	return out
}

func (r Observed) String() string {
	body := "no body"
	if r.BodyForwarded {
		body = fmt.Sprintf("%d-byte body", len(r.Body))
	}
	return fmt.Sprintf("%s %s (%s)", r.Method, r.URI, body)
}
