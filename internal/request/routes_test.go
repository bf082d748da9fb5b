package request_test

import (
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// TestClassify pins how URIs map to actions, the way the daemon routes them.
func TestClassify(t *testing.T) {
	tests := []struct {
		name, method, uri string
		action            request.Action
		target            string
		version           string
	}{
		{"ping unversioned", "HEAD", "/_ping", "system.ping", "", ""},
		{"ping get", "GET", "/v1.41/_ping", "system.ping", "", "1.41"},
		{"create", "POST", "/v1.41/containers/create?name=web", "container.create", "", "1.41"},
		{"create percent-encoded", "POST", "/v1.41/containers/%63reate", "container.create", "", "1.41"},
		{"create zero-padded version", "POST", "/v01.041/containers/create", "container.create", "", "1.41"},
		{"create trailing dot version", "POST", "/v1.41./containers/create", "container.create", "", "1.41"},
		{"create three-part version", "POST", "/v1.41.0/containers/create", "container.create", "", "1.41"},
		{"create no version", "POST", "/containers/create", "container.create", "", ""},
		{"create absolute-form", "POST", "http://docker/v1.41/containers/create", "container.create", "", "1.41"},
		{"create unclean path", "POST", "/v1.41//containers/./create", "container.create", "", "1.41"},
		{"create dot-dot", "POST", "/v1.41/containers/x/../create", "container.create", "", "1.41"},
		{"start", "POST", "/v1.41/containers/abc/start", "container.start", "abc", "1.41"},
		{"start name with slash", "POST", "/v1.41/containers/a/b/start", "container.start", "a/b", "1.41"},
		{"stop", "POST", "/v1.41/containers/web1/stop?t=1", "container.stop", "web1", "1.41"},
		{"kill", "POST", "/containers/web1/kill", "container.kill", "web1", ""},
		{"wait", "POST", "/containers/web1/wait", "container.wait", "web1", ""},
		{"attach", "POST", "/containers/web1/attach?stream=1", "container.attach", "web1", ""},
		{"attach ws", "GET", "/containers/web1/attach/ws", "container.attach.ws", "web1", ""},
		{"exec create", "POST", "/v1.41/containers/web1/exec", "container.exec", "web1", "1.41"},
		{"exec start", "POST", "/v1.41/exec/e1/start", "exec.start", "e1", "1.41"},
		{"exec resize", "POST", "/exec/e1/resize", "exec.resize", "e1", ""},
		{"exec inspect", "GET", "/exec/e1/json", "exec.inspect", "e1", ""},
		{"update", "POST", "/containers/web1/update", "container.update", "web1", ""},
		{"archive put", "PUT", "/v1.41/containers/web1/archive?path=%2Ftmp", "container.archive.put", "web1", "1.41"},
		{"archive get", "GET", "/containers/web1/archive?path=/etc", "container.archive.get", "web1", ""},
		{"archive head", "HEAD", "/containers/web1/archive?path=/etc", "container.archive.head", "web1", ""},
		{"list", "GET", "/containers/json", "container.list", "", ""},
		{"inspect", "GET", "/containers/web1/json", "container.inspect", "web1", ""},
		{"remove", "DELETE", "/containers/web1?force=1", "container.remove", "web1", ""},
		{"prune", "POST", "/containers/prune", "container.prune", "", ""},
		{"commit", "POST", "/commit?container=web1&repo=x", "commit", "", ""},
		{"checkpoint delete", "DELETE", "/containers/web1/checkpoints/cp1", "checkpoint.delete", "web1", ""},
		{"checkpoint create", "POST", "/containers/web1/checkpoints", "checkpoint.create", "web1", ""},
		{"image pull", "POST", "/images/create?fromImage=alpine&tag=3", "image.pull", "", ""},
		{"image import", "POST", "/images/create?fromSrc=-&repo=x", "image.import", "", ""},
		{"image tag with slash", "POST", "/images/docker.io/library/bb:latest/tag?repo=x", "image.tag", "docker.io/library/bb:latest", ""},
		{"image inspect", "GET", "/images/bb/json", "image.inspect", "bb", ""},
		{"image list", "GET", "/images/json", "image.list", "", ""},
		{"image get all", "GET", "/images/get?names=a", "image.get", "", ""},
		{"image remove", "DELETE", "/images/bb:v2", "image.remove", "bb:v2", ""},
		{"image load", "POST", "/images/load", "image.load", "", ""},
		{"image push", "POST", "/images/reg/x/push", "image.push", "reg/x", ""},
		{"build", "POST", "/v1.41/build?t=x", "image.build", "", "1.41"},
		{"build prune", "POST", "/build/prune", "image.build.prune", "", ""},
		{"volume create", "POST", "/volumes/create", "volume.create", "", ""},
		{"volume list", "GET", "/volumes", "volume.list", "", ""},
		{"volume inspect", "GET", "/volumes/data1", "volume.inspect", "data1", ""},
		{"volume remove", "DELETE", "/volumes/data1", "volume.remove", "data1", ""},
		{"network create", "POST", "/networks/create", "network.create", "", ""},
		{"network connect", "POST", "/networks/net1/connect", "network.connect", "net1", ""},
		{"network disconnect", "POST", "/networks/net1/disconnect", "network.disconnect", "net1", ""},
		{"network list slash", "GET", "/networks/", "network.list", "", ""},
		{"network inspect", "GET", "/networks/net1", "network.inspect", "net1", ""},
		{"network remove", "DELETE", "/networks/net1", "network.remove", "net1", ""},
		{"plugin pull", "POST", "/plugins/pull?remote=x", "plugin.pull", "", ""},
		{"plugin disable", "POST", "/plugins/portcullis/disable", "plugin.disable", "portcullis", ""},
		{"plugin disable tagged", "POST", "/plugins/portcullis:latest/disable?force=1", "plugin.disable", "portcullis:latest", ""},
		{"plugin set", "POST", "/plugins/p/set", "plugin.set", "p", ""},
		{"plugin remove", "DELETE", "/plugins/p", "plugin.remove", "p", ""},
		{"plugin create", "POST", "/plugins/create?name=p", "plugin.create", "", ""},
		{"plugin upgrade", "POST", "/plugins/p/upgrade", "plugin.upgrade", "p", ""},
		{"swarm init", "POST", "/swarm/init", "swarm.init", "", ""},
		{"swarm join", "POST", "/swarm/join", "swarm.join", "", ""},
		{"service create", "POST", "/services/create", "service.create", "", ""},
		{"service update", "POST", "/services/s1/update?version=3", "service.update", "s1", ""},
		{"service with slash is no route", "POST", "/services/a/b/update", request.ActionUnknown, "", ""},
		{"secret create", "POST", "/secrets/create", "secret.create", "", ""},
		{"node update", "POST", "/nodes/n1/update", "node.update", "n1", ""},
		{"grpc", "POST", "/grpc", "grpc", "", ""},
		{"session", "POST", "/session", "session", "", ""},
		{"auth", "POST", "/v1.41/auth", "system.auth", "", "1.41"},
		{"events", "GET", "/events?since=1", "system.events", "", ""},
		{"info", "GET", "/info", "system.info", "", ""},
		{"version", "GET", "/version", "system.version", "", ""},
		{"df", "GET", "/system/df", "system.df", "", ""},
		{"distribution", "GET", "/distribution/alpine/json", "distribution.inspect", "alpine", ""},
		{"options any", "OPTIONS", "/anything/at/all", "options", "", ""},
		{"debug", "GET", "/debug/pprof/heap", "debug", "heap", ""},
		{"unknown path", "GET", "/v1.41/nothing", request.ActionUnknown, "", "1.41"},
		{"unknown method", "PATCH", "/containers/create", request.ActionUnknown, "", ""},
		{"get on post route", "GET", "/containers/create", request.ActionUnknown, "", ""},
		{"containers without slash", "GET", "/containers", request.ActionUnknown, "", ""},
		{"v without digits is a path", "GET", "/v/containers/json", request.ActionUnknown, "", ""},
		{"version lookalike", "GET", "/v1.41x/containers/json", request.ActionUnknown, "", ""},
		{"encoded slash in name", "POST", "/containers/a%2Fb/start", "container.start", "a/b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := request.Parse(tt.method, tt.uri, map[string]string{"Content-Length": "0"}, nil)
			if err != nil {
				if e, ok := request.AsError(err); !ok || e.Code != request.CodeBodyMissing {
					t.Fatalf("Parse(%s %s): %v", tt.method, tt.uri, err)
				}
			}
			if r.Action != tt.action || r.Target != tt.target || r.APIVersion != tt.version {
				t.Errorf("Parse(%s %s) = action %q target %q version %q, want %q %q %q",
					tt.method, tt.uri, r.Action, r.Target, r.APIVersion, tt.action, tt.target, tt.version)
			}
		})
	}
}

// TestActionsComplete checks the action list the policy loader validates
// names against.
func TestActionsComplete(t *testing.T) {
	seen := map[request.Action]bool{}
	for _, a := range request.Actions() {
		if seen[a] {
			t.Errorf("action %q listed twice", a)
		}
		seen[a] = true
	}
	for _, want := range []request.Action{"container.create", "image.import", "checkpoint.delete", "unknown", "plugin.disable", "grpc", "session", "commit"} {
		if !seen[want] {
			t.Errorf("Actions() lacks %q", want)
		}
	}
}
