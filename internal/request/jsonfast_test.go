package request

import (
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/test/corpus"
)

// bodyActions are the actions whose bodies decodeBody decodes.
var bodyActions = []Action{
	"container.create", "commit", "container.exec", "exec.start", "container.update",
	"checkpoint.create", "volume.create", "volume.update", "network.create",
	"network.connect", "network.disconnect", "service.create", "swarm.init",
	"swarm.join", "swarm.update", "swarm.unlock", "node.update", "secret.create",
	"config.create", "plugin.pull", "plugin.set",
}

// decodeBoth decodes body for action with jsonfast on and off and fails on
// any difference in result or in whether it was an error.
func decodeBoth(t *testing.T, action Action, body []byte) {
	t.Helper()
	fast, slow := &Request{Action: action}, &Request{Action: action}
	errFast := decodeBody(fast, body)
	fastJSON = false
	errSlow := decodeBody(slow, body)
	fastJSON = true
	if (errFast == nil) != (errSlow == nil) {
		t.Fatalf("%s %q: with jsonfast %v, without %v", action, body, errFast, errSlow)
	}
	if errFast == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s %q: with jsonfast\n%+v\nwithout\n%+v", action, body, fast, slow)
	}
}

// Every recorded body, under every action: jsonfast on or off, the
// request decodes the same.
func TestDecodeBodyJSONFast(t *testing.T) {
	entries := corpus.ForTest(t)
	bodies := [][]byte{
		[]byte(`{"Image":"bb","HostConfig":{"Privileged":true},"Privileged":true}`),
		[]byte(`{"Image":"bb","privileged":true,"hostconfig":{"privileged":true}}`),
		[]byte(`{"Image":"bb","HostConfig":{"Binds":["/:/h"]},"HostConfig":{"CapAdd":["ALL"]}}`),
		[]byte("{\"Image\":\"bb\",\"HostConfig\":{\"Pr\u0131vileged\":true}}"),
		[]byte(`{"Image":"bb","HostConfig":null}`),
		[]byte(`null`),
		[]byte(`[{"Name":"network","Value":["host"]}]`),
	}
	for _, e := range entries {
		if b := e.BodyBytes(); b != nil {
			bodies = append(bodies, b)
		}
	}
	for _, body := range bodies {
		for _, a := range bodyActions {
			decodeBoth(t, a, body)
		}
	}
}

func FuzzDecodeBodyJSONFast(f *testing.F) {
	f.Add(uint8(0), []byte(`{"Image":"bb","Cmd":["sh"],"HostConfig":{"Privileged":true,"Binds":["/:/h"],"Mounts":[{"Type":"bind","Source":"/"}]}}`))
	f.Add(uint8(0), []byte(`{"Image":"bb","Privileged":true}`))
	f.Add(uint8(2), []byte(`{"User":"0:0","Privileged":true,"Cmd":["sh"],"Env":["A=b"]}`))
	f.Add(uint8(11), []byte(`{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"Type":"bind","Source":"/"}],"Privileges":{"NoNewPrivileges":false}}}}`))
	f.Add(uint8(19), []byte(`[{"Name":"network","Value":["host"]}]`))
	if entries, err := corpus.Load(""); err == nil {
		for _, e := range entries {
			if b := e.BodyBytes(); b != nil {
				f.Add(uint8(0), b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		decodeBoth(t, bodyActions[int(which)%len(bodyActions)], body)
	})
}
