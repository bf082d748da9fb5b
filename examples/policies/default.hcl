# The secure baseline: the policy for every user in no team and for
# unauthenticated requests. Team policies extend it and state only their
# differences. See docs/policy.md for every attribute and its default;
# anything not written here takes the built-in (secure) default.

policy "default" {
  mode        = "enforce"
  description = "Baseline for users without a team"

  actions {
    # Actions no policy in the chain mentions are denied.
    allow = [
      "system.*",             # ping, version, info, events, df, POST /auth
      "options",
      "container.*",          # includes docker cp both ways (archive get/head/put), export, update, prune
      "exec.*",
      "image.*",              # pull, import, load, tag, push, rmi, history, inspect, save, prune
      "volume.*",
      "network.*",
      "distribution.inspect",
      "commit",
      "swarm.inspect",
      "service.*",            # judged by the same container rules as container.create
      "task.*",
      "node.list",
      "node.inspect",
      "secret.*",
      "config.*",
      "plugin.list",          # read-only: listing and inspecting plugins changes nothing
      "plugin.inspect",
    ]
    deny = [
      # The plugin cannot see a Dockerfile, the build context, nor the
      # form-encoded build arguments, so it cannot judge what a build runs
      # (RUN steps run with the builder's privileges, --network=host, ...).
      # Builds are therefore denied by default; teams can be allowed them.
      "image.build",
      "grpc",                 # BuildKit's gRPC hijack: a build by another door
      "session",              # BuildKit session hijack
      # Plugins run as root on the host, and Portcullis is one: everything
      # that installs, changes or removes a plugin is denied (see the
      # plugin_protect rule for the message). plugin.privileges makes the
      # daemon contact the registry the request names.
      "plugin.privileges", "plugin.remove", "plugin.enable", "plugin.disable", "plugin.pull",
      "plugin.push", "plugin.upgrade", "plugin.set", "plugin.create",
      # A rollback applies the service's previous spec, which is not in the
      # request; the plugin cannot judge it (also automatic rollbacks:
      # UpdateConfig.FailureAction = "rollback").
      "service.rollback",
      "swarm.init",
      "swarm.join",
      "swarm.leave",
      "swarm.update",
      "swarm.unlock",
      "swarm.unlockkey",
      "node.update",
      "node.remove",
      "checkpoint.*",
      "debug",
      "unknown",
    ]
  }

  container {
    privileged = false

    # Docker's default capability set may be re-added (a no-op), nothing else.
    cap_add = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
               "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]

    seccomp_unconfined  = false
    apparmor_unconfined = false
    selinux_disable     = false
    writable_cgroups    = false
    unmasked_paths      = false

    host_namespaces      = []
    container_namespaces = []
    cgroup_parents       = []

    # Host paths: only below /srv and /tmp, never the sensitive ones nor
    # the Docker socket (in any spelling; /var/run is read as /run).
    bind_allow = ["/srv", "/tmp"]
    bind_deny  = ["/", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                  "/sbin", "/bin", "/sys", "/usr", "/var/lib/docker", "/var/lib/containerd", "/var/run"]
    shared_propagation = false
    volume_host_paths  = false
    volumes_from       = false
    tmpfs              = true

    devices             = []
    device_cgroup_rules = false
    device_requests     = false

    networks = ["*", "!host", "!container:*"]

    log_drivers      = ["json-file", "local", "syslog", "journald"]
    syslog_addresses = []

    oom_kill_disable = false
    unlimited_pids   = false
  }

  exec {
    privileged      = false
    allow_root_user = false
  }

  volumes {
    drivers    = ["local"]
    host_paths = false
  }

  networks {
    drivers = ["bridge", "overlay"]
  }

  # Self-protection for a legacy Portcullis run as a container named
  # "portcullis": nobody stops, changes or enters it through the API. (The
  # managed plugin is protected by denying every plugin.* action above.)
  # Requests name the container as typed, so this guards the name; its id
  # is not known to the policy.
  rule "self_protect" {
    actions = [
      "container.stop", "container.kill", "container.remove", "container.restart", "container.pause",
      "container.rename", "container.update", "container.exec", "container.archive.put",
      "container.attach", "container.attach.ws",
    ]
    when    = contains(["portcullis", "/portcullis"], request.target)
    message = "the container \"portcullis\" is the authorization plugin itself; stop or change it on the host, not through the Docker API"
  }

  # Self-protection for the managed plugin: say why plugin changes are
  # denied (listing and inspecting stay allowed).
  rule "plugin_protect" {
    actions = ["plugin.privileges", "plugin.remove", "plugin.enable", "plugin.disable", "plugin.pull",
               "plugin.push", "plugin.upgrade", "plugin.set", "plugin.create"]
    when    = true
    message = "plugins run as root on the host and Portcullis itself is a plugin; install, change or remove plugins on the host as an administrator, not through the Docker API"
  }
}
