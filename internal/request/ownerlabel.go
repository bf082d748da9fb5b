package request

import "strings"

// Owner labels: where a swarm object keeps its owner, so that every
// manager's Portcullis reads the same owner back from the cluster (a
// service, secret, config or swarm-scoped network may be created through
// one manager and used through another). The policy requires them at
// create and forbids changing them; the state follower reads them.
const (
	// OwnerLabelPrefix is the reserved label namespace: no label whose
	// key, in any case and without surrounding blanks, starts with it
	// may be set except the two below, spelt exactly.
	OwnerLabelPrefix = "io.portcullis.owner."
	// OwnerLabelTeam names the owning team.
	OwnerLabelTeam = OwnerLabelPrefix + "team"
	// OwnerLabelUser names the owning user (for a user in no team, the
	// owner; for a team's object, who created it).
	OwnerLabelUser = OwnerLabelPrefix + "user"
)

// OwnerFromLabels is the owner a swarm object's labels name; ok is false
// when they name none (neither label, or both empty).
func OwnerFromLabels(labels map[string]string) (o Owner, ok bool) {
	o = Owner{Team: labels[OwnerLabelTeam], User: labels[OwnerLabelUser]}
	return o, o.Team != "" || o.User != ""
}

// IsOwnerLabelKey reports whether key falls in the reserved owner label
// namespace as a reader might take it: compared without case and without
// surrounding white space. A key for which it is true and that is not
// exactly OwnerLabelTeam or OwnerLabelUser is a look-alike.
func IsOwnerLabelKey(key string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(key)), OwnerLabelPrefix)
}

// SwarmScopedNetwork reports whether a network create may make a
// swarm-scoped network, which the cluster keeps and every manager
// serves: the daemon (libnetwork controller.NewNetwork) hands the create
// to the cluster when the driver's data scope is global (overlay, or a
// global-scope plugin driver) or the request asks for scope "swarm".
// Only the built-in local drivers are known to be local; any other
// driver counts as swarm-scoped.
func SwarmScopedNetwork(driver, scope string) bool {
	if strings.EqualFold(strings.TrimSpace(scope), "swarm") {
		return true
	}
	switch driver {
	case "", "bridge", "macvlan", "ipvlan", "host", "null":
		return false
	}
	return true
}
