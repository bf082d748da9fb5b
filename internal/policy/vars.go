package policy

import (
	"fmt"
	"strings"
)

// Variables name the caller in host paths (bind_allow, bind_deny) and in
// required label values: $user is the authenticated user name (the
// certificate's CN; for the gateway, the Unix user name) and $team the
// team whose policy judges the request. $$ is a literal $. Any other $
// is a load error, so a typo never becomes a literal that matches
// nothing (or everything).
var knownVars = map[string]bool{"user": true, "team": true}

// checkVars reports the first unknown variable or lone $ in s.
func checkVars(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			i++
			continue
		}
		name := varName(s[i+1:])
		if name == "" {
			return fmt.Errorf("a lone $ at offset %d (write $$ for a literal $; variables are $user and $team)", i)
		}
		if !knownVars[name] {
			return fmt.Errorf("unknown variable $%s (variables are $user and $team; $$ is a literal $)", name)
		}
		i += len(name)
	}
	return nil
}

// varName is the identifier at the start of s.
func varName(s string) string {
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 0 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return s[:n]
}

// hasVars reports whether s (already checked) names a variable or
// escapes a $.
func hasVars(s string) bool { return strings.IndexByte(s, '$') >= 0 }

// callerVars are the values of the variables for one request.
type callerVars struct{ user, team string }

// usableInPattern reports whether v can stand in a host path or a glob
// without changing its shape: one non-empty path segment, not . or .., no
// glob metacharacter, no NUL. A user name or team that is not usable
// makes the entries naming it match nothing.
func usableInPattern(v string) bool {
	return v != "" && v != "." && v != ".." && !strings.ContainsAny(v, "/*?[]{}\\\x00")
}

// expand replaces the variables of a checked template s; ok is false when
// a value it names is not usable.
func (cv callerVars) expand(s string) (out string, ok bool) {
	if !hasVars(s) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		name := varName(s[i+1:])
		v := cv.user
		if name == "team" {
			v = cv.team
		}
		if !usableInPattern(v) {
			return "", false
		}
		b.WriteString(v)
		i += len(name)
	}
	return b.String(), true
}
