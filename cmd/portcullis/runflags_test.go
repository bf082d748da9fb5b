package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestParseRun checks the docker run flags eval reads against the request
// body the Docker CLI sends for them.
func TestParseRun(t *testing.T) {
	cases := []struct {
		name string
		args string
		want map[string]any // JSON paths (dot-separated) to values
		err  string
	}{
		{"image only", "busybox", map[string]any{"Image": "busybox", "HostConfig.NetworkMode": "default"}, ""},
		{"command after the image", "-it --rm busybox sh -c -v", map[string]any{"Image": "busybox", "Cmd": []any{"sh", "-c", "-v"}, "Tty": true, "OpenStdin": true, "HostConfig.AutoRemove": true}, ""},
		{"-v both forms and relative", "-v /srv/a:/a --volume=/srv/b:/b:ro -v .:/app busybox", map[string]any{"HostConfig.Binds": []any{"/srv/a:/a", "/srv/b:/b:ro", "/home/u/proj:/app"}}, ""},
		{"-v ./sub", "-v ./src:/src busybox", map[string]any{"HostConfig.Binds": []any{"/home/u/proj/src:/src"}}, ""},
		{"named volume kept", "-v data:/data busybox", map[string]any{"HostConfig.Binds": []any{"data:/data"}}, ""},
		{"--mount bind readonly", "--mount type=bind,source=/srv/x,target=/x,readonly busybox", map[string]any{"HostConfig.Mounts": []any{map[string]any{"Type": "bind", "Source": "/srv/x", "Target": "/x", "ReadOnly": true}}}, ""},
		{"--mount bind-recursive=writable", "--mount type=bind,src=/srv/x,dst=/x,ro=true,bind-recursive=writable busybox", map[string]any{"HostConfig.Mounts": []any{map[string]any{"Type": "bind", "Source": "/srv/x", "Target": "/x", "ReadOnly": true, "BindOptions": map[string]any{"ReadOnlyNonRecursive": true}}}}, ""},
		{"--mount volume with bind options", "--mount type=volume,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/srv/x busybox", map[string]any{"HostConfig.Mounts": []any{map[string]any{"Type": "volume", "Target": "/x", "VolumeOptions": map[string]any{"DriverConfig": map[string]any{"Options": map[string]any{"type": "none", "o": "bind", "device": "/srv/x"}}}}}}, ""},
		{"user and security options", "-u 1000:1000 --security-opt no-new-privileges --cap-drop ALL --cap-add NET_BIND_SERVICE busybox", map[string]any{"User": "1000:1000", "HostConfig.SecurityOpt": []any{"no-new-privileges"}, "HostConfig.CapDrop": []any{"ALL"}, "HostConfig.CapAdd": []any{"NET_BIND_SERVICE"}}, ""},
		{"attached short value", "-uroot -p127.0.0.1:8080:80 busybox", map[string]any{"User": "root", "HostConfig.PortBindings": map[string]any{"80/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": "8080"}}}}, ""},
		{"privileged=false", "--privileged=false busybox", map[string]any{"HostConfig.Privileged": false}, ""},
		{"namespaces and network", "--pid host --net=host --userns host --cgroup-parent /x busybox", map[string]any{"HostConfig.PidMode": "host", "HostConfig.NetworkMode": "host", "HostConfig.UsernsMode": "host", "HostConfig.CgroupParent": "/x"}, ""},
		{"limits", "-m 512m --cpus 1.5 --pids-limit 100 busybox", map[string]any{"HostConfig.Memory": float64(512 << 20), "HostConfig.NanoCpus": float64(1.5e9), "HostConfig.PidsLimit": float64(100)}, ""},
		{"device", "--device /dev/fuse busybox", map[string]any{"HostConfig.Devices": []any{map[string]any{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}}}, ""},
		{"labels and env", "-l team=web -e A=1 --label x busybox", map[string]any{"Labels": map[string]any{"team": "web", "x": ""}, "Env": []any{"A=1"}}, ""},
		{"-- ends the flags", "-d -- busybox", map[string]any{"Image": "busybox"}, ""},
		{"unknown long flag", "--frobnicate busybox", nil, "unknown flag --frobnicate"},
		{"unknown short flag", "-Z busybox", nil, "unknown flag -Z"},
		{"missing value", "busybox -v", map[string]any{"Cmd": []any{"-v"}}, ""},
		{"flag without its value", "-v", nil, "needs a value"},
		{"no image", "-d", nil, "no image"},
		{"bad --mount key", "--mount type=bind,sorce=/x,target=/y busybox", nil, "unknown --mount key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := parseRun(strings.Fields(c.args), "/home/u/proj")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, body, err := createRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			for path, want := range c.want {
				var v any = got
				for _, k := range strings.Split(path, ".") {
					m, _ := v.(map[string]any)
					v = m[k]
				}
				if !reflect.DeepEqual(v, want) {
					t.Errorf("%s = %#v, want %#v", path, v, want)
				}
			}
		})
	}
}

// FuzzParseRun: any command line either fails to parse or becomes a body
// that encodes, names the image given, and keeps every -v it was given.
func FuzzParseRun(f *testing.F) {
	f.Add("-v\x00/srv/a:/a\x00busybox")
	f.Add("-itv\x00/x:/y\x00--mount\x00type=bind,src=/a,dst=/b\x00img\x00sh")
	f.Add("-p\x00[::1]:80:80/udp\x00--privileged=maybe\x00x")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		b, err := parseRun(args, "/cwd")
		if err != nil {
			return
		}
		if b.Image == "" && !contains(args, "") {
			t.Fatalf("no image from %q", args)
		}
		if _, _, err := createRequest(b); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
