// Package policy compiles Portcullis policy files (HCL, one per team) and
// judges classified Docker API requests against them.
//
// A Set is immutable once loaded and safe for concurrent use. Decide does
// no I/O except through the path and host resolvers given to the loader.
package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/portcullis/portcullis/internal/request"
)

// Set is a loaded, compiled set of policies and teams.
type Set struct {
	policies map[string]*compiled
	names    []string
	def      *compiled
	revision string
	resolve  func(string) (string, error)
	isSocket func(string) (bool, error)
	facts    func() HostFacts
	// resolveHost resolves fetch targets (see WithHostResolver).
	resolveHost func(string) ([]netip.Addr, error)

	exactUser map[string]*teamRef
	userGlobs []*teamRef // each with one glob in pattern
	byOU      map[string]*teamRef
	byOrg     map[string]*teamRef
	byGroup   map[string]*teamRef
	teamNames []string
}

type teamRef struct {
	team       string
	pattern    string
	policy     *compiled
	precedence int64
}

// Revision is the sha256 of the loaded files' names and contents, in hex.
func (s *Set) Revision() string { return s.revision }

// Policies lists the policy names, sorted.
func (s *Set) Policies() []string { return append([]string(nil), s.names...) }

// Teams lists the team names, sorted.
func (s *Set) Teams() []string { return append([]string(nil), s.teamNames...) }

// Decision is the outcome of judging one request.
type Decision struct {
	// Allow is the answer to send to the daemon. In audit mode it is true
	// even when there are violations, except for requests that could not
	// be judged at all (request.* and identity.* rules).
	Allow bool `json:"allow"`
	// Mode is "enforce" or "audit".
	Mode string `json:"mode"`
	// Policy names the policy that judged the request.
	Policy string `json:"policy"`
	// Team is the team the identity matched; "" for the default policy.
	Team string `json:"team,omitempty"`
	// Violations lists every rule the request breaks, in a stable order.
	Violations []Violation `json:"violations,omitempty"`
	// SummarizeAudit: an allowed health call (system.ping,
	// system.version) of a policy with audit_health_calls = "summarize":
	// counted in a periodic summary record instead of a record of its
	// own. Never set on a denial.
	SummarizeAudit bool `json:"-"`
	// Help is the judging policy's help line (a contact, a runbook),
	// set when there are violations.
	Help string `json:"help,omitempty"`
}

// Violation is one broken rule.
type Violation struct {
	// Rule is a stable rule id, for example "container.privileged".
	Rule string `json:"rule"`
	// Field is the offending request field, for example
	// "HostConfig.Binds[0]"; empty when the request as a whole is meant.
	Field string `json:"field,omitempty"`
	// Reason is a sentence for the person who sent the request.
	Reason string `json:"reason"`
	// Remedy says what to change: the docker flag or request field to
	// add, remove or change (see remedies.go); empty for custom rules.
	Remedy string `json:"remedy,omitempty"`
}

// WouldDeny reports whether the request breaks any rule (in audit mode:
// whether enforcing would have denied it).
func (d Decision) WouldDeny() bool { return len(d.Violations) > 0 }

// Message is the text for the Docker CLI, for example
//
//	portcullis: denied by policy "web": [container.privileged] privileged containers are not allowed (to fix: remove --privileged; ...); [mounts.bind] host path /etc is not allowed (to fix: ...). Help: #web-platform
func (d Decision) Message() string {
	if len(d.Violations) == 0 {
		return ""
	}
	var b strings.Builder
	if d.Allow {
		fmt.Fprintf(&b, "portcullis: audit: policy %q would deny: ", d.Policy)
	} else {
		fmt.Fprintf(&b, "portcullis: denied by policy %q: ", d.Policy)
	}
	for i, v := range d.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("[")
		b.WriteString(v.Rule)
		b.WriteString("] ")
		b.WriteString(v.Reason)
		if v.Remedy != "" {
			b.WriteString(" (to fix: ")
			b.WriteString(v.Remedy)
			b.WriteString(")")
		}
	}
	if d.Help != "" {
		b.WriteString(". Help: ")
		b.WriteString(d.Help)
	}
	return b.String()
}

// TeamOf is the team whose policy judges id ("" for the default policy,
// and for an identity two teams claim with nothing to choose between them).
func (s *Set) TeamOf(id request.Identity) string {
	team, _, _ := s.lookup(id)
	return team
}

