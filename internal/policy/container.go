package policy

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/portcullis/portcullis/internal/request"
)

func idx(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
func key(field, k string) string     { return field + "[" + strconv.Quote(k) + "]" }

// container judges a container's settings.
func (e *evaluator) container(cc *request.ContainerCreate, f *fieldSet) {
	c := e.p.c
	cfg, hc := cc.Config, cc.HostConfig

	if hc.Privileged && !ctlPrivileged.of(c) {
		e.add("container.privileged", f.at("HostConfig.Privileged"), "privileged containers are not allowed")
	}
	e.capabilities(hc.CapAdd, hc.CapDrop, f)
	e.securityOpts(hc.SecurityOpt, f, hc)
	if hc.MaskedPaths != nil && !ctlUnmaskedPaths.of(c) {
		e.add("security.unmasked_paths", f.at("HostConfig.MaskedPaths"), "replacing the daemon's masked paths (systempaths=unconfined) is not allowed")
	}
	if hc.ReadonlyPaths != nil && !ctlUnmaskedPaths.of(c) {
		e.add("security.unmasked_paths", f.at("HostConfig.ReadonlyPaths"), "replacing the daemon's read-only paths (systempaths=unconfined) is not allowed")
	}

	e.namespace("pid", string(hc.PidMode), f.at("HostConfig.PidMode"))
	e.namespace("ipc", string(hc.IpcMode), f.at("HostConfig.IpcMode"))
	e.namespace("uts", string(hc.UTSMode), f.at("HostConfig.UTSMode"))
	e.namespace("userns", string(hc.UsernsMode), f.at("HostConfig.UsernsMode"))
	e.namespace("cgroupns", string(hc.CgroupnsMode), f.at("HostConfig.CgroupnsMode"))
	// Cgroup "container:<id>" puts the container in another one's cgroup;
	// it is governed like joining that container's cgroup namespace.
	e.namespace("cgroupns", string(hc.Cgroup), f.at("HostConfig.Cgroup"))
	if hc.CgroupParent != "" && !ctlCgroupParents.of(c).match(hc.CgroupParent) {
		e.add("container.cgroup_parent", f.at("HostConfig.CgroupParent"), "cgroup parent "+strconv.Quote(hc.CgroupParent)+" is not allowed")
	}

	if !ctlAllowRootUser.of(c) && isRootUser(cfg.User, ctlEmptyUserIsRoot.of(c)) {
		if cfg.User == "" {
			e.add("container.user", f.at("Config.User"), "no user is set, so the image's default user (often root) would run; set a non-root user")
		} else {
			e.add("container.user", f.at("Config.User"), "running as root ("+cfg.User+") is not allowed")
		}
	}
	if ctlRequireReadOnlyRootfs.of(c) && !hc.ReadonlyRootfs {
		e.add("container.read_only_rootfs", f.at("HostConfig.ReadonlyRootfs"), "a read-only root filesystem is required")
	}

	e.mayBeRoot = rootReason(cfg.User, hc.GroupAdd, e.nnp, string(hc.UsernsMode), e.hostFacts().UsernsRemap)
	// Before API 1.44 the daemon makes every read-only bind non-recursive
	// (api/server/router/container/container_routes.go, daemon/volumes.go).
	oldRO := ctlBindReadOnly.of(c) && f == createFields && e.r != nil && !e.r.VersionAtLeast(1, 44)
	e.mounts(hc, f, oldRO)
	if len(hc.Links) > 0 && !ctlLinks.of(c) {
		e.add("container.links", f.at("HostConfig.Links"), "legacy links are not allowed: they copy the linked container's environment into this one")
	}
	for k := range hc.Annotations {
		if !ctlAnnotations.of(c).match(k) {
			e.add("container.annotations", key(f.at("HostConfig.Annotations"), k), "annotation "+strconv.Quote(k)+" is not allowed: the daemon passes annotations to the OCI runtime, which may act on them")
		}
	}

	for i, d := range hc.Devices {
		p := cleanHostPath(d.PathOnHost)
		if _, ok := ctlDevices.of(c).covers(p); !ok {
			e.add("devices.device", idx(f.at("HostConfig.Devices"), i), "host device "+strconv.Quote(d.PathOnHost)+" is not allowed")
		}
	}
	if len(hc.DeviceCgroupRules) > 0 && !ctlDeviceCgroupRules.of(c) {
		e.add("devices.cgroup_rules", f.at("HostConfig.DeviceCgroupRules"), "device cgroup rules are not allowed")
	}
	if len(hc.DeviceRequests) > 0 && !ctlDeviceRequests.of(c) {
		e.add("devices.requests", f.at("HostConfig.DeviceRequests"), "device requests (GPUs) are not allowed")
	}

	e.networks(cc, f)
	e.ports(hc, f)
	e.logging(hc.LogConfig, f)
	e.resources(&hc.Resources, f)
	// A score below the host's makes the kernel kill host processes
	// first; -1000 exempts the container like OomKillDisable.
	if int64(hc.OomScoreAdj) < ctlOomScoreAdjMin.of(c) {
		e.add("resources.oom_score_adj", f.at("HostConfig.OomScoreAdj"), "OOM score adjustment "+strconv.Itoa(hc.OomScoreAdj)+" is below the minimum "+strconv.FormatInt(ctlOomScoreAdjMin.of(c), 10)+"; a low score makes the kernel kill other processes first")
	}

	for k := range hc.Sysctls {
		if !ctlSysctls.of(c).match(strings.ReplaceAll(k, "/", ".")) {
			e.add("sysctls.sysctl", key(f.at("HostConfig.Sysctls"), k), "sysctl "+k+" is not in the allowed set")
		}
	}
	if hc.Runtime != "" && !ctlRuntimes.of(c).match(hc.Runtime) {
		e.add("container.runtime", f.at("HostConfig.Runtime"), "runtime "+strconv.Quote(hc.Runtime)+" is not allowed")
	}
	if cfg.Image != "" {
		e.imageRun(cfg.Image, f.at("Config.Image"))
	}
	for _, k := range ctlRequiredLabels.of(c).keys {
		want := ctlRequiredLabels.of(c).m[k]
		got, ok := cfg.Labels[k]
		switch {
		case !ok:
			e.add("labels.required", f.at("Config.Labels"), "label "+strconv.Quote(k)+" is required")
		case want == "$team":
			if got != e.team {
				e.add("labels.required", key(f.at("Config.Labels"), k), "label "+k+" must be "+strconv.Quote(e.team)+", the caller's team")
			}
		case want == "$user":
			if got != e.id.User {
				e.add("labels.required", key(f.at("Config.Labels"), k), "label "+k+" must be "+strconv.Quote(e.id.User)+", the caller")
			}
		case want == "" || want == "*":
		case hasVars(want):
			w, ok := callerVars{user: e.id.User, team: e.team}.expand(want)
			if !ok {
				e.add("labels.required", key(f.at("Config.Labels"), k), "label "+k+" must match "+strconv.Quote(want)+", which cannot be filled in for this caller (user "+strconv.Quote(e.id.User)+", team "+strconv.Quote(e.team)+")")
			} else if !globMatch(w, got) {
				e.add("labels.required", key(f.at("Config.Labels"), k), "label "+k+" must match "+strconv.Quote(w))
			}
		default:
			if !globMatch(want, got) {
				e.add("labels.required", key(f.at("Config.Labels"), k), "label "+k+" must match "+strconv.Quote(want))
			}
		}
	}
	if f == createFields {
		e.restart(string(hc.RestartPolicy.Name), hc.RestartPolicy.MaximumRetryCount, f.at("HostConfig.RestartPolicy"))
	}
}

func (e *evaluator) capabilities(add, drop []string, f *fieldSet) {
	c := e.p.c
	for i, a := range add {
		n := normCap(a)
		if !ctlCapAdd.of(c)[n] {
			if n == "ALL" {
				e.add("capabilities.add", idx(f.at("HostConfig.CapAdd"), i), "adding ALL capabilities is not allowed")
			} else {
				e.add("capabilities.add", idx(f.at("HostConfig.CapAdd"), i), "adding capability "+n+" is not allowed")
			}
		}
	}
	for _, req := range ctlCapDropRequired.of(c) {
		found := false
		for _, d := range drop {
			n := normCap(d)
			if n == req || n == "ALL" {
				found = true
				break
			}
		}
		if !found {
			e.add("capabilities.drop", f.at("HostConfig.CapDrop"), "capability "+req+" must be dropped")
		}
	}
}

// securityOpts judges HostConfig.SecurityOpt as the daemon parses it
// (daemon/daemon_unix.go parseSecurityOpt): "key=value" or the old
// "key:value", bare "no-new-privileges", "writable-cgroups" and "disable";
// later options override earlier ones, label options accumulate.
func (e *evaluator) securityOpts(opts []string, f *fieldSet, hc *container.HostConfig) {
	c := e.p.c
	nnp, nnpSet, nnpIdx := false, false, -1
	seccomp, seccompIdx := "", -1
	apparmor, apparmorIdx := "", -1
	wc, wcIdx := false, -1
	for i, opt := range opts {
		switch opt {
		case "no-new-privileges":
			nnp, nnpSet, nnpIdx = true, true, i
			continue
		case "writable-cgroups":
			wc, wcIdx = true, i
			continue
		case "disable":
			e.label("disable", idx(f.at("HostConfig.SecurityOpt"), i))
			continue
		}
		var k, v string
		var ok bool
		if strings.Contains(opt, "=") {
			k, v, ok = strings.Cut(opt, "=")
		} else if strings.Contains(opt, ":") {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok {
			e.add("security.invalid", idx(f.at("HostConfig.SecurityOpt"), i), "security option "+strconv.Quote(opt)+" is not valid")
			continue
		}
		switch k {
		case "label":
			e.label(v, idx(f.at("HostConfig.SecurityOpt"), i))
		case "apparmor":
			apparmor, apparmorIdx = v, i
		case "seccomp":
			seccomp, seccompIdx = v, i
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				e.add("security.invalid", idx(f.at("HostConfig.SecurityOpt"), i), "security option "+strconv.Quote(opt)+" is not valid")
				continue
			}
			nnp, nnpSet, nnpIdx = b, true, i
		case "writable-cgroups":
			b, err := strconv.ParseBool(v)
			if err != nil {
				e.add("security.invalid", idx(f.at("HostConfig.SecurityOpt"), i), "security option "+strconv.Quote(opt)+" is not valid")
				continue
			}
			wc, wcIdx = b, i
		default:
			e.add("security.invalid", idx(f.at("HostConfig.SecurityOpt"), i), "security option "+strconv.Quote(opt)+" is not valid")
		}
	}
	e.nnp = nnp
	if nnpSet && !nnp {
		e.add("security.no_new_privileges", idx(f.at("HostConfig.SecurityOpt"), nnpIdx), "no-new-privileges=false is not allowed")
	} else if !nnp && ctlRequireNNP.of(c) {
		e.add("security.no_new_privileges", f.at("HostConfig.SecurityOpt"), "the no-new-privileges security option is required")
	}
	if wc && !ctlWritableCgroups.of(c) {
		e.add("security.writable_cgroups", idx(f.at("HostConfig.SecurityOpt"), wcIdx), "writable cgroups are not allowed")
	}
	if apparmorIdx >= 0 {
		if apparmor == "unconfined" {
			if !ctlAppArmorUnconfined.of(c) {
				e.add("security.apparmor", idx(f.at("HostConfig.SecurityOpt"), apparmorIdx), "apparmor=unconfined is not allowed")
			}
		} else if !ctlAppArmorProfiles.of(c).match(apparmor) {
			// By allow-list: hosts ship profiles that confine nothing
			// under other names (flags=(unconfined)).
			e.add("security.apparmor", idx(f.at("HostConfig.SecurityOpt"), apparmorIdx), "AppArmor profile "+strconv.Quote(apparmor)+" is not in the policy's allowed profiles")
		}
	}
	if seccompIdx >= 0 {
		e.seccomp(seccomp, idx(f.at("HostConfig.SecurityOpt"), seccompIdx), hc)
	}
}

// label judges one SELinux label option ("disable", "type:X", ...).
func (e *evaluator) label(v, field string) {
	c := e.p.c
	if v == "disable" {
		if !ctlSELinuxDisable.of(c) {
			e.add("security.selinux", field, "disabling SELinux labeling is not allowed")
		}
		return
	}
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		k, val, ok = strings.Cut(v, "=")
	}
	if !ok {
		e.add("security.invalid", field, "SELinux label option "+strconv.Quote(v)+" is not valid")
		return
	}
	switch k {
	case "user", "role", "level", "filetype":
		// The MCS level is what keeps containers of one type apart
		// (label=level:s0 shares every container's files); user and
		// role choose what the type may be.
		if !ctlSELinuxLabels.of(c) {
			e.add("security.selinux", field, "SELinux "+k+" label "+strconv.Quote(val)+" is not allowed; the daemon chooses labels that keep containers apart")
		}
		return
	case "type":
	default:
		// opencontainers/selinux InitLabels refuses other keys.
		e.add("security.invalid", field, "SELinux label option "+strconv.Quote(v)+" is not valid")
		return
	}
	if !ctlSELinuxTypes.of(c).match(val) {
		// By allow-list: container_runtime_t, spc_t, unconfined_t and
		// others are unconfined domains.
		e.add("security.selinux", field, "SELinux type "+strconv.Quote(val)+" is not in the policy's allowed types")
	}
}

