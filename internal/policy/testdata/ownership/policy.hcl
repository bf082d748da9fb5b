# The policies of the ownership cases (ownership_test.go).
policy "default" {
  actions {
    allow = ["system.*", "container.*", "exec.*", "volume.*", "network.*", "commit", "image.*", "service.*", "secret.*", "config.*"]
  }
  ownership {
    enforce = true
    unowned = "deny"
  }
  rule "self_protect" {
    actions = ["container.stop", "container.exec"]
    when    = request.target_name == "portcullis"
    message = "the plugin's own container"
  }
}

team "web" {
  ous = ["web"]
}
policy "web" {
  extends = "default"
  exec {
    allow_root_user = false
  }
}

team "data" {
  ous = ["data"]
}
policy "data" {
  extends = "default"
  ownership {
    others  = ["container.inspect", "container.logs"]
    unowned = "admins"
  }
}

team "admins" {
  ous = ["admins"]
}
policy "admins" {
  extends = "default"
  ownership {
    admin = true
  }
}

team "loose" {
  ous = ["loose"]
}
policy "loose" {
  extends = "default"
  ownership {
    unowned = "allow"
    prune   = true
  }
}

team "off" {
  ous = ["off"]
}
policy "off" {
  extends = "default"
  ownership {
    enforce = false
  }
}

# Trusts images' default user at create (empty_user_is_root = false), and
# denies root exec: an exec with no user into a container whose user is
# known to be root (neither the create nor the image names one) is root
# exec all the same.
team "trusting" {
  ous = ["trusting"]
}
policy "trusting" {
  extends = "default"
  exec {
    allow_root_user    = false
    empty_user_is_root = false
  }
}
