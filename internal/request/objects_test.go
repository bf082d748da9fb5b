package request

import (
	"slices"
	"strconv"
	"testing"
)

func parseJSON(t testing.TB, method, uri, body string) (*Request, error) {
	h := map[string]string{}
	var b []byte
	if body != "" {
		b = []byte(body)
		h["Content-Type"] = "application/json"
	}
	h["Content-Length"] = strconv.Itoa(len(b)) // as clients send it, 0 included
	return Parse(method, uri, h, b)
}

// TestRouteTargets: the route table names the kind of object each path
// variable is, and which routes create objects.
func TestRouteTargets(t *testing.T) {
	for _, c := range []struct {
		method, uri     string
		target          Kind
		name            string
		creates         Kind
		wantTargetEmpty bool
	}{
		{"POST", "/v1.41/containers/web/stop", KindContainer, "web", KindNone, false},
		{"DELETE", "/v1.41/containers/web/checkpoints/cp1", KindContainer, "web", KindNone, false},
		{"POST", "/v1.41/exec/abc/start", KindExec, "abc", KindNone, false},
		{"DELETE", "/v1.41/volumes/v1", KindVolume, "v1", KindNone, false},
		{"GET", "/v1.41/networks/n1", KindNetwork, "n1", KindNone, false},
		{"POST", "/v1.41/services/s1/update", KindService, "s1", KindNone, false},
		{"DELETE", "/v1.41/images/busybox", KindImage, "busybox", KindNone, false},
		{"POST", "/v1.41/containers/create", KindNone, "", KindContainer, true},
		{"POST", "/v1.41/containers/web/exec", KindContainer, "web", KindExec, false},
		{"POST", "/v1.41/volumes/create", KindNone, "", KindVolume, true},
		{"POST", "/v1.41/networks/create", KindNone, "", KindNetwork, true},
		{"POST", "/v1.41/secrets/create", KindNone, "", KindSecret, true},
		{"POST", "/v1.41/commit", KindNone, "", KindImage, true},
		{"GET", "/v1.41/containers/json", KindNone, "", KindNone, true},
		{"GET", "/v1.41/distribution/busybox/json", KindNone, "busybox", KindNone, false},
	} {
		r, err := Classify(c.method, c.uri)
		if err != nil {
			t.Fatal(err)
		}
		if r.TargetKind != c.target || r.Target != c.name || r.Creates != c.creates {
			t.Errorf("%s %s: target %v %q creates %v; want %v %q %v", c.method, c.uri, r.TargetKind, r.Target, r.Creates, c.target, c.name, c.creates)
		}
		if rt := r.Route(); rt.TargetKind != r.TargetKind || rt.Creates != r.Creates {
			t.Errorf("%s %s: Route() drops the kinds", c.method, c.uri)
		}
	}
}

// TestReferences: the objects a body refers to, as the daemon reads them.
func TestReferences(t *testing.T) {
	for _, c := range []struct {
		name, uri, body string
		want            []Ref
	}{
		{"volumes-from with mode", "/containers/create", `{"HostConfig":{"VolumesFrom":["db:ro","/cache"]}}`,
			[]Ref{{KindContainer, "db", "HostConfig.VolumesFrom[0]"}, {KindContainer, "/cache", "HostConfig.VolumesFrom[1]"}}},
		{"namespaces of a container", "/containers/create", `{"HostConfig":{"NetworkMode":"container:abc","IpcMode":"container:def","PidMode":"container:ghi"}}`,
			[]Ref{{KindContainer, "abc", "HostConfig.NetworkMode"}, {KindContainer, "def", "HostConfig.IpcMode"}, {KindContainer, "ghi", "HostConfig.PidMode"}}},
		{"links", "/containers/create", `{"HostConfig":{"Links":["/db:alias","cache"]}}`,
			[]Ref{{KindContainer, "db", "HostConfig.Links[0]"}, {KindContainer, "cache", "HostConfig.Links[1]"}}},
		{"named volume in binds, host path not", "/containers/create", `{"HostConfig":{"Binds":["data:/d:ro","/srv:/s","rel"]}}`,
			[]Ref{{KindVolume, "data", "HostConfig.Binds[0]"}}},
		{"volume mount, bind mount not", "/containers/create", `{"HostConfig":{"Mounts":[{"Type":"volume","Source":"v","Target":"/v"},{"Type":"bind","Source":"/srv","Target":"/s"},{"Type":"volume","Target":"/anon"}]}}`,
			[]Ref{{KindVolume, "v", "HostConfig.Mounts[0].Source"}}},
		{"user network, not the daemon's", "/containers/create", `{"HostConfig":{"NetworkMode":"webnet"},"NetworkingConfig":{"EndpointsConfig":{"webnet":{},"other":{}}}}`,
			[]Ref{{KindNetwork, "webnet", "HostConfig.NetworkMode"}, {KindNetwork, "other", "NetworkingConfig.EndpointsConfig"}}},
		{"predefined networks", "/containers/create", `{"HostConfig":{"NetworkMode":"bridge"},"NetworkingConfig":{"EndpointsConfig":{"host":{}}}}`, nil},
		{"network connect", "/networks/n/connect", `{"Container":"c1"}`, []Ref{{KindContainer, "c1", "Container"}}},
		{"network disconnect", "/networks/n/disconnect", `{"Container":"c1","Force":true}`, []Ref{{KindContainer, "c1", "Container"}}},
		{"commit", "/commit?container=c1&repo=x", "", []Ref{{KindContainer, "c1", "container"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseJSON(t, "POST", "/v1.41"+c.uri, c.body)
			if err != nil {
				t.Fatal(err)
			}
			got := r.References()
			if !slices.Equal(got, c.want) {
				t.Errorf("References() = %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzReferences: whatever a create, connect or commit body holds,
// References never panics and names only non-empty references of a kind.
func FuzzReferences(f *testing.F) {
	for _, s := range []string{
		`{"HostConfig":{"VolumesFrom":["db:ro"],"Links":["/a:b"],"Binds":["v:/x"],"NetworkMode":"container:"}}`,
		`{"HostConfig":{"Mounts":[{"Type":"volume","Source":""}]},"NetworkingConfig":{"EndpointsConfig":{"":{}}}}`,
		`{"Container":""}`, `{}`, `null`,
	} {
		f.Add("/v1.41/containers/create", s)
		f.Add("/v1.41/networks/n/connect", s)
	}
	f.Add("/v1.41/commit?container=", "")
	f.Fuzz(func(t *testing.T, uri, body string) {
		r, err := parseJSON(t, "POST", uri, body)
		if err != nil || r == nil {
			return
		}
		for _, ref := range r.References() {
			if ref.Name == "" || ref.Kind == KindNone || ref.Field == "" {
				t.Fatalf("bad reference %+v", ref)
			}
		}
	})
}
