//go:build e2e

package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Daemon behaviours the plugin depends on, checked on the daemon under test.
// Where Engine 29 and 20.10 differ, each test states both and checks the
// one it runs against; docs/security.md is written from these tests.

// BodyForwarding is how a daemon hands a JSON request body to authorization
// plugins (pkg/authorization, Ctx.AuthZRequest).
type BodyForwarding struct {
	// Max is the largest body the daemon forwards, however it is framed
	// (the daemon peeks at the stream; it does not trust Content-Length).
	Max int
	// RefusesLarger: a larger body is refused by the daemon itself, which
	// asks no plugin and runs nothing (Engine 29: "request body too large
	// for authorization plugin"). Otherwise the plugins are asked with no
	// body at all, and the daemon runs the request if they allow it (20.10
	// and 28: the request "still creates the container").
	RefusesLarger bool
}

// BodyForwarding returns the daemon's body forwarding:
//   - Engine 29 (moby/v2 pkg/authorization: maxBodySize 4 MiB,
//     Peek(maxBodySize+1)): bodies up to and including 4 MiB are forwarded,
//     larger ones refused.
//   - 20.10 and 28 (maxBodySize 1 MiB, drainBody's Peek(maxBodySize)):
//     bodies under 1 MiB are forwarded; from 1 MiB on none is.
func (d *Daemon) BodyForwarding() BodyForwarding {
	if d.Is29() {
		return BodyForwarding{Max: 4 << 20, RefusesLarger: true}
	}
	return BodyForwarding{Max: 1<<20 - 1}
}

// refusedTooLarge is how Engine 29 refuses a body over its limit (500).
const refusedTooLarge = "request body too large for authorization plugin"

// TestFactBodySize sends container creates of every size around both
// daemons' limits, plain and chunked, privileged and not. Daemon behaviour
// it depends on: BodyForwarding, which differs between 29 and 20.10.
//   - at or under the limit the plugin gets the body and judges it: an
//     unprivileged create is allowed (201), a privileged one denied;
//   - over it, on 20.10, the plugin gets no body and denies the create as
//     request.body_missing;
//   - over it, on 29, the daemon refuses the request itself: the plugins
//     are not asked and nothing is created.
//
// Nothing over the limit is ever created, on either daemon.
func TestFactBodySize(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{Observe: true})
	fw := e.Daemon.BodyForwarding()
	t.Logf("Docker Engine %s: forwards bodies up to %d bytes; larger ones refused by the daemon: %v", e.Daemon.Version, fw.Max, fw.RefusesLarger)
	sizes := []int{0, 1<<20 - 1, 1 << 20, 1<<20 + 4096, 4 << 20, 4<<20 + 1}
	n := 0
	for _, size := range sizes {
		for _, chunked := range []bool{false, true} {
			for _, privileged := range []bool{false, true} {
				n++
				name := fmt.Sprintf("pe-size-%d", n)
				label := fmt.Sprintf("%d bytes", size)
				if size == 0 {
					label = "small"
				}
				if chunked {
					label += ", chunked"
				}
				if privileged {
					label += ", privileged"
				}
				t.Run(label, func(t *testing.T) {
					body := createBody(t, privileged, 0)
					if size > 0 {
						body = createBodyOfSize(t, privileged, size)
					}
					path := e.Daemon.API("/containers/create?name=" + name)
					mark := e.Observer.Mark()
					var (
						resp *http.Response
						out  []byte
						err  error
					)
					if chunked {
						resp, out, err = e.Daemon.Raw(chunkedRequest("POST", path, "application/json", body))
					} else {
						resp, out, err = e.Daemon.Do("POST", path, http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body))
					}
					if err != nil {
						t.Fatalf("POST %s: %v", path, err)
					}
					seen := findObserved(e.Observer.Since(mark), "POST", name)
					switch {
					case len(body) <= fw.Max:
						if seen == nil || !seen.BodyForwarded || len(seen.Body) != len(body) {
							t.Errorf("the daemon forwarded %v for a %d-byte body, want the whole body", seen, len(body))
						}
						if privileged {
							requireDeniedStatus(t, e, resp, out, "privileged")
						} else if resp.StatusCode != http.StatusCreated {
							t.Fatalf("want 201 Created, got %s: %.300s", resp.Status, out)
						}
					case fw.RefusesLarger:
						if seen != nil {
							t.Errorf("the daemon asked the plugins about a %d-byte body: %v", len(body), seen)
						}
						if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(out), refusedTooLarge) {
							t.Errorf("want the daemon to refuse the body (%q), got %s: %.300s", refusedTooLarge, resp.Status, out)
						}
						t.Logf("refused by the daemon: %s %.200s", resp.Status, out)
					default:
						if seen == nil || seen.BodyForwarded {
							t.Errorf("want the plugins asked with no body, got %v", seen)
						}
						requireDeniedStatus(t, e, resp, out, "request.body_missing")
					}
					if resp.StatusCode == http.StatusCreated {
						RequireOK(t, e.Docker("rm", "-f", name))
					} else if containerExists(t, e, name) {
						t.Errorf("container %s exists after %s", name, resp.Status)
					}
				})
			}
		}
	}
}

