policy "default" {}
policy "web" {}
policy "data" {}
team "web" {
  users = ["alice", "svc-*"]
  ous   = ["web"]
}
team "data" {
  users = ["alice", "svc-*"]
  ous   = ["web"]
}
team "ghost" { ous = ["ghost"] }
