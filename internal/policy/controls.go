package policy

import (
	"math"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// This file declares every attribute of the container block, once: its
// name, HCL type, built-in default, the request fields it reads for
// container create and for services, the rule id it governs and its
// documentation line (and the remedy of a rule id of its own). From the
// declarations come the block's HCL schema and decoding (decode.go), the
// built-in defaults (defaults.go), the compiled form (containerPolicy: a
// slot per control), the one table of request field names a check
// reports (fieldSet), the load-time checks of list items, and the
// attribute reference in docs/policy.md (TestDocs; go test
// ./internal/policy -run TestDocs -update rewrites it). Tests hold the
// rest to them: TestEveryControlDecides (a check reads each control),
// TestControlDeclarations (fields.go, remedies, defaults) and
// TestAuditSummaryCoversControls (the audit summary).
//
// Adding a control is one declaration here, one check that reads it
// (through its handle's of method) and one case in TestEveryControlDecides; then regenerate
// docs/policy.md.
//
// The order of the declarations is the order of the documentation table
// and of load diagnostics.

// control is the declaration of one container attribute.
type control struct {
	name string // the HCL attribute
	// def is the built-in default, an HCL expression; "" takes the
	// kind's zero value (TestControlDeclarations requires it written out
	// unless noDefault).
	def string
	// noDefault: the attribute has no default; unset means the check is
	// off (compile sees nil).
	noDefault bool
	docDef    string // the default as the documentation shows it; def when ""
	rule      string // the rule id it governs
	// remedy is what the caller changes, for a rule id of its own that
	// remedies.go does not list (remedyFor finds it there).
	remedy string
	// reads are the request fields the check reads, as container create
	// names them and as a service's violation names them.
	reads []fieldPair
	doc   string // one line for docs/policy.md ("" for none)
	// after are rule ids without an attribute of their own, documented
	// in the table after this one.
	after []ruleRow

	// Attribute validation beyond its type.
	hostPaths bool     // list items are absolute host paths
	vars      bool     // list items may use $user and $team
	enum      []string // list items are from this set (namespaces)
	check     func(l *loader, body hcl.Body, v any)

	// Set by declare: the place in controls, where it is declared, its
	// slot among the compiled values of its type, and what the kind says.
	index   int
	slot    int
	file    string
	line    int
	hclType string
	goType  reflect.Type
	zero    string
	list    bool
	build   func(cc *compiler, v any) any
	compile func(cc *compiler, v any, cp *containerPolicy) // build, into the control's slot
}

// ruleRow documents a rule id that no single attribute governs.
type ruleRow struct {
	attr, def, rule, doc string
}

// fieldPair is one request field: its path in a container create body and
// the path a violation names for a service spec (the executor's source of
// the same setting, or the container spec when a service cannot set it).
type fieldPair struct{ create, service string }

// controls are the declarations, in order.
var controls []*control

// The compiled values are kept by type (containerPolicy), each control's
// in its slot: a control of a bool kind is a flag, of an int64 kind a num,
// of a glob list a globs, of host paths a paths, of a set a set, any other
// a ctl of its compiled type. Their of methods read the value.
type (
	flag          struct{ c *control }
	num           struct{ c *control }
	globs         struct{ c *control }
	paths         struct{ c *control }
	set           struct{ c *control }
	ctl[T any]    struct{ c *control }
	containerVals struct {
		flags []bool
		nums  []int64
		globs []*globList
		paths []*pathList
		sets  []map[string]bool
		refs  []any
	}
)

// How many slots of each type the controls declare.
var nFlags, nNums, nGlobs, nPaths, nSets, nRefs int

func (k flag) of(c *containerPolicy) bool           { return c.flags[k.c.slot] }
func (k num) of(c *containerPolicy) int64           { return c.nums[k.c.slot] }
func (k globs) of(c *containerPolicy) *globList     { return c.globs[k.c.slot] }
func (k paths) of(c *containerPolicy) *pathList     { return c.paths[k.c.slot] }
func (k set) of(c *containerPolicy) map[string]bool { return c.sets[k.c.slot] }
func (k ctl[T]) of(c *containerPolicy) T            { return c.refs[k.c.slot].(T) }

func declareFlag(c control) flag {
	return flag{add(boolKind, c, &nFlags, func(cp *containerPolicy, i int, v bool) { cp.flags[i] = v })}
}

func declareNum(k kind[int64], c control) num {
	return num{add(k, c, &nNums, func(cp *containerPolicy, i int, v int64) { cp.nums[i] = v })}
}

func declareGlobs(k kind[*globList], c control) globs {
	return globs{add(k, c, &nGlobs, func(cp *containerPolicy, i int, v *globList) { cp.globs[i] = v })}
}

func declarePaths(c control) paths {
	return paths{add(pathsKind, c, &nPaths, func(cp *containerPolicy, i int, v *pathList) { cp.paths[i] = v })}
}

func declareSet(k kind[map[string]bool], c control) set {
	return set{add(k, c, &nSets, func(cp *containerPolicy, i int, v map[string]bool) { cp.sets[i] = v })}
}

func declare[T any](k kind[T], c control) ctl[T] {
	return ctl[T]{add(k, c, &nRefs, func(cp *containerPolicy, i int, v T) { cp.refs[i] = v })}
}

// add adds a control to controls, which it keeps in source order: Go
// initialises package variables in dependency order, not always in the
// order they are written, and the order of the declarations is that of
// the documentation and the diagnostics.
func add[T any](k kind[T], c control, n *int, put func(cp *containerPolicy, slot int, v T)) *control {
	_, c.file, c.line, _ = runtime.Caller(2)
	c.hclType, c.goType, c.zero = k.hcl, k.goT, k.zero
	c.list = k.goT == reflect.TypeFor[[]string]()
	slot := *n
	*n++
	c.compile = func(cc *compiler, v any, cp *containerPolicy) { put(cp, slot, k.build(cc, v)) }
	c.build = func(cc *compiler, v any) any { return k.build(cc, v) }
	c.slot = slot
	i := sort.Search(len(controls), func(i int) bool {
		o := controls[i]
		return o.file > c.file || o.file == c.file && o.line > c.line
	})
	controls = slices.Insert(controls, i, &c)
	for i, c := range controls {
		c.index = i
	}
	return &c
}

// kind is how a control's attribute is typed, decoded and compiled.
type kind[T any] struct {
	hcl   string // the HCL type docs/policy.md shows
	zero  string // the default when the declaration gives none
	goT   reflect.Type
	build func(cc *compiler, v any) T // v: a pointer to the decoded value; nil only for noDefault
}

// The kinds.
var (
	boolKind = kind[bool]{"bool", "false", reflect.TypeFor[bool](), func(_ *compiler, v any) bool { return *v.(*bool) }}
	intKind  = kind[int64]{"number", "0", reflect.TypeFor[int64](), func(_ *compiler, v any) int64 { return *v.(*int64) }}
	// globs: an allow-list of globs.
	globsKind = kind[*globList]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) *globList { return cc.glob(v.(*[]string)) }}
	// paths: host paths, an entry covering what is below it.
	pathsKind = kind[*pathList]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) *pathList { return cc.path(v.(*[]string)) }}
	setKind   = kind[map[string]bool]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) map[string]bool { return cc.set(v.(*[]string)) }}
	// caps: capability names, normalised as the daemon does.
	capsKind = kind[map[string]bool]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) map[string]bool {
		return byList(cc, cc.caps, "caps\x00", v.(*[]string), func(items []string) map[string]bool {
			m := map[string]bool{}
			for _, v := range items {
				m[normCap(v)] = true
			}
			return m
		})
	}}
	capListKind = kind[[]string]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) []string {
		return byList(cc, cc.capDrops, "capdrop\x00", v.(*[]string), func(items []string) []string {
			var out []string
			for _, v := range items {
				out = append(out, normCap(v))
			}
			return out
		})
	}}
	// sysctls: globs over names, "/" read as ".".
	sysctlsKind = kind[*globList]{"list(string)", "[]", reflect.TypeFor[[]string](), func(cc *compiler, v any) *globList {
		return byList(cc, cc.sysctls, "sysctls\x00", v.(*[]string), func(items []string) *globList {
			dotted := make([]string, 0, len(items))
			for _, s := range items {
				dotted = append(dotted, strings.ReplaceAll(s, "/", "."))
			}
			l := newGlobList(dotted)
			return &l
		})
	}}
	// bytes: a size such as "2g"; "" (0) is none.
	bytesKind = kind[int64]{"string", `""`, reflect.TypeFor[string](), func(_ *compiler, v any) int64 {
		n, _ := parseBytes(*v.(*string)) // validated; "" does not parse and is 0
		return n
	}}
	// cpus: a CPU count, compiled to nano CPUs.
	cpusKind = kind[int64]{"number", "0", reflect.TypeFor[float64](), func(_ *compiler, v any) int64 {
		return int64(math.Round(*v.(*float64) * 1e9))
	}}
	logOptsKind = kind[map[string][]string]{"map(list(string))", "{}", reflect.TypeFor[map[string][]string](), func(cc *compiler, v any) map[string][]string {
		return sharedMap(cc, "logopts\x00", v.(*map[string][]string), encList)
	}}
	// limits: nil (unset) is no check.
	limitsKind = kind[map[string]int64]{"map(number)", "{}", reflect.TypeFor[map[string]int64](), func(cc *compiler, v any) map[string]int64 {
		m, _ := v.(*map[string]int64)
		return sharedMap(cc, "ulimits\x00", m, encInt)
	}}
	labelsKind = kind[*requiredLabels]{"map(string)", "{}", reflect.TypeFor[map[string]string](), func(cc *compiler, v any) *requiredLabels {
		m := sharedMap(cc, "labels\x00", v.(*map[string]string), encString)
		k := uintptr(reflect.ValueOf(m).UnsafePointer())
		if rl, ok := cc.labels[k]; ok {
			return rl
		}
		rl := &requiredLabels{m: m, keys: sortedKeys(m)}
		cc.labels[k] = rl
		return rl
	}}
)

