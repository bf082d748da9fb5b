# Team admins: the operators of the host. They act on every team's
# objects and on objects without an owner, and may prune.

team "admins" {
  ous = ["admins"]
}

policy "admins" {
  extends = "default"

  ownership {
    admin = true
    prune = true
  }
}
