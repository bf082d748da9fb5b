// Command e2ebench is the end-to-end benchmark of `make bench`: what a
// Docker daemon serves through its API socket with no authorization
// plugin, with the go-plugins-helpers allow-all plugin (test/allowall), and
// with Portcullis (the shipped policies, the audit file on). As root:
//
//	go run ./test/e2ebench -engine-bin DIR [-rounds 3 -duration 3s -clients 4]
//
// It starts one private dockerd per configuration from DIR (own data
// root, exec root, socket and pidfile under a fresh /tmp directory, no
// bridge, no iptables; a private containerd when a system one is
// running), imports a busybox-static image, creates one container to
// inspect, and then measures two fixed mixes, interleaving the three
// daemons round by round (the order rotates) so that the machine's noise
// falls on all three alike:
//
//   - reads: GET /_ping, /version, /containers/json, /images/json,
//     /networks, /volumes, /containers/{id}/json, in turn;
//   - lifecycle: container create (the body the Docker CLI sends for
//     `docker run`, from the Engine 29 recording in testdata/traffic),
//     inspect, remove, in turn.
//
// Every request is one operation; it reports operations per second,
// p50 and p99 of each daemon on each mix, the CPU time per operation of
// dockerd ("cpu/op d") and of the plugin ("cpu/op p"), and the ratios.
// It exits 1 if any request failed (a non-2xx answer, a denial included): the mixes are
// ones the shipped policies allow.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/test/corpus"
	"github.com/portcullis/portcullis/test/proccpu"
)

type config struct {
	engineBin  string
	portcullis string
	allowall   string
	policyDir  string
	busybox    string
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	clients    int
	keep       bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("e2ebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.engineBin, "engine-bin", os.Getenv("ENGINE_BIN"), "directory holding dockerd (and the containerd, shim and runc to run with it); default $ENGINE_BIN")
	fs.StringVar(&cfg.portcullis, "portcullis", "", "portcullis binary; default: go build ./cmd/portcullis")
	fs.StringVar(&cfg.allowall, "allowall", "", "allow-all plugin binary; default: go build ./test/allowall")
	fs.StringVar(&cfg.policyDir, "policy-dir", "examples/policies", "policies for portcullis serve")
	fs.StringVar(&cfg.busybox, "busybox", "/bin/busybox", "busybox-static, the test image's only binary")
	fs.IntVar(&cfg.rounds, "rounds", 3, "measured rounds per daemon and mix")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "measured time per round, daemon and mix")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured time per daemon and mix before the rounds")
	fs.IntVar(&cfg.clients, "clients", 4, "concurrent clients, each with its own keep-alive connection")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (daemon logs, audit file)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || cfg.engineBin == "" || cfg.rounds < 1 || cfg.clients < 1 || cfg.duration <= 0 {
		fmt.Fprintln(stderr, "e2ebench: -engine-bin (or $ENGINE_BIN) is required; -rounds, -clients and -duration must be positive")
		fs.Usage()
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "e2ebench: must run as root (it starts dockerd)")
		return 1
	}
	err := do(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "e2ebench: %v\n", err)
		return 1
	}
	return 0
}

// A setup is one daemon configuration under test.
type setup struct {
	name   string   // "none", "allow-all", "portcullis"
	plugin string   // the plugin's name for --authorization-plugin, or ""
	proc   *process // the plugin's process, or nil
	d      *daemon
	inspID string // the container the reads inspect
	// per mix: latencies of every measured round, and ops/s per round
	lat    map[string][]time.Duration
	rates  map[string][]float64
	errors map[string]int
	errMsg map[string]string
	// per mix: CPU time of the plugin and of dockerd over the measured
	// rounds (from /proc), for CPU per operation
	pluginCPU, daemonCPU map[string]time.Duration
}

var mixes = []string{"reads", "lifecycle"}

