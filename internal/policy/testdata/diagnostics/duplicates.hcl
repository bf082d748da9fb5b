policy "default" {}
policy "default" {}
team "web" { ous = ["web"] }
team "web" { ous = ["web2"] }
