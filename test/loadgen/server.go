package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a plugin process the load generator started.
type server struct {
	name   string
	socket string
	cmd    *exec.Cmd
	log    string
	done   chan struct{}
	err    error
}

// startServer runs bin with args (which must make it serve on socket),
// logging to a file in dir, and waits until it activates.
func startServer(ctx context.Context, name, dir, socket, bin string, args ...string) (*server, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, socket: socket, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	actx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-actx.Done():
		}
	}()
	err = activate(actx, socket, 30*time.Second)
	cancel()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w\n%s", name, err, tail(logPath, 20))
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports an error if the process has exited.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited: %v\n%s", s.name, s.err, tail(s.log, 20))
	default:
		return nil
	}
}

// stop asks the process to shut down (SIGTERM, as systemd would) and
// kills it if it has not exited after 15 s.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procStats is what /proc says about a process.
type procStats struct {
	rssKiB, hwmKiB int64
	threads        int
	fds            int
}

func readProc(pid int) (procStats, error) {
	var st procStats
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			st.rssKiB = n
		case "VmHWM":
			st.hwmKiB = n
		case "Threads":
			st.threads = int(n)
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err == nil {
		st.fds = len(ents)
	}
	return st, nil
}

// sampler records a process's peak RSS, threads and fds while it runs.
type sampler struct {
	mu             sync.Mutex
	first, last    procStats
	maxRSS, maxFDs int64
	maxThreads     int
	n              int
	stop           chan struct{}
	wg             sync.WaitGroup
}

func sample(pid int, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{})}
	s.take(pid)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.take(pid)
			}
		}
	}()
	return s
}

func (s *sampler) take(pid int) {
	st, err := readProc(pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		s.first = st
	}
	s.n++
	s.last = st
	s.maxRSS = max(s.maxRSS, st.rssKiB)
	s.maxFDs = max(s.maxFDs, int64(st.fds))
	s.maxThreads = max(s.maxThreads, st.threads)
}

func (s *sampler) finish(pid int) {
	close(s.stop)
	s.wg.Wait()
	s.take(pid)
}