func do(ctx context.Context, cfg config, out io.Writer) (err error) {
	root, err := corpus.Root()
	if err != nil {
		return err
	}
	createBody, err := cliCreateBody()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("/tmp", "pb")
	if err != nil {
		return err
	}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		if cfg.keep {
			fmt.Fprintf(out, "kept %s\n", dir)
			return
		}
		unmountBelow(dir)
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()

	fmt.Fprintf(out, "== end to end: a private dockerd from %s, no plugin vs allow-all vs portcullis\n", cfg.engineBin)
	for _, b := range []struct {
		dst *string
		pkg string
	}{{&cfg.portcullis, "./cmd/portcullis"}, {&cfg.allowall, "./test/allowall"}} {
		if *b.dst != "" {
			continue
		}
		*b.dst = filepath.Join(dir, filepath.Base(b.pkg))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", *b.dst, b.pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", b.pkg, err, msg)
		}
	}
	policyDir := cfg.policyDir
	if !filepath.IsAbs(policyDir) {
		policyDir = filepath.Join(root, policyDir)
	}
	tarPath := filepath.Join(dir, "rootfs.tar")
	if err := writeRootfs(tarPath, cfg.busybox); err != nil {
		return err
	}

	// The two plugins, each found by the daemon through a spec file.
	tag := filepath.Base(dir)
	aaSock, pcSock := filepath.Join(dir, "allowall.sock"), filepath.Join(dir, "portcullis.sock")
	plugins := []struct {
		name, setup, sock string
		args              []string
	}{
		{"portcullis-e2ebench-allowall-" + tag, "allow-all", aaSock, []string{cfg.allowall, "-socket", aaSock}},
		// Ownership on, following the daemon that uses it (setups[2],
		// started below in d2), its store in the benchmark's directory.
		{"portcullis-e2ebench-" + tag, "portcullis", pcSock, []string{cfg.portcullis, "serve", "--socket", pcSock,
			"--policy-dir", policyDir, "--audit-file", filepath.Join(dir, "audit.log"),
			"--state-dir", filepath.Join(dir, "state"), "--docker-host", "unix://" + filepath.Join(dir, "d2", "docker.sock")}},
	}
	setups := []*setup{{name: "none"}}
	for _, p := range plugins {
		sock := p.sock
		proc, err := startProcess(nil, filepath.Join(dir, p.setup+".log"), p.args[0], p.args[1:]...)
		if err != nil {
			return fmt.Errorf("start %s: %w", p.setup, err)
		}
		cleanups = append(cleanups, proc.stop)
		if err := waitSocket(ctx, sock, proc); err != nil {
			return fmt.Errorf("%s: %w (log %s)", p.setup, err, filepath.Join(dir, p.setup+".log"))
		}
		spec := filepath.Join("/etc/docker/plugins", p.name+".spec")
		if err := os.MkdirAll(filepath.Dir(spec), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(spec, []byte("unix://"+sock+"\n"), 0o644); err != nil {
			return err
		}
		cleanups = append(cleanups, func() { os.Remove(spec) })
		setups = append(setups, &setup{name: p.setup, plugin: p.name, proc: proc})
	}

	for i, s := range setups {
		s.lat, s.rates, s.errors, s.errMsg = map[string][]time.Duration{}, map[string][]float64{}, map[string]int{}, map[string]string{}
		s.pluginCPU, s.daemonCPU = map[string]time.Duration{}, map[string]time.Duration{}
		d, err := startDaemon(ctx, filepath.Join(dir, fmt.Sprintf("d%d", i)), cfg.engineBin, s.plugin)
		if d != nil {
			cleanups = append(cleanups, d.stop)
		}
		if err != nil {
			return fmt.Errorf("dockerd (%s): %w", s.name, err)
		}
		s.d = d
		if err := d.importImage(ctx, tarPath); err != nil {
			return fmt.Errorf("dockerd (%s): import: %w", s.name, err)
		}
		id, err := d.create(ctx, createBody)
		if err != nil {
			return fmt.Errorf("dockerd (%s): create the container to inspect: %w", s.name, err)
		}
		s.inspID = id
	}
	fmt.Fprintf(out, "daemon: %s (API %s), storage driver %s; %d clients, %d rounds x %s per daemon and mix, warm-up %s\n",
		setups[0].d.version, setups[0].d.api, setups[0].d.driver, cfg.clients, cfg.rounds, cfg.duration, cfg.warmup)

	for _, mix := range mixes {
		for _, s := range setups {
			if _, _, err := measure(ctx, s, mix, createBody, cfg.clients, cfg.warmup); err != nil {
				return fmt.Errorf("warm-up %s on %s: %w", mix, s.name, err)
			}
		}
	}
	// Interleave: round r runs every mix on every daemon, the daemons'
	// order rotating from round to round.
	for r := 0; r < cfg.rounds; r++ {
		for _, mix := range mixes {
			for k := range setups {
				s := setups[(k+r)%len(setups)]
				p0, d0 := s.cpu()
				lat, n, err := measure(ctx, s, mix, createBody, cfg.clients, cfg.duration)
				if err != nil {
					return err
				}
				p1, d1 := s.cpu()
				s.pluginCPU[mix] += p1 - p0
				s.daemonCPU[mix] += d1 - d0
				s.lat[mix] = append(s.lat[mix], lat...)
				s.rates[mix] = append(s.rates[mix], float64(n)/cfg.duration.Seconds())
			}
		}
	}
	report(out, setups, cfg)
	for _, s := range setups {
		for _, mix := range mixes {
			if s.errors[mix] > 0 {
				return fmt.Errorf("%d failed requests (%s, %s), for example: %s", s.errors[mix], s.name, mix, s.errMsg[mix])
			}
		}
	}
	return nil
}

