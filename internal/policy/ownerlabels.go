package policy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/request"
)

// Swarm objects (services, secrets, configs, swarm-scoped networks) live
// in the cluster, and a request about one may reach any manager, each
// with its own Portcullis and its own store. Their owner is therefore
// kept where the cluster replicates it: in the owner labels
// (request.OwnerLabelTeam, request.OwnerLabelUser), which every manager's
// Portcullis reads back from its daemon. An authorization plugin cannot
// add a label to a request, so the create must carry it: ownerLabels
// requires the labels to name the caller at create, and to stay as they
// are at update.

// ownerLabelSubject is what the labels of a request belong to: the
// labels, the CLI command that sets them, and whether the object is one
// the cluster keeps (required) or a local one whose labels Portcullis
// never reads (claims are still refused).
type ownerLabelSubject struct {
	labels   map[string]string
	present  bool // the body was decoded
	command  string
	required bool
}

func (e *evaluator) ownerLabelSubject() (ownerLabelSubject, bool) {
	r := e.r
	switch r.Action {
	case request.ActionServiceCreate, request.ActionServiceUpdate:
		s := ownerLabelSubject{command: commandOf(r), required: true}
		if r.ServiceSpec != nil {
			s.labels, s.present = r.ServiceSpec.Labels, true
		}
		return s, true
	case request.ActionSecretCreate, request.ActionSecretUpdate:
		s := ownerLabelSubject{command: commandOf(r), required: true}
		if r.SecretSpec != nil {
			s.labels, s.present = r.SecretSpec.Labels, true
		}
		return s, true
	case request.ActionConfigCreate, request.ActionConfigUpdate:
		s := ownerLabelSubject{command: commandOf(r), required: true}
		if r.ConfigSpec != nil {
			s.labels, s.present = r.ConfigSpec.Labels, true
		}
		return s, true
	case request.ActionNetworkCreate:
		s := ownerLabelSubject{command: commandOf(r)}
		if nc := r.NetworkCreate; nc != nil {
			s.labels, s.present = nc.Labels, true
			s.required = request.SwarmScopedNetwork(nc.Driver, nc.Scope)
		}
		return s, true
	}
	return ownerLabelSubject{}, false
}

// ownerLabels judges the owner labels of a create or update (rule
// ownership.label).
func (e *evaluator) ownerLabels() {
	sub, ok := e.ownerLabelSubject()
	if !ok {
		return
	}
	if !sub.present {
		e.add("ownership.label", "Labels", string(e.r.Action)+" has no body to read its owner labels from")
		return
	}
	// Look-alikes of the owner labels are refused from everyone: a key
	// that differs in case or blanks is not read as the owner, and would
	// only mislead whoever reads the labels.
	keys := make([]string, 0, len(sub.labels))
	for k := range sub.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if request.IsOwnerLabelKey(k) && k != request.OwnerLabelTeam && k != request.OwnerLabelUser {
			e.add("ownership.label", "Labels."+k, "label "+strconv.Quote(k)+" is in the reserved owner namespace; only "+
				request.OwnerLabelTeam+" and "+request.OwnerLabelUser+", spelt exactly, may be set")
		}
	}
	if e.p.own.admin {
		// Administrators may name any owner, or none (unowned), and hand
		// an object to another team by changing its labels.
		return
	}
	got, _ := request.OwnerFromLabels(sub.labels)
	_, hasTeam := sub.labels[request.OwnerLabelTeam]
	_, hasUser := sub.labels[request.OwnerLabelUser]
	isUpdate := e.r.TargetKind != request.KindNone && e.r.Target != ""
	if isUpdate && e.objs != nil {
		if o, res := e.target(); res == request.Found && o.Owned {
			// An update keeps the owner labels exactly as they are (the
			// owner was read from them, or recorded at create).
			want := o.Owner
			if got != want || hasTeam != (want.Team != "") || hasUser != (want.User != "") {
				name := e.r.TargetKind.String() + " " + strconv.Quote(e.r.Target)
				if o.Name != "" {
					name = e.r.TargetKind.String() + " " + strconv.Quote(o.Name)
				}
				e.add("ownership.label", "Labels", "the owner labels of "+name+" cannot be changed or removed; keep "+labelFlags(want))
			}
			return
		}
	}
	// A create, or an update of an object whose owner is not known here
	// (judged as unowned besides): the labels name the caller.
	if e.id.User == "" {
		// Callers without an identity share one owner that no label can
		// name: their objects carry none, and are unowned on the other
		// managers (judged as unowned says there).
		if hasTeam || hasUser {
			e.add("ownership.label", "Labels", "a caller without an identity cannot name an owner; remove the "+
				request.OwnerLabelPrefix+"* labels, or connect with your TLS certificate or through the Portcullis gateway")
		}
		return
	}
	want := request.Owner{Team: e.team}
	if e.team == "" {
		want.User = e.id.User
	}
	flags := labelFlags(want)
	switch {
	case hasTeam && got.Team != want.Team:
		e.add("ownership.label", "Labels."+request.OwnerLabelTeam, "label "+request.OwnerLabelTeam+"="+strconv.Quote(got.Team)+
			" names an owner other than you; "+sub.command+" must carry "+flags)
	case hasUser && got.User != e.id.User:
		e.add("ownership.label", "Labels."+request.OwnerLabelUser, "label "+request.OwnerLabelUser+"="+strconv.Quote(got.User)+
			" names a user other than you ("+e.id.User+"); "+sub.command+" must carry "+flags)
	case !sub.required:
	case want.Team != "" && !hasTeam, want.User != "" && !hasUser:
		e.add("ownership.label", "Labels", sub.command+" must carry the owner label "+flags+
			": every swarm manager reads the owner of a "+kindWord(e.r)+" from it")
	}
}

// commandOf names the CLI command of a create ("docker service
// create"), or "the update".
func commandOf(r *request.Request) string {
	if kind, verb, ok := strings.Cut(string(r.Action), "."); ok && verb == "create" {
		return "docker " + kind + " create"
	}
	return "the update"
}

// labelFlags are the CLI flags that set the owner labels of o.
func labelFlags(o request.Owner) string {
	var s string
	if o.Team != "" {
		s = "--label " + request.OwnerLabelTeam + "=" + o.Team
	}
	if o.User != "" {
		if s != "" {
			s += " "
		}
		s += "--label " + request.OwnerLabelUser + "=" + o.User
	}
	if s == "" {
		s = "no owner label"
	}
	return s
}

// kindWord names what the request creates or changes.
func kindWord(r *request.Request) string {
	switch k := r.Creates; {
	case k == request.KindNetwork:
		return "swarm-scoped network"
	case k != request.KindNone:
		return k.String()
	}
	return r.TargetKind.String()
}
