package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/plugin"
)

// start runs the floor on a socket in a temporary directory until the test
// ends, and returns a client for it and the record file.
func start(t *testing.T, args ...string) (*http.Client, string) {
	t.Helper()
	dir := t.TempDir()
	sock, recs := filepath.Join(dir, "floor.sock"), filepath.Join(dir, "records")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"-socket", sock, "-record-file", recs}, args...), &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("floor exited %d: %s", code, stderr.String())
		}
	})
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	t.Cleanup(c.CloseIdleConnections)
	// Ready when it answers Activate.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("floor exited %d before serving: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("floor not serving after 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c, recs
}

func envelope(t *testing.T, e plugin.Envelope) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFloor sends each call over the socket, in order, and checks the
// answer and that the record file holds one fixed line per AuthZReq.
func TestFloor(t *testing.T) {
	create := []byte(`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/etc:/etc"]}}` + "\n")
	cases := []struct {
		name, method, path, body string
		status                   int
		allow                    bool
		wantBody                 string // substring of the answer
		records                  int    // records written so far
	}{
		{name: "activate", method: "POST", path: "/Plugin.Activate", status: 200, wantBody: `"Implements": ["authz"]`},
		{name: "ping", method: "POST", path: "/AuthZPlugin.AuthZReq", status: 200, allow: true, records: 1,
			body: envelope(t, plugin.Envelope{RequestMethod: "GET", RequestURI: "/_ping"})},
		{name: "create with a bind", method: "POST", path: "/AuthZPlugin.AuthZReq", status: 200, allow: true, records: 2,
			body: envelope(t, plugin.Envelope{RequestMethod: "POST", RequestURI: "/v1.47/containers/create", RequestBody: create,
				RequestHeaders: map[string]string{"Content-Type": "application/json"}})},
		// Parse refuses an unknown field; the floor does not judge.
		{name: "unknown field allowed, recorded", method: "POST", path: "/AuthZPlugin.AuthZReq", status: 200, allow: true, records: 3,
			body: envelope(t, plugin.Envelope{RequestMethod: "POST", RequestURI: "/v1.47/containers/create", RequestBody: []byte(`{"Image":"x","Privilegd":true}`),
				RequestHeaders: map[string]string{"Content-Type": "application/json"}})},
		{name: "undecodable request denied, recorded", method: "POST", path: "/AuthZPlugin.AuthZReq", status: 200, records: 4,
			body: `{"RequestMethod":`, wantBody: "does not decode"},
		{name: "response of a GET", method: "POST", path: "/AuthZPlugin.AuthZRes", status: 200, allow: true, records: 4,
			body: envelope(t, plugin.Envelope{RequestMethod: "GET", RequestURI: "/v1.47/containers/json", ResponseStatusCode: 200, ResponseBody: []byte(`[]`)})},
		{name: "response of a create", method: "POST", path: "/AuthZPlugin.AuthZRes", status: 200, allow: true, records: 4,
			body: envelope(t, plugin.Envelope{RequestMethod: "POST", RequestURI: "/v1.47/containers/create", RequestBody: create,
				ResponseStatusCode: 201, ResponseBody: []byte(`{"Id":"0123456789ab","Warnings":[]}`)})},
		{name: "undecodable response denied", method: "POST", path: "/AuthZPlugin.AuthZRes", status: 200, records: 4,
			body: `[]`, wantBody: "does not decode"},
		{name: "wrong method", method: "GET", path: "/AuthZPlugin.AuthZReq", status: 405, records: 4},
		{name: "no such endpoint", method: "POST", path: "/AuthZPlugin.Nope", status: 404, records: 4},
	}
	for _, mode := range []struct {
		size int
		args []string
	}{{defaultRecordBytes, nil}, {64, nil}, {defaultRecordBytes, []string{"-group-commit=false"}}} {
		size := mode.size
		c, recs := start(t, append([]string{"-record-bytes", strconv.Itoa(size)}, mode.args...)...)
		want := record(size)
		if len(want) != size || want[size-1] != '\n' || !json.Valid(want) {
			t.Fatalf("record(%d) = %q: not one JSON line of %d bytes", size, want, size)
		}
		for _, tc := range cases {
			req, err := http.NewRequest(tc.method, "http://plugin"+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, res.StatusCode, tc.status, body)
			}
			if tc.path != "/Plugin.Activate" && tc.status == 200 {
				var ans struct {
					Allow bool
					Msg   string
				}
				if err := json.Unmarshal(body, &ans); err != nil {
					t.Fatalf("%s: answer %q: %v", tc.name, body, err)
				}
				if ans.Allow != tc.allow {
					t.Errorf("%s: Allow %v, want %v (%s)", tc.name, ans.Allow, tc.allow, body)
				}
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("%s: answer %q does not hold %q", tc.name, body, tc.wantBody)
			}
			// The record is written before the answer: it is in the file now.
			data, err := os.ReadFile(recs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, bytes.Repeat(want, tc.records)) {
				t.Errorf("%s (records of %d B, %q): the file holds %d bytes, want %d records of %d B each", tc.name, size, mode.args, len(data), tc.records, size)
			}
		}
	}
}

