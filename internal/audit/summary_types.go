package audit

// Mask replaces every secret value in a record.
const Mask = "***"

// Summary is the security-relevant part of what a request asked for. Only
// the settings listed here are ever recorded; raw bodies never are. Every
// field is omitted when the request did not set it.
type Summary struct {
	Image          string      `json:"image,omitempty"`
	User           string      `json:"user,omitempty"`
	Privileged     bool        `json:"privileged,omitempty"`
	CapAdd         []string    `json:"cap_add,omitempty"`
	CapDrop        []string    `json:"cap_drop,omitempty"`
	SecurityOpt    []string    `json:"security_opt,omitempty"`
	Namespaces     *Namespaces `json:"namespaces,omitempty"`
	NetworkMode    string      `json:"network_mode,omitempty"`
	Mounts         []Mount     `json:"mounts,omitempty"`
	VolumesFrom    []string    `json:"volumes_from,omitempty"`
	Devices        []Device    `json:"devices,omitempty"`
	DeviceCgroup   []string    `json:"device_cgroup_rules,omitempty"`
	Ports          []Port      `json:"published_ports,omitempty"`
	PublishAll     bool        `json:"publish_all_ports,omitempty"`
	LogDriver      string      `json:"log_driver,omitempty"`
	ReadOnlyRootfs bool        `json:"read_only_rootfs,omitempty"`
	// Env lists environment variables as NAME=*** (values always masked).
	Env []string `json:"env,omitempty"`
	// Labels holds labels; values of sensitive keys are masked.
	Labels map[string]string `json:"labels,omitempty"`
	// BuildArgs lists image build args as NAME=*** (values always masked).
	BuildArgs []string `json:"build_args,omitempty"`
	Exec      *Exec    `json:"exec,omitempty"`
	// Driver is the volume or network driver; DriverOpts its options with
	// sensitive values masked.
	Driver     string            `json:"driver,omitempty"`
	DriverOpts map[string]string `json:"driver_opts,omitempty"`
	// PluginPrivileges are the privileges a plugin pull or upgrade grants.
	PluginPrivileges []PluginPrivilege `json:"plugin_privileges,omitempty"`

	// Masked lists the paths of the values replaced by Mask. It is not
	// encoded here: SetRequest copies it to Record.Masked.
	Masked []string `json:"-"`
}

// Namespaces are the namespace modes a container asked for ("host",
// "container:<id>", "private", …). Net equals Summary.NetworkMode.
type Namespaces struct {
	PID      string `json:"pid,omitempty"`
	IPC      string `json:"ipc,omitempty"`
	UTS      string `json:"uts,omitempty"`
	Net      string `json:"net,omitempty"`
	UserNS   string `json:"userns,omitempty"`
	CgroupNS string `json:"cgroupns,omitempty"`
}

// Mount is one bind, volume, tmpfs or other mount. Source is a host path
// for binds. A HostConfig.Binds entry the daemon would refuse has Type
// "invalid", the entry as written in Spec, and in Invalid the daemon's
// reason, the one the policy gives when it denies it
// (request.ParseBind).
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target,omitempty"`
	ReadOnly bool   `json:"read_only"`
	Spec     string `json:"spec,omitempty"`
	Invalid  string `json:"invalid,omitempty"`
}

// MountInvalid is the Type of a Binds entry the daemon would refuse.
const MountInvalid = "invalid"

// Device is a host device mapped into a container.
type Device struct {
	Host        string `json:"host"`
	Container   string `json:"container,omitempty"`
	Permissions string `json:"permissions,omitempty"`
}

// Port is a published port: the container port ("80/tcp") and the host
// address it is bound to.
type Port struct {
	ContainerPort string `json:"container_port"`
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      string `json:"host_port,omitempty"`
}

// Exec is what an exec instance runs. Cmd arguments of the form
// --key=value or key=value with a sensitive key have the value masked.
type Exec struct {
	Privileged bool     `json:"privileged,omitempty"`
	User       string   `json:"user,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
}

// PluginPrivilege is one privilege granted to a plugin.
type PluginPrivilege struct {
	Name  string   `json:"name"`
	Value []string `json:"value,omitempty"`
}