func (e *evaluator) namespace(kind, mode, field string) {
	c := e.p.c
	if mode == "host" {
		if !ctlHostNamespaces.of(c)[kind] {
			e.add("namespaces.host", field, "sharing the host's "+kind+" namespace is not allowed")
		}
		return
	}
	if p, _, ok := strings.Cut(mode, ":"); ok && p == "container" {
		if !ctlContainerNamespaces.of(c)[kind] {
			e.add("namespaces.container", field, "joining another container's "+kind+" namespace ("+mode+") is not allowed")
		}
	}
}

// mounts judges Binds, Mounts, VolumesFrom and Tmpfs.
func (e *evaluator) mounts(hc *container.HostConfig, f *fieldSet, oldRO bool) {
	c := e.p.c
	// The daemon creates every volume the container needs with this
	// driver: anonymous ones and those the image declares, which the
	// request does not show.
	if hc.VolumeDriver != "" && !ctlVolumeDrivers.of(c).match(hc.VolumeDriver) {
		e.add("mounts.volume_driver", f.at("HostConfig.VolumeDriver"), "volume driver "+strconv.Quote(hc.VolumeDriver)+" is not allowed; the daemon would use it for every volume of the container, the image's declared volumes included")
	}
	for i, raw := range hc.Binds {
		field := idx(f.at("HostConfig.Binds"), i)
		b, err := request.ParseBind(raw)
		if err != nil {
			e.add("mounts.invalid", field, "bind "+strconv.Quote(raw)+" is not valid: "+err.Error())
			continue
		}
		if b.Type != mount.TypeBind {
			// A named volume, or an anonymous one (no source), which
			// the daemon creates with HostConfig.VolumeDriver.
			if b.Source != "" && hc.VolumeDriver == "" && !ctlVolumeDrivers.of(c).match("local") {
				e.add("mounts.volume_driver", field, "volume driver \"local\" is not allowed")
			}
			continue
		}
		prop := ""
		if b.Propagation == mount.PropagationShared || b.Propagation == mount.PropagationRShared {
			prop = string(b.Propagation)
		}
		nonRec := ""
		if b.ReadOnly && oldRO {
			nonRec = oldAPINonRecursive
		}
		e.hostPath(b.Source, field, b.ReadOnly, nonRec, prop)
	}
	for i := range hc.Mounts {
		m := &hc.Mounts[i]
		field := idx(f.at("HostConfig.Mounts"), i)
		switch m.Type {
		case mount.TypeBind:
			prop := ""
			if m.BindOptions != nil {
				prop = string(m.BindOptions.Propagation)
			}
			if prop != "shared" && prop != "rshared" {
				prop = ""
			}
			nonRec := ""
			switch {
			case !m.ReadOnly:
			case m.BindOptions != nil && m.BindOptions.ReadOnlyNonRecursive:
				nonRec = "ReadOnlyNonRecursive leaves the mounts below it writable"
			case oldRO:
				nonRec = oldAPINonRecursive
			}
			e.hostPath(m.Source, field, m.ReadOnly, nonRec, prop)
		case mount.TypeVolume:
			driver := hc.VolumeDriver
			var opts map[string]string
			if vo := m.VolumeOptions; vo != nil && vo.DriverConfig != nil {
				if vo.DriverConfig.Name != "" {
					driver = vo.DriverConfig.Name
				}
				opts = vo.DriverConfig.Options
			}
			if driver == "" {
				driver = "local"
			}
			// HostConfig.VolumeDriver is judged above.
			if driver != hc.VolumeDriver && !ctlVolumeDrivers.of(c).match(driver) {
				e.add("mounts.volume_driver", field, "volume driver "+strconv.Quote(driver)+" is not allowed")
			}
			if driver == "local" && isNetworkFS(opts["type"]) {
				e.networkFS("mounts.network_fs", field+".VolumeOptions.DriverConfig.Options", opts)
			}
			if driver == "local" {
				if hp, kind := localVolumeHostPath(opts); kind != "" {
					if !ctlVolumeHostPaths.of(c) {
						e.add("mounts.volume_host_path", field+".VolumeOptions.DriverConfig.Options", "volumes that "+kind+" ("+hp+") are not allowed")
					} else {
						e.volumeDevice(hp, field+".VolumeOptions.DriverConfig.Options.device", m.ReadOnly || hasMountOpt(opts["o"], "ro"))
					}
				}
			}
		case mount.TypeTmpfs:
			if !ctlTmpfs.of(c) {
				e.add("mounts.tmpfs", field, "tmpfs mounts are not allowed")
			}
		case mount.TypeImage:
			if m.Source != "" {
				e.imageName(m.Source, field+".Source")
			}
		case mount.TypeCluster:
		default:
			e.add("mounts.invalid", field, "mount type "+strconv.Quote(string(m.Type))+" is not supported")
		}
	}
	for i, v := range hc.VolumesFrom {
		if _, _, err := request.ParseVolumesFrom(v); err != nil {
			e.add("mounts.invalid", idx(f.at("HostConfig.VolumesFrom"), i), "volumes-from "+strconv.Quote(v)+" is not valid: "+err.Error())
		}
	}
	if len(hc.VolumesFrom) > 0 && !ctlVolumesFrom.of(c) {
		e.add("mounts.volumes_from", f.at("HostConfig.VolumesFrom"), "mounting the volumes of other containers (volumes-from) is not allowed")
	}
	if len(hc.Tmpfs) > 0 && !ctlTmpfs.of(c) {
		e.add("mounts.tmpfs", f.at("HostConfig.Tmpfs"), "tmpfs mounts are not allowed")
	}
}

