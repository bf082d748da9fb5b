# The e2e baseline (see README.md): everyday work over the Unix socket is
# allowed; everything else takes the built-in secure defaults, under which
# privileged containers, among others, are denied. The core tests depend on
# exactly that; tests of other policies bring their own files.
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "image.*"]
  }
}