// requiredLabels is required_labels compiled: the map and its sorted keys.
type requiredLabels struct {
	m    map[string]string
	keys []string
}

// Request fields read by more than one control.
var (
	spec        = "TaskTemplate.ContainerSpec" // a setting a service cannot make
	fSecOpt     = fieldPair{"HostConfig.SecurityOpt", "TaskTemplate.ContainerSpec.Privileges"}
	fUser       = fieldPair{"Config.User", "TaskTemplate.ContainerSpec.User"}
	fBinds      = fieldPair{"HostConfig.Binds", "TaskTemplate.ContainerSpec.Mounts"}
	fMounts     = fieldPair{"HostConfig.Mounts", "TaskTemplate.ContainerSpec.Mounts"}
	fPidMode    = fieldPair{"HostConfig.PidMode", spec}
	fIpcMode    = fieldPair{"HostConfig.IpcMode", spec}
	fUTSMode    = fieldPair{"HostConfig.UTSMode", spec}
	fUsernsMode = fieldPair{"HostConfig.UsernsMode", spec}
	fCgroupns   = fieldPair{"HostConfig.CgroupnsMode", spec}
	fCgroup     = fieldPair{"HostConfig.Cgroup", spec}
	fNetMode    = fieldPair{"HostConfig.NetworkMode", "TaskTemplate.Networks"}
	fEndpoints  = fieldPair{"NetworkingConfig.EndpointsConfig", "TaskTemplate.Networks"}
	fLinks      = fieldPair{"HostConfig.Links", spec}
	fPorts      = fieldPair{"HostConfig.PortBindings", "EndpointSpec.Ports"}
	fLog        = fieldPair{"HostConfig.LogConfig", "TaskTemplate.LogDriver"}
	fMemory     = fieldPair{"HostConfig.Memory", "TaskTemplate.Resources.Limits.MemoryBytes"}
	fCPUs       = fieldPair{"HostConfig.NanoCpus", "TaskTemplate.Resources.Limits.NanoCPUs"}
	fPids       = fieldPair{"HostConfig.PidsLimit", "TaskTemplate.Resources.Limits.Pids"}
	fRestart    = fieldPair{"HostConfig.RestartPolicy", "TaskTemplate.RestartPolicy"}
	fTmpfs      = fieldPair{"HostConfig.Tmpfs", "TaskTemplate.ContainerSpec.Mounts"}
	fVolDriver  = fieldPair{"HostConfig.VolumeDriver", "TaskTemplate.ContainerSpec.Mounts"}

	// The image is the images block's (image.go), judged with the same
	// field names.
	fImage = fieldPair{"Config.Image", "TaskTemplate.ContainerSpec.Image"}
)

