# Policies of owners_test.go: teams by user name.
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "volume.*", "network.*", "service.*", "secret.*"]
  }
  ownership {
    enforce = true
  }
}

team "web" {
  users = ["w1", "w2"]
}
policy "web" {
  extends = "default"
}

team "data" {
  users = ["d1"]
}
policy "data" {
  extends = "default"
}
