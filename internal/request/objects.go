package request

import (
	"strings"

	"github.com/docker/docker/api/types/mount"
)

// Kind is a kind of Docker object Portcullis can tell apart: what a route's
// path variable names, what a create returns, what a body refers to.
type Kind uint8

// Object kinds. KindNone is a route that names no object Portcullis
// tracks.
const (
	KindNone Kind = iota
	KindContainer
	KindImage
	KindVolume
	KindNetwork
	KindExec
	KindService
	KindSecret
	KindConfig
	KindNode
	KindTask
	KindPlugin
)

var kindNames = [...]string{
	KindNone: "", KindContainer: "container", KindImage: "image", KindVolume: "volume",
	KindNetwork: "network", KindExec: "exec", KindService: "service", KindSecret: "secret",
	KindConfig: "config", KindNode: "node", KindTask: "task", KindPlugin: "plugin",
}

// String is the kind's name as in messages and audit records ("container").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Ref is a reference a request makes to an object other than its target:
// the container of --volumes-from, a named volume it mounts, the network
// it joins, the container a network connect attaches.
type Ref struct {
	Kind Kind
	// Name is the reference as the request spells it, which the daemon
	// resolves (a name, an id or an id prefix).
	Name string
	// Field is the request field it came from, for messages.
	Field string
}

// predefinedNetworks are the networks the daemon creates itself and
// every container may join by mode; they belong to nobody.
var predefinedNetworks = map[string]bool{"bridge": true, "host": true, "none": true, "default": true}

// IsPredefinedNetwork reports whether name is a network mode the daemon
// provides itself (bridge, host, none, default) rather than a network
// someone created.
func IsPredefinedNetwork(name string) bool { return predefinedNetworks[name] }

// References lists the objects r refers to besides its path target, as
// the daemon will read them: --volumes-from, --network/--ipc/--pid
// container:X, --link, named volumes in binds and mounts, the networks a
// container joins, the container of a network connect or disconnect, the
// container a commit reads. Each entry names the field it came from.
func (r *Request) References() []Ref {
	var out []Ref
	add := func(k Kind, name, field string) {
		if name != "" {
			out = append(out, Ref{Kind: k, Name: name, Field: field})
		}
	}
	switch r.Action {
	case ActionContainerCreate:
		c := r.ContainerCreate
		if c == nil || c.HostConfig == nil {
			return nil
		}
		hc := c.HostConfig
		for i, v := range hc.VolumesFrom {
			// A spec the daemon refuses names nothing; the policy
			// denies it.
			if name, _, err := ParseVolumesFrom(v); err == nil {
				add(KindContainer, name, "HostConfig.VolumesFrom["+itoa(i)+"]")
			}
		}
		if ctr, ok := strings.CutPrefix(string(hc.NetworkMode), "container:"); ok {
			add(KindContainer, ctr, "HostConfig.NetworkMode")
		} else if nm := string(hc.NetworkMode); nm != "" && !IsPredefinedNetwork(nm) {
			add(KindNetwork, nm, "HostConfig.NetworkMode")
		}
		if ctr, ok := strings.CutPrefix(string(hc.IpcMode), "container:"); ok {
			add(KindContainer, ctr, "HostConfig.IpcMode")
		}
		if ctr, ok := strings.CutPrefix(string(hc.PidMode), "container:"); ok {
			add(KindContainer, ctr, "HostConfig.PidMode")
		}
		for i, l := range hc.Links {
			// "name:alias" or "name"; the daemon strips a leading "/".
			name, _, _ := strings.Cut(l, ":")
			add(KindContainer, strings.TrimPrefix(name, "/"), "HostConfig.Links["+itoa(i)+"]")
		}
		for i, raw := range hc.Binds {
			// A named volume; a spec the daemon refuses names nothing
			// (the policy denies it).
			if b, err := ParseBind(raw); err == nil && b.Type == mount.TypeVolume {
				add(KindVolume, b.Source, "HostConfig.Binds["+itoa(i)+"]")
			}
		}
		for i, m := range hc.Mounts {
			if m.Type == mount.TypeVolume && m.Source != "" {
				add(KindVolume, m.Source, "HostConfig.Mounts["+itoa(i)+"].Source")
			}
		}
		if nc := c.NetworkingConfig; nc != nil {
			for name := range nc.EndpointsConfig {
				if !IsPredefinedNetwork(name) && name != string(hc.NetworkMode) {
					add(KindNetwork, name, "NetworkingConfig.EndpointsConfig")
				}
			}
		}
	case ActionNetworkConnect:
		if r.NetworkConnect != nil {
			add(KindContainer, r.NetworkConnect.Container, "Container")
		}
	case ActionNetworkDisconnect:
		if r.NetworkDisconnect != nil {
			add(KindContainer, r.NetworkDisconnect.Container, "Container")
		}
	case ActionCommit:
		add(KindContainer, r.Query.Get("container"), "container")
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Owner is who owns an object: the team of the identity that created
// it, and the user. Team is empty for a user in no team; both are empty
// for an unauthenticated creator.
type Owner struct {
	Team string `json:"team,omitempty"`
	User string `json:"user,omitempty"`
}

// String names the owner for a person: "team web" or "user alice".
func (o Owner) String() string {
	switch {
	case o.Team != "":
		return "team " + o.Team
	case o.User != "":
		return "user " + o.User
	}
	return "unauthenticated users"
}

// Object is what is known about one object: its id, name and owner.
type Object struct {
	Kind Kind
	ID   string
	Name string
	// Owned is false for an object Portcullis did not see created.
	Owned bool
	Owner Owner
	// User is a container's configured user (Config.User at create),
	// "" when it runs as its image's user; UserKnown says whether it
	// was recorded at all.
	User      string
	UserKnown bool
	// Container is the container an exec instance runs in.
	Container string
}

// Resolution is how a reference resolved.
type Resolution uint8

const (
	// Found: the reference names exactly one known object.
	Found Resolution = iota
	// NotFound: no known object matches.
	NotFound
	// Ambiguous: several objects match at the same precedence, as the
	// daemon would refuse; never guessed.
	Ambiguous
	// Unavailable: what the daemon holds is not known yet (state not
	// reconciled).
	Unavailable
)
