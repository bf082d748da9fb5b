package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// controlCases: per declared container control, a request whose decision
// changes when the control changes. base is written in both policies'
// container blocks, set only in the second; the control's rule must
// appear in exactly one of the two decisions.
var controlCases = []struct {
	base, set string
	body      string // a container create body
}{
	{"", `privileged = true`, `{"Image":"x","HostConfig":{"Privileged":true}}`},
	{"", `cap_add = ["SYS_PTRACE"]`, `{"Image":"x","HostConfig":{"CapAdd":["sys_ptrace"]}}`},
	{"", `cap_drop_required = ["NET_RAW"]`, `{"Image":"x","HostConfig":{"CapDrop":["CHOWN"]}}`},
	{"", `seccomp_unconfined = true`, `{"Image":"x","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}`},
	{"", `seccomp_custom = false`, `{"Image":"x","HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"]}}`},
	// mount is allowed by Docker's default profile with CAP_SYS_ADMIN,
	// and dangerous by default.
	{"", `seccomp_dangerous_syscalls = []`, `{"Image":"x","HostConfig":{"CapAdd":["SYS_ADMIN"],"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"]}}`},
	{"", `seccomp_allowed_syscalls = ["acct"]`, `{"Image":"x","HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"acct\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"]}}`},
	{"", `apparmor_unconfined = true`, `{"Image":"x","HostConfig":{"SecurityOpt":["apparmor=unconfined"]}}`},
	{"", `apparmor_profiles = ["custom"]`, `{"Image":"x","HostConfig":{"SecurityOpt":["apparmor=custom"]}}`},
	{"", `selinux_disable = true`, `{"Image":"x","HostConfig":{"SecurityOpt":["label=disable"]}}`},
	{"", `selinux_types = ["spc_t"]`, `{"Image":"x","HostConfig":{"SecurityOpt":["label=type:spc_t"]}}`},
	{"", `selinux_labels = true`, `{"Image":"x","HostConfig":{"SecurityOpt":["label=level:s0"]}}`},
	{"", `require_no_new_privileges = true`, `{"Image":"x"}`},
	{"", `writable_cgroups = true`, `{"Image":"x","HostConfig":{"SecurityOpt":["writable-cgroups=true"]}}`},
	{"", `unmasked_paths = true`, `{"Image":"x","HostConfig":{"MaskedPaths":[]}}`},
	{"", `host_namespaces = ["pid"]`, `{"Image":"x","HostConfig":{"PidMode":"host"}}`},
	{"", `container_namespaces = ["ipc"]`, `{"Image":"x","HostConfig":{"IpcMode":"container:abc"}}`},
	{"", `cgroup_parents = ["/x"]`, `{"Image":"x","HostConfig":{"CgroupParent":"/x"}}`},
	{"", `allow_root_user = false`, `{"Image":"x","User":"root"}`},
	{`allow_root_user = false`, `empty_user_is_root = true`, `{"Image":"x"}`},
	{"", `require_read_only_rootfs = true`, `{"Image":"x"}`},
	{"", `bind_allow = ["/srv"]`, `{"Image":"x","HostConfig":{"Binds":["/srv/x:/x:ro"]}}`},
	{`bind_allow = ["/srv"]`, `bind_deny = ["/srv/secret"]`, `{"Image":"x","HostConfig":{"Binds":["/srv/secret:/x:ro"]}}`},
	{`bind_allow = ["/srv"]`, `docker_sockets = ["/srv/d.sock"]`, `{"Image":"x","HostConfig":{"Binds":["/srv/d.sock:/s:ro"]}}`},
	{`bind_allow = ["/srv"]`, `bind_sockets = ["/srv/pulse.sock"]`, `{"Image":"x","HostConfig":{"Binds":["/srv/pulse.sock:/s:ro"]}}`},
	{`bind_allow = ["/srv"]`, `root_writable_binds = true`, `{"Image":"x","HostConfig":{"Binds":["/srv/x:/x"]}}`},
	{`bind_allow = ["/srv"]`, `bind_read_only = true`, `{"Image":"x","HostConfig":{"Binds":["/srv/x:/x"]}}`},
	{`bind_allow = ["/srv"]`, `shared_propagation = true`, `{"Image":"x","HostConfig":{"Binds":["/srv/x:/x:ro,rshared"]}}`},
	{"", `volume_drivers = ["nfsplugin"]`, `{"Image":"x","HostConfig":{"VolumeDriver":"nfsplugin"}}`},
	{"", `volume_host_paths = true`, `{"Image":"x","HostConfig":{"Mounts":[{"Type":"volume","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/srv/x"}}}}]}}`},
	{"", `volumes_from = true`, `{"Image":"x","HostConfig":{"VolumesFrom":["other"]}}`},
	{"", `links = true`, `{"Image":"x","HostConfig":{"Links":["a:b"]}}`},
	{"", `annotations = ["com.example.*"]`, `{"Image":"x","HostConfig":{"Annotations":{"com.example.x":"1"}}}`},
	{"", `tmpfs = false`, `{"Image":"x","HostConfig":{"Tmpfs":{"/run":""}}}`},
	{"", `devices = ["/dev/fuse"]`, `{"Image":"x","HostConfig":{"Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}]}}`},
	{"", `device_cgroup_rules = true`, `{"Image":"x","HostConfig":{"DeviceCgroupRules":["c 1:3 rwm"]}}`},
	{"", `device_requests = true`, `{"Image":"x","HostConfig":{"DeviceRequests":[{"Count":-1}]}}`},
	{"", `networks = ["*"]`, `{"Image":"x","HostConfig":{"NetworkMode":"host"}}`},
	{"", `privileged_host_ports = false`, `{"Image":"x","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80"}]}}}`},
	{"", `require_host_ip = true`, `{"Image":"x","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}`},
	{"", `host_ips = ["127.0.0.1"]`, `{"Image":"x","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}}}`},
	{"", `publish_all_ports = false`, `{"Image":"x","HostConfig":{"PublishAllPorts":true}}`},
	{"", `endpoint_options = []`, `{"Image":"x","NetworkingConfig":{"EndpointsConfig":{"mynet":{"DriverOpts":{"com.docker.network.endpoint.ifname":"x"}}}}}`},
	{"", `log_drivers = ["json-file"]`, `{"Image":"x","HostConfig":{"LogConfig":{"Type":"syslog"}}}`},
	{"", `log_options_required = { "json-file" = ["max-size"] }`, `{"Image":"x","HostConfig":{"LogConfig":{"Type":"json-file"}}}`},
	{"", `log_options_denied = { "json-file" = ["max-file"] }`, `{"Image":"x","HostConfig":{"LogConfig":{"Type":"json-file","Config":{"max-file":"3"}}}}`},
	{"", `syslog_addresses = ["udp://1.2.3.4:514"]`, `{"Image":"x","HostConfig":{"LogConfig":{"Type":"syslog","Config":{"syslog-address":"udp://1.2.3.4:514"}}}}`},
	{"", `require_memory_limit = true`, `{"Image":"x"}`},
	{"", `memory_max = "1g"`, `{"Image":"x","HostConfig":{"Memory":2147483648}}`},
	{"", `require_cpu_limit = true`, `{"Image":"x"}`},
	{"", `cpus_max = 1`, `{"Image":"x","HostConfig":{"NanoCpus":2000000000}}`},
	{"", `require_pids_limit = true`, `{"Image":"x"}`},
	{"", `pids_max = 100`, `{"Image":"x","HostConfig":{"PidsLimit":200}}`},
	{"", `oom_kill_disable = true`, `{"Image":"x","HostConfig":{"OomKillDisable":true}}`},
	{"", `oom_score_adj_min = -500`, `{"Image":"x","HostConfig":{"OomScoreAdj":-100}}`},
	{"", `unlimited_pids = true`, `{"Image":"x","HostConfig":{"PidsLimit":-1}}`},
	{"", `ulimits_max = { nofile = 100 }`, `{"Image":"x","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1000,"Hard":1000}]}}`},
	{"", `sysctls = ["net.ipv4.ip_forward"]`, `{"Image":"x","HostConfig":{"Sysctls":{"net/ipv4/ip_forward":"1"}}}`},
	{"", `runtimes = ["kata"]`, `{"Image":"x","HostConfig":{"Runtime":"kata"}}`},
	{"", `required_labels = { team = "*" }`, `{"Image":"x"}`},
	{"", `restart_policies = ["no"]`, `{"Image":"x","HostConfig":{"RestartPolicy":{"Name":"always"}}}`},
	{"", `restart_max_retries = 3`, `{"Image":"x","HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":5}}}`},
}

