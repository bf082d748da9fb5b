package policy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// TestControls checks spellings and path forms of the create controls
// against the shipped default policy (and web where noted).
func TestControls(t *testing.T) {
	s := loadExamples(t)
	hc := func(h map[string]any) map[string]any { return map[string]any{"Image": "busybox", "HostConfig": h} }
	cases := []struct {
		name  string
		user  string
		body  map[string]any
		rules []string // nil: allowed
	}{
		{"plain", "", hc(map[string]any{}), nil},
		{"cap sys_admin lower", "", hc(map[string]any{"CapAdd": []string{"sys_admin"}}), []string{"capabilities.add"}},
		{"cap Sys_Admin mixed", "", hc(map[string]any{"CapAdd": []string{"Sys_Admin"}}), []string{"capabilities.add"}},
		{"cap all", "", hc(map[string]any{"CapAdd": []string{"all"}}), []string{"capabilities.add"}},
		{"cap default set re-added", "", hc(map[string]any{"CapAdd": []string{"chown", "CAP_NET_RAW"}}), nil},
		{"seccomp colon", "", hc(map[string]any{"SecurityOpt": []string{"seccomp:unconfined"}}), []string{"security.seccomp"}},
		{"seccomp inline allow", "", hc(map[string]any{"SecurityOpt": []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}}), []string{"security.seccomp"}},
		{"seccomp inline mount", "", hc(map[string]any{"SecurityOpt": []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ALLOW"}]}`}}), []string{"security.seccomp"}},
		{"seccomp inline ok", "", hc(map[string]any{"SecurityOpt": []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`}}), nil},
		{"label colon disable", "", hc(map[string]any{"SecurityOpt": []string{"label:disable"}}), []string{"security.selinux"}},
		{"bare disable", "", hc(map[string]any{"SecurityOpt": []string{"disable"}}), []string{"security.selinux"}},
		{"label spc_t", "", hc(map[string]any{"SecurityOpt": []string{"label=type:spc_t"}}), []string{"security.selinux"}},
		{"nnp false", "", hc(map[string]any{"SecurityOpt": []string{"no-new-privileges=false"}}), []string{"security.no_new_privileges"}},
		{"nnp then false", "", hc(map[string]any{"SecurityOpt": []string{"no-new-privileges", "no-new-privileges:false"}}), []string{"security.no_new_privileges"}},
		{"nnp bare", "", hc(map[string]any{"SecurityOpt": []string{"no-new-privileges"}}), nil},
		{"writable cgroups", "", hc(map[string]any{"SecurityOpt": []string{"writable-cgroups=true"}}), []string{"security.writable_cgroups"}},
		{"systempaths unconfined", "", hc(map[string]any{"MaskedPaths": []string{}, "ReadonlyPaths": []string{}}), []string{"security.unmasked_paths"}},
		{"masked null", "", hc(map[string]any{"MaskedPaths": nil}), nil},
		{"pid container", "", hc(map[string]any{"PidMode": "container:abc"}), []string{"namespaces.container"}},
		{"cgroupns host", "", hc(map[string]any{"CgroupnsMode": "host"}), []string{"namespaces.host"}},
		{"cgroup of another container", "", hc(map[string]any{"Cgroup": "container:abc"}), []string{"namespaces.container"}},
		{"cgroup parent", "", hc(map[string]any{"CgroupParent": "/system.slice"}), []string{"container.cgroup_parent"}},
		{"bind etc dotdot", "", hc(map[string]any{"Binds": []string{"/srv/../etc:/x"}}), []string{"mounts.bind"}},
		{"bind etc child", "", hc(map[string]any{"Binds": []string{"/etc/ssl/:/x:ro"}}), []string{"mounts.bind"}},
		{"bind double slash socket", "", hc(map[string]any{"Binds": []string{"//run/./docker.sock:/s:ro"}}), []string{"mounts.bind", "mounts.docker_socket"}},
		{"bind var run parent", "", hc(map[string]any{"Binds": []string{"/var/run:/r"}}), []string{"mounts.bind", "mounts.docker_socket"}},
		{"bind var exposes", "", hc(map[string]any{"Binds": []string{"/var:/v"}}), []string{"mounts.bind"}},
		{"bind scratch ok", "", hc(map[string]any{"Binds": []string{"/srv/scratch/app:/app:ro"}}), nil},
		{"bind srv outside", "", hc(map[string]any{"Binds": []string{"/srv/app:/app:ro"}}), []string{"mounts.bind"}},
		{"bind tmp outside", "", hc(map[string]any{"Binds": []string{"/tmp/x:/x:ro"}}), []string{"mounts.bind"}},
		{"bind srvx outside", "", hc(map[string]any{"Binds": []string{"/srvx:/app"}}), []string{"mounts.bind"}},
		{"bind shared", "", hc(map[string]any{"Binds": []string{"/srv/scratch/a:/a:ro,rshared"}}), []string{"mounts.propagation"}},
		{"mount bind shared", "", hc(map[string]any{"Mounts": []map[string]any{{"Type": "bind", "Source": "/srv/scratch/x", "Target": "/x", "ReadOnly": true, "BindOptions": map[string]any{"Propagation": "shared"}}}}), []string{"mounts.propagation"}},
		{"mount volume device", "", hc(map[string]any{"Mounts": []map[string]any{{"Type": "volume", "Target": "/x", "VolumeOptions": map[string]any{"DriverConfig": map[string]any{"Name": "local", "Options": map[string]string{"device": "/dev/sda1", "type": "ext4"}}}}}}), []string{"mounts.volume_host_path"}},
		{"named volume and tmpfs", "", hc(map[string]any{"Binds": []string{"data:/data"}, "Tmpfs": map[string]string{"/run": ""}}), nil},
		{"volumes from", "", hc(map[string]any{"VolumesFrom": []string{"other"}}), []string{"mounts.volumes_from"}},
		{"device cgroup rule", "", hc(map[string]any{"DeviceCgroupRules": []string{"c 1:3 rwm"}}), []string{"devices.cgroup_rules"}},
		{"gpus", "", hc(map[string]any{"DeviceRequests": []map[string]any{{"Count": -1}}}), []string{"devices.requests"}},
		{"sysctl slash spelling", "", hc(map[string]any{"Sysctls": map[string]string{"net/ipv4/ip_forward": "1"}}), []string{"sysctls.sysctl"}},
		{"sysctl safe", "", hc(map[string]any{"Sysctls": map[string]string{"net.ipv4.tcp_syncookies": "1"}}), nil},
		{"syslog address", "", hc(map[string]any{"LogConfig": map[string]any{"Type": "syslog", "Config": map[string]string{"syslog-address": "udp://1.2.3.4:514"}}}), []string{"logging.syslog_address"}},
		{"oom kill disable", "", hc(map[string]any{"OomKillDisable": true}), []string{"resources.oom_kill_disable"}},
		{"pids -1", "", hc(map[string]any{"PidsLimit": -1}), []string{"resources.pids"}},
		{"user network", "", hc(map[string]any{"NetworkMode": "mynet"}), nil},
		{"endpoint host", "", map[string]any{"Image": "x", "NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{"host": map[string]any{}}}}, []string{"network.mode"}},
		{"web max memory", "web-dev1", map[string]any{"Image": "x", "User": "app", "Labels": map[string]string{"team": "web"}, "HostConfig": map[string]any{"CapDrop": []string{"ALL"}, "SecurityOpt": []string{"no-new-privileges"}, "ReadonlyRootfs": true, "Memory": 4 << 30, "PidsLimit": 10}}, []string{"resources.memory"}},
		{"web root 0:x", "web-dev1", map[string]any{"Image": "x", "User": "0:1000", "Labels": map[string]string{"team": "web"}, "HostConfig": map[string]any{"CapDrop": []string{"ALL"}, "SecurityOpt": []string{"no-new-privileges"}, "ReadonlyRootfs": true, "Memory": 1 << 30, "PidsLimit": 10}}, []string{"container.user"}},
		{"web wrong team label", "web-dev1", map[string]any{"Image": "x", "User": "app", "Labels": map[string]string{"team": "data"}, "HostConfig": map[string]any{"CapDrop": []string{"ALL"}, "SecurityOpt": []string{"no-new-privileges"}, "ReadonlyRootfs": true, "Memory": 1 << 30, "PidsLimit": 10}}, []string{"labels.required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(tc.body)
			id := request.Identity{User: tc.user}
			if tc.user == "web-dev1" {
				id.OrganizationalUnits = []string{"web"}
			}
			d := s.DecideRequest(id, "POST", "/v1.41/containers/create", map[string]string{"Content-Type": "application/json"}, body)
			checkRules(t, d, tc.rules)
		})
	}
}

func checkRules(t *testing.T, d policy.Decision, want []string) {
	t.Helper()
	var got []string
	for _, v := range d.Violations {
		if !slices.Contains(got, v.Rule) {
			got = append(got, v.Rule)
		}
	}
	if !slices.Equal(got, want) || d.Allow != (want == nil) {
		t.Errorf("rules %v allow %v, want %v: %s", got, d.Allow, want, d.Message())
	}
}

func TestAuditMode(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "default.hcl", `policy "default" {
  mode = "audit"
  actions { allow = ["container.create"] }
}`)
	s, _, diags := policy.LoadDir(dir)
	if s == nil {
		t.Fatal(diags)
	}
	d := s.DecideRequest(request.Identity{}, "POST", "/containers/create", map[string]string{"Content-Type": "application/json"}, []byte(`{"Image":"x","HostConfig":{"Privileged":true}}`))
	if !d.Allow || !d.WouldDeny() || d.Mode != "audit" {
		t.Fatalf("audit: %+v", d)
	}
	d = s.DecideRequest(request.Identity{}, "POST", "/containers/create", map[string]string{"Content-Type": "application/json"}, []byte(`{"Image":`))
	if d.Allow {
		t.Fatal("an unparseable body was allowed in audit mode")
	}
}

func TestResolverErrorDenies(t *testing.T) {
	s, _, _ := policy.LoadDir("../../examples/policies", policy.WithPathResolver(func(p string) (string, error) {
		if p == "/srv/link" {
			return "/etc", nil
		}
		return "", errNotFound
	}))
	body := []byte(`{"Image":"x","HostConfig":{"Binds":["/srv/link:/x"]}}`)
	d := s.DecideRequest(request.Identity{}, "POST", "/containers/create", map[string]string{"Content-Type": "application/json"}, body)
	checkRules(t, d, []string{"mounts.bind"})
	body = []byte(`{"Image":"x","HostConfig":{"Binds":["/srv/gone:/x"]}}`)
	d = s.DecideRequest(request.Identity{}, "POST", "/containers/create", map[string]string{"Content-Type": "application/json"}, body)
	checkRules(t, d, []string{"mounts.unresolvable"})
}

var errNotFound = &notFound{}

type notFound struct{}

func (*notFound) Error() string { return "no such file or directory" }

func writeFile(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}