// TestFactBodyFraming checks, on both daemons alike, what reaches the plugin
// of a request's framing and content type:
//   - chunked: no framing header reaches the plugin (Transfer-Encoding is
//     consumed by the daemon's HTTP server and there is no Content-Length),
//     yet the body does, so the plugin cannot tell how it was framed;
//   - the body is forwarded when the media type is application/json, with
//     any parameters and in any case; otherwise, or without a Content-Type,
//     it is not, and the plugin denies the create as request.body_missing
//     although the daemon would decode it;
//   - a non-JSON body labelled JSON is forwarded and denied as
//     request.body_invalid;
//   - /auth in the query does not stop the body (the daemon looks at the
//     path only). A path under /auth (a registry login, with the password)
//     differs: Engine 29 forwards no body, 20.10 forwards it.
func TestFactBodyFraming(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{Observe: true})
	priv := createBody(t, true, 0)
	type want struct {
		forwarded bool
		mention   string // what the denial mentions
	}
	for i, tc := range []struct {
		name        string
		contentType string // "" sends none
		chunked     bool
		query       string
		body        []byte
		want        want
	}{
		{name: "chunked", contentType: "application/json", chunked: true, body: priv, want: want{true, "privileged"}},
		{name: "charset parameter", contentType: "application/json; charset=utf-8", body: priv, want: want{true, "privileged"}},
		{name: "charset latin1", contentType: "application/json; charset=iso-8859-1", body: priv, want: want{true, "privileged"}},
		{name: "media type in upper case", contentType: "Application/JSON", body: priv, want: want{true, "privileged"}},
		{name: "text/plain", contentType: "text/plain", body: priv, want: want{false, "request.body_missing"}},
		{name: "application/json-seq", contentType: "application/json-seq", body: priv, want: want{false, "request.body_missing"}},
		{name: "malformed media type", contentType: "application/json;;", body: priv, want: want{false, "request.body_missing"}},
		{name: "no Content-Type", body: priv, want: want{false, "request.body_missing"}},
		{name: "not JSON, labelled JSON", contentType: "application/json", body: []byte("Privileged=true"), want: want{true, "request.body_invalid"}},
		{name: "/auth in the query", contentType: "application/json", query: "&x=/auth", body: priv, want: want{true, "privileged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("pe-framing-%d", i)
			path := e.Daemon.API("/containers/create?name=" + name + tc.query)
			var raw bytes.Buffer
			if tc.chunked {
				raw.Write(chunkedRequest("POST", path, tc.contentType, tc.body))
			} else {
				fmt.Fprintf(&raw, "POST %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n", path)
				if tc.contentType != "" {
					fmt.Fprintf(&raw, "Content-Type: %s\r\n", tc.contentType)
				}
				fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(tc.body), tc.body)
			}
			mark := e.Observer.Mark()
			resp, out, err := e.Daemon.Raw(raw.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			seen := findObserved(e.Observer.Since(mark), "POST", name)
			if seen == nil {
				t.Fatalf("the plugins were not asked (%s %.200s)", resp.Status, out)
			}
			if seen.BodyForwarded != tc.want.forwarded {
				t.Errorf("body forwarded: %v, want %v", seen.BodyForwarded, tc.want.forwarded)
			}
			for k := range seen.Headers {
				if tc.chunked && (strings.EqualFold(k, "Transfer-Encoding") || strings.EqualFold(k, "Content-Length")) {
					t.Errorf("a framing header reached the plugin: %s: %s", k, seen.Headers[k])
				}
			}
			requireDeniedStatus(t, e, resp, out, tc.want.mention)
			if containerExists(t, e, name) {
				t.Errorf("container %s exists", name)
			}
		})
	}
	// Daemon-specific: Engine 29 forwards no body for a path under /auth
	// (registry credentials); 20.10 forwards it, password included.
	t.Run("path under /auth", func(t *testing.T) {
		mark := e.Observer.Mark()
		// A registry that refuses connections at once, should the
		// plugin allow the login.
		body := `{"username":"u","password":"p","serveraddress":"127.0.0.1:1"}`
		resp, out, err := e.Daemon.Do("POST", e.Daemon.API("/auth"), nil, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		seen := findObserved(e.Observer.Since(mark), "POST", "/auth")
		if seen == nil {
			t.Fatalf("the plugins were not asked about /auth (%s %.200s)", resp.Status, out)
		}
		if want := !e.Daemon.Is29(); seen.BodyForwarded != want {
			t.Errorf("Docker Engine %s: /auth body forwarded %v, want %v", e.Daemon.Version, seen.BodyForwarded, want)
		}
	})
}

