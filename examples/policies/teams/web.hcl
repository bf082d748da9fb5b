# EXAMPLE ONLY: a team policy to copy from (matched on certificate OU "web"); make install never installs it.
#
# Team web: a restricted profile in the spirit of Kubernetes Pod Security
# "restricted": drop ALL, non-root, no-new-privileges, read-only root
# filesystem, memory and pids limits.

team "web" {
  ous = ["web"]
}

policy "web" {
  extends = "default"

  actions {
    # No docker cp into containers, no commits, no images from tarballs.
    deny = ["container.archive.put", "commit", "image.import", "image.load"]
  }

  container {
    cap_add                   = ["NET_BIND_SERVICE"]
    cap_drop_required         = ["ALL"]
    require_no_new_privileges = true
    allow_root_user           = false
    empty_user_is_root        = true
    require_read_only_rootfs  = true

    bind_allow     = ["/tmp", "/srv/web"]
    bind_read_only = true

    memory_max = "2g"
    pids_max   = 1024

    log_drivers          = ["json-file", "local"]
    log_options_required = { "json-file" = ["max-size"] }

    required_labels     = { team = "$team" }
    restart_max_retries = 5
  }

  # Web's containers never run as root, so a root exec would be an
  # escalation: denied, whether asked with -u root or implied by a
  # container whose user is root.
  exec {
    allow_root_user = false
  }

  rule "no-secrets-in-env" {
    actions = ["container.create", "service.create", "service.update"]
    when    = length(regexall("(?i)(PASSWORD|SECRET|TOKEN)", join(" ", create.env_names))) > 0
    message = "pass secrets as files (docker secrets or a read-only bind), not environment variables"
  }
}
