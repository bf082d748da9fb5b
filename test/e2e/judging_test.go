//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The daemon behaviours the judging rules of issue 15 rely on, checked on
// a real daemon: what the plugin denies, and, on a daemon without the
// plugin, that the daemon does what the rule assumes.

// TestJudgingSeccompNoFilter: a seccomp profile with neither defaultAction
// nor syscalls installs no filter (profiles/seccomp setupSeccomp), so the
// plugin judges it as seccomp=unconfined.
func TestJudgingSeccompNoFilter(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(`{"architectures":["SCMP_ARCH_X86_64"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		e := NewEnv(t, Options{})
		r := e.Docker("create", "--network", "none", "--security-opt", "seccomp="+empty, e.Image, "true")
		e.RequireDenied(t, r, "security.seccomp", "installs no filter")
	})
	t.Run("the daemon installs no filter", func(t *testing.T) {
		t.Parallel()
		e := NewEnv(t, Options{PolicyFiles: map[string]string{"default.hcl": `
policy "default" {
  actions { allow = ["system.*", "container.*", "exec.*", "image.*"] }
  container { seccomp_unconfined = true }
}`}})
		seccompMode := func(args ...string) string {
			t.Helper()
			r := e.Docker(append(append([]string{"run", "--rm", "--network", "none"}, args...), e.Image, "cat", "/proc/self/status")...)
			RequireOK(t, r)
			for _, l := range strings.Split(r.Stdout, "\n") {
				if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
					return strings.TrimSpace(v)
				}
			}
			t.Fatalf("no Seccomp line in /proc/self/status: %s", r)
			return ""
		}
		if m := seccompMode(); m != "2" {
			t.Fatalf("with the default profile Seccomp is %q, want 2 (filter)", m)
		}
		if m := seccompMode("--security-opt", "seccomp="+empty); m != "0" {
			t.Fatalf("with a profile without defaultAction and syscalls Seccomp is %q, want 0 (no filter)", m)
		}
	})
}

// formTag is a tag request whose query names one repository and whose
// form body another.
func formTag(d *Daemon, image string) []byte {
	body := "repo=formbody%2Ftwo&tag=2"
	path := d.API("/images/" + image + "/tag?repo=judging%2Fone&tag=1")
	return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body))
}

// TestJudgingFormBody: the daemon merges a form-urlencoded body into the
// query's values, the body's first, and does not forward it to plugins;
// the plugin denies such requests.
func TestJudgingFormBody(t *testing.T) {
	t.Parallel()
	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		e := NewEnv(t, Options{})
		resp, out, err := e.Daemon.Raw(formTag(e.Daemon, e.Image))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "request.form_body") {
			t.Fatalf("want 403 naming request.form_body, got %s: %.300s", resp.Status, out)
		}
		for _, ref := range []string{"judging/one:1", "formbody/two:2"} {
			if r := e.Docker("image", "inspect", ref); r.ExitCode == 0 {
				t.Errorf("%s exists after a denied tag", ref)
			}
		}
	})
	t.Run("the daemon reads the body's values", func(t *testing.T) {
		t.Parallel()
		d := StartDaemon(t, DaemonConfig{Dir: filepath.Join(ShortTempDir(t), "d")})
		d.ImportImage(t, TestImage)
		resp, out, err := d.Raw(formTag(d, TestImage))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode/100 != 2 {
			t.Fatalf("tag without a plugin: %s: %.300s", resp.Status, out)
		}
		RequireOK(t, d.Docker("image", "inspect", "formbody/two:2"))
		if r := d.Docker("image", "inspect", "judging/one:1"); r.ExitCode == 0 {
			t.Errorf("the query's repository was used, not the body's: %s", r)
		}
	})
}

// TestJudgingFetchLoopback: an import from a URL makes the daemon fetch it
// from the host's network, loopback included; the plugin denies it.
func TestJudgingFetchLoopback(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	importPath := func(d *Daemon) string {
		return d.API("/images/create?fromSrc=" + url.QueryEscape(srv.URL+"/layer.tar") + "&repo=fetched%2Fone&tag=1")
	}
	t.Run("denied", func(t *testing.T) {
		e := NewEnv(t, Options{NoImage: true})
		resp, out, err := e.Daemon.Do("POST", importPath(e.Daemon), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The denial is the evidence the request was judged before the
		// daemon's handler ran: nothing can have been fetched for it.
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "fetch.address") {
			t.Fatalf("want 403 naming fetch.address, got %s: %.300s", resp.Status, out)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the loopback server was contacted %d times", n)
		}
	})
	t.Run("the daemon fetches from loopback", func(t *testing.T) {
		d := StartDaemon(t, DaemonConfig{Dir: filepath.Join(ShortTempDir(t), "d")})
		resp, out, err := d.Do("POST", importPath(d), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hits.Load() == 0 {
			t.Fatalf("the daemon did not fetch %s (%s: %.300s)", srv.URL, resp.Status, out)
		}
	})
}