// TestFactAPIVersions checks the API versions the daemon accepts and that
// the plugins are asked before the daemon checks the version: 20.10
// serves 1.12 to 1.41; Engine 29 serves 1.40 (its default minimum) to
// 1.56. A request outside the range is refused by the daemon (400) after
// the plugins allowed it, so a plugin must not assume a version it sees is
// one the daemon serves.
func TestFactAPIVersions(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{Observe: true, NoImage: true})
	d := e.Daemon
	wantMin, wantMax := "1.12", "1.41"
	if d.Is29() {
		wantMin, wantMax = "1.40", "1.56"
	}
	if d.MinAPIVersion != wantMin || d.APIVersion != wantMax {
		t.Errorf("Docker Engine %s serves API %s to %s, want %s to %s", d.Version, d.MinAPIVersion, d.APIVersion, wantMin, wantMax)
	}
	below, above := previousMinor(d.MinAPIVersion), nextMinor(d.APIVersion)
	for _, tc := range []struct {
		version string
		ok      bool
	}{
		{d.MinAPIVersion, true},
		{d.APIVersion, true},
		{below, false},
		{above, false},
	} {
		path := d.APIAt(tc.version, "/version")
		mark := e.Observer.Mark()
		resp, out, err := d.Do("GET", path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok := resp.StatusCode == http.StatusOK; ok != tc.ok {
			t.Errorf("GET %s: %s %.200s, want accepted %v", path, resp.Status, out, tc.ok)
		}
		if !tc.ok && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %s, want 400", path, resp.Status)
		}
		if findObserved(e.Observer.Since(mark), "GET", path) == nil {
			t.Errorf("GET %s: the plugins were not asked", path)
		}
	}
	// Unversioned paths are served at the daemon's highest version.
	resp, out, err := d.Do("GET", "/version", nil, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /version: %v %v %.200s", err, resp, out)
	}
}

