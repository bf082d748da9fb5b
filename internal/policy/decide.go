package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/request"
)

// Decide judges one classified request for an identity. It never returns
// an error: anything that cannot be judged is a violation. It does no I/O
// except through the path and host resolvers and is safe for concurrent use.
func (s *Set) Decide(id request.Identity, r *request.Request) Decision {
	return s.decide(id, r, nil)
}

func (s *Set) decide(id request.Identity, r *request.Request, objs Objects) Decision {
	team, p, amb := s.lookup(id)
	e := evaluator{s: s, p: p, team: team, id: id, r: r, objs: objs}
	fatal := false
	if amb != "" {
		e.add("identity.ambiguous", "", amb+"; the request cannot be assigned to one team")
		fatal = true
	}
	if r == nil {
		e.add(request.CodeMalformed, "", "there is no request to judge")
		fatal = true
	} else {
		e.request()
	}
	return e.decision(fatal)
}

// DecideRequest parses a request as the daemon reported it (see
// request.Parse) and judges it. A request that does not parse is denied,
// in audit mode too: nobody could say what it would have done.
func (s *Set) DecideRequest(id request.Identity, method, uri string, headers map[string]string, body []byte) Decision {
	r, err := request.Parse(method, uri, headers, body)
	if err == nil {
		return s.Decide(id, r)
	}
	team, p, _ := s.lookup(id)
	e := evaluator{s: s, p: p, team: team, id: id, r: r}
	if re, ok := request.AsError(err); ok {
		e.add(re.Code, re.Field, re.Reason)
	} else {
		e.add(request.CodeMalformed, "", err.Error())
	}
	return e.decision(true)
}

type evaluator struct {
	s    *Set
	p    *compiled
	team string
	id   request.Identity
	r    *request.Request
	v    []Violation
	// objs answers ownership questions; nil when the caller keeps no
	// state (ownership is then not judged).
	objs       Objects
	targetDone bool
	targetObj  request.Object
	targetRes  request.Resolution
	// unjudgeable: a request.* violation was added (no body to judge).
	unjudgeable bool
	// mayBeRoot says why the container being judged may run as root on
	// the host ("" when it cannot); set before its mounts are judged.
	mayBeRoot string
	// nnp: the container's security options set no-new-privileges.
	nnp bool
	// facts is the host facts, read once per request when needed.
	facts *HostFacts
}

// hostFacts returns the host facts, asking for them once per request.
func (e *evaluator) hostFacts() *HostFacts {
	if e.facts == nil {
		e.facts = &HostFacts{}
		if e.s.facts != nil {
			*e.facts = e.s.facts()
		}
	}
	return e.facts
}

func (e *evaluator) add(rule, field, reason string) {
	if strings.HasPrefix(rule, "request.") {
		// A request that cannot be judged is denied in audit mode too.
		e.unjudgeable = true
	}
	if e.v == nil {
		e.v = make([]Violation, 0, 4)
	}
	action := ""
	if e.r != nil {
		action = string(e.r.Action)
	}
	e.v = append(e.v, Violation{Rule: rule, Field: field, Reason: reason, Remedy: remedyFor(rule, action)})
}

func (e *evaluator) decision(fatal bool) Decision {
	if len(e.v) > 1 {
		slices.SortStableFunc(e.v, func(a, b Violation) int {
			if c := cmp.Compare(a.Rule, b.Rule); c != 0 {
				return c
			}
			return cmp.Compare(a.Field, b.Field)
		})
	}
	d := Decision{Mode: "enforce", Policy: e.p.name, Team: e.team, Violations: e.v}
	if len(e.v) > 0 {
		d.Help = e.p.help
	}
	if e.p.audit {
		d.Mode = "audit"
	}
	d.Allow = len(e.v) == 0 || (e.p.audit && !fatal && !e.unjudgeable)
	d.SummarizeAudit = d.Allow && len(e.v) == 0 && e.p.summarizeHealth && e.r != nil && healthActions[e.r.Action]
	return d
}

