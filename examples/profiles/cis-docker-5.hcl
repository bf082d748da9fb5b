# CIS Docker Benchmark (v1.6.0), section 5 "Container Runtime", as a
# Portcullis policy. Each automatable recommendation is mapped to the
# control that enforces it, named by its CIS id. Not enforceable at the
# API and therefore left out: 5.1 (swarm mode: a daemon setting), 5.7
# (sshd inside a container), 5.9 (which ports an application needs),
# 5.27 (HEALTHCHECK is image metadata), 5.28 (pulling the latest image),
# 5.30 (the docker0 bridge: daemon configuration).
#
# It extends "default": the baseline's action list (no plugins, no builds,
# no swarm changes) and its custom rules (self-protection) stay in force.
# Use it for a team (team "x" { policy = "cis" }) or copy its blocks into
# your default policy. Check it together with your policies:
#
#   portcullis validate /etc/portcullis/policies/default.hcl cis-docker-5.hcl
#
# Roll it out in audit mode first (mode = "audit"; see docs/operations.md).

policy "cis" {
  extends     = "default"
  mode        = "enforce"
  description = "CIS Docker Benchmark v1.6.0, section 5 (container runtime)"

  container {
    # 5.2 AppArmor: never unconfined (any named profile, docker-default
    # when none is given).
    apparmor_unconfined = false
    apparmor_profiles   = ["*"]

    # 5.3 SELinux: no label=disable, no unconfined or super-privileged types.
    selinux_disable = false
    selinux_types   = ["*", "!spc_t", "!unconfined_t"]

    # 5.4 Capabilities restricted: only NET_BIND_SERVICE may be added, and
    # NET_RAW (raw sockets: ARP/ICMP spoofing) must be dropped.
    cap_add           = ["NET_BIND_SERVICE"]
    cap_drop_required = ["NET_RAW"]

    # 5.5 No privileged containers.
    privileged = false

    # 5.6 No sensitive host directories; only binds below /srv, read-only.
    bind_allow        = ["/srv"]
    bind_deny         = ["/", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                         "/sbin", "/bin", "/sys", "/usr", "/var/lib/docker", "/var/lib/containerd", "/var/run"]
    bind_read_only    = true
    volume_host_paths = false

    # 5.8 No privileged host ports (below 1024).
    privileged_host_ports = false

    # 5.10 Not the host's network namespace (5.31 below for the others).
    networks = ["*", "!host", "!container:*"]

    # 5.11 Memory limited.
    require_memory_limit = true

    # 5.12 CPU priority set: Portcullis cannot see --cpu-shares in a rule,
    # so the stricter form is required, a CPU limit (--cpus).
    require_cpu_limit = true

    # 5.13 Read-only root filesystem.
    require_read_only_rootfs = true

    # 5.14 Incoming traffic bound to a specific host interface.
    require_host_ip   = true
    host_ips          = ["*", "!0.0.0.0", "!::"]
    publish_all_ports = false

    # 5.15 Restart policy on-failure with at most 5 retries (or none).
    restart_policies    = ["", "no", "on-failure"]
    restart_max_retries = 5

    # 5.16 host PID, 5.17 host IPC, 5.21 host UTS, 5.31 host user
    # namespaces: none shared, nor another container's.
    host_namespaces      = []
    container_namespaces = []

    # 5.18 No host devices.
    devices             = []
    device_cgroup_rules = false
    device_requests     = false

    # 5.19 ulimits only lowered from the usual defaults, never raised.
    ulimits_max = {
      nofile = 1048576
      nproc  = 65536
    }

    # 5.20 No shared mount propagation.
    shared_propagation = false

    # 5.22 The default seccomp profile is not disabled (a custom profile
    # is allowed when it denies the dangerous syscalls).
    seccomp_unconfined = false
    seccomp_custom     = true

    # 5.25 cgroup usage confirmed: containers stay in Docker's cgroup.
    cgroup_parents   = []
    writable_cgroups = false

    # 5.26 No new privileges (--security-opt no-new-privileges).
    require_no_new_privileges = true

    # 5.29 PIDs cgroup limit used.
    require_pids_limit = true
    unlimited_pids     = false

    # 5.32 The Docker socket is not mounted, however it is spelled.
    docker_sockets = ["/run/docker.sock", "/run/containerd/containerd.sock"]
  }

  exec {
    # 5.23 docker exec never --privileged.
    privileged = false
    # 5.24 docker exec never as root; an exec without --user runs as the
    # container's user, which may be root, so it must name one.
    allow_root_user    = false
    empty_user_is_root = true
  }

  # 5.7 (sshd) is not automatable in general; this catches the obvious
  # case, a container whose command starts an SSH daemon.
  rule "cis_5_7" {
    when    = create.present && contains([for c in concat(create.entrypoint, create.cmd) : length(regexall("(^|/)sshd$", c)) > 0], true)
    message = "CIS 5.7: do not run sshd in containers; use docker exec"
  }
}
