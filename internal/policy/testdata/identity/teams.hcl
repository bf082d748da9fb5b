# Teams matched by Unix group (local users of the gateway) and by
# certificate OU, ranked by precedence; host paths and labels that name
# the caller.
policy "default" {
  actions {
    allow = ["container.*", "system.*", "image.*"]
  }
  container {
    bind_allow      = ["/home/$user", "/srv/$team", "/data/$$literal", "/scratch/$user-*"]
    bind_deny       = ["/home/$user/.ssh"]
    required_labels = { owner = "$user", project = "$team-*" }
  }
}
policy "web" { extends = "default" }
policy "ops" { extends = "default" }
policy "admins" { extends = "default" }
policy "ci" { extends = "default" }

team "web" {
  groups = ["web"]
  ous    = ["web-ou"]
}
team "ops" {
  groups = ["ops"]
  orgs   = ["ops-org"]
}
team "admins" {
  groups     = ["wheel"]
  precedence = 10
}
team "ci" {
  users = ["ci-*"]
}
