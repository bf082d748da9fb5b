policy "default" {
  actions {
    allow = ["system.ping", "container.creat", "plugins.*", "image.[a]"]
  }
}
