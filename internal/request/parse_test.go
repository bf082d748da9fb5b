package request_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/corpus"
)

var jsonHeaders = map[string]string{"Content-Type": "application/json"}

// TestFailClosed: every request the plugin cannot judge safely is an
// *Error with a stable code.
func TestFailClosed(t *testing.T) {
	big := `{"Image":"bb","HostConfig":{"Privileged":true}}`
	tests := []struct {
		name, method, uri string
		headers           map[string]string
		body              string
		code              string
	}{
		{"no method", "", "/containers/json", nil, "", request.CodeMalformed},
		{"no uri", "GET", "", nil, "", request.CodeMalformed},
		{"lower-case method", "post", "/containers/create", jsonHeaders, big, request.CodeMalformed},
		{"method with space", "PO ST", "/containers/create", nil, "", request.CodeMalformed},
		{"uri not a path", "GET", "containers/json", nil, "", request.CodeMalformed},
		{"bad escape", "GET", "/containers/%zz/json", nil, "", request.CodeMalformed},
		{"bad query escape", "GET", "/containers/json?a=%zz", nil, "", request.CodeMalformed},
		{"create without body (over 1 MiB)", "POST", "/v1.41/containers/create", map[string]string{"Content-Length": "1048577", "Content-Type": "application/json"}, "", request.CodeBodyMissing},
		{"create without body (chunked)", "POST", "/v1.41/containers/create", map[string]string{"Content-Type": "application/json"}, "", request.CodeBodyMissing},
		{"create without body (/auth query)", "POST", "/v1.41/containers/create?x=/auth", jsonHeaders, "", request.CodeBodyMissing},
		{"create with empty body", "POST", "/containers/create", map[string]string{"Content-Length": "0"}, "", request.CodeBodyMissing},
		{"exec without body", "POST", "/containers/web1/exec", nil, "", request.CodeBodyMissing},
		{"update without body", "POST", "/containers/web1/update", nil, "", request.CodeBodyMissing},
		{"volume create without body", "POST", "/volumes/create", nil, "", request.CodeBodyMissing},
		{"network create without body", "POST", "/networks/create", nil, "", request.CodeBodyMissing},
		{"network connect without body", "POST", "/networks/n/connect", nil, "", request.CodeBodyMissing},
		{"service create without body", "POST", "/services/create", nil, "", request.CodeBodyMissing},
		{"service update without body", "POST", "/services/s/update", nil, "", request.CodeBodyMissing},
		{"plugin pull without body", "POST", "/plugins/pull?remote=x", nil, "", request.CodeBodyMissing},
		{"plugin upgrade without body", "POST", "/plugins/p/upgrade", nil, "", request.CodeBodyMissing},
		{"plugin set without body", "POST", "/plugins/p/set", nil, "", request.CodeBodyMissing},
		{"swarm init without body", "POST", "/swarm/init", nil, "", request.CodeBodyMissing},
		{"swarm join without body", "POST", "/swarm/join", nil, "", request.CodeBodyMissing},
		{"create not JSON content type", "POST", "/containers/create", map[string]string{"Content-Type": "text/plain"}, big, request.CodeBodyInvalid},
		{"create garbage", "POST", "/containers/create", jsonHeaders, `{"Image":`, request.CodeBodyInvalid},
		{"create trailing data", "POST", "/containers/create", jsonHeaders, big + `{"HostConfig":{"Privileged":true}}`, request.CodeBodyInvalid},
		{"create trailing brace", "POST", "/containers/create", jsonHeaders, big + `}`, request.CodeBodyInvalid},
		{"create string for array", "POST", "/containers/create", jsonHeaders, `{"HostConfig":{"Binds":"/:/host"}}`, request.CodeBodyInvalid},
		{"create number for string", "POST", "/containers/create", jsonHeaders, `{"HostConfig":{"NetworkMode":1}}`, request.CodeBodyInvalid},
		{"create array body", "POST", "/containers/create", jsonHeaders, `[]`, request.CodeBodyInvalid},
		{"create top-level Privileged", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","Privileged":true}`, request.CodeLegacyConfig},
		{"create top-level privileged false", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","Privileged":false}`, request.CodeLegacyConfig},
		{"create top-level binds lower case", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","binds":["/:/host"]}`, request.CodeLegacyConfig},
		{"create top-level CapAdd", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","CapAdd":["ALL"]}`, request.CodeLegacyConfig},
		{"create top-level PidMode", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","PidMode":"host"}`, request.CodeLegacyConfig},
		{"create top-level Mounts", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","Mounts":[]}`, request.CodeLegacyConfig},
		{"create top-level resources field", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","Devices":[{"PathOnHost":"/dev/sda"}]}`, request.CodeLegacyConfig},
		{"create top-level null", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","Privileged":null}`, request.CodeLegacyConfig},
		{"create top-level mixed case", "POST", "/containers/create", jsonHeaders, `{"Image":"bb","PrivileGed":true}`, request.CodeLegacyConfig},
		{"create top-level Kelvin fold", "POST", "/containers/create", jsonHeaders, "{\"Image\":\"bb\",\"\u212aernelMemory\":1}", request.CodeLegacyConfig},
		{"create top-level long s fold", "POST", "/containers/create", jsonHeaders, "{\"Image\":\"bb\",\"Bind\u017f\":[\"/:/h\"]}", request.CodeLegacyConfig},
		{"start with body", "POST", "/v1.41/containers/x/start", jsonHeaders, `{"Privileged":true}`, request.CodeBodyUnexpected},
		{"start old api chunked", "POST", "/v1.23/containers/x/start", nil, "", request.CodeAPIVersion},
		{"exec trailing", "POST", "/containers/x/exec", jsonHeaders, `{"Cmd":["id"]} x`, request.CodeBodyInvalid},
		{"plugin set not array", "POST", "/plugins/p/set", jsonHeaders, `{"a":"b"}`, request.CodeBodyInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			_, err := request.Parse(tt.method, tt.uri, tt.headers, body)
			if err == nil {
				t.Fatalf("Parse(%s %s) succeeded, want %s", tt.method, tt.uri, tt.code)
			}
			e, ok := request.AsError(err)
			if !ok {
				t.Fatalf("Parse error %v is not a *request.Error", err)
			}
			if e.Code != tt.code {
				t.Errorf("code = %s (%v), want %s", e.Code, err, tt.code)
			}
			if e.Reason == "" {
				t.Error("no reason for the person who sent the request")
			}
		})
	}
}

// TestJudgedWithoutBody: requests that legitimately carry no body are
// parsed, not rejected.
func TestJudgedWithoutBody(t *testing.T) {
	for _, c := range []struct{ method, uri string }{
		{"POST", "/v1.41/containers/x/start"},
		{"POST", "/v1.24/containers/x/start"},
		{"POST", "/v1.41/containers/x/stop"},
		{"POST", "/v1.41/containers/x/kill"},
		{"GET", "/v1.41/containers/json"},
		{"POST", "/v1.41/auth"},
		{"POST", "/v1.41/exec/e/start"},
		{"POST", "/v1.41/commit?container=x"},
		{"POST", "/v1.41/networks/n/disconnect"},
		{"POST", "/v1.41/images/create?fromImage=alpine"},
		{"POST", "/v1.41/build"},
	} {
		if _, err := request.Parse(c.method, c.uri, map[string]string{"Content-Length": "0"}, nil); err != nil {
			t.Errorf("Parse(%s %s) = %v, want no error", c.method, c.uri, err)
		}
	}
	// An old API version with a declared empty body is fine too.
	if _, err := request.Parse("POST", "/v1.20/containers/x/start", map[string]string{"Content-Length": "0"}, nil); err != nil {
		t.Errorf("old start with empty body: %v", err)
	}
}

// TestDecodeLikeTheDaemon: bodies decode with encoding/json's semantics,
// which are the daemon's.
func TestDecodeLikeTheDaemon(t *testing.T) {
	parse := func(t *testing.T, body string, ct string) *request.Request {
		t.Helper()
		r, err := request.Parse("POST", "/v1.41/containers/create?name=web&platform=linux", map[string]string{"Content-Type": ct}, []byte(body))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return r
	}
	t.Run("case-insensitive keys", func(t *testing.T) {
		c := parse(t, `{"image":"bb","hostconfig":{"privileged":true,"capadd":["sys_admin"]}}`, "application/json").ContainerCreate
		if !c.HostConfig.Privileged || c.Config.Image != "bb" || len(c.HostConfig.CapAdd) != 1 {
			t.Errorf("got %+v %+v", c.Config, c.HostConfig)
		}
	})
	t.Run("unicode folding", func(t *testing.T) {
		// U+017F (long s) folds to 's', U+212A (Kelvin) to 'k' in encoding/json.
		c := parse(t, "{\"HostConfig\":{\"Privileged\":true,\"CapAdd\":[\"x\"],\"\u017fecurityOpt\":[\"seccomp=unconfined\"]}}", "application/json").ContainerCreate
		if len(c.HostConfig.SecurityOpt) != 1 {
			t.Errorf("SecurityOpt with a long s key not decoded: %+v", c.HostConfig.SecurityOpt)
		}
	})
	t.Run("last duplicate wins", func(t *testing.T) {
		c := parse(t, `{"HostConfig":{"Privileged":false,"Privileged":true}}`, "application/json").ContainerCreate
		if !c.HostConfig.Privileged {
			t.Error("the last duplicate must win")
		}
	})
	t.Run("repeated objects merge", func(t *testing.T) {
		c := parse(t, `{"HostConfig":{"Privileged":true},"HostConfig":{"Binds":["/:/h"]}}`, "application/json").ContainerCreate
		if !c.HostConfig.Privileged || len(c.HostConfig.Binds) != 1 {
			t.Errorf("objects must merge: %+v", c.HostConfig)
		}
	})
	t.Run("a string where the daemon takes one", func(t *testing.T) {
		// CapAdd is a strslice: the daemon accepts "ALL" as ["ALL"].
		c := parse(t, `{"HostConfig":{"CapAdd":"ALL"}}`, "application/json").ContainerCreate
		if len(c.HostConfig.CapAdd) != 1 || c.HostConfig.CapAdd[0] != "ALL" {
			t.Errorf("CapAdd = %#v", c.HostConfig.CapAdd)
		}
	})
	t.Run("media type parameters", func(t *testing.T) {
		c := parse(t, `{"HostConfig":{"Privileged":true}}`, "Application/JSON; charset=utf-8").ContainerCreate
		if !c.HostConfig.Privileged {
			t.Error("charset parameter must not hide the body")
		}
	})
	t.Run("null parts read as defaults", func(t *testing.T) {
		c := parse(t, `{"Image":"bb","HostConfig":null,"NetworkingConfig":null}`, "application/json").ContainerCreate
		if c.HostConfig == nil || c.NetworkingConfig == nil || c.Config == nil {
			t.Error("nil part after decode")
		}
	})
	t.Run("null body", func(t *testing.T) {
		c := parse(t, `null`, "application/json").ContainerCreate
		if c == nil || c.HostConfig == nil {
			t.Error("a null create body must decode to defaults, as the daemon does")
		}
	})
	t.Run("name and platform from the query", func(t *testing.T) {
		c := parse(t, `{}`, "application/json").ContainerCreate
		if c.Name != "web" || c.Platform != "linux" {
			t.Errorf("name %q platform %q", c.Name, c.Platform)
		}
	})
	t.Run("masked paths empty vs null", func(t *testing.T) {
		c := parse(t, `{"HostConfig":{"MaskedPaths":[],"ReadonlyPaths":null}}`, "application/json").ContainerCreate
		if c.HostConfig.MaskedPaths == nil || len(c.HostConfig.MaskedPaths) != 0 || c.HostConfig.ReadonlyPaths != nil {
			t.Errorf("MaskedPaths %#v ReadonlyPaths %#v", c.HostConfig.MaskedPaths, c.HostConfig.ReadonlyPaths)
		}
	})
}

func TestDecodeOtherBodies(t *testing.T) {
	tests := []struct {
		name, method, uri, body string
		check                   func(*request.Request) bool
	}{
		{"exec", "POST", "/containers/x/exec", `{"User":"root","Privileged":true,"Cmd":["id"]}`,
			func(r *request.Request) bool { return r.Exec.Privileged && r.Exec.User == "root" }},
		{"exec start", "POST", "/exec/e/start", `{"Detach":false,"Tty":false}`,
			func(r *request.Request) bool { return r.ExecStart != nil }},
		{"update", "POST", "/containers/x/update", `{"Memory":0,"PidsLimit":-1}`,
			func(r *request.Request) bool { return *r.ContainerUpdate.PidsLimit == -1 }},
		{"volume", "POST", "/volumes/create", `{"Name":"v","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`,
			func(r *request.Request) bool { return r.VolumeCreate.DriverOpts["device"] == "/etc" }},
		{"network", "POST", "/networks/create", `{"Name":"n","Driver":"macvlan"}`,
			func(r *request.Request) bool { return r.NetworkCreate.Driver == "macvlan" }},
		{"connect", "POST", "/networks/n/connect", `{"Container":"c"}`,
			func(r *request.Request) bool { return r.NetworkConnect.Container == "c" }},
		{"service", "POST", "/services/create", `{"TaskTemplate":{"ContainerSpec":{"Image":"bb","Privileges":{"NoNewPrivileges":true}}}}`,
			func(r *request.Request) bool { return r.ServiceSpec.TaskTemplate.ContainerSpec.Image == "bb" }},
		{"plugin pull", "POST", "/plugins/pull?remote=x", `[{"Name":"network","Value":["host"]}]`,
			func(r *request.Request) bool { return len(r.PluginPrivileges) == 1 }},
		{"plugin set", "POST", "/plugins/p/set", `["DEBUG=1"]`,
			func(r *request.Request) bool { return r.PluginSettings[0] == "DEBUG=1" }},
		{"swarm join", "POST", "/swarm/join", `{"RemoteAddrs":["10.0.0.1:2377"]}`,
			func(r *request.Request) bool { return r.SwarmJoin.RemoteAddrs[0] == "10.0.0.1:2377" }},
		{"commit", "POST", "/commit?container=x", `{"User":"root","Cmd":["sh"]}`,
			func(r *request.Request) bool { return r.CommitConfig.User == "root" }},
		{"secret", "POST", "/secrets/create", `{"Name":"s","Data":"eA=="}`,
			func(r *request.Request) bool { return r.SecretSpec.Name == "s" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := request.Parse(tt.method, tt.uri, jsonHeaders, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(r) {
				t.Errorf("decoded request does not hold what the body said: %+v", r)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := request.Parse("POST", "/v1.41/containers/create", map[string]string{"Content-Length": "2097152", "Content-Type": "application/json"}, nil)
	want := "[request.body_missing] body: container.create needs its JSON body to be judged, and the daemon forwards a body only when it is sent as application/json and is small enough (under 1 MiB on Docker 20.10 to 28, up to 4 MiB on Docker 29)"
	if err == nil || err.Error() != want {
		t.Errorf("message = %v\nwant      %s", err, want)
	}
	if !strings.Contains(want, "1 MiB") {
		t.Fatal("unreachable")
	}
}

// Classify finds the same route, target and query as Parse, and does not
// judge the body: a create without one is classified, not rejected.
func TestClassifyWithoutBody(t *testing.T) {
	for _, tc := range []struct{ method, uri, action, target string }{
		{"POST", "/v1.41/containers/create?name=web", "container.create", ""},
		{"POST", "/v1.41/containers/web/start", "container.start", "web"},
		{"GET", "/v1.41/images/library/busybox:latest/json", "image.inspect", "library/busybox:latest"},
		{"DELETE", "/containers/c/checkpoints/cp", "checkpoint.delete", "c"},
		{"GET", "/nowhere", "unknown", ""},
	} {
		r, err := request.Classify(tc.method, tc.uri)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.uri, err)
		}
		if string(r.Action) != tc.action || r.Target != tc.target {
			t.Errorf("%s %s: %s %q, want %s %q", tc.method, tc.uri, r.Action, r.Target, tc.action, tc.target)
		}
		if p, _ := request.Parse(tc.method, tc.uri, nil, nil); p.Action != r.Action || p.Target != r.Target || p.Query.Encode() != r.Query.Encode() {
			t.Errorf("%s %s: Parse and Classify differ: %+v, %+v", tc.method, tc.uri, p, r)
		}
	}
	if _, err := request.Classify("get", "/_ping"); err == nil {
		t.Error("a malformed method is classified")
	}
}

// Route is what Classify gives, for every recorded request.
func TestRouteIsClassify(t *testing.T) {
	entries := corpus.ForTest(t)
	for _, e := range entries {
		r, _ := request.Parse(e.Method, e.URI, e.Headers, e.BodyBytes())
		c, err := request.Classify(e.Method, e.URI)
		if r == nil || err != nil {
			continue
		}
		if got := r.Route(); !reflect.DeepEqual(got, c) {
			t.Errorf("%s %s: Route %+v, Classify %+v", e.Method, e.URI, got, c)
		}
	}
}