// TestFactCLIRequests records what the docker CLI sends for run, exec, cp
// and build, at the API version it negotiates with the daemon under test:
// the lower of the CLI's own (1.50 for CLI 28.2) and the daemon's (1.41 on
// 20.10, 1.56 on 29). Every request carries that version; the bodies that
// decide a request (create, exec create, exec start) are JSON and reach the
// plugin; cp's and build's are tar streams and do not.
func TestFactCLIRequests(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{Observe: true})
	r := e.Docker("version", "--format", "{{.Client.DefaultAPIVersion}}")
	RequireOK(t, r)
	cliMax := strings.TrimSpace(r.Stdout)
	negotiated := cliMax
	if compareAPIVersions(e.Daemon.APIVersion, cliMax) < 0 {
		negotiated = e.Daemon.APIVersion
	}
	prefix := "/v" + negotiated + "/"
	t.Logf("CLI API %s, daemon API %s: negotiated %s", cliMax, e.Daemon.APIVersion, negotiated)

	check := func(t *testing.T, mark int, what string, want []wantReq) {
		t.Helper()
		// Only the CLI's requests: the plugin's own ownership follower
		// (the Docker Go client, at its own API version) talks to the
		// same daemon and is observed too.
		var got []Observed
		for _, o := range e.Observer.Since(mark) {
			if strings.HasPrefix(headerValue(o.Headers, "User-Agent"), "Docker-Client/") {
				got = append(got, o)
			}
		}
		var lines []string
		for _, o := range got {
			lines = append(lines, o.String())
			if o.URI != "/_ping" && !strings.HasPrefix(o.URI, prefix) {
				t.Errorf("%s: %s does not carry the negotiated version %s", what, o, negotiated)
			}
		}
		t.Logf("%s sends:\n  %s", what, strings.Join(lines, "\n  "))
		for _, w := range want {
			o := findObservedPath(got, w.method, w.path)
			if o == nil {
				t.Errorf("%s: no %s %s", what, w.method, w.path)
				continue
			}
			if o.BodyForwarded != w.body {
				t.Errorf("%s: %s: body forwarded %v, want %v", what, o, o.BodyForwarded, w.body)
			}
		}
	}

	mark := e.Observer.Mark()
	r = e.Docker("run", "--name", "pe-cli", e.Image, "true")
	RequireOK(t, r)
	check(t, mark, "docker run", []wantReq{
		{"POST", "/containers/create", true},
		{"POST", "/containers/*/attach", false},
		{"POST", "/containers/*/wait", false},
		{"POST", "/containers/*/start", false},
	})

	RequireOK(t, e.Docker("run", "-d", "--name", "pe-cli-exec", e.Image, "sleep", "300"))
	mark = e.Observer.Mark()
	RequireOK(t, e.Docker("exec", "pe-cli-exec", "true"))
	check(t, mark, "docker exec", []wantReq{
		{"POST", "/containers/*/exec", true},
		{"POST", "/exec/*/start", true},
		{"GET", "/exec/*/json", false},
	})

	src := filepath.Join(e.Dir, "cp-src")
	if err := os.WriteFile(src, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mark = e.Observer.Mark()
	RequireOK(t, e.Docker("cp", src, "pe-cli-exec:/tmp/"))
	check(t, mark, "docker cp", []wantReq{
		{"PUT", "/containers/*/archive", false},
	})

	mark = e.Observer.Mark()
	// The baseline policy allows image.*, builds included.
	r = e.Daemon.Local().DockerOpts(DockerOpts{Stdin: strings.NewReader("FROM " + e.Image + "\nRUN true\n"), Env: []string{"DOCKER_BUILDKIT=0"}}, "build", "-")
	RequireAllowed(t, r)
	check(t, mark, "docker build (classic builder)", []wantReq{
		{"POST", "/build", false},
	})
	RequireOK(t, e.Docker("rm", "-f", "pe-cli", "pe-cli-exec"))
}

type wantReq struct {
	method, path string // path without version or query; * is one segment
	body         bool   // whether the body reaches the plugin
}

