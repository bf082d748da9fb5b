# A small policy for the plugin's own tests: ordinary container work is
# allowed, the secure defaults deny the rest.
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.list", "image.pull"]
  }
}
