package policy

import (
	"strings"
	"testing"
)

func TestCheckVars(t *testing.T) {
	for _, c := range []struct {
		in  string
		err string // "" valid
	}{
		{"/home/$user", ""},
		{"/srv/$team/x", ""},
		{"/srv/$team-$user", ""},
		{"/data/$$literal", ""},
		{"/data/$$$user", ""},
		{"no variables", ""},
		{"/home/$usr", "unknown variable $usr"},
		{"/home/$User", "unknown variable $User"},
		{"/home/$user_x", "unknown variable $user_x"},
		{"/home/$", "a lone $"},
		{"/home/$/x", "a lone $"},
		{"$1", "a lone $"},
		{"/data/$$$", "a lone $"},
	} {
		err := checkVars(c.in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("checkVars(%q): %v", c.in, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("checkVars(%q) = %v, want %q", c.in, err, c.err)
		}
	}
}

func TestExpand(t *testing.T) {
	cv := callerVars{user: "alice", team: "web"}
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"/home/$user", "/home/alice", true},
		{"/srv/$team-$user/x", "/srv/web-alice/x", true},
		{"/data/$$literal", "/data/$literal", true},
		{"/data/$$$user", "/data/$alice", true},
		{"/plain", "/plain", true},
	} {
		got, ok := cv.expand(c.in)
		if got != c.out || ok != c.ok {
			t.Errorf("expand(%q) = %q, %v; want %q, %v", c.in, got, ok, c.out, c.ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "*", "a?", "[x]", "{a,b}", `a\b`, "a\x00"} {
		if _, ok := (callerVars{user: bad, team: "web"}).expand("/home/$user"); ok {
			t.Errorf("user %q filled in a path", bad)
		}
	}
}

// FuzzVars: a template that checks expands, with usable values, to a path
// whose shape is the template's: no $ left but the literal ones, no glob
// character or segment the values brought.
func FuzzVars(f *testing.F) {
	for _, s := range []string{"/home/$user", "/srv/$team/$user", "/data/$$x", "$", "$usr", "/a/$$$user", "/x/$team*"} {
		f.Add(s, "alice", "web")
	}
	f.Fuzz(func(t *testing.T, tmpl, user, team string) {
		if checkVars(tmpl) != nil {
			return
		}
		out, ok := callerVars{user: user, team: team}.expand(tmpl)
		if !ok {
			if usableInPattern(user) && usableInPattern(team) {
				t.Fatalf("expand(%q) with usable values failed", tmpl)
			}
			return
		}
		lit := strings.ReplaceAll(tmpl, "$$", "")
		lit = strings.ReplaceAll(strings.ReplaceAll(lit, "$user", ""), "$team", "")
		if strings.Count(out, "/") != strings.Count(tmpl, "/") {
			t.Fatalf("expand(%q) = %q: the values changed the segments", tmpl, out)
		}
		if strings.ContainsAny(out, "*?") != strings.ContainsAny(lit, "*?") {
			t.Fatalf("expand(%q) = %q: the values brought glob characters", tmpl, out)
		}
	})
}
