policy "default" {
  rule "typo" {
    when    = request.bdy == ""
    message = "x"
  }
  rule "not-bool" {
    when    = create.image
    message = "x"
  }
  rule "no-clock" {
    when    = timestamp() == ""
    message = "x"
  }
  container {
    bind_allow = ["srv"]
    host_namespaces = ["net"]
    memory_max = "lots"
  }
}
