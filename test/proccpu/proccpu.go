// Package proccpu reads the CPU time a process has used from
// /proc/PID/stat: the one reader the load generator and the end-to-end
// benchmarks share.
package proccpu

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the kernel's USER_HZ, the unit of the CPU times in
// /proc/PID/stat and /proc/stat: 100 on every Linux architecture Go
// supports.
const ClockTick = 10 * time.Millisecond

// Of is the CPU time (user and system, all threads) pid has used so far.
func Of(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parse(pid, b)
}

// parse reads utime and stime from a /proc/PID/stat line. The command
// name may hold spaces and parentheses; the fields follow its last ')':
// state is field 3, utime 14 and stime 15.
func parse(pid int, b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q: not numbers", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * ClockTick, nil
}