func reads(f ...fieldPair) []fieldPair { return f }

// The container block.
var (
	ctlPrivileged = declareFlag(control{name: "privileged", def: "false", rule: "container.privileged",
		reads: reads(fieldPair{"HostConfig.Privileged", "TaskTemplate.ContainerSpec.Privileges"}),
		doc:   "allow `--privileged`"})

	ctlCapAdd = declareSet(capsKind, control{name: "cap_add", rule: "capabilities.add",
		def: `["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]`,
		docDef: "Docker's default set",
		reads:  reads(fieldPair{"HostConfig.CapAdd", "TaskTemplate.ContainerSpec.CapabilityAdd"}),
		doc:    "capabilities that may be added; names normalised as the daemon does (`sys_admin` = `CAP_SYS_ADMIN`; `ALL` only if listed)"})
	ctlCapDropRequired = declare(capListKind, control{name: "cap_drop_required", def: "[]", rule: "capabilities.drop",
		reads: reads(fieldPair{"HostConfig.CapDrop", "TaskTemplate.ContainerSpec.CapabilityDrop"}),
		doc:   "capabilities that must be dropped (`ALL` satisfies any)"})

	ctlSeccompUnconfined = declareFlag(control{name: "seccomp_unconfined", def: "false", rule: "security.seccomp", reads: reads(fSecOpt),
		doc: "allow `seccomp=unconfined`"})
	ctlSeccompCustom = declareFlag(control{name: "seccomp_custom", def: "true", rule: "security.seccomp", reads: reads(fSecOpt),
		doc: "allow inline profiles, judged by what the daemon would install from them (above)"})
	ctlSeccompDangerous = declareSet(setKind, control{name: "seccomp_dangerous_syscalls", rule: "security.seccomp", reads: reads(fSecOpt),
		def: `["add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount",
                                  "fsopen", "init_module", "kexec_file_load", "kexec_load", "keyctl", "mount",
                                  "move_mount", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
                                  "reboot", "request_key", "setns", "swapoff", "swapon", "umount2", "unshare",
                                  "userfaultfd"]`,
		docDef: "mount, umount2, setns, unshare, bpf, kexec_*, *_module, keyctl, …",
		doc:    "never let through by an inline profile, even where the default profile would allow them for the container's capabilities"})
	ctlSeccompAllowed = declareSet(setKind, control{name: "seccomp_allowed_syscalls", def: "[]", rule: "security.seccomp", reads: reads(fSecOpt),
		doc: "syscalls an inline profile may let through although Docker's default profile blocks them for the container's capabilities"})
	ctlAppArmorUnconfined = declareFlag(control{name: "apparmor_unconfined", def: "false", rule: "security.apparmor", reads: reads(fSecOpt),
		doc: "allow `apparmor=unconfined`"})
	ctlAppArmorProfiles = declareGlobs(globsKind, control{name: "apparmor_profiles", def: `["docker-default"]`, rule: "security.apparmor", reads: reads(fSecOpt),
		doc: "allowed profile names, an allow-list: hosts ship profiles that confine nothing under other names (AppArmor 4 marks several `flags=(unconfined)`)"})
	ctlSELinuxDisable = declareFlag(control{name: "selinux_disable", def: "false", rule: "security.selinux", reads: reads(fSecOpt),
		doc: "allow `label=disable`, `label:disable`, `disable`"})
	ctlSELinuxTypes = declareGlobs(globsKind, control{name: "selinux_types", def: `["container_t"]`, rule: "security.selinux", reads: reads(fSecOpt),
		doc: "allowed `label=type:X`, an allow-list: `spc_t`, `unconfined_t`, `container_runtime_t` and other domains are unconfined"})
	ctlSELinuxLabels = declareFlag(control{name: "selinux_labels", def: "false", rule: "security.selinux", reads: reads(fSecOpt),
		doc: "allow `label=user:`, `role:`, `level:`, `filetype:` (services: `SELinuxContext.User`, `Role`, `Level`); the MCS level the daemon picks is what keeps containers of one type apart"})
	ctlRequireNNP = declareFlag(control{name: "require_no_new_privileges", def: "false", rule: "security.no_new_privileges", reads: reads(fSecOpt),
		doc: "require `no-new-privileges` (bare = true). An explicit `no-new-privileges=false` is **always** denied: it overrides a daemon started with `--no-new-privileges`"})
	ctlWritableCgroups = declareFlag(control{name: "writable_cgroups", def: "false", rule: "security.writable_cgroups", reads: reads(fSecOpt),
		doc: "allow `writable-cgroups[=true]`"})
	ctlUnmaskedPaths = declareFlag(control{name: "unmasked_paths", def: "false", rule: "security.unmasked_paths",
		reads: reads(fieldPair{"HostConfig.MaskedPaths", spec}, fieldPair{"HostConfig.ReadonlyPaths", spec}),
		doc:   "allow a non-null `MaskedPaths`/`ReadonlyPaths` (`systempaths=unconfined` sends `[]`; `null` is the safe default)",
		after: []ruleRow{{rule: "security.invalid", doc: "a security option the daemon would reject"}}})

	ctlHostNamespaces = declareSet(setKind, control{name: "host_namespaces", def: "[]", rule: "namespaces.host",
		reads: reads(fPidMode, fIpcMode, fUTSMode, fUsernsMode, fCgroupns), enum: []string{"pid", "ipc", "uts", "userns", "cgroupns"},
		doc: "which of `pid`, `ipc`, `uts`, `userns`, `cgroupns` may be `host` (network: see `networks`)"})
	ctlContainerNamespaces = declareSet(setKind, control{name: "container_namespaces", def: "[]", rule: "namespaces.container",
		reads: reads(fPidMode, fIpcMode, fUTSMode, fUsernsMode, fCgroupns, fCgroup), enum: []string{"pid", "ipc", "network"},
		doc: "which of `pid`, `ipc`, `network` may join `container:<x>`"})
	ctlCgroupParents = declareGlobs(globsKind, control{name: "cgroup_parents", def: "[]", rule: "container.cgroup_parent",
		reads: reads(fieldPair{"HostConfig.CgroupParent", spec}),
		doc:   "allowed `CgroupParent` values"})

	ctlAllowRootUser = declareFlag(control{name: "allow_root_user", def: "true", rule: "container.user", reads: reads(fUser),
		doc: "allow `root`, `0`, `0:0`, `root:root`, `0:x`"})
	ctlEmptyUserIsRoot = declareFlag(control{name: "empty_user_is_root", def: "false", rule: "container.user", reads: reads(fUser),
		doc: "whether an empty user (the image's default) counts as root. Default: it does not — most images run as root, but denying them all would break ordinary work; restricted teams set it to `true`"})
	ctlRequireReadOnlyRootfs = declareFlag(control{name: "require_read_only_rootfs", def: "false", rule: "container.read_only_rootfs",
		reads: reads(fieldPair{"HostConfig.ReadonlyRootfs", "TaskTemplate.ContainerSpec.ReadOnly"}),
		doc:   "require `--read-only`"})

	ctlBindAllow = declarePaths(control{name: "bind_allow", def: "[]", rule: "mounts.bind", reads: reads(fBinds, fMounts), hostPaths: true, vars: true,
		doc: "host paths that may be bound (Binds `src:dst:opts` with an absolute `src`, Mounts of type bind)"})
	ctlBindDeny = declarePaths(control{name: "bind_deny", rule: "mounts.bind", reads: reads(fBinds, fMounts), hostPaths: true, vars: true,
		def: `["/", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                          "/sbin", "/bin", "/sys", "/usr", "/var/lib/docker", "/var/lib/containerd", "/var/run"]`,
		docDef: "`/`, `/boot`, `/dev`, `/etc`, `/lib*`, `/proc`, `/root`, `/run`, `/sbin`, `/bin`, `/sys`, `/usr`, `/var/lib/docker`, `/var/lib/containerd`, `/var/run`",
		doc:    "never bindable, nor their ancestors"})
	ctlDockerSockets = declarePaths(control{name: "docker_sockets", def: `["/run/docker.sock", "/run/containerd/containerd.sock"]`, rule: "mounts.docker_socket",
		reads: reads(fBinds, fMounts), hostPaths: true,
		docDef: "`/run/docker.sock`, `/run/containerd/containerd.sock`",
		doc:    "the socket, in any spelling, and any directory containing it (`/run`, `/var/run`, `/`), read-only too. The sockets `serve` learns from the host (every dockerd's `-H unix://…`, `--containerd`, its exec-root's containerd socket, Portcullis's own socket, `--protect-sockets`; see docs/operations.md) are denied the same way, whatever `bind_allow` says"})
	ctlBindSockets = declareGlobs(globsKind, control{name: "bind_sockets", def: "[]", rule: "mounts.socket", reads: reads(fBinds, fMounts),
		doc: "with a host root (`serve --host-root`), each resolved bind source is inspected: a **Unix socket** is denied unless listed here (globs, e.g. `[\"/srv/pulse/*\"]`). The learnt sockets above are never allowed. A path that cannot be inspected is `mounts.unresolvable`"})
	ctlRootWritableBinds = declareFlag(control{name: "root_writable_binds", def: "false", rule: "mounts.root_writable", reads: reads(fBinds, fMounts),
		doc: "allow a **writable** host path (bind, `--mount type=bind`, service mount, local volume with bind options) for a container that may run as root. Root in the container owns the files it writes on the host: a setuid-root copy of a shell left in `/srv/x` makes any host user who can reach it root (moby/moby#36020). A container \"may run as root\" unless its user is a numeric non-zero `UID:GID` (a name or a missing group is mapped by the image's `/etc/passwd`, which Portcullis cannot see), every `--group-add` is a numeric non-zero gid (a process may give its files any of its groups and set the setgid bit), **and** it sets `no-new-privileges` (else a setuid program in the image makes it root again). A daemon that remaps users (`userns-remap`, learnt by `serve`) makes root in the container an unprivileged host user, so the rule does not apply, unless the container asks for `--userns=host`. Read-only mounts are always fine; `--mount …,readonly,bind-recursive=writable` (read-only, not recursively) counts as writable. A local volume that binds a host path (`volume create -o o=bind`) must be `o=bind,ro`: the containers that will mount it are not known when it is created"})
	ctlBindReadOnly = declareFlag(control{name: "bind_read_only", def: "false", rule: "mounts.read_only", reads: reads(fBinds, fMounts),
		doc: "binds must be `ro`, and read-only all the way down: `BindOptions.ReadOnlyNonRecursive`, and any read-only bind sent with an API version before 1.44 (the daemon makes those non-recursive), leave the mounts below the source writable and are denied"})
	ctlSharedPropagation = declareFlag(control{name: "shared_propagation", def: "false", rule: "mounts.propagation", reads: reads(fBinds, fMounts),
		doc: "allow `shared`/`rshared` (Binds options or `BindOptions.Propagation`)"})
	ctlVolumeDrivers = declareGlobs(globsKind, control{name: "volume_drivers", def: `["local"]`, rule: "mounts.volume_driver", reads: reads(fVolDriver, fBinds, fMounts),
		doc: "`HostConfig.VolumeDriver` (whenever it is set: the daemon uses it for every volume the container gets, anonymous ones and those the image declares included) and Mount `DriverConfig.Name`"})
	ctlVolumeHostPaths = declareFlag(control{name: "volume_host_paths", def: "false", rule: "mounts.volume_host_path", reads: reads(fMounts),
		doc:   "local-driver volume options that bind a host path (`type=none`, `o=bind`), mount a device (`device=/dev/…`) or any file system but tmpfs and network ones (nfs, cifs, …: `type=proc`, `sysfs`, `devtmpfs`, `overlay` reach the host); when allowed the path is judged like a bind, a device path with `..` is refused, and other file system types stay denied (`mounts.invalid`)",
		after: []ruleRow{{attr: "(`volumes.network_servers`)", def: "`[]`", rule: "mounts.network_fs", doc: "a Mount of a local volume of a network file system (`nfs`, `nfs4`, `cifs`, `smb3`, `ceph`, `glusterfs`): every server it names (`addr=`/`ip=` in `o`, the host of `device`) must be listed in `volumes.network_servers`"}}})
	ctlVolumesFrom = declareFlag(control{name: "volumes_from", def: "false", rule: "mounts.volumes_from",
		reads: reads(fieldPair{"HostConfig.VolumesFrom", spec}),
		doc:   "allow `--volumes-from`"})
	ctlLinks = declareFlag(control{name: "links", def: "false", rule: "container.links", reads: reads(fLinks, fEndpoints),
		doc: "legacy `HostConfig.Links` and endpoint `Links`: they copy the linked container's environment into this one"})
	ctlAnnotations = declareGlobs(globsKind, control{name: "annotations", def: "[]", rule: "container.annotations",
		reads: reads(fieldPair{"HostConfig.Annotations", spec}),
		doc:   "allowed `HostConfig.Annotations` keys (globs); the daemon passes annotations to the OCI runtime, which may act on them"})
	ctlTmpfs = declareFlag(control{name: "tmpfs", def: "true", rule: "mounts.tmpfs", reads: reads(fTmpfs, fMounts),
		doc:   "allow `--tmpfs` and `--mount type=tmpfs`",
		after: []ruleRow{{rule: "mounts.invalid", doc: "a Binds spec, `VolumesFrom` entry or mount type the daemon would reject; a Binds spec is read as the daemon's Linux parser reads it (`[source:]target[:mode]`, an absolute target that is not `/`, each mode group once, `nocopy` only on volumes, a propagation only on binds), and the reason is the daemon's own message"}}})

	ctlDevices = declarePaths(control{name: "devices", def: "[]", rule: "devices.device", hostPaths: true,
		reads: reads(fieldPair{"HostConfig.Devices", spec}),
		doc:   "allowed host device paths"})
	ctlDeviceCgroupRules = declareFlag(control{name: "device_cgroup_rules", def: "false", rule: "devices.cgroup_rules",
		reads: reads(fieldPair{"HostConfig.DeviceCgroupRules", spec}),
		doc:   "allow `--device-cgroup-rule`"})
	ctlDeviceRequests = declareFlag(control{name: "device_requests", def: "false", rule: "devices.requests",
		reads: reads(fieldPair{"HostConfig.DeviceRequests", "TaskTemplate.Resources"}),
		doc:   "allow device requests: GPUs (`--gpus`)"})

	ctlNetworks = declareGlobs(globsKind, control{name: "networks", def: `["*", "!host", "!container:*"]`, rule: "network.mode", reads: reads(fNetMode, fEndpoints),
		doc: "`NetworkMode` (`\"\"` = `default`) and every `EndpointsConfig` name; also `network.connect`"})
	ctlPrivilegedPorts = declareFlag(control{name: "privileged_host_ports", def: "true", rule: "ports.privileged", reads: reads(fPorts),
		doc:   "allow host ports below 1024, read as the daemon reads a `HostPort` (`80/tcp`, `+80`, `0080` and a range such as `0-80` that holds one are all privileged)",
		after: []ruleRow{{rule: "ports.invalid", doc: "a `HostPort` the daemon would reject, with its reason"}}})
	ctlRequireHostIP = declareFlag(control{name: "require_host_ip", def: "false", rule: "ports.host_ip", reads: reads(fPorts),
		doc: "published ports must name a host IP"})
	ctlHostIPs = declareGlobs(globsKind, control{name: "host_ips", def: `["*"]`, rule: "ports.host_ip", reads: reads(fPorts),
		doc: "allowed host IPs of published ports"})
	ctlPublishAll = declareFlag(control{name: "publish_all_ports", def: "true", rule: "ports.publish_all",
		reads: reads(fieldPair{"HostConfig.PublishAllPorts", "EndpointSpec"}),
		doc:   "allow `-P`"})
	ctlEndpointOptions = declareGlobs(globsKind, control{name: "endpoint_options", def: `["com.docker.network.endpoint.ifname"]`, rule: "network.endpoint_options", reads: reads(fEndpoints),
		doc: "allowed keys (globs) of an endpoint's `DriverOpts` (`EndpointsConfig[…].DriverOpts`, services' `Networks[].DriverOpts`); they reach the network driver, per-interface sysctls (`com.docker.network.endpoint.sysctls`) among them"})

	ctlLogDrivers = declareGlobs(globsKind, control{name: "log_drivers", def: `["json-file", "local", "syslog", "journald"]`, rule: "logging.driver", reads: reads(fLog),
		docDef: "json-file, local, syslog, journald",
		doc:    "an empty type (the daemon's configured default) is allowed"})
	ctlLogOptionsRequired = declare(logOptsKind, control{name: "log_options_required", def: "{}", rule: "logging.options", reads: reads(fLog),
		doc: "per driver, e.g. `{ \"json-file\" = [\"max-size\"] }`"})
	ctlLogOptionsDenied = declare(logOptsKind, control{name: "log_options_denied", def: "{}", rule: "logging.options", reads: reads(fLog),
		doc: "per driver"})
	ctlSyslogAddresses = declareGlobs(globsKind, control{name: "syslog_addresses", def: "[]", rule: "logging.syslog_address", reads: reads(fLog),
		doc: "allowed `syslog-address` values (none by default)"})

	ctlRequireMemoryLimit = declareFlag(control{name: "require_memory_limit", def: "false", rule: "resources.memory", reads: reads(fMemory),
		doc: "require a memory limit"})
	ctlMemoryMax = declareNum(bytesKind, control{name: "memory_max", def: `""`, rule: "resources.memory", reads: reads(fMemory),
		doc: "maximum memory, like `\"2g\"`; a maximum implies a limit is required", check: checkMemoryMax})
	ctlRequireCPULimit = declareFlag(control{name: "require_cpu_limit", def: "false", rule: "resources.cpu",
		reads: reads(fCPUs, fieldPair{"HostConfig.CpuQuota", spec}, fieldPair{"HostConfig.CpuPeriod", spec}),
		doc:   "require a CPU limit: `NanoCpus` or `CpuQuota/CpuPeriod`"})
	ctlCPUsMax = declareNum(cpusKind, control{name: "cpus_max", def: "0", rule: "resources.cpu",
		reads: reads(fCPUs, fieldPair{"HostConfig.CpuQuota", spec}, fieldPair{"HostConfig.CpuPeriod", spec}),
		doc:   "maximum CPUs (`1.5`); a maximum implies a limit is required", check: checkCPUsMax})
	ctlRequirePidsLimit = declareFlag(control{name: "require_pids_limit", def: "false", rule: "resources.pids", reads: reads(fPids),
		doc: "require a pids limit; `PidsLimit` 0 is what the CLI always sends (\"not set\")"})
	ctlPidsMax = declareNum(intKind, control{name: "pids_max", def: "0", rule: "resources.pids", reads: reads(fPids),
		doc: "maximum `PidsLimit`; a maximum implies a limit is required", check: checkPidsMax})
	ctlOomKillDisable = declareFlag(control{name: "oom_kill_disable", def: "false", rule: "resources.oom_kill_disable",
		reads: reads(fieldPair{"HostConfig.OomKillDisable", spec}),
		doc:   "allow `--oom-kill-disable`"})
	ctlOomScoreAdjMin = declareNum(intKind, control{name: "oom_score_adj_min", def: "0", rule: "resources.oom_score_adj",
		reads: reads(fieldPair{"HostConfig.OomScoreAdj", "TaskTemplate.ContainerSpec.OomScoreAdj"}),
		doc:   "lowest `OomScoreAdj` (services: `ContainerSpec.OomScoreAdj`); a negative score makes the kernel kill host processes first, -1000 exempts the container like `oom_kill_disable`"})
	ctlUnlimitedPids = declareFlag(control{name: "unlimited_pids", def: "false", rule: "resources.pids", reads: reads(fPids),
		doc: "allow a negative `PidsLimit` (-1 = unlimited)"})
	ctlUlimitsMax = declare(limitsKind, control{name: "ulimits_max", noDefault: true, docDef: "unset", rule: "resources.ulimits",
		reads: reads(fieldPair{"HostConfig.Ulimits", "TaskTemplate.ContainerSpec.Ulimits"}),
		doc:   "when set, `{ nofile = 65536 }`: unlisted ulimits are denied"})

	ctlSysctls = declareGlobs(sysctlsKind, control{name: "sysctls", rule: "sysctls.sysctl",
		def: `["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
               "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
               "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]`,
		docDef: "Kubernetes' safe set",
		reads:  reads(fieldPair{"HostConfig.Sysctls", "TaskTemplate.ContainerSpec.Sysctls"}),
		doc:    "allowed sysctls (globs); `/` spellings are read as `.`"})
	ctlRuntimes = declareGlobs(globsKind, control{name: "runtimes", def: `["runc", "io.containerd.runc.v2"]`, rule: "container.runtime",
		docDef: "runc, io.containerd.runc.v2",
		reads:  reads(fieldPair{"HostConfig.Runtime", "TaskTemplate.Runtime"}),
		doc:    "empty = daemon default, allowed"})

	ctlRequiredLabels = declare(labelsKind, control{name: "required_labels", def: "{}", rule: "labels.required",
		reads: reads(fieldPair{"Config.Labels", "TaskTemplate.ContainerSpec.Labels"}),
		doc:   "`{ team = \"$team\" }` (the caller's team), `\"$user\"`, `\"*\"`, or a glob", check: checkRequiredLabels})
	ctlRestartPolicies = declareGlobs(globsKind, control{name: "restart_policies", def: `["", "no", "always", "unless-stopped", "on-failure"]`, rule: "restart.policy",
		docDef: "all", reads: reads(fRestart),
		doc: "allowed restart policy names; `\"\"` is the daemon's default (no restart)"})
	ctlRestartMaxRetries = declareNum(intKind, control{name: "restart_max_retries", def: "-1", rule: "restart.max_retries",
		docDef: "`-1` (none)", reads: reads(fRestart),
		doc: "most retries of `on-failure` (services: `RestartPolicy.MaxAttempts`)"})
)

