# Team ops: builds, host networking, swarm management and some extra
# capabilities. Still never privileged, never the Docker socket.

team "ops" {
  ous   = ["ops"]
  users = ["ops-*"]
}

policy "ops" {
  extends = "default"

  actions {
    allow = ["image.build", "swarm.*", "node.*", "checkpoint.*", "service.rollback"]
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
    network_modes = ["", "default", "bridge", "none", "host"]
  }

  networks {
    drivers = ["bridge", "overlay", "macvlan", "ipvlan"]
  }
}
