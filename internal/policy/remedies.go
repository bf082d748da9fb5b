package policy

import (
	"strings"

	"github.com/portcullis/portcullis/internal/request"
)

// remedies says, for each rule id, what the person who sent the request
// can change: the docker flag or request field to add, remove or change.
// It is the one table of them (TestEveryRuleHasARemedy fails for a rule
// id the checks use that is missing here), kept apart from the checks so
// that a check's reason says what was refused and this says what to do.
// Custom rules (rule.*) carry their own message instead.
var remedies = map[string]string{
	"actions.denied":      "this action is not in your policy's actions.allow; ask the policy's owners",
	"actions.read_only":   "your policy allows reading only; ask the policy's owners for write access",
	"build.network_mode":  "build with the default network: remove --network from docker build",
	"build.cgroup_parent": "remove --cgroup-parent from docker build",
	"build.remote":        "build from a local context (docker build DIR) instead of a URL, or ask for the URL in build.remote_contexts",

	"capabilities.add":  "remove that --cap-add (keep --cap-add to the allowed set)",
	"capabilities.drop": "add --cap-drop ALL (then --cap-add only what the process needs)",

	"container.cgroup_parent":    "remove --cgroup-parent",
	"container.privileged":       "remove --privileged; add the one --cap-add or --device the container needs instead",
	"container.read_only_rootfs": "add --read-only (and --tmpfs /tmp for scratch space)",
	"container.runtime":          "remove --runtime, or use runc",
	"container.user":             "add --user UID:GID with a non-root uid (e.g. --user \"$(id -u):$(id -g)\")",

	"devices.cgroup_rules": "remove --device-cgroup-rule",
	"devices.device":       "remove that --device",
	"devices.requests":     "remove --gpus (and --device-request)",

	"exec.command":    "run one of the commands your policy lists in exec.commands",
	"exec.privileged": "remove --privileged from docker exec",
	"exec.root":       "add --user UID to docker exec with a non-root uid",

	"ownership.label":   "services, secrets, configs and swarm networks carry their owner in a label every swarm manager reads: add the --label the message names (your team, or your user if you are in no team) and keep it on updates",
	"ownership.other":   "act on objects your team created; ask the owning team, or an administrator (the admin team), to do it",
	"ownership.prune":   "remove your own objects by name (docker rm/volume rm/network rm NAME) instead of pruning, or ask an administrator to prune",
	"ownership.unowned": "Portcullis does not know who owns this object (created before it ran, or the name or id prefix is ambiguous): name it by its full id, or ask an administrator",

	"container.annotations":    "remove that --annotation",
	"container.links":          "remove --link; put both containers on one user-defined network and use the container's name",
	"fetch.address":            "fetch from a public address, or ask the policy's owners to list the host in images.fetch_hosts",
	"network.config_from":      "remove --config-from; create the network with its own options",
	"network.endpoint_options": "remove the endpoint's driver options and sysctls (--network name=...,driver-opt=...)",
	"network.options":          "remove that network option (-o/--opt), or ask for it in networks.options",
	"resources.oom_score_adj":  "remove --oom-score-adj (or give it a value of 0 or more)",
	ruleServiceRollback:        "update the service with the spec you want instead of --rollback, or ask the policy's owners to allow service.rollback",

	"checkpoint.dir": "leave out --checkpoint-dir (and the dir parameter): checkpoints stay in the daemon's directory for the container",

	"identity.ambiguous": "your identity matches two teams; ask the policy's owners to make team membership unambiguous",

	"images.digest":   "pin the image by digest: IMAGE@sha256:...",
	"images.id":       "name the image by repository and tag or digest, not by id",
	"images.latest":   "name a tag other than latest (IMAGE:1.2.3) or a digest",
	"images.registry": "use an image from a registry your policy lists in images.allow",

	"labels.required": "add the label: --label KEY=VALUE",

	"logging.driver":         "change --log-driver to one your policy allows (json-file, local)",
	"logging.options":        "add or remove that --log-opt KEY=VALUE",
	"logging.syslog_address": "remove --log-opt syslog-address, or use an address your policy lists",

	"mounts.bind":             "bind a path below your policy's bind_allow, or use a named volume: -v NAME:/path",
	"mounts.docker_socket":    "remove that -v/--mount: access to the daemon's, containerd's or Portcullis's socket is root on the host",
	"mounts.invalid":          "write the mount as -v /host/path:/container/path[:ro] or --mount type=bind,source=...,target=...",
	"mounts.propagation":      "remove shared/rshared from the mount (use the default, rprivate)",
	"mounts.read_only":        "mount it read-only: add :ro to -v (-v /host/path:/path:ro) or readonly to --mount",
	"mounts.root_writable":    "mount it read-only (-v /host/path:/path:ro or --mount ...,readonly), or run as a non-root user that cannot become root: --user \"$(id -u):$(id -g)\" --security-opt no-new-privileges",
	"mounts.socket":           "remove that -v/--mount of a socket, or ask the policy's owners to name it in bind_sockets",
	"mounts.tmpfs":            "remove --tmpfs (and --mount type=tmpfs)",
	"mounts.unresolvable":     "bind a path that exists and that Portcullis can read, without symlink loops",
	"mounts.volume_driver":    "use the local volume driver: remove --volume-driver (or driver= in --mount)",
	"mounts.volume_host_path": "use a plain named volume: remove the type/o/device volume options",
	"mounts.volumes_from":     "remove --volumes-from; mount the named volumes themselves with -v NAME:/path",

	"namespaces.container": "remove --pid/--ipc/--uts/--userns/--cgroupns container:NAME",
	"namespaces.host":      "remove --pid/--ipc/--uts/--userns/--cgroupns host",

	"network.driver": "use an allowed network driver: docker network create -d bridge",
	"network.mode":   "remove --network host (or container:NAME); use a user-defined network: --network NAME",

	"ports.host_ip":     "publish on an allowed address: -p 127.0.0.1:8080:80",
	"ports.privileged":  "publish on a host port of 1024 or above: -p 8080:80",
	"ports.invalid":     "write the host port as a number or a range: -p 8080:80, -p 8000-8010:80",
	"ports.publish_all": "replace -P with -p HOSTPORT:CONTAINERPORT for the ports you need",

	"resources.cpu":              "add --cpus N within your policy's maximum",
	"resources.memory":           "add --memory SIZE within your policy's maximum (e.g. --memory 512m)",
	"resources.oom_kill_disable": "remove --oom-kill-disable",
	"resources.pids":             "add --pids-limit N within your policy's maximum (e.g. --pids-limit 512)",
	"resources.ulimits":          "remove that --ulimit or lower it to the policy's maximum",

	"restart.max_retries": "lower the retries: --restart on-failure:N",
	"restart.policy":      "change --restart to one your policy allows",

	"security.apparmor":          "remove --security-opt apparmor=... (keep the default profile)",
	"security.invalid":           "write the option as --security-opt KEY=VALUE (no-new-privileges, seccomp=..., apparmor=..., label=...)",
	"security.no_new_privileges": "add --security-opt no-new-privileges (and remove no-new-privileges=false)",
	"security.seccomp":           "remove --security-opt seccomp=... (keep the default profile)",
	"security.selinux":           "remove --security-opt label=disable (or label=type:...)",
	"security.unmasked_paths":    "remove --security-opt systempaths=unconfined",
	"security.writable_cgroups":  "remove --security-opt writable-cgroups",

	"service.plugin": "create a container service, not a plugin task (--mode/--runtime plugin)",

	"sysctls.sysctl": "remove that --sysctl",

	"volume.driver":    "use the local driver: docker volume create without -d (or -d local)",
	"volume.host_path": "create a plain named volume: remove --opt type/o/device",
}