// Load-time checks beyond the attributes' types.

func checkMemoryMax(l *loader, body hcl.Body, v any) {
	if s := *v.(*string); s != "" {
		if _, err := parseBytes(s); err != nil {
			l.errorf(attrRange(body, "memory_max", -1), "Invalid memory size", "%v", err)
		}
	}
}

func checkCPUsMax(l *loader, body hcl.Body, v any) {
	if *v.(*float64) < 0 {
		l.errorf(attrRange(body, "cpus_max", -1), "Invalid CPU count", "cpus_max must be 0 (no maximum) or positive.")
	}
}

func checkPidsMax(l *loader, body hcl.Body, v any) {
	if *v.(*int64) < 0 {
		l.errorf(attrRange(body, "pids_max", -1), "Invalid pids maximum", "pids_max must be 0 (no maximum) or positive.")
	}
}

func checkRequiredLabels(l *loader, body hcl.Body, v any) {
	m := *v.(*map[string]string)
	for _, k := range sortedKeys(m) {
		if err := checkVars(m[k]); err != nil {
			l.errorf(attrRange(body, "required_labels", -1), "Unknown variable", "required_labels %q = %q: %v.", k, m[k], err)
		}
	}
}

// containerBlock is the container block as written: per control, a
// pointer to the decoded value (*bool, *[]string, …), nil when not set.
type containerBlock struct {
	vals []any

	Body hcl.Body `hcl:",body"`
}

