# Policy tests: run with `portcullis test examples/policies`.

test "nobody may run a plain container" {
  user   = "nobody1"
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", Cmd = ["true"], HostConfig = { NetworkMode = "bridge" } }
  expect = "allow"
  policy = "default"
  team   = ""
}

test "unauthenticated requests get the default policy" {
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Privileged = true } }
  expect = "deny"
  rules  = ["container.privileged"]
  policy = "default"
}

test "nobody may not mount the docker socket through /var/run" {
  user   = "nobody1"
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/var/run//docker.sock:/s:ro"] } }
  expect = "deny"
  rules  = ["mounts.bind", "mounts.docker_socket"]
}

test "plugins cannot be disabled" {
  user   = "nobody1"
  method = "POST"
  uri    = "/v1.41/plugins/portcullis:latest/disable"
  expect = "deny"
  rules  = ["actions.denied", "rule.plugin_protect"]
}

test "web: a hardened create is allowed" {
  user   = "web-dev1"
  ous    = ["web"]
  method = "POST"
  uri    = "/v1.41/containers/create?name=web1"
  body = {
    Image  = "nginx:1.27"
    User   = "101:101"
    Labels = { team = "web" }
    HostConfig = {
      CapAdd         = ["NET_BIND_SERVICE"]
      CapDrop        = ["ALL"]
      SecurityOpt    = ["no-new-privileges"]
      ReadonlyRootfs = true
      Memory         = 268435456
      PidsLimit      = 100
      LogConfig      = { Type = "json-file", Config = { "max-size" = "10m" } }
    }
  }
  expect = "allow"
  policy = "web"
  team   = "web"
}

test "web: root and no limits are denied" {
  user   = "web-dev1"
  ous    = ["web"]
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "nginx:1.27", User = "0:0", Labels = { team = "web" }, HostConfig = { CapDrop = ["all"], ReadonlyRootfs = true, SecurityOpt = ["no-new-privileges=true"] } }
  expect = "deny"
  rules  = ["container.user", "resources.memory", "resources.pids"]
}

test "web: no docker cp into containers" {
  user   = "web-dev1"
  ous    = ["web"]
  method = "PUT"
  uri    = "/v1.41/containers/web1/archive?path=%2Ftmp"
  expect = "deny"
  rules  = ["actions.denied"]
}

test "data: its own data directory and syslog" {
  user   = "data-dev1"
  ous    = ["data"]
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "postgres:16", User = "999:999", HostConfig = { SecurityOpt = ["no-new-privileges"], Binds = ["/srv/data/pg:/var/lib/postgresql/data"], LogConfig = { Type = "syslog", Config = { "syslog-address" = "udp://logs.internal:514" } } } }
  expect = "allow"
  policy = "data"
}

test "data: other syslog addresses are denied" {
  user   = "data-dev1"
  ous    = ["data"]
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "postgres:16", HostConfig = { LogConfig = { Type = "syslog", Config = { "syslog-address" = "udp://evil:514" } } } }
  expect = "deny"
  rules  = ["logging.syslog_address"]
}

test "ops: builds and host networking, never privileged" {
  user   = "ops-alice"
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "alpine:3", HostConfig = { NetworkMode = "host", Privileged = true } }
  expect = "deny"
  rules  = ["container.privileged"]
  team   = "ops"
}

test "ops: build allowed" {
  user   = "ops-alice"
  method = "POST"
  uri    = "/v1.41/build?t=registry.example.com%2Fops%2Ftool%3A1"
  expect = "allow"
}

# Bind roots of the default policy: the caller's home, the caller's team's
# directory, and the scratch root; never the directories every user shares.
test "default: a user binds in their own home" {
  user   = "nobody1"
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/home/nobody1/proj:/app:ro"] } }
  expect = "allow"
  policy = "default"
}

test "default: not in another user's home, /tmp or another team's directory" {
  user   = "nobody1"
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/home/nobody2/proj:/a:ro", "/tmp/x:/b:ro", "/srv/web:/c:ro"] } }
  expect = "deny"
  rules  = ["mounts.bind"]
}

test "default: a team extending default binds in its own directory" {
  user   = "admin1"
  ous    = ["admins"]
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/srv/admins/x:/x:ro"] } }
  expect = "allow"
  policy = "admins"
  team   = "admins"
}

test "default: a team extending default is confined to its own directory" {
  user   = "admin1"
  ous    = ["admins"]
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/srv/web/x:/x:ro"] } }
  expect = "deny"
  rules  = ["mounts.bind"]
}

test "default: a caller with no identity gets the scratch root only" {
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/srv/scratch/x:/x:ro"] } }
  expect = "allow"
  policy = "default"
}

test "default: a caller with no identity has no home and no /tmp" {
  method = "POST"
  uri    = "/v1.41/containers/create"
  body   = { Image = "busybox", HostConfig = { Binds = ["/home/x:/a:ro", "/tmp:/b:ro", "/srv:/c:ro"] } }
  expect = "deny"
  rules  = ["mounts.bind"]
}
