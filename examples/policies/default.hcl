# The secure baseline: the policy for every user in no team and for
# unauthenticated requests. Team policies extend it and state only their
# differences. See docs/policy.md for every attribute and its default;
# anything not written here takes the built-in (secure) default.

policy "default" {
  mode        = "enforce"
  description = "Baseline for users without a team"
  # Appended to every denial: say where people get help on this host.
  help        = "policies live in /etc/portcullis/policies; ask the Docker host's administrators for changes"

  actions {
    # Actions no policy in the chain mentions are denied.
    allow = [
      "system.*",             # ping, version, info, events, df, POST /auth
      "options",
      "container.*",          # includes docker cp out of containers (archive get/head), export, update, prune
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
      # Builds are off by default. The daemon forwards neither the build
      # context nor the Dockerfile to authorization plugins, so what a
      # build runs (RUN steps, as root, with the builder's network and
      # BuildKit's entitlements) cannot be judged; only the classic
      # builder's query (network mode, cgroup parent, remote context) can.
      # A team that may build gets one line in its policy:
      #   build { allow = true }
      # See docs/policy.md (builds) for what bounds a build instead.
      "image.build",
      "grpc",                 # BuildKit's gRPC hijack: a build by another door
      "session",              # BuildKit session hijack
      # docker cp INTO a container: the daemon extracts the archive as
      # root, keeping setuid bits, through the container's writable binds
      # too: a setuid-root program on the host. (Copying out is allowed.)
      "container.archive.put",
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

    # Host paths: only the caller's own roots, never a directory every
    # user shares (/tmp, all of /srv), never the sensitive ones nor the
    # Docker socket (in any spelling; /var/run is read as /run), nor any
    # socket the daemons on the host listen on or any other Unix socket
    # (bind_sockets names the ones a team may have). A container that may
    # run as root gets them read-only only (root_writable_binds).
    #   /home/$user   the caller's own home ($user is the TLS certificate's
    #                 CN or the gateway's Unix user), so that
    #                 -v "$PWD":/app works in a project there;
    #   /srv/$team    the caller's team's directory (teams extending this
    #                 policy inherit it; in no team there is none);
    #   /srv/scratch  the scratch root: the only host path for a caller
    #                 with no identity (the Unix socket without the
    #                 gateway: $user and $team fill in nothing). Every
    #                 caller of this policy shares it; keep nothing
    #                 private there (docs/security.md, "Bind roots").
    bind_allow = ["/home/$user", "/srv/$team", "/srv/scratch"]
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

  # An exec with no user runs as the container's user, and is judged as
  # that user: exec into a root container is root exec, with or without
  # -u root. Root exec into your own root container grants nothing its
  # own process does not hold already, so it is allowed; what is denied is
  # privileged exec and exec into other teams' containers (ownership
  # below). docs/security.md explains the choice.
  exec {
    privileged         = false
    allow_root_user    = true
    empty_user_is_root = true
  }

  volumes {
    drivers    = ["local"]
    host_paths = false
  }

  networks {
    drivers = ["bridge", "overlay"]
  }

  # Team isolation: every container, volume, network, exec instance,
  # service, secret and config belongs to the team that created it (a
  # user in no team owns alone what they create). Nobody acts on another
  # team's objects: exec, attach, logs, cp, export, commit, inspect, stop,
  # kill, rm, restart, update, rename, pause, volume rm, network
  # connect/disconnect/rm, service update/rm/logs all need ownership, and
  # so does referring to them (--volumes-from, --network container:X,
  # --link, mounting a named volume, joining a network). Listing stays
  # allowed: an authorization plugin can allow or deny a request, not
  # filter its answer, so `docker ps` shows every container's name.
  # Services, secrets, configs and overlay networks keep their owner in a
  # label every swarm manager reads: create them with
  #   --label io.portcullis.owner.team=<your team>
  # (in no team: --label io.portcullis.owner.user=<you>); updates keep it.
  ownership {
    enforce = true
    # Actions members may perform on objects other teams own: none.
    others = []
    # Objects Portcullis did not see created (before it was installed,
    # while it was down, or when it died between a create and its
    # response): only administrators act on them.
    unowned = "admins"
    # Prune removes every team's unused objects: administrators only.
    prune = false
  }

  # Self-protection for a legacy Portcullis run as a container named
  # "portcullis": nobody stops, changes or enters it through the API. (The
  # managed plugin is protected by denying every plugin.* action above.)
  # target_name is the name the target resolves to, so the rule holds
  # whether the request names the container "portcullis", "/portcullis",
  # by its id or by an id prefix.
  rule "self_protect" {
    actions = [
      "container.stop", "container.kill", "container.remove", "container.restart", "container.pause",
      "container.rename", "container.update", "container.exec", "container.archive.put",
      "container.attach", "container.attach.ws",
    ]
    when    = request.target_name == "portcullis"
    message = "self-protection: the container \"portcullis\" is the authorization plugin itself; stop or change it as root on the host, not through the Docker API"
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
