package policy

import (
	"math"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/portcullis/portcullis/policy/request"
)

// compiled is one policy after extends and defaults are applied, in the
// form evaluation needs: maps, compiled globs and plain numbers.
type compiled struct {
	name  string
	audit bool

	allowed  map[request.Action]bool
	readOnly bool

	c    containerPolicy
	exec execPolicy

	volumeDrivers    globList
	volumeHostPaths  bool
	networkDrivers   globList
	images           imagePolicy
	buildNetworkMode globList

	rules     []*customRule
	ruleNeeds ruleNeeds
}

type imagePolicy struct {
	allow         globList
	requireDigest bool
	allowLatest   bool
}

type containerPolicy struct {
	privileged     bool
	capAdd         map[string]bool // normalised, "ALL" possible
	capDropRequire []string        // normalised

	seccompUnconfined  bool
	seccompCustom      bool
	seccompDangerous   map[string]bool
	apparmorUnconfined bool
	apparmorProfiles   globList
	selinuxDisable     bool
	selinuxTypes       globList
	requireNNP         bool
	writableCgroups    bool
	unmaskedPaths      bool

	hostNS        map[string]bool
	containerNS   map[string]bool
	cgroupParents globList

	allowRoot       bool
	emptyUserIsRoot bool
	requireROFS     bool

	bindAllow         pathList
	bindDeny          pathList
	sockets           pathList
	bindReadOnly      bool
	sharedPropagation bool
	volumeDrivers     globList
	volumeHostPaths   bool
	volumesFrom       bool
	tmpfs             bool

	devices           pathList
	deviceCgroupRules bool
	deviceRequests    bool

	networks        globList
	privilegedPorts bool
	requireHostIP   bool
	hostIPs         globList
	publishAll      bool

	logDrivers      globList
	logRequired     map[string][]string
	logDenied       map[string][]string
	syslogAddresses globList

	requireMemory  bool
	memoryMax      int64 // 0: none
	requireCPU     bool
	nanoCPUsMax    int64 // 0: none
	requirePids    bool
	pidsMax        int64 // 0: none
	oomKillDisable bool
	unlimitedPids  bool
	ulimits        map[string]int64 // nil: no check

	sysctls  globList
	runtimes globList

	labels          map[string]string
	labelKeys       []string
	restartPolicies globList
	restartMax      int64 // -1: none
}

type execPolicy struct {
	privileged      bool
	allowRoot       bool
	emptyUserIsRoot bool
	commands        globList
}

