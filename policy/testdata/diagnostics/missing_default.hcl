policy "web" { mode = "strict" }
