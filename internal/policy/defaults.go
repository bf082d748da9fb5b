package policy

// builtinDefaults is what applies when no policy in an extends chain sets
// an attribute. It is written in the policy language itself and is the
// root of every chain. The choices are documented in docs/policy.md.
const builtinDefaults = `
policy "builtin" {
  mode               = "enforce"
  audit_health_calls = "record"
  help               = ""
  allow_unknown_fields = false

  actions {
    allow     = []
    deny      = []
    read_only = false
  }

  container {
    privileged        = false
    cap_add           = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
    cap_drop_required = []

    seccomp_unconfined         = false
    seccomp_custom             = true
    seccomp_dangerous_syscalls = ["add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount",
                                  "fsopen", "init_module", "kexec_file_load", "kexec_load", "keyctl", "mount",
                                  "move_mount", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
                                  "reboot", "request_key", "setns", "swapoff", "swapon", "umount2", "unshare",
                                  "userfaultfd"]
    seccomp_allowed_syscalls   = []
    apparmor_unconfined       = false
    apparmor_profiles         = ["docker-default"]
    selinux_disable           = false
    selinux_types             = ["container_t"]
    selinux_labels            = false
    require_no_new_privileges = false
    writable_cgroups          = false
    unmasked_paths            = false

    host_namespaces      = []
    container_namespaces = []
    cgroup_parents       = []

    allow_root_user          = true
    empty_user_is_root       = false
    require_read_only_rootfs = false

    bind_allow         = []
    bind_deny          = ["/", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                          "/sbin", "/bin", "/sys", "/usr", "/var/lib/docker", "/var/lib/containerd", "/var/run"]
    docker_sockets     = ["/run/docker.sock", "/run/containerd/containerd.sock"]
    bind_sockets        = []
    root_writable_binds = false
    bind_read_only     = false
    shared_propagation = false
    volume_drivers     = ["local"]
    volume_host_paths  = false
    volumes_from       = false
    links              = false
    annotations        = []
    tmpfs              = true

    devices             = []
    device_cgroup_rules = false
    device_requests     = false

    networks              = ["*", "!host", "!container:*"]
    privileged_host_ports = true
    require_host_ip       = false
    host_ips              = ["*"]
    publish_all_ports     = true
    endpoint_options      = ["com.docker.network.endpoint.ifname"]

    log_drivers          = ["json-file", "local", "syslog", "journald"]
    log_options_required = {}
    log_options_denied   = {}
    syslog_addresses     = []

    require_memory_limit = false
    memory_max           = ""
    require_cpu_limit    = false
    cpus_max             = 0
    require_pids_limit   = false
    pids_max             = 0
    oom_kill_disable     = false
    oom_score_adj_min    = 0
    unlimited_pids       = false

    sysctls = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
               "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
               "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]
    runtimes = ["runc", "io.containerd.runc.v2"]

    required_labels     = {}
    restart_policies    = ["", "no", "always", "unless-stopped", "on-failure"]
    restart_max_retries = -1
  }

  exec {
    privileged         = false
    allow_root_user    = true
    empty_user_is_root = true
    commands           = ["**"]
  }

  volumes {
    drivers         = ["local"]
    host_paths      = false
    network_servers = []
  }

  networks {
    drivers     = ["bridge", "overlay"]
    options     = ["com.docker.network.driver.mtu", "com.docker.network.bridge.enable_icc",
                   "com.docker.network.bridge.enable_ip_masquerade", "com.docker.network.container_iface_prefix"]
    config_from = false
  }

  images {
    allow          = ["**"]
    require_digest = false
    allow_latest   = true
    fetch_hosts    = []
  }

  build {
    allow           = false
    network_modes   = ["", "default", "bridge", "none"]
    cgroup_parents  = []
    remote_contexts = []
  }

  ownership {
    enforce = false
    others  = []
    admin   = false
    unowned = "deny"
    prune   = false
  }
}
`