func (e *evaluator) request() {
	r := e.r
	if !e.p.allowed.has(r.Action) {
		e.add("actions.denied", "", "action "+string(r.Action)+" ("+r.Method+" "+r.Path+") is not allowed")
	}
	if !e.p.allowUnknownFields {
		for _, f := range r.UnknownFields {
			e.add(request.CodeUnknownField, f, "field "+f+" is not in the Docker API types Portcullis judges by, so nothing judged it, and a daemon of another version may apply it; remove it (or set allow_unknown_fields in the policy)")
		}
	}
	if e.p.readOnly && (r.Method != "GET" && r.Method != "HEAD" || r.Action == request.ActionContainerAttachWS) {
		e.add("actions.read_only", "", "policy allows read-only access; "+string(r.Action)+" changes state")
	}
	switch r.Action {
	case request.ActionContainerCreate:
		if c := r.ContainerCreate; c != nil {
			e.container(c, createFields)
		} else {
			e.add(request.CodeBodyMissing, "body", "container.create has no body to judge")
		}
	case request.ActionContainerExec:
		e.execCreate()
	case request.ActionContainerUpdate:
		e.update()
	case request.ActionVolumeCreate:
		e.volumeCreate()
	case request.ActionNetworkCreate:
		e.networkCreate()
	case request.ActionNetworkConnect:
		if !ctlNetworks.of(e.p.c).match(r.Target) {
			e.add("network.mode", "", "network "+strconv.Quote(r.Target)+" is not allowed")
		}
		if nc := r.NetworkConnect; nc != nil && nc.EndpointConfig != nil {
			e.endpoint(nc.EndpointConfig, "EndpointConfig")
		}
	case request.ActionServiceCreate, request.ActionServiceUpdate:
		e.service()
	case request.ActionServiceRollback:
		if !e.p.allowed.has(request.ActionServiceRollback) {
			e.add(ruleServiceRollback, "rollback", "rolling back applies the service's previous spec, which is not in the request and so cannot be judged")
		}
		e.service()
	case request.ActionCheckpointCreate:
		if c := r.CheckpointCreate; c != nil && c.CheckpointDir != "" {
			e.checkpointDir(c.CheckpointDir, "CheckpointDir")
		}
	case request.ActionCheckpointList, request.ActionCheckpointDelete:
		if d := r.Query.Get("dir"); d != "" {
			e.checkpointDir(d, "dir")
		}
	case request.ActionContainerStart:
		if d := r.Query.Get("checkpoint-dir"); d != "" {
			e.checkpointDir(d, "checkpoint-dir")
		}
	case request.ActionImagePull:
		ref := r.Query.Get("fromImage")
		if t := r.Query.Get("tag"); t != "" && !strings.Contains(ref, "@") {
			if strings.HasPrefix(t, "sha256:") {
				ref += "@" + t
			} else {
				ref += ":" + t
			}
		}
		e.imageName(ref, "fromImage")
	case request.ActionImageImport, request.ActionImageTag, request.ActionCommit:
		if repo := r.Query.Get("repo"); repo != "" {
			e.imageName(repo, "repo")
		}
		if r.Action == request.ActionImageImport {
			e.importURL(r.Query.Get("fromSrc"))
		}
	case request.ActionPluginPull, request.ActionPluginUpgrade, request.ActionPluginPrivileges:
		e.pluginRemote(r.Query.Get("remote"))
	case request.ActionImagePush:
		e.imageName(r.Target, "name")
	case request.ActionImageBuild:
		for _, t := range r.Query["t"] {
			e.imageName(t, "t")
		}
		e.build()
		e.buildRemote(r.Query.Get("remote"))
	}
	e.ownership()
	if len(e.p.rules) > 0 {
		e.customRules()
	}
}

