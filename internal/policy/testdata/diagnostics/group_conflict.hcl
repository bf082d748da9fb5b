policy "default" {}
policy "web" {}
policy "ops" {}
team "web" {
  groups     = ["web", "web"]
  precedence = 5
}
team "ops" {
  groups = ["web", ""]
}