const oldAPINonRecursive = "before API 1.44 the daemon makes read-only binds non-recursive, leaving the mounts below them writable; use API 1.44 or later"

// hostPath judges one host path that a container or volume would mount.
// nonRecursive, when not empty, says why a read-only mount leaves the
// mounts below it writable.
func (e *evaluator) hostPath(src, field string, readOnly bool, nonRecursive, propagation string) {
	c := e.p.c
	p := cleanHostPath(src)
	if p == "" {
		e.add("mounts.invalid", field, "host path "+strconv.Quote(src)+" is not absolute")
		return
	}
	shown := p
	if p != src {
		shown = src + " (" + p + ")"
	}
	if e.s.resolve != nil {
		r, err := e.s.resolve(p)
		if err != nil {
			e.add("mounts.unresolvable", field, "host path "+p+" cannot be resolved: "+err.Error())
			return
		}
		if rp := cleanHostPath(r); rp != p && rp != "" {
			p = rp
			shown = src + " (resolves to " + p + ")"
		}
	}
	denied := len(e.v)
	if s, ok := ctlDockerSockets.of(c).covers(p); ok {
		e.add("mounts.docker_socket", field, "host path "+shown+" is the Docker socket "+s)
	} else if s, ok := ctlDockerSockets.of(c).exposes(p); ok {
		e.add("mounts.docker_socket", field, "host path "+shown+" contains the Docker socket "+s)
	} else if s, is := e.knownSocket(p); s != "" {
		if is {
			e.add("mounts.docker_socket", field, "host path "+shown+" is the socket "+s+" (the daemon's, containerd's or Portcullis's)")
		} else {
			e.add("mounts.docker_socket", field, "host path "+shown+" contains the socket "+s+" (the daemon's, containerd's or Portcullis's)")
		}
	} else if e.s.isSocket != nil && !ctlBindSockets.of(c).match(p) {
		if is, err := e.s.isSocket(p); err != nil {
			e.add("mounts.unresolvable", field, "host path "+shown+" cannot be inspected: "+err.Error())
			return
		} else if is {
			e.add("mounts.socket", field, "host path "+shown+" is a Unix socket, which no policy entry names")
		}
	}
	cv := callerVars{user: e.id.User, team: e.team}
	bindAllow, bindDeny := ctlBindAllow.of(c).forCaller(cv), ctlBindDeny.of(c).forCaller(cv)
	if d, ok := bindDeny.covers(p); ok {
		if d == p {
			e.add("mounts.bind", field, "host path "+shown+" is not allowed")
		} else {
			e.add("mounts.bind", field, "host path "+shown+" is not allowed (it is under "+d+")")
		}
	} else if d, ok := bindDeny.exposes(p); ok {
		e.add("mounts.bind", field, "host path "+shown+" is not allowed (it contains "+d+")")
	} else if _, ok := bindAllow.covers(p); !ok {
		if len(bindAllow.entries) == 0 {
			e.add("mounts.bind", field, "bind mounts of host paths are not allowed ("+shown+")")
		} else {
			e.add("mounts.bind", field, "host path "+shown+" is outside the allowed paths ("+strings.Join(bindAllow.entries, ", ")+")")
		}
	}
	if ctlBindReadOnly.of(c) && !readOnly {
		e.add("mounts.read_only", field, "host path "+shown+" must be mounted read-only")
	} else if ctlBindReadOnly.of(c) && nonRecursive != "" {
		e.add("mounts.read_only", field, "host path "+shown+" must be mounted read-only with everything below it: "+nonRecursive)
	} else if (!readOnly || nonRecursive != "") && e.mayBeRoot != "" && !ctlRootWritableBinds.of(c) && len(e.v) == denied {
		// Only for a path that is otherwise allowed: the remedy for a
		// denied path is another path. A non-recursive read-only bind
		// leaves the mounts below its source writable.
		e.add("mounts.root_writable", field, "host path "+shown+" would be writable by a container that "+e.mayBeRoot+"; root there could leave a setuid-root program for any host user to run")
	}
	if propagation != "" && !ctlSharedPropagation.of(c) {
		e.add("mounts.propagation", field, propagation+" mount propagation is not allowed")
	}
}

