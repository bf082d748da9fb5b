package policy

import "github.com/hashicorp/hcl/v2"

// This file is the one place that declares the policy language, but for
// the container block's attributes, which controls.go declares. Every
// attribute is optional and a pointer: nil means "not set here", so that
// a policy that extends another inherits it (see merge.go). The defaults
// that apply when no policy in the chain sets an attribute are in
// defaults.go (the container block's: in its declarations), and every
// block and attribute is documented in docs/policy.md.

// fileSchema is the top level of a policy file.
type fileSchema struct {
	Policies []*policyBlock `hcl:"policy,block"`
	Teams    []*teamBlock   `hcl:"team,block"`
}

type teamBlock struct {
	Name   string    `hcl:"name,label"`
	Policy *string   `hcl:"policy,optional"`
	Users  *[]string `hcl:"users,optional"`
	OUs    *[]string `hcl:"ous,optional"`
	Orgs   *[]string `hcl:"orgs,optional"`
	// Groups match local users by Unix group (certificates the portcullis
	// gateway minted); Precedence ranks teams that claim the same identity.
	Groups     *[]string `hcl:"groups,optional"`
	Precedence *int64    `hcl:"precedence,optional"`

	Body      hcl.Body  `hcl:",body"`
	DeclRange hcl.Range `hcl:",def_range"`
}

type policyBlock struct {
	Name        string  `hcl:"name,label"`
	Extends     *string `hcl:"extends,optional"`
	Mode        *string `hcl:"mode,optional"`
	Description *string `hcl:"description,optional"`
	// AuditHealthCalls is "record" (one audit record per call) or
	// "summarize" (allowed system.ping and system.version calls are
	// counted in a periodic decision.summary record instead).
	AuditHealthCalls *string `hcl:"audit_health_calls,optional"`
	// Help is appended to every denial this policy (or one extending it
	// without its own) gives: a team contact, a runbook URL.
	Help *string `hcl:"help,optional"`
	// AllowUnknownFields relaxes request.unknown_field.
	AllowUnknownFields *bool `hcl:"allow_unknown_fields,optional"`

	Actions   *actionsBlock   `hcl:"actions,block"`
	Container *containerBlock `hcl:"container,block"`
	Exec      *execBlock      `hcl:"exec,block"`
	Volumes   *volumesBlock   `hcl:"volumes,block"`
	Networks  *networksBlock  `hcl:"networks,block"`
	Images    *imagesBlock    `hcl:"images,block"`
	Build     *buildBlock     `hcl:"build,block"`
	Ownership *ownershipBlock `hcl:"ownership,block"`
	Rules     []*ruleBlock    `hcl:"rule,block"`

	Body      hcl.Body  `hcl:",body"`
	DeclRange hcl.Range `hcl:",def_range"`

	base *policyBlock // the policy it extends, set by the loader
	self *policyBlock // for a merged policy: the policy as written
}

// actionsBlock: which API actions a policy allows.
type actionsBlock struct {
	Allow    *[]string `hcl:"allow,optional"`
	Deny     *[]string `hcl:"deny,optional"`
	ReadOnly *bool     `hcl:"read_only,optional"`

	Body hcl.Body `hcl:",body"`

	verdicts []int8 // per request.Actions() entry, computed once at load
}

// containerBlock (container.create, and the container spec of service
// create/update) is declared in controls.go, one declaration per
// attribute.

// execBlock: container.exec.
type execBlock struct {
	Privileged      *bool     `hcl:"privileged,optional"`
	AllowRootUser   *bool     `hcl:"allow_root_user,optional"`
	EmptyUserIsRoot *bool     `hcl:"empty_user_is_root,optional"`
	Commands        *[]string `hcl:"commands,optional"`

	Body hcl.Body `hcl:",body"`
}

// volumesBlock: volume.create.
type volumesBlock struct {
	Drivers        *[]string `hcl:"drivers,optional"`
	HostPaths      *bool     `hcl:"host_paths,optional"`
	NetworkServers *[]string `hcl:"network_servers,optional"`

	Body hcl.Body `hcl:",body"`
}

// networksBlock: network.create.
type networksBlock struct {
	Drivers    *[]string `hcl:"drivers,optional"`
	Options    *[]string `hcl:"options,optional"`
	ConfigFrom *bool     `hcl:"config_from,optional"`

	Body hcl.Body `hcl:",body"`
}

// imagesBlock: the image a container or service runs, and image.pull,
// image.import, image.tag, image.push, commit and image.build targets.
type imagesBlock struct {
	Allow         *[]string `hcl:"allow,optional"`
	RequireDigest *bool     `hcl:"require_digest,optional"`
	AllowLatest   *bool     `hcl:"allow_latest,optional"`
	FetchHosts    *[]string `hcl:"fetch_hosts,optional"`

	Body hcl.Body `hcl:",body"`
}

// buildBlock: image.build query parameters.
type buildBlock struct {
	// Allow allows builds (image.build, and BuildKit's session and grpc)
	// whatever the actions lists say.
	Allow          *bool     `hcl:"allow,optional"`
	NetworkModes   *[]string `hcl:"network_modes,optional"`
	CgroupParents  *[]string `hcl:"cgroup_parents,optional"`
	RemoteContexts *[]string `hcl:"remote_contexts,optional"`

	Body hcl.Body `hcl:",body"`
}

// ownershipBlock: who may act on objects other teams own.
type ownershipBlock struct {
	Enforce *bool     `hcl:"enforce,optional"`
	Others  *[]string `hcl:"others,optional"`
	Admin   *bool     `hcl:"admin,optional"`
	Unowned *string   `hcl:"unowned,optional"`
	Prune   *bool     `hcl:"prune,optional"`

	Body hcl.Body `hcl:",body"`
}

// ruleBlock: a custom rule.
type ruleBlock struct {
	Name    string         `hcl:"name,label"`
	Actions *[]string      `hcl:"actions,optional"`
	When    hcl.Expression `hcl:"when"`
	Message hcl.Expression `hcl:"message"`

	Body hcl.Body `hcl:",body"`

	DeclRange hcl.Range `hcl:",def_range"`
}