// compile turns an effective (merged) policy into its evaluation form.
// own is the policy as written, for diagnostics about its rules.
func compile(name string, e *policyBlock, own *policyBlock) (*compiled, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	p := &compiled{name: name, audit: *e.Mode == "audit"}

	p.allowed = compileActions(name, ownChain(own, e))
	p.readOnly = *e.Actions.ReadOnly

	c := e.Container
	cp := &p.c
	cp.privileged = *c.Privileged
	cp.capAdd = map[string]bool{}
	for _, v := range *c.CapAdd {
		cp.capAdd[normCap(v)] = true
	}
	for _, v := range *c.CapDropRequire {
		cp.capDropRequire = append(cp.capDropRequire, normCap(v))
	}
	cp.seccompUnconfined = *c.SeccompUnconfined
	cp.seccompCustom = *c.SeccompCustom
	cp.seccompDangerous = setOf(*c.SeccompDangerous)
	cp.apparmorUnconfined = *c.AppArmorUnconfined
	cp.apparmorProfiles = newGlobList(*c.AppArmorProfiles)
	cp.selinuxDisable = *c.SELinuxDisable
	cp.selinuxTypes = newGlobList(*c.SELinuxTypes)
	cp.requireNNP = *c.RequireNoNewPrivs
	cp.writableCgroups = *c.WritableCgroups
	cp.unmaskedPaths = *c.UnmaskedPaths
	cp.hostNS = setOf(*c.HostNamespaces)
	cp.containerNS = setOf(*c.ContainerNamespaces)
	cp.cgroupParents = newGlobList(*c.CgroupParents)
	cp.allowRoot = *c.AllowRootUser
	cp.emptyUserIsRoot = *c.EmptyUserIsRoot
	cp.requireROFS = *c.RequireReadOnly
	cp.bindAllow = newPathList(*c.BindAllow)
	cp.bindDeny = newPathList(*c.BindDeny)
	cp.sockets = newPathList(*c.DockerSockets)
	cp.bindReadOnly = *c.BindRequireReadOnly
	cp.sharedPropagation = *c.SharedPropagation
	cp.volumeDrivers = newGlobList(*c.VolumeDrivers)
	cp.volumeHostPaths = *c.VolumeHostPaths
	cp.volumesFrom = *c.VolumesFrom
	cp.tmpfs = *c.Tmpfs
	cp.devices = newPathList(*c.Devices)
	cp.deviceCgroupRules = *c.DeviceCgroupRules
	cp.deviceRequests = *c.DeviceRequests
	cp.networks = newGlobList(*c.Networks)
	cp.privilegedPorts = *c.PrivilegedPorts
	cp.requireHostIP = *c.RequireHostIP
	cp.hostIPs = newGlobList(*c.HostIPs)
	cp.publishAll = *c.PublishAll
	cp.logDrivers = newGlobList(*c.LogDrivers)
	cp.logRequired = *c.LogOptionsRequired
	cp.logDenied = *c.LogOptionsDenied
	cp.syslogAddresses = newGlobList(*c.SyslogAddresses)
	cp.requireMemory = *c.RequireMemoryLimit
	if *c.MemoryMax != "" {
		cp.memoryMax, _ = parseBytes(*c.MemoryMax) // validated
	}
	cp.requireCPU = *c.RequireCPULimit
	cp.nanoCPUsMax = int64(math.Round(*c.CPUsMax * 1e9))
	cp.requirePids = *c.RequirePidsLimit
	cp.pidsMax = *c.PidsMax
	cp.oomKillDisable = *c.OomKillDisable
	cp.unlimitedPids = *c.UnlimitedPids
	if c.Ulimits != nil {
		cp.ulimits = *c.Ulimits
	}
	sysctls := make([]string, 0, len(*c.Sysctls))
	for _, s := range *c.Sysctls {
		sysctls = append(sysctls, strings.ReplaceAll(s, "/", "."))
	}
	cp.sysctls = newGlobList(sysctls)
	cp.runtimes = newGlobList(*c.Runtimes)
	cp.labels = *c.RequiredLabels
	cp.labelKeys = sortedKeys(cp.labels)
	cp.restartPolicies = newGlobList(*c.RestartPolicies)
	cp.restartMax = *c.RestartMaxRetry

	p.exec = execPolicy{
		privileged:      *e.Exec.Privileged,
		allowRoot:       *e.Exec.AllowRootUser,
		emptyUserIsRoot: *e.Exec.EmptyUserIsRoot,
		commands:        newGlobList(*e.Exec.Commands),
	}
	p.volumeDrivers = newGlobList(*e.Volumes.Drivers)
	p.volumeHostPaths = *e.Volumes.HostPaths
	p.networkDrivers = newGlobList(*e.Networks.Drivers)
	p.images = imagePolicy{
		allow:         newGlobList(*e.Images.Allow),
		requireDigest: *e.Images.RequireDigest,
		allowLatest:   *e.Images.AllowLatest,
	}
	p.buildNetworkMode = newGlobList(*e.Build.NetworkModes)

	rules, d := compileRules(e)
	diags = append(diags, d...)
	p.rules = rules
	p.ruleNeeds = needsOf(rules)
	return p, diags
}

// ownChain lists the actions blocks from the policy up to its root base.
func ownChain(own, _ *policyBlock) []*actionsBlock {
	var out []*actionsBlock
	for p := own; p != nil; p = p.base {
		if p.Actions != nil {
			out = append(out, p.Actions)
		}
	}
	return out
}

// compileActions resolves the action lists to a set of allowed actions.
// For each action the nearest policy in the extends chain whose allow or
// deny list mentions it decides; within one policy deny wins. Actions no
// policy mentions are denied. Each block's verdicts are computed once and
// shared by every policy that extends it.
func compileActions(_ string, chain []*actionsBlock) map[request.Action]bool {
	allowed := map[request.Action]bool{}
	for i, a := range allActions {
		for _, blk := range chain {
			v := blockVerdicts(blk)[i]
			if v == verdictDeny {
				break
			}
			if v == verdictAllow {
				allowed[a] = true
				break
			}
		}
	}
	return allowed
}

const (
	verdictNone int8 = iota
	verdictAllow
	verdictDeny
)

var allActions = request.Actions()

func blockVerdicts(blk *actionsBlock) []int8 {
	if blk.verdicts != nil {
		return blk.verdicts
	}
	v := make([]int8, len(allActions))
	for i, a := range allActions {
		s := string(a)
		switch {
		case blk.Deny != nil && anyGlob(*blk.Deny, s):
			v[i] = verdictDeny
		case blk.Allow != nil && anyGlob(*blk.Allow, s):
			v[i] = verdictAllow
		}
	}
	blk.verdicts = v
	return v
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

func setOf(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}

// normCap normalises a capability name as the daemon does (moby
// oci/caps.NormalizeLegacyCapabilities): upper case, CAP_ prefix, except
// the magic "ALL".
func normCap(c string) string {
	c = strings.ToUpper(c)
	if c == "ALL" || strings.HasPrefix(c, "CAP_") {
		return c
	}
	return "CAP_" + c
}

func sortedCaps(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
