policy "default" {
  actions { allow = ["system.ping"] }
  container {
    privilegd = true
  }
}
