package policy

import (
	"errors"
	"path"
	"strings"
)

// Glob patterns, used by every allow-list in the language:
//
//	*   any run of characters except '/'
//	**  any run of characters, '/' included
//	?   one character except '/'
//
// Everything else matches itself. Character classes are not supported, so
// that '[' in a pattern is a load-time error rather than a surprise.

var errEmptyGlob = errors.New("empty pattern")

// checkGlob reports why pattern is not a valid glob.
func checkGlob(pattern string) error {
	if pattern == "" {
		return errEmptyGlob
	}
	if i := strings.IndexAny(pattern, "[]\\{}"); i >= 0 {
		return errors.New("character classes, escapes and alternatives (" + string(pattern[i]) + ") are not supported; use *, ** or ?")
	}
	return nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?") }

// globMatch matches name against a valid pattern without allocating.
func globMatch(pattern, name string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			if len(pattern) > 1 && pattern[1] == '*' {
				rest := pattern[2:]
				for i := 0; i <= len(name); i++ {
					if globMatch(rest, name[i:]) {
						return true
					}
				}
				return false
			}
			rest := pattern[1:]
			for i := 0; i <= len(name); i++ {
				if globMatch(rest, name[i:]) {
					return true
				}
				if i < len(name) && name[i] == '/' {
					return false
				}
			}
			return false
		case '?':
			if len(name) == 0 || name[0] == '/' {
				return false
			}
			pattern, name = pattern[1:], name[1:]
		default:
			if len(name) == 0 || name[0] != pattern[0] {
				return false
			}
			pattern, name = pattern[1:], name[1:]
		}
	}
	return len(name) == 0
}

// globList is a compiled allow-list: a value is in the list when it
// matches a pattern and no pattern written with a leading '!'.
type globList struct {
	exact    map[string]bool
	patterns []string
	negative []string
	all      bool // "*" or "**" and no negations: everything
}

func newGlobList(items []string) globList {
	var g globList
	for _, it := range items {
		if neg, ok := strings.CutPrefix(it, "!"); ok {
			g.negative = append(g.negative, neg)
			continue
		}
		if it == "*" || it == "**" {
			g.all = true
		}
		if hasMeta(it) {
			g.patterns = append(g.patterns, it)
		} else {
			if g.exact == nil {
				g.exact = map[string]bool{}
			}
			g.exact[it] = true
		}
	}
	if len(g.negative) > 0 {
		g.all = false
	}
	return g
}

func (g *globList) match(s string) bool {
	if g.all {
		return true
	}
	for _, n := range g.negative {
		if globMatch(n, s) {
			return false
		}
	}
	if g.exact[s] {
		return true
	}
	for _, p := range g.patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// Host paths.
//
// A host path is judged after cleaning (path.Clean: "//", "/./", "..",
// trailing "/") and after mapping /var/run to /run (on every current
// distribution /var/run is a symlink to /run). A path entry covers itself
// and everything below it ("/etc" covers "/etc/passwd"), except "/", which
// covers only "/" itself. Entries may contain globs, matched segment by
// segment.

// cleanHostPath cleans p lexically and maps /var/run to /run. It returns ""
// for a relative path.
func cleanHostPath(p string) string {
	if p == "" || p[0] != '/' {
		return ""
	}
	c := path.Clean(p)
	if c == "/var/run" {
		return "/run"
	}
	if rest, ok := strings.CutPrefix(c, "/var/run/"); ok {
		return "/run/" + rest
	}
	return c
}

// pathList is a compiled list of host path entries.
type pathList struct {
	entries []string // cleaned
	glob    []bool
	// templates are the entries as written when one names a variable
	// ($user, $team); each request then judges with forCaller's list.
	templates []string
}

func newPathList(items []string) pathList {
	var l pathList
	for _, it := range items {
		if hasVars(it) {
			l.templates = append([]string(nil), items...)
			break
		}
	}
	for _, it := range items {
		if l.templates != nil {
			if it = (callerVars{}).literal(it); it == "" {
				continue // names a variable: known per request only
			}
		}
		c := cleanHostPath(it)
		l.entries = append(l.entries, c)
		l.glob = append(l.glob, hasMeta(c))
	}
	return l
}

// literal is s with $$ unescaped when s names no variable, else "".
func (callerVars) literal(s string) string {
	if !strings.Contains(strings.ReplaceAll(s, "$$", ""), "$") {
		return strings.ReplaceAll(s, "$$", "$")
	}
	return ""
}

// forCaller is l with the variables replaced by the caller's values. An
// entry whose variable has no usable value (no user, the default policy's
// empty team, a name with / or a glob character) is left out: it allows,
// or denies, nothing.
func (l *pathList) forCaller(cv callerVars) *pathList {
	if l == nil || l.templates == nil {
		return l
	}
	out := &pathList{}
	for _, t := range l.templates {
		s, ok := cv.expand(t)
		if !ok {
			continue
		}
		c := cleanHostPath(s)
		if c == "" {
			continue
		}
		out.entries = append(out.entries, c)
		out.glob = append(out.glob, hasMeta(c))
	}
	return out
}

// under reports whether p is e or below it, for a literal e.
func under(e, p string) bool {
	if e == "/" {
		return p == "/"
	}
	return len(p) >= len(e) && p[:len(e)] == e && (len(p) == len(e) || p[len(e)] == '/')
}

// covers reports the first entry that is p or an ancestor of p.
func (l *pathList) covers(p string) (string, bool) {
	for i, e := range l.entries {
		if l.glob[i] && pathCovers(e, p) || !l.glob[i] && under(e, p) {
			return e, true
		}
	}
	return "", false
}

// exposes reports the first entry that p covers: binding p makes that
// entry visible (binding /var exposes /var/lib/docker).
func (l *pathList) exposes(p string) (string, bool) {
	for i, e := range l.entries {
		if p == "/" || !l.glob[i] && under(p, e) || l.glob[i] && pathPrefixMatches(e, p) {
			return e, true
		}
	}
	return "", false
}

// pathCovers: entry e (possibly a glob) is p or an ancestor of p.
func pathCovers(e, p string) bool {
	if e == "/" {
		return p == "/"
	}
	if p == "/" {
		return false
	}
	// Every segment of e must match the corresponding segment of p, and
	// p may have more.
	star, ok, emore := compareSegs(e, p)
	return star || ok && !emore
}

// pathPrefixMatches: p is a proper ancestor of some path that glob entry e
// matches (e is longer than p and p's segments match e's leading ones).
func pathPrefixMatches(e, p string) bool {
	if p == "/" {
		return true
	}
	if !hasMeta(e) {
		return false // the literal case is pathCovers(p, e)
	}
	// p's segments must match e's leading ones, and e must have more
	// (when both still had some, the comparison would not have stopped).
	star, ok, emore := compareSegs(e, p)
	return star || ok && emore
}

// compareSegs matches e's segments against p's, pairwise from the start,
// and stops at a "**" in e (star), at the first pair that does not match
// (ok false), or when either runs out (ok true); emore tells whether e
// still has segments then.
func compareSegs(e, p string) (star, ok, emore bool) {
	for {
		es, erest, emore := cutSeg(e)
		ps, prest, pmore := cutSeg(p)
		if es == "**" {
			return true, true, emore
		}
		if !globMatch(es, ps) {
			return false, false, emore
		}
		if !emore || !pmore {
			return false, true, emore
		}
		e, p = erest, prest
	}
}

// cutSeg splits "/a/b/c" into "a", "/b/c", true; "/a" into "a", "", false.
func cutSeg(p string) (seg, rest string, more bool) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:], true
	}
	return p, "", false
}
