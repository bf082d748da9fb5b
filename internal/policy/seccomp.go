package policy

import (
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// This file judges an inline seccomp profile by what the daemon would
// install from it, not by what it says: the daemon decodes the profile
// into its own type (github.com/moby/profiles/seccomp, LoadProfile), and
// setupSeccomp installs no filter at all when the profile has neither a
// default action nor syscalls, and keeps a syscall rule only when its
// includes/excludes conditions hold for the container's capability
// bounding set (caps.TweakCapabilities: Docker's defaults, plus adds,
// minus drops; everything for privileged) and the host's architecture.
// What the kept rules let through is then compared with what Docker's
// default profile lets through for the same capabilities: anything more
// is a violation unless the policy lists the syscall.

// capSet is a container's effective capability bounding set, as
// caps.TweakCapabilities computes it.
type capSet struct {
	all   bool            // every capability the kernel knows, but minus
	minus map[string]bool // dropped from all
	set   map[string]bool
}

func (s *capSet) has(c string) bool {
	if s.set[c] {
		return true
	}
	return s.all && knownCaps[c] && !s.minus[c]
}

// knownCaps are the capability names of Linux 5.9 and later, the set
// caps.GetAllCapabilities gives on a current kernel.
var knownCaps = setOf([]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
})

// effectiveCaps mirrors caps.TweakCapabilities (oci/caps/utils.go).
// Names are normalised as NormalizeLegacyCapabilities does; a name the
// daemon does not know makes it refuse the container, so counting it
// changes nothing.
func effectiveCaps(add, drop []string, privileged bool) capSet {
	if privileged {
		return capSet{all: true}
	}
	if len(add) == 0 && len(drop) == 0 {
		return capSet{set: defaultCaps}
	}
	norm := func(l []string) map[string]bool {
		m := make(map[string]bool, len(l))
		for _, c := range l {
			m[normCap(c)] = true
		}
		return m
	}
	adds, drops := norm(add), norm(drop)
	switch {
	case adds["ALL"]:
		return capSet{all: true, minus: drops}
	case drops["ALL"]:
		return capSet{set: adds}
	}
	s := capSet{set: adds}
	for c := range defaultCaps {
		if !drops[c] {
			s.set[c] = true
		}
	}
	return s
}

// defaultCaps is caps.DefaultCapabilities (oci/caps/defaults.go), which
// is not imported: that package pulls in containerd.
var defaultCaps = setOf([]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
	"CAP_AUDIT_WRITE",
})

// capsKey identifies a capability set, for caching what the default
// profile allows with it.
func (s *capSet) key() string {
	var names []string
	for c := range knownCaps {
		if s.has(c) {
			names = append(names, c)
		}
	}
	var unknown []string
	for c := range s.set {
		if !knownCaps[c] {
			unknown = append(unknown, c)
		}
	}
	sort.Strings(names)
	sort.Strings(unknown)
	return strings.Join(names, ",") + "|" + strings.Join(unknown, ",")
}

// nativeArch is the daemon's name for this host's architecture
// (goToNative in profiles/seccomp/seccomp_linux.go); the plugin runs on
// the daemon's host.
var nativeArch = map[string]string{
	"386": "x86", "amd64": "amd64", "arm": "arm", "arm64": "arm64", "loong64": "loongarch64",
	"mips64": "mips64", "mips64p32": "mips64n32", "mips64le": "mipsel64", "mips64p32le": "mips3l64n32",
	"mipsle": "mipsel", "ppc": "ppc", "ppc64": "ppc64", "ppc64le": "ppc64le", "riscv64": "riscv64",
	"s390": "s390", "s390x": "s390x",
}[runtime.GOARCH]

// keptRules lists the syscall rules setupSeccomp keeps for caps. A rule
// conditioned on the kernel version (minKernel) is kept: the plugin does
// not guess the host kernel, and keeping a rule can only make the
// profile allow more.
func keptRules(p *seccomp.Seccomp, cs *capSet) []*seccomp.Syscall {
	var out []*seccomp.Syscall
rules:
	for _, call := range p.Syscalls {
		if call == nil {
			continue
		}
		if x := call.Excludes; x != nil {
			if slices.Contains(x.Arches, nativeArch) {
				continue
			}
			for _, c := range x.Caps {
				if cs.has(c) {
					continue rules
				}
			}
		}
		if in := call.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, nativeArch) {
				continue
			}
			for _, c := range in.Caps {
				if !cs.has(c) {
					continue rules
				}
			}
		}
		out = append(out, call)
	}
	return out
}

// seccompConfines lists the actions that stop a syscall. Every other
// action lets it run: SCMP_ACT_ALLOW and SCMP_ACT_LOG, SCMP_ACT_TRACE (a
// tracer in the container decides) and SCMP_ACT_NOTIFY (a listener
// decides), and any name a newer runtime may add.
var seccompConfines = setOf([]string{
	string(specs.ActErrno), string(specs.ActKill), string(specs.ActKillThread),
	string(specs.ActKillProcess), string(specs.ActTrap),
})

