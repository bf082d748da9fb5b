policy "default" {
  container {
    bind_allow      = ["/home/$user", "/home/$usr", "/srv/$", "/data/$$literal", "/srv/$team/$uid"]
    bind_deny       = ["/home/$user/.ssh", "/home/${user}x"]
    devices         = ["/dev/$user"]
    required_labels = { owner = "$user", team = "$team-*", bad = "$owner" }
  }
}
