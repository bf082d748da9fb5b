team "web" {
  ous = ["web"]
}

policy "web" {
  extends = "default"
}