func (e *evaluator) networks(cc *request.ContainerCreate, f *fieldSet) {
	c := e.p.c
	mode := string(cc.HostConfig.NetworkMode)
	if mode == "" {
		mode = "default"
	}
	if !ctlNetworks.of(c).match(mode) {
		e.add("network.mode", f.at("HostConfig.NetworkMode"), "network mode "+strconv.Quote(mode)+" is not allowed")
	}
	for name, es := range cc.NetworkingConfig.EndpointsConfig {
		if name != mode && !ctlNetworks.of(c).match(name) {
			e.add("network.mode", key(f.at("NetworkingConfig.EndpointsConfig"), name), "network "+strconv.Quote(name)+" is not allowed")
		}
		if es != nil {
			e.endpoint(es, key(f.at("NetworkingConfig.EndpointsConfig"), name))
		}
	}
}

// endpoint judges the settings of one network endpoint (container create,
// network connect, a service's network attachment).
func (e *evaluator) endpoint(es *network.EndpointSettings, field string) {
	c := e.p.c
	// Driver options of the endpoint reach the network driver,
	// per-interface sysctls (com.docker.network.endpoint.sysctls) among
	// them.
	for k := range es.DriverOpts {
		if !ctlEndpointOptions.of(c).match(k) {
			e.add("network.endpoint_options", key(field+".DriverOpts", k), "endpoint driver option "+strconv.Quote(k)+" is not allowed")
		}
	}
	if len(es.Links) > 0 && !ctlLinks.of(c) {
		e.add("container.links", field+".Links", "legacy links are not allowed: they copy the linked container's environment into this one")
	}
}

