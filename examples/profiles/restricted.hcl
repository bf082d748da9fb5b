# A "restricted" profile after the Kubernetes Pod Security Standards
# (restricted level), translated to the Docker API: hardened, non-root
# workloads with no host access. Each control names the PSS control it
# stands for. Docker-specific additions are marked as such.
#
# It extends "default" (action list, self-protection rules). Use it for a
# team (team "x" { policy = "restricted" }); check it with your policies:
#
#   portcullis validate /etc/portcullis/policies/default.hcl restricted.hcl
#
# A container that passes looks like:
#   docker run --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges \
#     --pids-limit 200 --memory 256m IMAGE

policy "restricted" {
  extends     = "default"
  mode        = "enforce"
  description = "Pod Security Standards restricted level, for Docker"

  container {
    # Privileged Containers.
    privileged = false

    # Capabilities: drop ALL; only NET_BIND_SERVICE may be added back.
    cap_add           = ["NET_BIND_SERVICE"]
    cap_drop_required = ["ALL"]

    # Host Namespaces (hostPID, hostIPC, hostNetwork) and, for Docker,
    # the UTS, user and cgroup namespaces and other containers' namespaces.
    host_namespaces      = []
    container_namespaces = []
    networks             = ["*", "!host", "!container:*"]

    # HostPath Volumes: none. Volumes: the local driver only, never one
    # that binds a host path.
    bind_allow        = []
    volume_drivers    = ["local"]
    volume_host_paths = false
    volumes_from      = false
    tmpfs             = true

    # Host Ports: published ports must name a host address, not all of them
    # (Docker: the nearest equivalent of "no hostPort").
    require_host_ip       = true
    host_ips              = ["*", "!0.0.0.0", "!::"]
    publish_all_ports     = false
    privileged_host_ports = false

    # AppArmor: never unconfined.
    apparmor_unconfined = false
    apparmor_profiles   = ["*"]

    # SELinux: no label=disable, only container types.
    selinux_disable = false
    selinux_types   = ["container_t", "container_init_t", "container_kvm_t"]

    # /proc Mount Type: the default (masked) /proc only.
    unmasked_paths   = false
    writable_cgroups = false

    # Sysctls: the safe set only (the built-in default, restated).
    sysctls = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
               "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"]

    # Privilege Escalation: no-new-privileges required.
    require_no_new_privileges = true

    # Running as Non-root: a non-root user must be named (an image's
    # default user may be root).
    allow_root_user    = false
    empty_user_is_root = true

    # Seccomp: the runtime default or a custom profile (Localhost) that
    # denies the dangerous syscalls; never unconfined. Teams can reference
    # profiles/seccomp-default.json.
    seccomp_unconfined = false
    seccomp_custom     = true

    # Docker: no devices, no GPUs, no Docker socket, no cgroup parents.
    devices             = []
    device_cgroup_rules = false
    device_requests     = false
    cgroup_parents      = []
    docker_sockets      = ["/run/docker.sock", "/run/containerd/containerd.sock"]

    # Docker: bounded resources, so one workload cannot starve the host.
    require_memory_limit = true
    require_pids_limit   = true
    unlimited_pids       = false
    oom_kill_disable     = false

    # Docker: only the standard runtime.
    runtimes = ["runc", "io.containerd.runc.v2"]
  }

  exec {
    privileged         = false
    allow_root_user    = false
    empty_user_is_root = true
  }

  volumes {
    drivers    = ["local"]
    host_paths = false
  }
}
