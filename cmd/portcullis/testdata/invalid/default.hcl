policy "default" {
  actions {
    allow = ["container.craete"]
  }
  no_such_block {}
}
