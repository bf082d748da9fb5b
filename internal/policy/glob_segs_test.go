package policy

import "testing"

// covers and exposes with glob entries, segment by segment: a glob entry
// covers the paths it matches and what lies below them, never their
// ancestors; a bind exposes a glob entry when it is a proper ancestor of
// something the entry matches.
func TestGlobPathLists(t *testing.T) {
	for _, tc := range []struct {
		entry, path     string
		covers, exposes bool
	}{
		{"/srv/*/data", "/srv/a/data", true, false},
		{"/srv/*/data", "/srv/a/data/x", true, false},
		{"/srv/*/data", "/srv/a", false, true},
		{"/srv/*/data", "/srv", false, true},
		{"/srv/*/data", "/srv/a/other", false, false},
		{"/srv/*/data", "/etc", false, false},
		{"/srv/*/data", "/", false, true},
		{"/home/**", "/home/u/x", true, true},
		{"/home/**", "/home", false, true},
		{"/var/lib/*/secret", "/var/lib/x/secret/y", true, false},
		{"/var/lib/*/secret", "/var/lib/x", false, true},
		{"/var/lib/*/secret", "/var/lib/x/other/secret", false, false},
	} {
		l := newPathList([]string{tc.entry})
		if _, got := l.covers(tc.path); got != tc.covers {
			t.Errorf("%s covers %s = %v, want %v", tc.entry, tc.path, got, tc.covers)
		}
		if _, got := l.exposes(tc.path); got != tc.exposes {
			t.Errorf("binding %s exposes %s = %v, want %v", tc.path, tc.entry, got, tc.exposes)
		}
	}
}
