package policy

import (
	"encoding/binary"
	"reflect"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/portcullis/portcullis/internal/request"
)

// compiled is one policy after extends and defaults are applied, in the
// form evaluation needs: maps, compiled globs and plain numbers.
type compiled struct {
	name  string
	audit bool
	// summarizeHealth: audit_health_calls = "summarize".
	summarizeHealth bool
	help            string

	allowed  actionSet
	readOnly bool

	allowUnknownFields bool

	c    *containerPolicy // shared by policies whose sections are alike
	exec execPolicy

	volumeDrivers     *globList
	volumeHostPaths   bool
	networkDrivers    *globList
	images            imagePolicy
	buildNetworkMode  *globList
	own               ownershipPolicy
	buildCgroup       *globList
	buildRemote       *globList
	networkServers    *globList
	networkOptions    *globList
	networkConfigFrom bool

	rules     []*customRule
	ruleNeeds ruleNeeds
}

type imagePolicy struct {
	allow         *globList
	requireDigest bool
	allowLatest   bool
	fetchHosts    *globList
}

// containerPolicy is the container block compiled: per control, its
// compiled value (the control's of method reads it).
type containerPolicy struct {
	containerVals
}

type execPolicy struct {
	privileged      bool
	allowRoot       bool
	emptyUserIsRoot bool
	commands        *globList
}

// compiler compiles the policies of one load. Every list, set and map is
// compiled once and shared by every policy whose effective policy has the
// same content (inherited from the same base, or written alike in many
// team files), and so are whole container sections that come out the
// same: with 1,000 team policies extending the default, per-team copies
// were most of what a loaded Set held. Compiled parts are never written
// after load, so sharing them is safe.
type compiler struct {
	// By the attribute as decoded (mergeInto copies the pointer of an
	// inherited attribute), then by content.
	globs    map[*[]string]*globList
	sysctls  map[*[]string]*globList
	paths    map[*[]string]*pathList
	sets     map[*[]string]map[string]bool
	caps     map[*[]string]map[string]bool
	capDrops map[*[]string][]string
	content  map[string]any
	labels   map[uintptr]*requiredLabels // by the shared labels map

	containers map[string]*containerPolicy
	actionSets map[string]actionSet
	ruleSets   map[*policyBlock]*ruleSet
	rules      map[*ruleBlock]*customRule
}

func newCompiler() *compiler {
	return &compiler{
		globs:      map[*[]string]*globList{},
		sysctls:    map[*[]string]*globList{},
		paths:      map[*[]string]*pathList{},
		sets:       map[*[]string]map[string]bool{},
		caps:       map[*[]string]map[string]bool{},
		capDrops:   map[*[]string][]string{},
		content:    map[string]any{},
		labels:     map[uintptr]*requiredLabels{},
		containers: map[string]*containerPolicy{},
		actionSets: map[string]actionSet{},
		ruleSets:   map[*policyBlock]*ruleSet{},
		rules:      map[*ruleBlock]*customRule{},
	}
}

// listKey encodes kind and items exactly, as a key of compiler.content.
func listKey(kind string, items []string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, it := range items {
		b.WriteString(strconv.Itoa(len(it)))
		b.WriteByte(':')
		b.WriteString(it)
	}
	return b.String()
}

// shared returns what compiler.content holds for key, built by build the
// first time.
func shared[T any](cc *compiler, key string, build func() T) T {
	if v, ok := cc.content[key]; ok {
		return v.(T)
	}
	v := build()
	cc.content[key] = v
	return v
}

// byList compiles the list at items once per pointer and once per content.
func byList[T any](cc *compiler, memo map[*[]string]T, kind string, items *[]string, build func([]string) T) T {
	if v, ok := memo[items]; ok {
		return v
	}
	v := shared(cc, listKey(kind, *items), func() T { return build(*items) })
	memo[items] = v
	return v
}

func (cc *compiler) glob(items *[]string) *globList {
	return byList(cc, cc.globs, "glob\x00", items, func(items []string) *globList {
		l := newGlobList(items)
		return &l
	})
}

func (cc *compiler) path(items *[]string) *pathList {
	return byList(cc, cc.paths, "path\x00", items, func(items []string) *pathList {
		l := newPathList(items)
		return &l
	})
}

func (cc *compiler) set(items *[]string) map[string]bool {
	return byList(cc, cc.sets, "set\x00", items, setOf)
}

// sharedMap returns a map with the same content as *m (nil for a nil m),
// one per content.
func sharedMap[V any](cc *compiler, kind string, m *map[string]V, enc func(V) string) map[string]V {
	if m == nil {
		return nil
	}
	keys := sortedKeys(*m)
	items := make([]string, 0, 2*len(keys)+1)
	if *m == nil {
		items = append(items, "nil")
	}
	for _, k := range keys {
		items = append(items, k, enc((*m)[k]))
	}
	return shared(cc, listKey(kind, items), func() map[string]V { return *m })
}

