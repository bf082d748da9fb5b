// Package request turns one Docker Engine API request, as the daemon hands it
// to an authorization plugin, into a typed model: the route the daemon will
// dispatch it to (an action name and its target), and the JSON body decoded
// with the daemon's own types and the same encoding/json semantics.
//
// The package does no I/O and knows nothing about policies or the plugin
// protocol; both build on it.
package request

import (
	"net/url"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/checkpoint"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// Identity is who the daemon authenticated. Only the daemon's own fields are
// used: the request's User (the TLS client certificate's common name), its
// authentication method and the peer certificate. Request headers never are.
type Identity struct {
	// User is the daemon's User field; empty for unauthenticated requests
	// (for example over the local Unix socket).
	User string `json:"user,omitempty"`
	// AuthNMethod is the daemon's UserAuthNMethod (for example "TLS").
	AuthNMethod string `json:"authn_method,omitempty"`
	// CommonName, OrganizationalUnits and Organizations come from the
	// leaf peer certificate, when the daemon sent one.
	CommonName          string   `json:"common_name,omitempty"`
	OrganizationalUnits []string `json:"organizational_units,omitempty"`
	Organizations       []string `json:"organizations,omitempty"`
	// Subject is the leaf certificate's subject in RFC 2253 form.
	Subject string `json:"subject,omitempty"`

	// Local is set when the certificate is one the portcullis gateway
	// minted for a user of this host (it carries the URI
	// portcullis://gateway?uid=&gid=). Then Groups are the user's Unix
	// groups (the certificate's OUs: primary group first), UID and GID
	// the kernel's ids, and PID and Exe the client process, from the
	// gateway's own header (honoured only on such a request).
	Local  bool     `json:"local,omitempty"`
	Groups []string `json:"groups,omitempty"`
	UID    string   `json:"uid,omitempty"`
	GID    string   `json:"gid,omitempty"`
	PID    int      `json:"pid,omitempty"`
	Exe    string   `json:"exe,omitempty"`
}

// Authenticated reports whether the daemon named a user.
func (i Identity) Authenticated() bool { return i.User != "" }

// Request is one classified and decoded Docker API request.
type Request struct {
	// Method is the HTTP method, upper case.
	Method string
	// URI is the request URI exactly as the daemon reported it.
	URI string
	// Path is the decoded, cleaned path without the API version prefix,
	// for example "/containers/create".
	Path string
	// Query holds the decoded query parameters.
	Query url.Values
	// APIVersion is the version from the path prefix, normalised
	// ("/v01.041" gives "1.41"); empty when the path has none.
	APIVersion string

	// Action names the daemon route, for example "container.create";
	// ActionUnknown when no route matches.
	Action Action
	// Target is the route's path variable: the container, image, network,
	// volume, plugin, exec, service, node, secret, config or task named in
	// the path. Empty for routes without one.
	Target string
	// TargetKind is the kind of object Target names, from the route
	// table; KindNone when the route names no tracked object.
	TargetKind Kind
	// Creates is the kind of object a successful response to this
	// route names as created, from the route table; KindNone otherwise.
	Creates Kind
	// Checkpoint is the checkpoint name of DELETE /containers/{name}/checkpoints/{checkpoint}.
	Checkpoint string

	// UnknownFields lists the body's keys, as paths, that the daemon
	// types Portcullis was built with do not have and that carry a
	// non-zero value (see CodeUnknownField). encoding/json drops them; a
	// daemon of another version may apply them.
	UnknownFields []string

	// HasBody reports whether the daemon forwarded a body.
	HasBody bool
	// ContentType is the media type of the body ("application/json"),
	// parameters stripped, lower case.
	ContentType string

	// Decoded bodies. At most one is set, chosen by Action.
	ContainerCreate   *ContainerCreate
	Exec              *container.ExecOptions      // container.exec
	ExecStart         *container.ExecStartOptions // exec.start
	ContainerUpdate   *container.UpdateConfig     // container.update
	CommitConfig      *container.Config           // commit
	CheckpointCreate  *checkpoint.CreateOptions   // checkpoint.create
	VolumeCreate      *volume.CreateOptions       // volume.create
	VolumeUpdate      *volume.UpdateOptions       // volume.update
	NetworkCreate     *network.CreateRequest      // network.create
	NetworkConnect    *network.ConnectOptions     // network.connect
	NetworkDisconnect *network.DisconnectOptions  // network.disconnect
	ServiceSpec       *swarm.ServiceSpec          // service.create, service.update
	SwarmInit         *swarm.InitRequest          // swarm.init
	SwarmJoin         *swarm.JoinRequest          // swarm.join
	SwarmUpdate       *swarm.Spec                 // swarm.update
	SwarmUnlock       *swarm.UnlockRequest        // swarm.unlock
	NodeSpec          *swarm.NodeSpec             // node.update
	SecretSpec        *swarm.SecretSpec           // secret.create, secret.update
	ConfigSpec        *swarm.ConfigSpec           // config.create, config.update
	PluginPrivileges  types.PluginPrivileges      // plugin.pull, plugin.upgrade
	PluginSettings    []string                    // plugin.set
}

// ContainerCreate is the body of POST /containers/create as the daemon
// sees it, with the query's name and platform. Config, HostConfig and
// NetworkingConfig are never nil after decoding: absent parts read as the
// daemon's defaults (zero values).
type ContainerCreate struct {
	Name             string
	Platform         string
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

// Action names a Docker Engine API route: a resource and a verb joined by
// dots, for example "container.create" or "container.archive.put". The
// full list is in actions.go.
type Action string