// cpu reads the CPU time the plugin's process and dockerd have used so
// far (zero for a process that is not there or cannot be read: the
// report then shows a dash).
func (s *setup) cpu() (plugin, daemon time.Duration) {
	if s.proc != nil {
		plugin, _ = proccpu.Of(s.proc.cmd.Process.Pid)
	}
	daemon, _ = proccpu.Of(s.d.proc.cmd.Process.Pid)
	return plugin, daemon
}

// cliCreateBody is the body the Docker CLI sent for a plain `docker run`
// on Engine 29 (testdata/traffic), without the image name, which the
// benchmark sets.
func cliCreateBody() (map[string]any, error) {
	entries, err := corpus.LoadNamed(corpus.Engine29)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Step == "run" && e.Method == "POST" && strings.Contains(e.URI, "/containers/create") && len(e.Body) > 0 {
			var m map[string]any
			if err := json.Unmarshal(e.Body, &m); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	return nil, errors.New("the Engine 29 recording has no create for `docker run`")
}

// measure runs mix on s with the given clients for d and returns every
// request's latency and the number of requests.
func measure(ctx context.Context, s *setup, mix string, createBody map[string]any, clients int, d time.Duration) ([]time.Duration, int, error) {
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl := s.d.client()
			var lat []time.Duration
			var errs int
			var firstErr string
			note := func(err error) {
				errs++
				if firstErr == "" {
					firstErr = err.Error()
				}
			}
			for i := c; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				switch mix {
				case "reads":
					paths := []string{"/_ping", "/version", "/containers/json?all=1", "/images/json", "/networks", "/volumes", "/containers/" + s.inspID + "/json"}
					t0 := time.Now()
					_, err := cl.do(ctx, "GET", paths[i%len(paths)], nil)
					lat = append(lat, time.Since(t0))
					if err != nil {
						note(err)
					}
				case "lifecycle":
					body, _ := json.Marshal(withImage(createBody))
					t0 := time.Now()
					resp, err := cl.do(ctx, "POST", "/containers/create", body)
					lat = append(lat, time.Since(t0))
					if err != nil {
						note(err)
						continue
					}
					var created struct{ ID string }
					if err := json.Unmarshal(resp, &created); err != nil || created.ID == "" {
						note(fmt.Errorf("create answered %.200s", resp))
						continue
					}
					if time.Now().After(deadline) {
						// Still remove it, unmeasured, so the daemons keep the same state.
						_, _ = cl.do(context.Background(), "DELETE", "/containers/"+created.ID+"?force=1", nil)
						break
					}
					t0 = time.Now()
					_, err = cl.do(ctx, "GET", "/containers/"+created.ID+"/json", nil)
					lat = append(lat, time.Since(t0))
					if err != nil {
						note(err)
					}
					t0 = time.Now()
					_, err = cl.do(context.Background(), "DELETE", "/containers/"+created.ID+"?force=1", nil)
					if time.Now().Before(deadline) {
						lat = append(lat, time.Since(t0))
					}
					if err != nil {
						note(err)
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			s.errors[mix] += errs
			if s.errMsg[mix] == "" {
				s.errMsg[mix] = firstErr
			}
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return all, len(all), ctx.Err()
}

func withImage(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	c["Image"] = imageRef
	c["Cmd"] = []string{"true"}
	return c
}

const imageRef = "portcullis-e2ebench/busybox:1"

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func report(out io.Writer, setups []*setup, cfg config) {
	fmt.Fprintf(out, "\n%-10s %-11s %9s %9s %9s %9s %9s %9s  %s\n", "mix", "daemon", "requests", "ops/s", "p50", "p99", "cpu/op d", "cpu/op p", "ops/s per round")
	type stat struct {
		rate     float64
		p50, p99 time.Duration
	}
	stats := map[string]map[string]stat{}
	for _, mix := range mixes {
		stats[mix] = map[string]stat{}
		for _, s := range setups {
			lat := slices.Clone(s.lat[mix])
			slices.Sort(lat)
			rate := float64(len(lat)) / (cfg.duration.Seconds() * float64(cfg.rounds))
			st := stat{rate, pct(lat, 0.50), pct(lat, 0.99)}
			stats[mix][s.name] = st
			var rr []string
			for _, r := range s.rates[mix] {
				rr = append(rr, fmt.Sprintf("%.0f", r))
			}
			fmt.Fprintf(out, "%-10s %-11s %9d %9.0f %9s %9s %9s %9s  %s\n", mix, s.name, len(lat), st.rate, dur(st.p50), dur(st.p99),
				perOp(s.daemonCPU[mix], len(lat)), perOp(s.pluginCPU[mix], len(lat)), strings.Join(rr, " "))
		}
	}
	fmt.Fprintln(out)
	for _, mix := range mixes {
		pc, aa, no := stats[mix]["portcullis"], stats[mix]["allow-all"], stats[mix]["none"]
		ratio := pc.rate / aa.rate
		verdict := "met"
		if ratio < 0.97 {
			verdict = "NOT met"
		}
		fmt.Fprintf(out, "%-10s portcullis/allow-all: ops/s %.3f (target >= 0.97: %s), p50 %.2fx, p99 %.2fx, plugin cpu/op %s;  allow-all/no plugin: ops/s %.3f, p50 %.2fx\n",
			mix, ratio, verdict, float64(pc.p50)/float64(aa.p50), float64(pc.p99)/float64(aa.p99), cpuRatio(setups, mix),
			aa.rate/no.rate, float64(aa.p50)/float64(no.p50))
	}
}

// cpuRatio is Portcullis's CPU per operation over the allow-all plugin's
// on mix.
func cpuRatio(setups []*setup, mix string) string {
	per := map[string]float64{}
	for _, s := range setups {
		if n := len(s.lat[mix]); n > 0 {
			per[s.name] = float64(s.pluginCPU[mix]) / float64(n)
		}
	}
	if per["allow-all"] <= 0 || per["portcullis"] <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", per["portcullis"]/per["allow-all"])
}

// perOp is CPU time per operation ("-" when none was measured).
func perOp(cpu time.Duration, ops int) string {
	if cpu <= 0 || ops == 0 {
		return "-"
	}
	return dur(cpu / time.Duration(ops))
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	}
}

// writeRootfs writes the test image: busybox-static and a few applets.
func writeRootfs(path, busybox string) error {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("%w (install busybox-static)", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb)), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, a := range []string{"sh", "true", "sleep"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// unmountBelow lazily unmounts everything mounted below dir, deepest
// first.
func unmountBelow(dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			mounts = append(mounts, f[1])
		}
	}
	slices.Sort(mounts)
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// waitSocket waits until something accepts connections on sock.
func waitSocket(ctx context.Context, sock string, p *process) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return errors.New("exited before serving")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing serves %s after 30s", sock)
}

// client is one keep-alive connection to a daemon's API socket.
type client struct {
	http   *http.Client
	prefix string
}

func (c *client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+c.prefix+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return data, fmt.Errorf("%s %s: %s: %.300s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}