func (e *evaluator) ports(hc *container.HostConfig, f *fieldSet) {
	c := e.p.c
	if hc.PublishAllPorts && !ctlPublishAll.of(c) {
		e.add("ports.publish_all", f.at("HostConfig.PublishAllPorts"), "publishing all exposed ports is not allowed")
	}
	for port, bindings := range hc.PortBindings {
		for i, b := range bindings {
			field := idx(key(f.at("HostConfig.PortBindings"), string(port)), i)
			start, end, err := request.ParseHostPort(b.HostPort)
			if err != nil {
				e.add("ports.invalid", field, "host port "+strconv.Quote(b.HostPort)+" is not valid: "+err.Error())
			} else if !ctlPrivilegedPorts.of(c) && end > 0 && start < 1024 {
				// Any port of the range the daemon may bind.
				e.add("ports.privileged", field, "host port "+b.HostPort+" is privileged (below 1024)")
			}
			if b.HostIP == "" {
				if ctlRequireHostIP.of(c) {
					e.add("ports.host_ip", field, "published ports must name a host IP")
				}
			} else if !ctlHostIPs.of(c).match(b.HostIP) {
				e.add("ports.host_ip", field, "host IP "+b.HostIP+" is not allowed")
			}
		}
	}
}

func (e *evaluator) logging(lc container.LogConfig, f *fieldSet) {
	c := e.p.c
	if lc.Type != "" && !ctlLogDrivers.of(c).match(lc.Type) {
		e.add("logging.driver", f.at("HostConfig.LogConfig")+".Type", "log driver "+strconv.Quote(lc.Type)+" is not allowed")
	}
	for _, k := range ctlLogOptionsRequired.of(c)[lc.Type] {
		if _, ok := lc.Config[k]; !ok {
			e.add("logging.options", f.at("HostConfig.LogConfig")+".Config", "log option "+k+" is required for the "+lc.Type+" driver")
		}
	}
	for _, k := range ctlLogOptionsDenied.of(c)[lc.Type] {
		if _, ok := lc.Config[k]; ok {
			e.add("logging.options", key(f.at("HostConfig.LogConfig")+".Config", k), "log option "+k+" is not allowed for the "+lc.Type+" driver")
		}
	}
	if a, ok := lc.Config["syslog-address"]; ok && !ctlSyslogAddresses.of(c).match(a) {
		e.add("logging.syslog_address", key(f.at("HostConfig.LogConfig")+".Config", "syslog-address"), "syslog address "+strconv.Quote(a)+" is not allowed")
	}
}