// isRootUser reports whether a user spec ("name[:group]") is root.
func isRootUser(user string, emptyIsRoot bool) bool {
	u, _, _ := strings.Cut(user, ":")
	if u == "" {
		return emptyIsRoot
	}
	if u == "root" {
		return true
	}
	n, err := strconv.Atoi(u)
	return err == nil && n == 0
}

func (e *evaluator) execCreate() {
	x := e.r.Exec
	if x == nil {
		e.add(request.CodeBodyMissing, "body", "container.exec has no body to judge")
		return
	}
	ep := &e.p.exec
	if x.Privileged && !ep.privileged {
		e.add("exec.privileged", "Privileged", "privileged exec is not allowed")
	}
	// An exec with no user runs as the container's user: the one its
	// create named, else its image's USER (read by the state follower),
	// and with neither, root.
	user, who := x.User, x.User
	if user == "" {
		who = "the container's user"
		if e.objs != nil {
			if o, res := e.target(); res == request.Found && o.UserKnown && o.User != "" {
				user = o.User
				who = "the container's user " + o.User
			} else if res == request.Found && o.UserKnown {
				user = "0"
				who = "the container's user: neither its create nor its image names one, so root"
			}
		}
	}
	if !ep.allowRoot && isRootUser(user, ep.emptyUserIsRoot) {
		e.add("exec.root", "User", "exec as root ("+who+") is not allowed")
	}
	if !ep.commands.all {
		cmd := strings.Join(x.Cmd, " ")
		if !ep.commands.match(cmd) {
			e.add("exec.command", "Cmd", "command "+strconv.Quote(cmd)+" is not allowed")
		}
	}
}

func (e *evaluator) update() {
	u := e.r.ContainerUpdate
	if u == nil {
		e.add(request.CodeBodyMissing, "body", "container.update has no body to judge")
		return
	}
	c := e.p.c
	// 0 leaves a limit unchanged; negative values remove it.
	if u.Memory < 0 && (ctlRequireMemoryLimit.of(c) || ctlMemoryMax.of(c) > 0) {
		e.add("resources.memory", "Memory", "the memory limit cannot be removed")
	}
	if ctlMemoryMax.of(c) > 0 && u.Memory > ctlMemoryMax.of(c) {
		e.add("resources.memory", "Memory", "memory "+fmtBytes(u.Memory)+" exceeds the maximum "+fmtBytes(ctlMemoryMax.of(c)))
	}
	if (u.CPUQuota < 0 || u.NanoCPUs < 0) && (ctlRequireCPULimit.of(c) || ctlCPUsMax.of(c) > 0) {
		e.add("resources.cpu", "CpuQuota", "the CPU limit cannot be removed")
	}
	if n := effectiveNanoCPUs(u.NanoCPUs, u.CPUQuota, u.CPUPeriod); ctlCPUsMax.of(c) > 0 && n > ctlCPUsMax.of(c) {
		e.add("resources.cpu", "NanoCpus", "CPU limit "+fmtCPUs(n)+" exceeds the maximum "+fmtCPUs(ctlCPUsMax.of(c)))
	}
	if u.PidsLimit != nil {
		if *u.PidsLimit <= 0 {
			if ctlRequirePidsLimit.of(c) || ctlPidsMax.of(c) > 0 || !ctlUnlimitedPids.of(c) {
				e.add("resources.pids", "PidsLimit", "the pids limit cannot be removed")
			}
		} else if ctlPidsMax.of(c) > 0 && *u.PidsLimit > ctlPidsMax.of(c) {
			e.add("resources.pids", "PidsLimit", "pids limit "+strconv.FormatInt(*u.PidsLimit, 10)+" exceeds the maximum "+strconv.FormatInt(ctlPidsMax.of(c), 10))
		}
	}
	if u.OomKillDisable != nil && *u.OomKillDisable && !ctlOomKillDisable.of(c) {
		e.add("resources.oom_kill_disable", "OomKillDisable", "disabling the OOM killer is not allowed")
	}
	e.restart(string(u.RestartPolicy.Name), u.RestartPolicy.MaximumRetryCount, "RestartPolicy")
}

