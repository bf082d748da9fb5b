//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/test/proccpu"
)

// cpuProbe is one process whose CPU time a benchmark accounts for; pids
// returns its processes (a daemon and the children it started).
type cpuProbe struct {
	name string
	pids func() []int
}

// cpuSample is the CPU time used so far by each probe and by the whole
// machine (every CPU, every process: the others' share is the machine's
// less the probes').
type cpuSample struct {
	procs   []time.Duration
	machine time.Duration
}

func sampleCPU(probes []cpuProbe) cpuSample {
	s := cpuSample{procs: make([]time.Duration, len(probes)), machine: machineCPU()}
	for i, p := range probes {
		for _, pid := range p.pids() {
			s.procs[i] += processCPU(pid)
		}
	}
	return s
}

// cpuUse is CPU time accumulated over rounds, and the ops it served.
type cpuUse struct {
	procs   []time.Duration
	machine time.Duration
	ops     int
}

func (u *cpuUse) add(before, after cpuSample, ops int) {
	if u.procs == nil {
		u.procs = make([]time.Duration, len(before.procs))
	}
	for i := range before.procs {
		u.procs[i] += after.procs[i] - before.procs[i]
	}
	u.machine += after.machine - before.machine
	u.ops += ops
}

// perOp is the CPU time per op of each probe, then of everything else on
// the machine, then the machine's total.
func (u cpuUse) perOp() (procs []time.Duration, others, machine time.Duration) {
	if u.ops == 0 {
		return make([]time.Duration, len(u.procs)), 0, 0
	}
	var sum time.Duration
	for _, d := range u.procs {
		procs = append(procs, d/time.Duration(u.ops))
		sum += d
	}
	return procs, (u.machine - sum) / time.Duration(u.ops), u.machine / time.Duration(u.ops)
}

// cpuTable formats the CPU per op of each target, one line each, in µs:
// each probe's, their sum ("all these"), everything else on the machine,
// the machine's total, and the first target's sum over this one's (the
// ops/s ratio to expect where these processes are CPU-bound and alone).
func cpuTable(probes []cpuProbe, names []string, uses map[string]cpuUse) []string {
	head := fmt.Sprintf("  %-8s", "µs/op")
	for _, p := range probes {
		head += fmt.Sprintf(" %10s", p.name)
	}
	head += fmt.Sprintf(" %10s %10s %10s %10s", "all these", "others", "machine", "vs first")
	lines := []string{head}
	var first time.Duration
	for i, n := range names {
		procs, others, machine := uses[n].perOp()
		l := fmt.Sprintf("  %-8s", n)
		var sum time.Duration
		for _, d := range procs {
			l += fmt.Sprintf(" %10d", d.Microseconds())
			sum += d
		}
		if i == 0 {
			first = sum
		}
		ratio := 0.0
		if sum > 0 {
			ratio = float64(first) / float64(sum)
		}
		lines = append(lines, l+fmt.Sprintf(" %10d %10d %10d %10.2f", sum.Microseconds(), others.Microseconds(), machine.Microseconds(), ratio))
	}
	return lines
}

// processCPU is the user and system time pid has used (all its threads),
// 0 when it is gone.
func processCPU(pid int) time.Duration {
	d, _ := proccpu.Of(pid)
	return d
}

// machineCPU is the time every CPU has spent busy (not idle, not waiting
// for I/O) since boot.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * proccpu.ClockTick
}

// childrenOf lists pid's children, whatever thread started them.
func childrenOf(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var kids []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// commOf is pid's command name.
func commOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// daemonProbes are the processes serving a private daemon's API: dockerd,
// its containerd (private or started by dockerd, with the shims below
// it) and the authorization plugin.
func daemonProbes(d *Daemon, p *Plugin) []cpuProbe {
	dockerd := func() int {
		if d.proc == nil {
			return 0
		}
		return d.proc.cmd.Process.Pid
	}
	containerd := func() []int {
		var root int
		if d.containerd != nil {
			root = d.containerd.cmd.Process.Pid
		} else {
			for _, k := range childrenOf(dockerd()) {
				if commOf(k) == "containerd" {
					root = k
				}
			}
		}
		if root == 0 {
			return nil
		}
		all := []int{root}
		for i := 0; i < len(all); i++ {
			all = append(all, childrenOf(all[i])...)
		}
		return all
	}
	return []cpuProbe{
		{"dockerd", func() []int { return []int{dockerd()} }},
		{"containerd", containerd},
		{"plugin", func() []int { return []int{p.PID()} }},
	}
}