func (e *evaluator) resources(r *container.Resources, f *fieldSet) {
	c := e.p.c
	switch {
	case r.Memory <= 0 && (ctlRequireMemoryLimit.of(c) || ctlMemoryMax.of(c) > 0):
		e.add("resources.memory", f.at("HostConfig.Memory"), "a memory limit is required")
	case ctlMemoryMax.of(c) > 0 && r.Memory > ctlMemoryMax.of(c):
		e.add("resources.memory", f.at("HostConfig.Memory"), "memory "+fmtBytes(r.Memory)+" exceeds the maximum "+fmtBytes(ctlMemoryMax.of(c)))
	}
	n := effectiveNanoCPUs(r.NanoCPUs, r.CPUQuota, r.CPUPeriod)
	switch {
	case n <= 0 && (ctlRequireCPULimit.of(c) || ctlCPUsMax.of(c) > 0):
		e.add("resources.cpu", f.at("HostConfig.NanoCpus"), "a CPU limit is required")
	case ctlCPUsMax.of(c) > 0 && n > ctlCPUsMax.of(c):
		e.add("resources.cpu", f.at("HostConfig.NanoCpus"), "CPU limit "+fmtCPUs(n)+" exceeds the maximum "+fmtCPUs(ctlCPUsMax.of(c)))
	}
	var pids int64
	if r.PidsLimit != nil {
		pids = *r.PidsLimit
	}
	switch {
	case pids < 0 && !ctlUnlimitedPids.of(c):
		e.add("resources.pids", f.at("HostConfig.PidsLimit"), "an unlimited pids limit ("+strconv.FormatInt(pids, 10)+") is not allowed")
	case pids <= 0 && (ctlRequirePidsLimit.of(c) || ctlPidsMax.of(c) > 0):
		e.add("resources.pids", f.at("HostConfig.PidsLimit"), "a pids limit is required")
	case ctlPidsMax.of(c) > 0 && pids > ctlPidsMax.of(c):
		e.add("resources.pids", f.at("HostConfig.PidsLimit"), "pids limit "+strconv.FormatInt(pids, 10)+" exceeds the maximum "+strconv.FormatInt(ctlPidsMax.of(c), 10))
	}
	if r.OomKillDisable != nil && *r.OomKillDisable && !ctlOomKillDisable.of(c) {
		e.add("resources.oom_kill_disable", f.at("HostConfig.OomKillDisable"), "disabling the OOM killer is not allowed")
	}
	if ctlUlimitsMax.of(c) != nil {
		for i, u := range r.Ulimits {
			if u == nil {
				continue
			}
			max, ok := ctlUlimitsMax.of(c)[u.Name]
			if !ok {
				e.add("resources.ulimits", idx(f.at("HostConfig.Ulimits"), i), "ulimit "+u.Name+" is not allowed")
			} else if u.Hard > max || u.Soft > max || u.Hard < 0 || u.Soft < 0 {
				e.add("resources.ulimits", idx(f.at("HostConfig.Ulimits"), i), "ulimit "+u.Name+" exceeds the maximum "+strconv.FormatInt(max, 10))
			}
		}
	}
}