func (e *evaluator) restart(name string, retries int, field string) {
	c := e.p.c
	if !ctlRestartPolicies.of(c).match(name) {
		e.add("restart.policy", field+".Name", "restart policy "+strconv.Quote(name)+" is not allowed")
	}
	if ctlRestartMaxRetries.of(c) >= 0 && int64(retries) > ctlRestartMaxRetries.of(c) {
		e.add("restart.max_retries", field+".MaximumRetryCount", "restart retries "+strconv.Itoa(retries)+" exceed the maximum "+strconv.FormatInt(ctlRestartMaxRetries.of(c), 10))
	}
}

func (e *evaluator) volumeCreate() {
	v := e.r.VolumeCreate
	if v == nil {
		e.add(request.CodeBodyMissing, "body", "volume.create has no body to judge")
		return
	}
	driver := v.Driver
	if driver == "" {
		driver = "local"
	}
	if !e.p.volumeDrivers.match(driver) {
		e.add("volume.driver", "Driver", "volume driver "+strconv.Quote(driver)+" is not allowed")
	}
	if driver == "local" && isNetworkFS(v.DriverOpts["type"]) {
		e.networkFS("volume.network_fs", "DriverOpts", v.DriverOpts)
	}
	if driver == "local" {
		if hp, kind := localVolumeHostPath(v.DriverOpts); kind != "" {
			if !e.p.volumeHostPaths {
				e.add("volume.host_path", "DriverOpts", "local volumes that "+kind+" ("+hp+") are not allowed")
			} else {
				// Any container may mount the volume later, as any user:
				// judged as if root will, unless the daemon remaps users.
				if !e.hostFacts().UsernsRemap {
					e.mayBeRoot = "mounts the volume later, as a user Portcullis cannot see when the volume is created"
				}
				e.volumeDevice(hp, "DriverOpts.device", hasMountOpt(v.DriverOpts["o"], "ro"))
			}
		}
	}
}

func (e *evaluator) networkCreate() {
	n := e.r.NetworkCreate
	if n == nil {
		e.add(request.CodeBodyMissing, "body", "network.create has no body to judge")
		return
	}
	driver := n.Driver
	if driver == "" {
		driver = "bridge"
	}
	if !e.p.networkDrivers.match(driver) {
		e.add("network.driver", "Driver", "network driver "+strconv.Quote(driver)+" is not allowed")
	}
	// Driver options reach the driver as written: a bridge network named
	// after an existing host bridge (com.docker.network.bridge.name=docker0)
	// adopts it. A config-only network's options are judged here too.
	for k := range n.Options {
		if !e.p.networkOptions.match(k) {
			e.add("network.options", key("Options", k), "network driver option "+strconv.Quote(k)+" is not allowed")
		}
	}
	// ConfigFrom takes the options of a config-only network, which may
	// have been created under another policy.
	if n.ConfigFrom != nil && n.ConfigFrom.Network != "" && !e.p.networkConfigFrom {
		e.add("network.config_from", "ConfigFrom.Network", "creating a network from the configuration of network "+strconv.Quote(n.ConfigFrom.Network)+" is not allowed")
	}
}

