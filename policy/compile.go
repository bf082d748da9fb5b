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

	allowed  actionSet
	readOnly bool

	c    containerPolicy
	exec execPolicy

	volumeDrivers    *globList
	volumeHostPaths  bool
	networkDrivers   *globList
	images           imagePolicy
	buildNetworkMode *globList

	rules     []*customRule
	ruleNeeds ruleNeeds
}

type imagePolicy struct {
	allow         *globList
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
	apparmorProfiles   *globList
	selinuxDisable     bool
	selinuxTypes       *globList
	requireNNP         bool
	writableCgroups    bool
	unmaskedPaths      bool

	hostNS        map[string]bool
	containerNS   map[string]bool
	cgroupParents *globList

	allowRoot       bool
	emptyUserIsRoot bool
	requireROFS     bool

	bindAllow         *pathList
	bindDeny          *pathList
	sockets           *pathList
	bindReadOnly      bool
	sharedPropagation bool
	volumeDrivers     *globList
	volumeHostPaths   bool
	volumesFrom       bool
	tmpfs             bool

	devices           *pathList
	deviceCgroupRules bool
	deviceRequests    bool

	networks        *globList
	privilegedPorts bool
	requireHostIP   bool
	hostIPs         *globList
	publishAll      bool

	logDrivers      *globList
	logRequired     map[string][]string
	logDenied       map[string][]string
	syslogAddresses *globList

	requireMemory  bool
	memoryMax      int64 // 0: none
	requireCPU     bool
	nanoCPUsMax    int64 // 0: none
	requirePids    bool
	pidsMax        int64 // 0: none
	oomKillDisable bool
	unlimitedPids  bool
	ulimits        map[string]int64 // nil: no check

	sysctls  *globList
	runtimes *globList

	labels          map[string]string
	labelKeys       []string
	restartPolicies *globList
	restartMax      int64 // -1: none
}

type execPolicy struct {
	privileged      bool
	allowRoot       bool
	emptyUserIsRoot bool
	commands        *globList
}

// compiler compiles the policies of one load. Lists and maps inherited
// unchanged (mergeInto copies the pointer of the attribute as written)
// are compiled once and shared by every policy that inherits them: with
// 1,000 team policies extending the default, per-team copies of the
// default's lists were most of what a loaded Set held.
type compiler struct {
	globs     map[*[]string]*globList
	sysctls   map[*[]string]*globList
	paths     map[*[]string]*pathList
	sets      map[*[]string]map[string]bool
	caps      map[*[]string]map[string]bool
	capDrops  map[*[]string][]string
	labelKeys map[*map[string]string][]string
	ruleSets  map[*policyBlock]*ruleSet
	rules     map[*ruleBlock]*customRule
}

func newCompiler() *compiler {
	return &compiler{
		globs:     map[*[]string]*globList{},
		sysctls:   map[*[]string]*globList{},
		paths:     map[*[]string]*pathList{},
		sets:      map[*[]string]map[string]bool{},
		caps:      map[*[]string]map[string]bool{},
		capDrops:  map[*[]string][]string{},
		labelKeys: map[*map[string]string][]string{},
		ruleSets:  map[*policyBlock]*ruleSet{},
		rules:     map[*ruleBlock]*customRule{},
	}
}

func (cc *compiler) glob(items *[]string) *globList {
	g, ok := cc.globs[items]
	if !ok {
		l := newGlobList(*items)
		g = &l
		cc.globs[items] = g
	}
	return g
}

func (cc *compiler) path(items *[]string) *pathList {
	l, ok := cc.paths[items]
	if !ok {
		pl := newPathList(*items)
		l = &pl
		cc.paths[items] = l
	}
	return l
}

func (cc *compiler) set(items *[]string) map[string]bool {
	m, ok := cc.sets[items]
	if !ok {
		m = setOf(*items)
		cc.sets[items] = m
	}
	return m
}