// actionRemedies override remedies["actions.denied"] for the actions
// whose denial has a reason of its own, by action glob.
var actionRemedies = []struct{ glob, remedy string }{
	{string(request.ActionContainerArchivePut), "docker cp into a container is off: the daemon writes the files as root, setuid bits kept, through the container's writable binds too; pipe a file in as the container's user instead: docker exec -i CONTAINER sh -c 'cat > /path' < FILE"},
	{"plugin.*", "self-protection: plugins run as root on the host and Portcullis itself is one, so plugin actions are denied unless a team's policy allows plugin.*; ask the host's administrators"},
	{string(request.ActionImageBuild), "builds are off for your team; ask the policy's owners for build { allow = true } (see docs/policy.md, builds)"},
	{string(request.ActionGrpc), "BuildKit builds are off for your team; ask the policy's owners for build { allow = true } (see docs/policy.md, builds)"},
	{string(request.ActionSession), "BuildKit builds are off for your team; ask the policy's owners for build { allow = true } (see docs/policy.md, builds)"},
}

// remedyFor is the remedy for a violation of rule by a request of action.
func remedyFor(rule, action string) string {
	if rule == "actions.denied" {
		for _, a := range actionRemedies {
			if globMatch(a.glob, action) {
				return a.remedy
			}
		}
	}
	if r, ok := remedies[rule]; ok {
		return r
	}
	if strings.HasPrefix(rule, "request.") {
		return "send the request as the docker CLI does; Portcullis denies what it cannot judge"
	}
	return ""
}