// TestEveryControlDecides: every declared container control has a case,
// and in it the decision changes with the control, by the control's rule.
func TestEveryControlDecides(t *testing.T) {
	names, rules := policy.ControlRules()
	covered := map[string]bool{}
	for _, tc := range controlCases {
		name := attrName(tc.set)
		covered[name] = true
		rule, ok := rules[name]
		if !ok {
			t.Errorf("case %q sets %q, which is not a declared control", tc.set, name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			without := decideWith(t, tc.base, tc.body)
			with := decideWith(t, tc.base+"\n"+tc.set, tc.body)
			if slices.Contains(without, rule) == slices.Contains(with, rule) {
				t.Errorf("%s: rule %s in neither or both decisions: rules %v without, %v with", tc.set, rule, without, with)
			}
		})
	}
	for _, n := range names {
		if !covered[n] {
			t.Errorf("control %s has no case in controlCases: add a request whose decision changes with it", n)
		}
	}
}

// attrName is the attribute an HCL assignment sets.
func attrName(set string) string {
	for i := 0; i < len(set); i++ {
		if set[i] == ' ' || set[i] == '=' {
			return set[:i]
		}
	}
	return set
}

// decideWith judges a container create body with a default policy whose
// container block is container.
func decideWith(t *testing.T, container, body string) []string {
	t.Helper()
	dir := t.TempDir()
	src := "policy \"default\" {\n  actions { allow = [\"container.create\"] }\n  container {\n" + container + "\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "default.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, files, diags := policy.LoadDir(dir, policy.WithSocketCheck(func(p string) (bool, error) { return p == "/srv/pulse.sock", nil }))
	if s == nil {
		policy.WriteDiagnostics(os.Stderr, files, diags)
		t.Fatalf("does not load:\n%s", src)
	}
	d := s.DecideRequest(request.Identity{}, "POST", "/v1.47/containers/create", map[string]string{"Content-Type": "application/json"}, []byte(body))
	var out []string
	for _, v := range d.Violations {
		out = append(out, v.Rule)
	}
	return out
}