// seccompFlags are the filter flags that weaken nothing.
// SECCOMP_FILTER_FLAG_SPEC_ALLOW turns off the speculative store bypass
// mitigation and is not among them.
var seccompFlags = setOf([]string{
	string(specs.LinuxSeccompFlagLog), "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
})

// ruleNames is the syscalls a rule names ("name" is the old spelling of
// "names"; the daemon refuses a rule with both).
func ruleNames(call *seccomp.Syscall) []string {
	if call.Name != "" {
		return []string{call.Name}
	}
	return call.Names
}

// defaultAllows is what Docker's default profile lets through for a
// capability set: per syscall, nil when allowed unconditionally, else the
// argument conditions under which it is.
type defaultAllows map[string][][]specs.LinuxSeccompArg

var defaultCache sync.Map // capSet.key() -> defaultAllows

func defaultAllowed(cs *capSet) defaultAllows {
	k := cs.key()
	if v, ok := defaultCache.Load(k); ok {
		return v.(defaultAllows)
	}
	m := defaultAllows{}
	for _, call := range keptRules(seccomp.DefaultProfile(), cs) {
		if seccompConfines[string(call.Action)] {
			continue
		}
		for _, n := range ruleNames(call) {
			prev, seen := m[n]
			switch {
			case seen && prev == nil:
			case len(call.Args) == 0:
				m[n] = nil
			default:
				m[n] = append(prev, call.Args)
			}
		}
	}
	defaultCache.Store(k, m)
	return m
}

// allows reports whether the default profile lets syscall n through under
// the argument conditions args (none: unconditionally).
func (d defaultAllows) allows(n string, args []specs.LinuxSeccompArg) bool {
	conds, ok := d[n]
	if !ok {
		return false
	}
	if conds == nil {
		return true
	}
	if len(args) == 0 {
		return false
	}
	for _, c := range conds {
		if reflect.DeepEqual(c, args) {
			return true
		}
	}
	return false
}

// seccomp judges the value of a seccomp= security option of a container
// with the settings hc (its capabilities decide which rules apply).
func (e *evaluator) seccomp(v, field string, hc *container.HostConfig) {
	c := e.p.c
	switch v {
	case "unconfined":
		if !ctlSeccompUnconfined.of(c) {
			e.add("security.seccomp", field, "seccomp=unconfined is not allowed")
		}
		return
	case "builtin", "":
		return
	}
	if ctlSeccompUnconfined.of(c) {
		// No profile confines less than none at all.
		return
	}
	if !ctlSeccompCustom.of(c) {
		e.add("security.seccomp", field, "custom seccomp profiles are not allowed")
		return
	}
	// As the daemon decodes it (seccomp.LoadProfile).
	var p seccomp.Seccomp
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		e.add("security.seccomp", field, "the seccomp profile does not decode as the daemon would decode it: "+err.Error())
		return
	}
	if p.DefaultAction == "" && len(p.Syscalls) == 0 {
		e.add("security.seccomp", field, "the seccomp profile has neither a defaultAction nor syscalls, so the daemon installs no filter at all (the same as seccomp=unconfined)")
		return
	}
	if !seccompConfines[string(p.DefaultAction)] {
		e.add("security.seccomp", field, "the seccomp profile's defaultAction "+strconv.Quote(string(p.DefaultAction))+" lets every syscall it does not name run; use SCMP_ACT_ERRNO and allow what is needed")
	}
	for _, f := range p.Flags {
		if !seccompFlags[string(f)] {
			e.add("security.seccomp", field, "seccomp filter flag "+strconv.Quote(string(f))+" is not allowed")
		}
	}
	caps := effectiveCaps(hc.CapAdd, hc.CapDrop, hc.Privileged)
	cs := &caps
	def := defaultAllowed(cs)
	reported := map[string]bool{}
	for _, call := range keptRules(&p, cs) {
		if seccompConfines[string(call.Action)] {
			continue
		}
		for _, n := range ruleNames(call) {
			if reported[n] {
				continue
			}
			switch {
			case ctlSeccompDangerous.of(c)[n]:
				reported[n] = true
				e.add("security.seccomp", field, "the seccomp profile allows the syscall "+n+", which this policy never allows")
			case def.allows(n, call.Args) || ctlSeccompAllowed.of(c)[n]:
			case len(call.Args) > 0:
				reported[n] = true
				e.add("security.seccomp", field, "the seccomp profile allows the syscall "+n+" under conditions Docker's default profile does not use for this container's capabilities")
			default:
				reported[n] = true
				e.add("security.seccomp", field, "the seccomp profile allows the syscall "+n+", which Docker's default profile blocks for this container's capabilities")
			}
		}
	}
}