// findObserved returns the last observed request with that method whose URI
// contains part, or nil.
func findObserved(obs []Observed, method, part string) *Observed {
	for i := len(obs) - 1; i >= 0; i-- {
		if obs[i].Method == method && strings.Contains(obs[i].URI, part) {
			return &obs[i]
		}
	}
	return nil
}

// findObservedPath returns the first observed request with that method
// whose path, without version prefix and query, matches pattern (a "*"
// segment matches any one segment).
func findObservedPath(obs []Observed, method, pattern string) *Observed {
	for i := range obs {
		if obs[i].Method != method {
			continue
		}
		p, _, _ := strings.Cut(obs[i].URI, "?")
		if rest, ok := strings.CutPrefix(p, "/v"); ok {
			if _, after, ok := strings.Cut(rest, "/"); ok {
				p = "/" + after
			}
		}
		if matchSegments(strings.Split(pattern, "/"), strings.Split(p, "/")) {
			return &obs[i]
		}
	}
	return nil
}

func matchSegments(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i := range pattern {
		if pattern[i] != "*" && pattern[i] != path[i] {
			return false
		}
	}
	return true
}

// requireDeniedStatus fails unless the response is the env's plugin's
// denial (403) mentioning mention.
func requireDeniedStatus(t *testing.T, e *Env, resp *http.Response, out []byte, mention string) {
	t.Helper()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("want 403 from the plugin, got %s: %.300s", resp.Status, out)
		return
	}
	var msg struct{ Message string }
	if err := json.Unmarshal(out, &msg); err != nil {
		t.Errorf("decode error body %q: %v", out, err)
	}
	if !strings.HasPrefix(msg.Message, e.DeniedMessage()) || !strings.Contains(msg.Message, mention) {
		t.Errorf("denial %q does not come from %s or does not mention %q", msg.Message, e.Plugin.Name, mention)
	}
}

// previousMinor and nextMinor step an API version "1.x" by one minor.
func previousMinor(v string) string { return stepMinor(v, -1) }
func nextMinor(v string) string     { return stepMinor(v, +1) }

func stepMinor(v string, d int) string {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return v
	}
	return fmt.Sprintf("%d.%d", major, minor+d)
}

// TestFactNewerFields: a field that only newer API versions have is applied
// only by a daemon that has it, and only at those versions. HostConfig.Umask
// is new in API 1.56: Engine 29 applies it to a create at /v1.56 and drops it
// at /v1.50 (the version CLI 28.2 negotiates); 20.10 (API 1.41) does not know
// it. The plugin decodes bodies with the Docker 28.5 API types, which lack
// Umask: by default it denies a body field it has no type for
// (request.unknown_field), at every version; with allow_unknown_fields the
// daemon's own behaviour shows.
func TestFactNewerFields(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{Observe: true})
	files := BaselinePolicy(t)
	files["default.hcl"] = strings.Replace(files["default.hcl"], `policy "default" {`, "policy \"default\" {\n  allow_unknown_fields = true\n", 1)
	relaxed := NewEnv(t, Options{Observe: true, PolicyFiles: files})
	const umask = 0o077
	versions := []string{e.Daemon.APIVersion}
	if e.Daemon.APIAtLeast("1.56") {
		versions = append(versions, "1.50")
	}
	for i, v := range versions {
		name := fmt.Sprintf("pe-newer-%d", i)
		body := fmt.Sprintf(`{"Image":%q,"Cmd":["true"],"HostConfig":{"Umask":%d}}`, e.Image, umask)
		path := e.Daemon.APIAt(v, "/containers/create?name="+name)
		// Portcullis denies the field it has no type for
		// (request.unknown_field); the policy below relaxes that, so the
		// daemon's own behaviour shows.
		resp, out, err := e.Daemon.Do("POST", path, nil, strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "request.unknown_field") || !strings.Contains(string(out), "HostConfig.Umask") {
			t.Fatalf("POST %s under the default allow_unknown_fields = false: %v %v %.300s, want a request.unknown_field denial naming HostConfig.Umask", path, err, resp, out)
		}
		resp, out, err = relaxed.Daemon.Do("POST", path, nil, strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s with allow_unknown_fields: %v %v %.300s", path, err, resp, out)
		}
		if seen := findObserved(relaxed.Observer.Requests(), "POST", name); seen == nil || !seen.BodyForwarded {
			t.Errorf("POST %s: the plugins did not get the body: %v", path, seen)
		}
		e := relaxed
		resp, out, err = e.Daemon.Do("GET", e.Daemon.API("/containers/"+name+"/json"), nil, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("inspect %s: %v %v %.300s", name, err, resp, out)
		}
		var inspect struct {
			HostConfig map[string]json.RawMessage
		}
		if err := json.Unmarshal(out, &inspect); err != nil {
			t.Fatal(err)
		}
		got, applied := inspect.HostConfig["Umask"]
		want := compareAPIVersions(v, "1.56") >= 0
		if applied != want || (applied && string(got) != fmt.Sprint(umask)) {
			t.Errorf("Docker Engine %s, create at API %s: Umask applied %v (%s), want %v", e.Daemon.Version, v, applied, got, want)
		}
		t.Logf("Docker Engine %s, create at API %s: Umask applied: %v", e.Daemon.Version, v, applied)
		RequireOK(t, e.Docker("rm", name))
	}
}