// compile turns an effective (merged) policy into its evaluation form.
// own is the policy as written, for diagnostics about its rules.
func (cc *compiler) compile(name string, e *policyBlock, own *policyBlock) (*compiled, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	p := &compiled{name: name, audit: *e.Mode == "audit"}

	p.allowed = compileActions(name, ownChain(own, e))
	p.readOnly = *e.Actions.ReadOnly

	c := e.Container
	cp := &p.c
	cp.privileged = *c.Privileged
	capAdd, ok := cc.caps[c.CapAdd]
	if !ok {
		capAdd = map[string]bool{}
		for _, v := range *c.CapAdd {
			capAdd[normCap(v)] = true
		}
		cc.caps[c.CapAdd] = capAdd
	}
	cp.capAdd = capAdd
	capDrop, ok := cc.capDrops[c.CapDropRequire]
	if !ok {
		for _, v := range *c.CapDropRequire {
			capDrop = append(capDrop, normCap(v))
		}
		cc.capDrops[c.CapDropRequire] = capDrop
	}
	cp.capDropRequire = capDrop
	cp.seccompUnconfined = *c.SeccompUnconfined
	cp.seccompCustom = *c.SeccompCustom
	cp.seccompDangerous = cc.set(c.SeccompDangerous)
	cp.apparmorUnconfined = *c.AppArmorUnconfined
	cp.apparmorProfiles = cc.glob(c.AppArmorProfiles)
	cp.selinuxDisable = *c.SELinuxDisable
	cp.selinuxTypes = cc.glob(c.SELinuxTypes)
	cp.requireNNP = *c.RequireNoNewPrivs
	cp.writableCgroups = *c.WritableCgroups
	cp.unmaskedPaths = *c.UnmaskedPaths
	cp.hostNS = cc.set(c.HostNamespaces)
	cp.containerNS = cc.set(c.ContainerNamespaces)
	cp.cgroupParents = cc.glob(c.CgroupParents)
	cp.allowRoot = *c.AllowRootUser
	cp.emptyUserIsRoot = *c.EmptyUserIsRoot
	cp.requireROFS = *c.RequireReadOnly
	cp.bindAllow = cc.path(c.BindAllow)
	cp.bindDeny = cc.path(c.BindDeny)
	cp.sockets = cc.path(c.DockerSockets)
	cp.bindReadOnly = *c.BindRequireReadOnly
	cp.sharedPropagation = *c.SharedPropagation
	cp.volumeDrivers = cc.glob(c.VolumeDrivers)
	cp.volumeHostPaths = *c.VolumeHostPaths
	cp.volumesFrom = *c.VolumesFrom
	cp.tmpfs = *c.Tmpfs
	cp.devices = cc.path(c.Devices)
	cp.deviceCgroupRules = *c.DeviceCgroupRules
	cp.deviceRequests = *c.DeviceRequests
	cp.networks = cc.glob(c.Networks)
	cp.privilegedPorts = *c.PrivilegedPorts
	cp.requireHostIP = *c.RequireHostIP
	cp.hostIPs = cc.glob(c.HostIPs)
	cp.publishAll = *c.PublishAll
	cp.logDrivers = cc.glob(c.LogDrivers)
	cp.logRequired = *c.LogOptionsRequired
	cp.logDenied = *c.LogOptionsDenied
	cp.syslogAddresses = cc.glob(c.SyslogAddresses)
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
	sysctls, ok := cc.sysctls[c.Sysctls]
	if !ok {
		items := make([]string, 0, len(*c.Sysctls))
		for _, s := range *c.Sysctls {
			items = append(items, strings.ReplaceAll(s, "/", "."))
		}
		l := newGlobList(items)
		sysctls = &l
		cc.sysctls[c.Sysctls] = sysctls
	}
	cp.sysctls = sysctls
	cp.runtimes = cc.glob(c.Runtimes)
	cp.labels = *c.RequiredLabels
	labelKeys, ok := cc.labelKeys[c.RequiredLabels]
	if !ok {
		labelKeys = sortedKeys(cp.labels)
		cc.labelKeys[c.RequiredLabels] = labelKeys
	}
	cp.labelKeys = labelKeys
	cp.restartPolicies = cc.glob(c.RestartPolicies)
	cp.restartMax = *c.RestartMaxRetry

	p.exec = execPolicy{
		privileged:      *e.Exec.Privileged,
		allowRoot:       *e.Exec.AllowRootUser,
		emptyUserIsRoot: *e.Exec.EmptyUserIsRoot,
		commands:        cc.glob(e.Exec.Commands),
	}
	p.volumeDrivers = cc.glob(e.Volumes.Drivers)
	p.volumeHostPaths = *e.Volumes.HostPaths
	p.networkDrivers = cc.glob(e.Networks.Drivers)
	p.images = imagePolicy{
		allow:         cc.glob(e.Images.Allow),
		requireDigest: *e.Images.RequireDigest,
		allowLatest:   *e.Images.AllowLatest,
	}
	p.buildNetworkMode = cc.glob(e.Build.NetworkModes)

	rs := cc.ruleSet(e.self)
	p.rules = rs.rules
	p.ruleNeeds = rs.needs
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
func compileActions(_ string, chain []*actionsBlock) actionSet {
	allowed := make(actionSet, (len(allActions)+63)/64)
	for i := range allActions {
		for _, blk := range chain {
			v := blockVerdicts(blk)[i]
			if v == verdictDeny {
				break
			}
			if v == verdictAllow {
				allowed[i/64] |= 1 << (i % 64)
				break
			}
		}
	}
	return allowed
}

// actionSet is a set of actions: bit i stands for allActions[i].
type actionSet []uint64

// has reports whether a is in the set; actions that request.Actions()
// does not list never are.
func (s actionSet) has(a request.Action) bool {
	i, ok := actionIndex[a]
	return ok && s[i/64]&(1<<(i%64)) != 0
}

const (
	verdictNone int8 = iota
	verdictAllow
	verdictDeny
)

var allActions = request.Actions()

// actionIndex is the index of each action in allActions.
var actionIndex = func() map[request.Action]int {
	m := make(map[request.Action]int, len(allActions))
	for i, a := range allActions {
		if _, ok := m[a]; !ok {
			m[a] = i
		}
	}
	return m
}()

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