// rootReason says why a container may run as root on the host, or ""
// when it cannot: its user is a numeric non-zero uid and gid, and so is
// every extra group (names are
// mapped by the image's /etc/passwd, which Portcullis cannot see, and a
// missing group is the image's choice too), no-new-privileges keeps a
// setuid program in the image from making it root again, and either way
// a daemon that remaps users (userns-remap) makes root in the container
// an unprivileged host user, unless the container opts out with
// --userns=host.
func rootReason(user string, groupAdd []string, nnp bool, usernsMode string, remap bool) string {
	if remap && usernsMode != "host" {
		return ""
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, uerr := strconv.ParseUint(u, 10, 32)
	switch {
	case u == "":
		return "runs as the image's default user, which Portcullis cannot see (often root)"
	case u == "root" || (uerr == nil && uid == 0):
		return "runs as root (" + user + ")"
	case uerr != nil:
		return "runs as user " + strconv.Quote(u) + ", a name only the image maps to a uid (possibly 0)"
	}
	gid, gerr := strconv.ParseUint(g, 10, 32)
	switch {
	case !hasGroup:
		return "runs with the primary group the image gives uid " + u + " (possibly 0)"
	case gerr != nil:
		return "runs with group " + strconv.Quote(g) + ", a name only the image maps to a gid (possibly 0)"
	case gid == 0:
		return "runs with the root group (" + user + ")"
	}
	// A process may give its files any group it is in, and set the
	// setgid bit on them.
	for _, g := range groupAdd {
		if n, err := strconv.ParseUint(g, 10, 32); err != nil || n == 0 {
			return "is in the extra group " + strconv.Quote(g) + " (--group-add), which may be the root group"
		}
	}
	if !nnp {
		return "may become root through a setuid program in its image (no-new-privileges is not set)"
	}
	return ""
}

// knownSocket reports the host's known socket that p is (is true) or
// contains (is false); s is "" for neither.
func (e *evaluator) knownSocket(p string) (s string, is bool) {
	for _, k := range e.hostFacts().Sockets {
		switch {
		case k == p:
			return k, true
		case p == "/" || strings.HasPrefix(k, p+"/"):
			return k, false
		}
	}
	return "", false
}