func encList(v []string) string { return listKey("", v) }
func encString(v string) string { return v }
func encInt(v int64) string     { return strconv.FormatInt(v, 10) }

// container returns the one container section per content.
func (cc *compiler) container(c *containerPolicy) *containerPolicy {
	key, ok := identityKey(c)
	if !ok {
		return c
	}
	if prev, ok := cc.containers[key]; ok {
		return prev
	}
	cc.containers[key] = c
	return c
}

// identityKey encodes compiled values, scalars and references, by value
// and identity: two sections with the same key are equal, value for value
// and reference for reference. A value of another kind makes ok false, so
// that one added later cannot make different sections share.
func identityKey(c *containerPolicy) (key string, ok bool) {
	b := make([]byte, 0, len(c.flags)+8*(len(c.nums)+len(c.globs)+len(c.paths)+len(c.sets))+16*len(c.refs))
	for _, f := range c.flags {
		if f {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	for _, n := range c.nums {
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
	}
	for _, g := range c.globs {
		b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(reflect.ValueOf(g).UnsafePointer())))
	}
	for _, p := range c.paths {
		b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(reflect.ValueOf(p).UnsafePointer())))
	}
	for _, m := range c.sets {
		b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(reflect.ValueOf(m).UnsafePointer())))
	}
	for _, v := range c.refs {
		f := reflect.ValueOf(v)
		switch f.Kind() {
		case reflect.Pointer, reflect.Map:
			b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(f.UnsafePointer())))
		case reflect.Slice:
			b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(f.UnsafePointer())))
			b = binary.LittleEndian.AppendUint64(b, uint64(f.Len()))
		default:
			return "", false
		}
	}
	return string(b), true
}

// compile turns an effective (merged) policy into its evaluation form.
// own is the policy as written, for diagnostics about its rules.
func (cc *compiler) compile(name string, e *policyBlock, own *policyBlock) (*compiled, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	p := &compiled{name: name, audit: *e.Mode == "audit", summarizeHealth: *e.AuditHealthCalls == "summarize", help: *e.Help}

	p.allowed = compileActions(name, ownChain(own, e))
	if *e.Build.Allow {
		// The one-line build setting: the classic builder's endpoint
		// and BuildKit's two, whatever the actions lists say.
		allowed := append(actionSet(nil), p.allowed...)
		for _, a := range []request.Action{request.ActionImageBuild, request.ActionSession, request.ActionGrpc} {
			if i, ok := actionIndex[a]; ok {
				allowed[i/64] |= 1 << (i % 64)
			}
		}
		p.allowed = allowed
	}
	if prev, ok := cc.actionSets[string(actionSetKey(p.allowed))]; ok {
		p.allowed = prev
	} else {
		cc.actionSets[string(actionSetKey(p.allowed))] = p.allowed
	}
	p.readOnly = *e.Actions.ReadOnly
	p.allowUnknownFields = *e.AllowUnknownFields

	cp, d := cc.compileControls(e.Container)
	diags = append(diags, d...)
	p.c = cc.container(cp)

	p.exec = execPolicy{
		privileged:      *e.Exec.Privileged,
		allowRoot:       *e.Exec.AllowRootUser,
		emptyUserIsRoot: *e.Exec.EmptyUserIsRoot,
		commands:        cc.glob(e.Exec.Commands),
	}
	p.volumeDrivers = cc.glob(e.Volumes.Drivers)
	p.volumeHostPaths = *e.Volumes.HostPaths
	p.networkServers = cc.glob(e.Volumes.NetworkServers)
	p.networkDrivers = cc.glob(e.Networks.Drivers)
	p.networkOptions = cc.glob(e.Networks.Options)
	p.networkConfigFrom = *e.Networks.ConfigFrom
	p.images = imagePolicy{
		allow:         cc.glob(e.Images.Allow),
		requireDigest: *e.Images.RequireDigest,
		allowLatest:   *e.Images.AllowLatest,
		fetchHosts:    cc.glob(e.Images.FetchHosts),
	}
	p.buildNetworkMode = cc.glob(e.Build.NetworkModes)
	p.own = ownershipPolicy{
		enforce: *e.Ownership.Enforce,
		others:  cc.actionPatterns(e.Ownership.Others),
		admin:   *e.Ownership.Admin,
		unowned: *e.Ownership.Unowned,
		prune:   *e.Ownership.Prune,
	}
	p.buildCgroup = cc.glob(e.Build.CgroupParents)
	p.buildRemote = cc.glob(e.Build.RemoteContexts)

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

func actionSetKey(s actionSet) []byte {
	b := make([]byte, 0, 8*len(s))
	for _, w := range s {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

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