// TestUsage: both paths are required, and a record file that cannot be
// opened is an error before anything is served.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"-socket", sock}, 2},
		{[]string{"-record-file", filepath.Join(dir, "r")}, 2},
		{[]string{"-socket", sock, "-record-file", filepath.Join(dir, "r"), "-record-bytes", "8"}, 2},
		{[]string{"-socket", sock, "-record-file", filepath.Join(dir, "r"), "extra"}, 2},
		{[]string{"-socket", sock, "-record-file", filepath.Join(dir, "no", "such", "dir", "r")}, 1},
	}
	for _, tc := range cases {
		var stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stderr); code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.code, stderr.String())
		}
	}
}

// TestImports pins what the floor is: it runs neither the policy, nor the
// audit trail, nor ownership, nor metrics.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := strings.Fields(string(out))
	if len(imports) == 0 {
		t.Fatal("go list printed no imports")
	}
	const mod = "github.com/portcullis/portcullis/internal/"
	for _, imp := range imports {
		for _, bad := range []string{"policy", "audit", "state", "metrics", "gateway"} {
			if imp == mod+bad || strings.HasPrefix(imp, mod+bad+"/") {
				t.Errorf("test/floor imports %s", imp)
			}
		}
	}
}

// TestConcurrent: calls from many connections at once are each answered
// after their record is written, one whole line each, in both modes.
func TestConcurrent(t *testing.T) {
	const workers, calls = 8, 50
	body := envelope(t, plugin.Envelope{RequestMethod: "GET", RequestURI: "/v1.47/containers/json"})
	for _, args := range [][]string{nil, {"-group-commit=false"}} {
		c, recs := start(t, append([]string{"-record-bytes", "100"}, args...)...)
		var wg sync.WaitGroup
		errs := make(chan error, workers*calls)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < calls; i++ {
					res, err := c.Post("http://plugin/AuthZPlugin.AuthZReq", "application/json", strings.NewReader(body))
					if err != nil {
						errs <- err
						return
					}
					data, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil || !bytes.Equal(data, allowAnswer) {
						errs <- fmt.Errorf("answer %q: %v", data, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%q: %v", args, err)
		}
		data, err := os.ReadFile(recs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, bytes.Repeat(record(100), workers*calls)) {
			t.Errorf("%q: the file holds %d bytes, want %d records of 100 B", args, len(data), workers*calls)
		}
	}
}

// TestWriteFails: a record the kernel refuses is an error, in both modes
// (the call is then denied).
func TestWriteFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, rec := range map[string]recorder{"single": &single{out: f, record: record(64)}, "group": newGroup(f, record(64))} {
		for i := 0; i < 2; i++ {
			if err := rec.write(); err == nil {
				t.Errorf("%s: write %d to a read-only file succeeded", name, i)
			}
		}
		fl := &floor{rec: rec}
		if got := fl.request([]byte(envelope(t, plugin.Envelope{RequestMethod: "GET", RequestURI: "/_ping"}))); !bytes.Equal(got, notRecorded) {
			t.Errorf("%s: answer %q, want the denial %q", name, got, notRecorded)
		}
	}
}
