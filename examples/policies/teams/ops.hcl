# EXAMPLE ONLY: this team policy hands out host networking and SYS_PTRACE (and NET_ADMIN, SYS_TIME, the host pid namespace and builds) to anyone whose certificate has OU "ops"; make install never installs it.
#
# Team ops: builds, host networking, swarm management and some extra
# capabilities. Still never privileged, never the Docker socket.

team "ops" {
  ous   = ["ops"]
  users = ["ops-*"]
}

policy "ops" {
  extends = "default"

  actions {
    allow = ["swarm.*", "node.*", "checkpoint.*", "service.rollback"]
  }

  container {
    cap_add = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
               "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
               "NET_ADMIN", "SYS_PTRACE", "SYS_TIME"]
    networks        = ["*", "!container:*"] # host networking allowed
    host_namespaces = ["pid", "uts"]
    bind_allow      = ["/srv", "/tmp", "/var/log", "/opt"]
  }

  exec {
    allow_root_user = true
  }

  build {
    allow         = true # the one line that gives a team builds
    network_modes = ["", "default", "bridge", "none", "host"]
    # Remote contexts the daemon may fetch: the team's known sources only.
    # Internal addresses (loopback, link-local, private) are denied by
    # fetch.address whatever this list says.
    remote_contexts = ["github.com/**", "https://files.example.com/**"]
  }

  networks {
    drivers = ["bridge", "overlay", "macvlan", "ipvlan"]
  }
}
