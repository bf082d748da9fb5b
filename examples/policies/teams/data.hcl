# EXAMPLE ONLY: a team policy to copy from (matched on certificate OU "data"); make install never installs it.
#
# Team data: may bind its own data directory and ship logs to the central
# syslog.

team "data" {
  ous = ["data"]
}

policy "data" {
  extends = "default"

  container {
    bind_allow       = ["/srv/data", "/tmp"]
    syslog_addresses = ["udp://logs.internal:514", "tcp://logs.internal:601"]

    # Local volumes that bind a host path are allowed, and judged like a
    # bind mount (so only below /srv/data and /tmp).
    volume_host_paths = true
  }

  volumes {
    host_paths = true
    # Network file systems only from the team's file server.
    network_servers = ["nfs.internal"]
  }
}
