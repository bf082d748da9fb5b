// Package benchcpu reports the CPU time a benchmark used per operation,
// beside the wall-clock ns/op: on a shared machine the wall clock also
// counts time spent waiting for a CPU, the CPU time does not.
package benchcpu

import (
	"syscall"
	"testing"
)

// cpuTime is the CPU time this process has used, in all threads (the
// garbage collector's included).
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// Report starts counting; call the returned function after the loop to
// report "cpu-ns/op".
func Report(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}