// localVolumeHostPath reports whether local-driver options bind a host
// path or mount a device: kind is "bind a host path", "mount a device",
// "mount a "TYPE" file system" or "". The local driver hands type, o and
// device to mount(2) as they are, so any file system type but the network
// ones and tmpfs reaches the host: proc (a procfs whose /proc/sys the
// container can write), sysfs, devtmpfs (every device node), overlay
// (lowerdir=/etc in o), a block device.
func localVolumeHostPath(opts map[string]string) (hostPath, kind string) {
	if len(opts) == 0 {
		return "", ""
	}
	typ, o, dev := opts["type"], opts["o"], opts["device"]
	if typ == "none" || hasMountOpt(o, "bind") || hasMountOpt(o, "rbind") {
		return dev, "bind a host path"
	}
	switch typ {
	case "nfs", "nfs4", "cifs", "smb3", "tmpfs", "ceph", "glusterfs":
		return "", ""
	}
	if strings.HasPrefix(dev, "/") {
		return dev, "mount a device"
	}
	if typ != "" || dev != "" {
		return dev, "mount a " + strconv.Quote(typ) + " file system"
	}
	return "", ""
}

// volumeDevice judges the device path of a local volume where host paths
// are allowed. Unlike a bind source, which the daemon cleans before
// mounting, the local driver gives device to mount(2) as written, and the
// kernel resolves ".." after following symlinks: with /tmp/l -> /etc/ssl,
// "/tmp/l/../shadow" is /etc/shadow, not the /tmp/shadow a lexical clean
// gives. Such paths are refused.
func (e *evaluator) volumeDevice(dev, field string, readOnly bool) {
	for _, seg := range strings.Split(dev, "/") {
		if seg == ".." {
			e.add("mounts.invalid", field, "volume device "+strconv.Quote(dev)+" contains \"..\", which the kernel resolves after symlinks; write the path without it")
			return
		}
	}
	e.hostPath(dev, field, readOnly, "", "")
}

func hasMountOpt(o, want string) bool {
	for o != "" {
		var opt string
		opt, o, _ = strings.Cut(o, ",")
		if opt == want {
			return true
		}
	}
	return false
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "g"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func fmtCPUs(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64) + " CPUs"
}

// effectiveNanoCPUs is the CPU limit in billionths of a CPU from either
// NanoCPUs or a CFS quota and period (period defaults to 100ms).
func effectiveNanoCPUs(nano, quota, period int64) int64 {
	if nano > 0 {
		return nano
	}
	if quota > 0 {
		if period <= 0 {
			period = 100000
		}
		return quota * 1e9 / period
	}
	return 0
}

// checkpointDir denies a checkpoint directory named by the request. The
// daemon takes it as a host path and, as root, writes a checkpoint there
// (creating it), lists it, removes DIR/NAME (os.RemoveAll) or restores
// the container from it (daemon/checkpoint.go getCheckpointDir,
// daemon/start.go); without one it uses the container's own directory.
func (e *evaluator) checkpointDir(dir, field string) {
	e.add("checkpoint.dir", field, "checkpoint directory "+strconv.Quote(dir)+" is a host path the daemon writes, removes or restores from as root")
}

// healthActions are the read-only health calls audit_health_calls
// applies to.
var healthActions = map[request.Action]bool{request.ActionSystemPing: true, request.ActionSystemVersion: true}

// build judges the classic builder's query (POST /build). What a build
// runs (its Dockerfile's RUN steps) is in the context, which the daemon
// does not forward to authorization plugins; see docs/policy.md.
func (e *evaluator) build() {
	q := e.r.Query
	if nm := q.Get("networkmode"); !e.p.buildNetworkMode.match(nm) {
		e.add("build.network_mode", "networkmode", "build network mode "+strconv.Quote(nm)+" is not allowed")
	}
	if cg := q.Get("cgroupparent"); cg != "" && !e.p.buildCgroup.match(cg) {
		e.add("build.cgroup_parent", "cgroupparent", "build cgroup parent "+strconv.Quote(cg)+" is not allowed")
	}
	// remote is a URL (git, tarball, Dockerfile) the daemon fetches, or
	// "client-session", BuildKit's context over the session.
	if rc := q.Get("remote"); rc != "" && rc != "client-session" && !e.p.buildRemote.match(rc) {
		e.add("build.remote", "remote", "the daemon would fetch the build context from "+strconv.Quote(rc)+", which is not allowed")
	}
}
