package policy

import "strings"

// builtinDefaults is what applies when no policy in an extends chain sets
// an attribute. It is written in the policy language itself and is the
// root of every chain; the container block's defaults come from their
// declarations (controls.go) and are added by builtinSource. The choices
// are documented in docs/policy.md.
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

// builtinSource is builtinDefaults with the container block's defaults.
func builtinSource() string {
	s := strings.TrimRight(builtinDefaults, "\n")
	return strings.TrimSuffix(s, "}") + containerDefaults() + "}\n"
}