// headerValue reads a header from a forwarded header map, whatever the
// case of its name.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// TestFactActivatedUnixSocketIsPlain: dockerd puts TLS on TCP listeners
// only. A Unix socket handed over by systemd (-H fd://) is served as plain
// HTTP even with --tlsverify, beside a -H unix:// socket and the TLS TCP
// listener: moby's daemon/listeners wraps activated sockets with
// go-systemd's activation.TLSListeners, which skips all but TCP ones
// (v22.7.0 in Engine 29; Debian's 20.10 behaves alike). So the gateway
// cannot reach the daemon's TLS client authentication over a Unix socket,
// and an activated socket with --tlsverify must be kept as private as the
// daemon's own (docs/security.md, docs/operations.md).
func TestFactActivatedUnixSocketIsPlain(t *testing.T) {
	t.Parallel()
	dir := ShortTempDir(t)
	pki := NewPKI(t, filepath.Join(dir, "pki"))
	sock := filepath.Join(dir, "act.sock")
	d := StartDaemon(t, DaemonConfig{Dir: filepath.Join(dir, "d"), PKI: pki, Activated: sock})
	// Plain HTTP, no certificate: answered. (The socket listens from
	// the start; dockerd serves it shortly after its own, so the request
	// waits in the backlog until then.)
	resp, err := unixHTTPClient(sock, 30*time.Second).Get("http://docker/_ping")
	if err != nil {
		t.Fatalf("plain GET /_ping on the activated socket: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		t.Errorf("plain GET /_ping on the activated socket: %s %q, want 200 OK", resp.Status, body)
	}
	// dockerd logs each listener before serving it.
	if !strings.Contains(d.Log(), "API listen on "+sock) {
		t.Errorf("dockerd does not say it listens on the activated socket %s:\n%s", sock, tailFile(d.LogFile, 30, "[core]"))
	}
	// TLS with a certificate the daemon trusts: no handshake.
	cfg, err := pki.TLSConfig(pki.ClientCert(t, "someone"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "127.0.0.1"
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tls.Client(c, cfg).Handshake(); err == nil {
		t.Errorf("a TLS handshake on the activated Unix socket succeeded: dockerd now puts TLS on it (update docs/security.md and the gateway's docs)")
	}
	// The TCP listener of the same daemon does TLS with that certificate.
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", d.TCPAddr, cfg)
	if err != nil {
		t.Fatalf("TLS on the daemon's TCP listener: %v", err)
	}
	tc.Close()
}
