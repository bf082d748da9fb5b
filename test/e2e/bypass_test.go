//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flatShippedPolicy returns examples/policies (default and teams) as policy
// files, flattened into one directory.
func flatShippedPolicy(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "..", "examples", "policies")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".hcl") || strings.HasSuffix(p, "_test.hcl") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[strings.ReplaceAll(rel, string(filepath.Separator), "-")] = string(b)
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped policies: %v (%d files)", err, len(files))
	}
	return files
}

// TestBypass sends the requests an attacker crafts by hand, against a real
// daemon and the shipped default policy, and checks the outcome at the
// daemon: denied by the plugin (403 with its message) and no container
// created, or, for the look-alikes the policy allows, that the daemon
// itself refuses them or gives no host access.
func TestBypass(t *testing.T) {
	t.Parallel()
	e := NewEnv(t, Options{PolicyFiles: flatShippedPolicy(t)})
	api := e.Daemon.API
	priv := fmt.Sprintf(`{"Image":%q,"Cmd":["true"],"HostConfig":{"Privileged":true}}`, e.Image)
	raw := func(method, target string, headers []string, body string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n", method, target)
		for _, h := range headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("\r\n")
		b.WriteString(body)
		return b.Bytes()
	}

	for i, tc := range []struct {
		name    string
		req     []byte // a raw request; "NAME" in it is replaced by a unique container name
		mention string
	}{
		{"percent-encoded route", raw("POST", api("/containers/%63reate?name=NAME"), []string{"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(priv))}, priv), "privileged"},
		{"version /v01.041", raw("POST", "/v01.041/containers/create?name=NAME", []string{"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(priv))}, priv), "privileged"},
		{"absolute-form URI", raw("POST", "http://docker"+api("/containers/create?name=NAME"), []string{"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(priv))}, priv), "privileged"},
		// Both daemons forward this body (their /auth check is on the
		// path; TestFactBodyFraming), so the plugin judges it; without the
		// body it would deny it as missing.
		{"/auth at the end of the query", raw("POST", api("/containers/create?name=NAME&x=/auth"), []string{"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(priv))}, priv), ""},
		{"no Content-Type: the daemon decodes a body it did not forward", raw("POST", api("/containers/create?name=NAME"), []string{fmt.Sprintf("Content-Length: %d", len(priv))}, priv), "request.body_missing"},
		{"chunked with Content-Length 0 too", raw("POST", api("/containers/create?name=NAME"), []string{"Content-Type: application/json", "Transfer-Encoding: chunked", "Content-Length: 0"}, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(priv), priv)), ""},
		{"lower-case keys", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"image":%q,"hostconfig":{"privileged":true}}`, e.Image)), "privileged"},
		{"HostConfig key with U+017F", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"Ho\u017ftConfig":{"Privileged":true}}`, e.Image)), "privileged"},
		{"duplicate HostConfig objects merge", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"HostConfig":{"Privileged":true},"HostConfig":{"Memory":0}}`, e.Image)), "privileged"},
		{"HostConfig at the top level (applied by 20.10)", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"Privileged":true}`, e.Image)), "request.legacy_hostconfig"},
		{"CapAdd as a string", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"HostConfig":{"CapAdd":"SYS_ADMIN"}}`, e.Image)), "capabilities.add"},
		{"CapAdd with U+017F", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"HostConfig":{"CapAdd":["\u017fys_admin"]}}`, e.Image)), "capabilities.add"},
		{"bind of the socket via ..", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"HostConfig":{"Binds":["/var/run/../run/docker.sock:/s:ro"]}}`, e.Image)), "mounts.docker_socket"},
		{"volume mount of type proc", jsonReq(t, api("/containers/create?name=NAME"), fmt.Sprintf(`{"Image":%q,"HostConfig":{"Mounts":[{"Type":"volume","Source":"procvol","Target":"/p","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"proc","device":"proc"}}}}]}}`, e.Image)), "mounts.volume_host_path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("pe-bypass-%d", i)
			req := bytes.ReplaceAll(tc.req, []byte("NAME"), []byte(name))
			resp, out, err := e.Daemon.Raw(req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("want 403 from the plugin, got %s: %.300s", resp.Status, out)
			} else if !strings.Contains(string(out), e.DeniedMessage()) || !strings.Contains(string(out), tc.mention) {
				t.Errorf("denial %.300s does not come from the plugin or does not mention %q", out, tc.mention)
			}
			if containerExists(t, e, name) {
				t.Errorf("container %s exists", name)
			}
		})
	}

	// Through the CLI, as a user would.
	e.RequireDenied(t, e.Docker("volume", "create", "-o", "type=proc", "-o", "device=proc", "pv"), "volume.host_path")
	e.RequireDenied(t, e.Docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=/etc", "ev"), "volume.host_path")
	e.RequireDenied(t, e.Docker("volume", "create", "-o", "type=overlay", "-o", "device=overlay", "-o", "o=lowerdir=/etc,upperdir=/tmp/u,workdir=/tmp/w", "ov"), "volume.host_path")
	e.RequireDenied(t, e.Docker("plugin", "disable", e.Plugin.Name), "actions.denied")
	e.RequireDenied(t, e.Docker("plugin", "rm", "-f", e.Plugin.Name), "actions.denied")
	e.RequireDenied(t, e.Docker("build", "-"), "image.build")
	RequireOK(t, e.Docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "tv"))

	// Look-alikes the policy allows: the daemon must refuse them itself.
	// Daemon-specific: 20.10 accepts PidMode "HOST" (it validates nothing
	// here), Engine 29 refuses it ("invalid PID mode"). Either way it must
	// not mean the host's namespace, which only "host" does.
	t.Run("PidMode HOST is not host", func(t *testing.T) {
		for i, mode := range []string{"HOST", "Host", " host", "host "} {
			name := fmt.Sprintf("pe-pid-%d", i)
			resp, out, err := e.Daemon.Raw(jsonReq(t, api("/containers/create?name="+name),
				fmt.Sprintf(`{"Image":%q,"Cmd":["cat","/proc/1/cmdline"],"HostConfig":{"PidMode":%q}}`, e.Image, mode)))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusCreated {
				t.Logf("PidMode %q: the daemon refuses it: %s %.200s", mode, resp.Status, out)
				continue
			}
			r := e.Docker("start", "-a", name)
			host, _ := os.ReadFile("/proc/1/cmdline")
			if r.ExitCode == 0 && r.Stdout == string(host) {
				t.Errorf("PidMode %q shares the host's pid namespace: pid 1 is %q", mode, r.Stdout)
			}
			t.Logf("PidMode %q: pid 1 is %q (exit %d)", mode, r.Stdout, r.ExitCode)
		}
	})
	t.Run("NetworkMode naming the host network by id", func(t *testing.T) {
		resp, out, err := e.Daemon.Do("GET", api("/networks/host"), nil, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			SkipOrFail(t, "inspect the host network: %v %v %.200s", err, resp, out)
		}
		var n struct{ ID string }
		if err := json.Unmarshal(out, &n); err != nil || n.ID == "" {
			t.Fatalf("host network id: %v %.200s", err, out)
		}
		r := e.Docker("run", "--rm", "--network", n.ID, e.Image, "cat", "/proc/net/dev")
		if r.Denied() {
			t.Logf("denied by the plugin: %s", r.Stderr)
			return
		}
		host, _ := os.ReadFile("/proc/net/dev")
		if r.ExitCode == 0 && strings.Count(r.Stdout, ":") == strings.Count(string(host), ":") && strings.Count(r.Stdout, ":") > 1 {
			t.Errorf("a container on network %s sees the host's interfaces:\n%s", n.ID, r.Stdout)
		}
		t.Logf("network by id: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	})
}

// jsonReq is a raw POST with a JSON body and its Content-Length.
func jsonReq(t *testing.T, target, body string) []byte {
	t.Helper()
	return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", target, len(body), body))
}
