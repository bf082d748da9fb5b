policy "default" {}
policy "a" { extends = "b" }
policy "b" { extends = "a" }
policy "c" { extends = "nope" }
