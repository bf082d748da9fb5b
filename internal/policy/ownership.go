package policy

import (
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/request"
)

// Objects answers the ownership questions a decision asks: which object
// a reference names (resolved as the daemon resolves it) and who owns it.
// The plugin passes its state store; the policy language never sees how
// the answers are kept.
type Objects interface {
	Resolve(kind request.Kind, ref string) (request.Object, request.Resolution)
}

// ownershipPolicy is the compiled ownership block.
type ownershipPolicy struct {
	enforce bool
	others  actionSet // actions members may perform on others' objects
	admin   bool      // members act on every object as its owner would
	unowned string    // "deny", "allow" or "admins"
	prune   bool      // prune actions allowed
}

// actionPatterns compiles a list of action patterns to a set.
func (cc *compiler) actionPatterns(items *[]string) actionSet {
	set := make(actionSet, (len(allActions)+63)/64)
	for i, a := range allActions {
		for _, pat := range *items {
			if globMatch(pat, string(a)) {
				set[i/64] |= 1 << (i % 64)
				break
			}
		}
	}
	return set
}

// pruneActions remove every team's unused objects, not the caller's.
var pruneActions = map[request.Action]bool{
	request.ActionContainerPrune: true, request.ActionVolumePrune: true, request.ActionNetworkPrune: true,
	request.ActionImagePrune: true, request.ActionImageBuildPrune: true,
}

// ownedKinds are the kinds whose objects have owners.
var ownedKinds = map[request.Kind]bool{
	request.KindContainer: true, request.KindVolume: true, request.KindNetwork: true,
	request.KindExec: true, request.KindService: true, request.KindSecret: true, request.KindConfig: true,
}

// DecideWith is Decide with ownership: objs resolves the request's target
// and the objects its body refers to, and the policy's ownership block
// judges who may act on them. Decide judges without it (portcullis eval
// and test, which hold no state), and so does a nil objs.
func (s *Set) DecideWith(id request.Identity, r *request.Request, objs Objects) Decision {
	return s.decide(id, r, objs)
}

// target resolves the request's path target once per decision.
func (e *evaluator) target() (request.Object, request.Resolution) {
	if !e.targetDone {
		e.targetDone = true
		e.targetObj, e.targetRes = e.objs.Resolve(e.r.TargetKind, e.r.Target)
	}
	return e.targetObj, e.targetRes
}

// ownership judges the request's target and references by their owners.
func (e *evaluator) ownership() {
	op := &e.p.own
	if !op.enforce {
		return
	}
	// Owner labels of swarm objects are judged with or without state:
	// at create they must name the caller.
	e.ownerLabels()
	if e.objs == nil {
		return
	}
	r := e.r
	if pruneActions[r.Action] && !op.prune && !op.admin {
		e.add("ownership.prune", "", string(r.Action)+" removes the unused objects of every team, not only yours; ask an administrator")
	}
	if ownedKinds[r.TargetKind] && r.Target != "" {
		o, res := e.target()
		e.owned(r.TargetKind, r.Target, "", o, res, true)
	}
	for _, ref := range r.References() {
		if !ownedKinds[ref.Kind] {
			continue
		}
		o, res := e.objs.Resolve(ref.Kind, ref.Name)
		e.owned(ref.Kind, ref.Name, ref.Field, o, res, false)
	}
}

// owned judges one object the request acts on (asTarget) or refers to.
func (e *evaluator) owned(kind request.Kind, ref, field string, o request.Object, res request.Resolution, asTarget bool) {
	op := &e.p.own
	if kind == request.KindNetwork && (request.IsPredefinedNetwork(ref) || res == request.Found && request.IsPredefinedNetwork(o.Name) && !o.Owned) {
		// The daemon's own networks belong to nobody and everyone.
		return
	}
	name := kind.String() + " " + strconv.Quote(ref)
	switch res {
	case request.Found:
		if o.Name != "" && o.Name != ref {
			name = kind.String() + " " + strconv.Quote(o.Name)
		}
		if !o.Owned {
			e.unowned(name, field, "has no recorded owner (created while Portcullis was not watching)")
			return
		}
		if op.admin || e.sameOwner(o.Owner) {
			return
		}
		if asTarget && op.others.has(e.r.Action) {
			return
		}
		e.add("ownership.other", field, name+" belongs to "+o.Owner.String())
	case request.NotFound:
		if !asTarget && kind == request.KindVolume {
			// A named volume that does not exist yet is created by the
			// daemon for this container.
			return
		}
		e.unowned(name, field, "is not known to Portcullis")
	case request.Ambiguous:
		e.unowned(name, field, "matches several objects, as the daemon would refuse")
	default:
		e.unowned(name, field, "cannot be resolved yet: Portcullis has not read the daemon's objects")
	}
}

func (e *evaluator) unowned(name, field, why string) {
	op := &e.p.own
	switch {
	case op.admin, op.unowned == "allow":
		return
	case op.unowned == "admins":
		e.add("ownership.unowned", field, name+" "+why+"; only administrators act on objects without an owner")
	default:
		e.add("ownership.unowned", field, name+" "+why+"; the policy denies acting on objects without an owner")
	}
}

// sameOwner reports whether the caller owns what owner owns: the same
// team, or for a caller in no team the same user.
func (e *evaluator) sameOwner(o request.Owner) bool {
	if e.team != "" {
		return o.Team == e.team
	}
	return o.Team == "" && o.User == e.id.User
}

// OwnerOf is the owner a create by id records: its team, or the user
// alone for a user in no team.
func (s *Set) OwnerOf(id request.Identity) request.Owner {
	team, _, amb := s.lookup(id)
	if amb != "" {
		team = ""
	}
	return request.Owner{Team: team, User: id.User}
}

// targetNames are the rules' request.target_name and request.target_id:
// the name and full id the target resolves to, so that a rule about a
// container holds whatever spelling the request uses (id, id prefix,
// "/name"). Unresolved, the name is the target as written without a
// container name's leading "/", and the id is empty.
func (e *evaluator) targetNames() (name, id string) {
	name = e.r.Target
	if e.r.TargetKind == request.KindContainer {
		name = strings.TrimPrefix(name, "/")
	}
	if e.objs == nil || !ownedKinds[e.r.TargetKind] || e.r.Target == "" {
		return name, ""
	}
	if o, res := e.target(); res == request.Found {
		if o.Name != "" {
			name = o.Name
		}
		return name, o.ID
	}
	return name, ""
}