// controlSchema is the container block's attributes.
func controlSchema() []hcl.AttributeSchema {
	out := make([]hcl.AttributeSchema, len(controls))
	for i, c := range controls {
		out[i] = hcl.AttributeSchema{Name: c.name}
	}
	return out
}

// decodeControls decodes the container block's attributes in declaration
// order, as gohcl decodes an optional pointer field: null leaves the
// attribute unset.
func decodeControls(content *hcl.BodyContent, cb *containerBlock) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cb.vals = make([]any, len(controls))
	for i, c := range controls {
		attr := content.Attributes[c.name]
		if attr == nil {
			continue
		}
		pp := reflect.New(reflect.PointerTo(c.goType))
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, pp.Interface())...)
		if !pp.Elem().IsNil() {
			cb.vals[i] = pp.Elem().Interface()
		}
	}
	return diags
}

// clone copies the block, so that merging into the copy leaves it alone.
func (cb *containerBlock) clone() *containerBlock {
	out := &containerBlock{vals: make([]any, len(controls)), Body: cb.Body}
	copy(out.vals, cb.vals)
	return out
}

// mergeFrom fills every attribute cb does not set from src.
func (cb *containerBlock) mergeFrom(src *containerBlock) {
	if cb.vals == nil {
		cb.vals = make([]any, len(controls))
	}
	for i, v := range src.vals {
		if cb.vals[i] == nil {
			cb.vals[i] = v
		}
	}
}