// lookup finds the identity's team and policy. Levels, first match wins:
// exact user name, then user glob, then the identity's groups and
// certificate OUs, then certificate Os. Within a level several teams may
// claim one identity (a user in several groups, a certificate with
// several OUs): the team with the highest precedence wins, and among
// equals the one named first by the identity (for a local user the
// primary group, then the other groups by name; for a certificate the
// order of its OUs). Only two user globs of equal precedence leave an
// identity ambiguous, since nothing orders them.
func (s *Set) lookup(id request.Identity) (team string, p *compiled, ambiguous string) {
	if id.User == "" {
		return "", s.def, ""
	}
	if t, ok := s.exactUser[id.User]; ok {
		return t.team, t.policy, ""
	}
	var found *teamRef
	tie := ""
	for _, t := range s.userGlobs {
		if !globMatch(t.pattern, id.User) {
			continue
		}
		switch {
		case found == nil || t.precedence > found.precedence:
			found, tie = t, ""
		case t.precedence == found.precedence && t.team != found.team:
			tie = fmt.Sprintf("user %q matches teams %q (%s) and %q (%s) of equal precedence", id.User, found.team, found.pattern, t.team, t.pattern)
		}
	}
	if tie != "" {
		return "", s.def, tie
	}
	if found != nil {
		return found.team, found.policy, ""
	}
	// Groups and OUs, in the identity's order; a local user's groups are
	// its certificate's OUs, and a group a team names in groups comes
	// before the same name in another team's ous.
	names, local := id.OrganizationalUnits, id.Local
	if local {
		names = id.Groups
	}
	for _, v := range names {
		if local {
			if t, ok := s.byGroup[v]; ok && (found == nil || t.precedence > found.precedence) {
				found = t
			}
		}
		if t, ok := s.byOU[v]; ok && (found == nil || t.precedence > found.precedence) {
			found = t
		}
	}
	if found != nil {
		return found.team, found.policy, ""
	}
	for _, v := range id.Organizations {
		if t, ok := s.byOrg[v]; ok && (found == nil || t.precedence > found.precedence) {
			found = t
		}
	}
	if found != nil {
		return found.team, found.policy, ""
	}
	return "", s.def, ""
}

// buildTeams indexes team membership and reports conflicts.
func (l *loader) buildTeams(s *Set) {
	globs := map[string]*teamRef{}
	// Where each member was defined, for conflicts; not kept in the Set.
	defined := map[*teamRef]hcl.Range{}
	for _, t := range l.teamList {
		pname := t.Name
		if t.Policy != nil {
			pname = *t.Policy
		}
		p, ok := s.policies[pname]
		if !ok {
			rng := attrRange(t.Body, "policy", -1)
			if t.Policy == nil {
				rng = t.DeclRange.Ptr()
			}
			l.errorf(rng, "Unknown policy", "Team %q is judged by policy %q, which is not defined. Set policy = \"...\" or define policy %q.", t.Name, pname, pname)
			continue
		}
		s.teamNames = append(s.teamNames, t.Name)
		if t.Users == nil && t.OUs == nil && t.Orgs == nil && t.Groups == nil {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Team without members",
				Detail:   fmt.Sprintf("Team %q lists no users, groups, ous or orgs, so no request is judged by it.", t.Name),
				Subject:  t.DeclRange.Ptr(),
			})
		}
		var prec int64
		if t.Precedence != nil {
			prec = *t.Precedence
		}
		add := func(attr string, vals *[]string, idx map[string]*teamRef, what string, glob bool) {
			if vals == nil {
				return
			}
			for i, v := range *vals {
				rng := attrRange(t.Body, attr, i)
				if v == "" {
					l.errorf(rng, "Empty member", "An empty %s matches nothing; remove it.", what)
					continue
				}
				ref := &teamRef{team: t.Name, pattern: v, policy: p, precedence: prec}
				target, isGlob := idx, false
				if glob && hasMeta(v) {
					isGlob = true
					if err := checkGlob(v); err != nil {
						l.errorf(rng, "Invalid pattern", "%q: %v.", v, err)
						continue
					}
					target = globs
				}
				if prev, ok := target[v]; ok {
					if prev.team == t.Name {
						continue
					}
					l.errorf(rng, "Conflicting team membership", "%s %q is already a member of team %q; previous definition was at %s. A member may belong to one team only.", what, v, prev.team, at(defined[prev]))
					continue
				}
				target[v] = ref
				defined[ref] = *rng
				if isGlob {
					s.userGlobs = append(s.userGlobs, ref)
				}
			}
		}
		add("users", t.Users, s.exactUser, "user", true)
		add("groups", t.Groups, s.byGroup, "group", false)
		add("ous", t.OUs, s.byOU, "OU", false)
		add("orgs", t.Orgs, s.byOrg, "O", false)
	}
	sort.Strings(s.teamNames)
}