// lists are the block's list attributes that are set, in order.
func (cb *containerBlock) lists() []namedList {
	var out []namedList
	for i, c := range controls {
		if c.list && i < len(cb.vals) && cb.vals[i] != nil {
			out = append(out, namedList{c.name, cb.vals[i].(*[]string)})
		}
	}
	return out
}

// validate runs the controls' own checks on the attributes that are set.
func (cb *containerBlock) validate(l *loader) {
	for i, c := range controls {
		if c.check != nil && i < len(cb.vals) && cb.vals[i] != nil {
			c.check(l, cb.Body, cb.vals[i])
		}
	}
}

// compileControls compiles an effective container block. A control
// without a value (only one declared noDefault can lack one: the defaults
// are derived from the declarations) is a load error, never a panic.
func (cc *compiler) compileControls(cb *containerBlock) (*containerPolicy, hcl.Diagnostics) {
	cp := &containerPolicy{containerVals{
		flags: make([]bool, nFlags), nums: make([]int64, nNums), globs: make([]*globList, nGlobs),
		paths: make([]*pathList, nPaths), sets: make([]map[string]bool, nSets), refs: make([]any, nRefs),
	}}
	var diags hcl.Diagnostics
	for i, c := range controls {
		var v any
		if i < len(cb.vals) {
			v = cb.vals[i]
		}
		if v == nil && !c.noDefault {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No default",
				Detail: "container." + c.name + " has no value and no built-in default; this is a bug in Portcullis."})
			continue
		}
		c.compile(cc, v, cp)
	}
	return cp, diags
}

// containerDefaults is the container block of the built-in defaults, in
// the policy language, from the declarations.
func containerDefaults() string {
	var b strings.Builder
	b.WriteString("  container {\n")
	for _, c := range controls {
		if c.noDefault {
			continue
		}
		def := c.def
		if def == "" {
			def = c.zero
		}
		b.WriteString("    " + c.name + " = " + def + "\n")
	}
	b.WriteString("  }\n")
	return b.String()
}

// fieldSet names the request fields a container check reports, so that
// the same checks serve container create and the container spec of a
// service: at takes the create body's path.
type fieldSet struct{ service bool }

var (
	createFields  = &fieldSet{}
	serviceFields = &fieldSet{service: true}
)

// serviceField maps each create field the controls read to the field a
// service's violation names; built once from the declarations.
var serviceField = map[string]string{}

func init() {
	for _, c := range controls {
		for _, f := range c.reads {
			if _, ok := serviceField[f.create]; !ok {
				serviceField[f.create] = f.service
			}
		}
	}
	serviceField[fImage.create] = fImage.service
	for _, c := range controls {
		if _, ok := remedies[c.rule]; c.remedy != "" && !ok {
			remedies[c.rule] = c.remedy
		}
	}
}

// at is the name of the request field create names.
func (f *fieldSet) at(create string) string {
	if !f.service {
		return create
	}
	if s, ok := serviceField[create]; ok {
		return s
	}
	return spec
}

// controlsDoc is the attribute reference of the container block, as
// docs/policy.md shows it between its markers.
func controlsDoc() string {
	var b strings.Builder
	b.WriteString("| attribute | type | default | rule id | meaning |\n|---|---|---|---|---|\n")
	for _, c := range controls {
		def := c.docDef
		if def == "" {
			def = "`" + strings.Join(strings.Fields(c.def), " ") + "`"
		}
		b.WriteString("| `" + c.name + "` | " + c.hclType + " | " + def + " | `" + c.rule + "` | " + c.doc + " |\n")
		for _, r := range c.after {
			b.WriteString("| " + r.attr + " | | " + r.def + " | `" + r.rule + "` | " + r.doc + " |\n")
		}
	}
	return b.String()
}
