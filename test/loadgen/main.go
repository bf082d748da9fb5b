// Command loadgen replays Docker API traffic against authorization
// plugins over their Unix sockets, as the daemon would send it: every
// recorded request as an AuthZReq message and, when the plugin allows it,
// the AuthZRes message that follows, plus generated container creates
// (hardened, privileged, host binds, ...). N clients share keep-alive
// connections and send as fast as the plugin answers (or at -rate).
//
// Against one running plugin:
//
//	go run ./test/loadgen -socket /run/docker/plugins/portcullis.sock -clients 8 -duration 10s
//
// Comparison (the default without -socket): it builds and starts the
// allow-all baseline (test/allowall), the floor (test/floor: the least a
// plugin obeying the project's rules must do; -no-floor leaves it out) and
// `portcullis serve` with the shipped policies and the audit file sink on,
// warms them up, runs the same traffic against each in rounds whose order
// rotates, and prints throughput, latency percentiles, the ratios, and the
// plugin's memory, threads and file descriptors under load. With -scale N
// it also loads N generated team policy files and compares load time and
// latency with one team.
//
// Each recorded create is answered with the id the recording goes on to
// use, so that the plugin's ownership store knows the traffic's objects;
// -phases request measures the request phase alone.
//
// Timing never fails the run. The exit status is 1 only when calls failed
// (transport errors, HTTP errors, undecodable answers, plugin errors) or
// a server could not be started; denials that the traffic expected to be
// allowed are reported, not failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/test/corpus"
	"github.com/portcullis/portcullis/test/proccpu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	socket     string
	clients    int
	duration   time.Duration
	warmup     time.Duration
	rounds     int
	rate       float64
	corpus     string
	creates    int
	users      string
	respBytes  int
	portcullis string
	allowall   string
	floor      string
	noFloor    bool
	floorArgs  string
	policyDir  string
	serveArgs  string
	scale      int
	scaleTmpl  string
	scaleDur   time.Duration
	scaleCli   int
	keep       bool
	skipCmp    bool
	phases     string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.socket, "socket", "", "load one running plugin on this Unix socket instead of starting and comparing both")
	fs.IntVar(&cfg.clients, "clients", 8, "concurrent clients (each keeps its connection alive, like the daemon)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per round and plugin")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before the first round, per plugin")
	fs.IntVar(&cfg.rounds, "rounds", 3, "measured rounds per plugin; the plugins' order rotates from round to round to spread noise")
	fs.Float64Var(&cfg.rate, "rate", 0, "calls per second for all clients together; 0 sends as fast as answered")
	fs.StringVar(&cfg.corpus, "corpus", "", "recorded traffic (JSON lines); default the Engine 29 recording, testdata/traffic/"+corpus.Engine29)
	fs.IntVar(&cfg.creates, "creates", 20, "generated container creates mixed into each pass over the corpus")
	fs.StringVar(&cfg.users, "user", "", "comma-separated User values (TLS common names) to send, cycled; default as recorded (none)")
	fs.IntVar(&cfg.respBytes, "response-bytes", 2048, "size of the JSON response body reported to AuthZRes for JSON GETs")
	fs.StringVar(&cfg.portcullis, "portcullis", "", "portcullis binary; default: go build ./cmd/portcullis")
	fs.StringVar(&cfg.allowall, "allowall", "", "allow-all baseline binary; default: go build ./test/allowall")
	fs.StringVar(&cfg.floor, "floor", "", "floor binary (the least a plugin obeying the project's rules must do); default: go build ./test/floor")
	fs.BoolVar(&cfg.noFloor, "no-floor", false, "compare allow-all and portcullis only, without the floor")
	fs.StringVar(&cfg.floorArgs, "floor-args", "", "extra arguments for the floor, space-separated (for example -group-commit=false)")
	fs.StringVar(&cfg.policyDir, "policy-dir", "examples/policies", "policies for portcullis serve")
	fs.StringVar(&cfg.serveArgs, "serve-args", "", "extra arguments for portcullis serve, space-separated")
	fs.IntVar(&cfg.scale, "scale", 0, "also compare N generated team policy files with one (0: skip)")
	fs.StringVar(&cfg.scaleTmpl, "scale-template", "examples/policies/teams/web.hcl", "team file copied for -scale")
	fs.DurationVar(&cfg.scaleDur, "scale-duration", 5*time.Second, "measured time per round and policy set for -scale")
	fs.IntVar(&cfg.scaleCli, "scale-clients", 1, "clients for -scale (1 measures per-request latency without queueing)")
	fs.BoolVar(&cfg.skipCmp, "scale-only", false, "with -scale: skip the allow-all comparison")
	fs.StringVar(&cfg.phases, "phases", "both", "\"both\": each allowed AuthZReq is followed by its AuthZRes, as the daemon does; \"request\": the measured rounds send AuthZReq only (the warm-up still sends both, so the ownership store knows the traffic's objects)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (logs, audit file, generated policies)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || cfg.clients < 1 || cfg.rounds < 1 || cfg.duration <= 0 || (cfg.phases != "both" && cfg.phases != "request") {
		fmt.Fprintln(stderr, "loadgen: unexpected arguments, a non-positive -clients, -rounds or -duration, or -phases other than both or request")
		return 2
	}
	if err := do(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	return 0
}

// errCallsFailed: the run finished but calls failed; already reported.
var errCallsFailed = errors.New("calls failed (see above)")

func do(ctx context.Context, cfg config, out io.Writer) error {
	root, err := moduleRoot()
	if err != nil && (cfg.socket == "" || cfg.corpus == "") {
		return err
	}
	if cfg.corpus == "" {
		cfg.corpus = filepath.Join(root, corpus.Dir, corpus.Engine29)
	}
	entries, err := corpus.Load(cfg.corpus)
	if err != nil {
		return err
	}
	wl := workloadConfig{corpus: entries, creates: cfg.creates, respBytes: cfg.respBytes, seed: 1}
	if cfg.users != "" {
		wl.users = strings.Split(cfg.users, ",")
	}
	calls, err := buildWorkload(wl)
	if err != nil {
		return err
	}

	if cfg.socket != "" {
		if err := activate(ctx, cfg.socket, 5*time.Second); err != nil {
			return err
		}
		runLoad(ctx, "warm-up", cfg.socket, calls, cfg.clients, cfg.warmup, cfg.rate) // nothing for -warmup 0
		total := &result{target: cfg.socket}
		measured := measuredCalls(calls, cfg.phases)
		for i := 0; i < cfg.rounds && ctx.Err() == nil; i++ {
			total.merge(runLoad(ctx, cfg.socket, cfg.socket, measured, cfg.clients, cfg.duration, cfg.rate))
		}
		fmt.Fprintf(out, "%d calls per pass (%d recorded, %d generated creates), %d clients, %d x %s, phases: %s\n\n",
			len(calls), len(entries), cfg.creates, cfg.clients, cfg.rounds, cfg.duration, cfg.phases)
		printTable(out, []*result{total})
		printDetails(out, total)
		if total.errors > 0 {
			return errCallsFailed
		}
		return nil
	}

	tmp, err := os.MkdirTemp("", "portcullis-loadgen-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintf(out, "temporary directory: %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if cfg.portcullis == "" {
		cfg.portcullis = filepath.Join(tmp, "portcullis")
		if err := goBuild(ctx, root, cfg.portcullis, "./cmd/portcullis"); err != nil {
			return err
		}
	}
	if cfg.allowall == "" {
		cfg.allowall = filepath.Join(tmp, "allowall")
		if err := goBuild(ctx, root, cfg.allowall, "./test/allowall"); err != nil {
			return err
		}
	}
	if cfg.floor == "" && !cfg.noFloor && !cfg.skipCmp {
		cfg.floor = filepath.Join(tmp, "floor")
		if err := goBuild(ctx, root, cfg.floor, "./test/floor"); err != nil {
			return err
		}
	}
	if !filepath.IsAbs(cfg.policyDir) {
		cfg.policyDir = filepath.Join(root, cfg.policyDir)
	}
	if !filepath.IsAbs(cfg.scaleTmpl) {
		cfg.scaleTmpl = filepath.Join(root, cfg.scaleTmpl)
	}

	failed := false
	if !cfg.skipCmp {
		names := "allow-all vs portcullis"
		if !cfg.noFloor {
			names = "allow-all vs floor vs portcullis"
		}
		fmt.Fprintf(out, "== %s: %d calls per pass (%d recorded, %d generated creates), %d clients, %d rounds x %s each, warm-up %s, phases: %s\n",
			names, len(calls), len(entries), cfg.creates, cfg.clients, cfg.rounds, cfg.duration, cfg.warmup, cfg.phases)
		if cfg.rate > 0 {
			fmt.Fprintf(out, "   paced at %.0f calls/s\n", cfg.rate)
		}
		if err := compare(ctx, cfg, tmp, calls, out); err != nil {
			if !errors.Is(err, errCallsFailed) {
				return err
			}
			failed = true
		}
	}
	if cfg.scale > 0 && ctx.Err() == nil {
		if err := scale(ctx, cfg, tmp, entries, out); err != nil {
			if !errors.Is(err, errCallsFailed) {
				return err
			}
			failed = true
		}
	}
	if failed {
		return errCallsFailed
	}
	return ctx.Err()
}

// compare runs the same traffic against the baseline, the floor (unless
// -no-floor) and portcullis.
func compare(ctx context.Context, cfg config, tmp string, calls []call, out io.Writer) error {
	aSock := filepath.Join(tmp, "allowall.sock")
	pSock := filepath.Join(tmp, "portcullis.sock")
	auditFile := filepath.Join(tmp, "audit", "audit.log")
	base, err := startServer(ctx, "allowall", tmp, aSock, cfg.allowall, "-socket", aSock)
	if err != nil {
		return err
	}
	defer base.stop()
	var fl *server
	recordFile := filepath.Join(tmp, "floor-records.log")
	if !cfg.noFloor {
		fSock := filepath.Join(tmp, "floor.sock")
		fargs := append([]string{"-socket", fSock, "-record-file", recordFile}, strings.Fields(cfg.floorArgs)...)
		fl, err = startServer(ctx, "floor", tmp, fSock, cfg.floor, fargs...)
		if err != nil {
			return err
		}
		defer fl.stop()
	}
	// No daemon behind the load: the ownership store knows what the
	// traffic's own creates recorded.
	args := []string{"serve", "--socket", pSock, "--policy-dir", cfg.policyDir, "--audit-file", auditFile,
		"--state-dir", filepath.Join(tmp, "state"), "--docker-host", "none"}
	args = append(args, strings.Fields(cfg.serveArgs)...)
	pc, err := startServer(ctx, "portcullis", tmp, pSock, cfg.portcullis, args...)
	if err != nil {
		return err
	}
	defer pc.stop()
	servers := []*server{base, pc}
	if fl != nil {
		servers = []*server{base, fl, pc}
	}

	idle, _ := readProc(pc.pid())
	baseIdle, _ := readProc(base.pid())
	for _, s := range servers {
		runLoad(ctx, "warm-up", s.socket, calls, cfg.clients, cfg.warmup, cfg.rate)
	}
	warm, _ := readProc(pc.pid())
	pcs := sample(pc.pid(), 250*time.Millisecond)
	bss := sample(base.pid(), 250*time.Millisecond)

	measured := measuredCalls(calls, cfg.phases)
	totals := map[string]*result{}
	for _, s := range servers {
		totals[s.name] = &result{target: s.name}
	}
	perRound := map[string][]float64{}
	p99Round := map[string][]time.Duration{}
	for i := 0; i < cfg.rounds && ctx.Err() == nil; i++ {
		for _, s := range roundOrder(servers, i) {
			if err := s.alive(); err != nil {
				return err
			}
			r := measure(ctx, s, measured, cfg.clients, cfg.duration, cfg.rate)
			totals[s.name].merge(r)
			perRound[s.name] = append(perRound[s.name], r.rate())
			p99Round[s.name] = append(p99Round[s.name], pct(r.lat).p99)
		}
	}
	pcs.finish(pc.pid())
	bss.finish(base.pid())
	for _, s := range servers {
		if err := s.alive(); err != nil {
			return err
		}
	}
	a, p := totals[base.name], totals[pc.name]
	rows := []*result{a, p}
	var f *result
	if fl != nil {
		f = totals[fl.name]
		rows = []*result{a, f, p}
	}
	fmt.Fprintln(out)
	printTable(out, rows)
	fmt.Fprintln(out)
	var rates, p99s []string
	for _, s := range servers {
		label := s.name
		if s == base {
			label = "allow-all"
		}
		rates = append(rates, label+": "+joinF(perRound[s.name]))
		p99s = append(p99s, label+": "+joinD(p99Round[s.name]))
	}
	fmt.Fprintf(out, "per-round calls/s  %s\n", strings.Join(rates, "   "))
	fmt.Fprintf(out, "per-round p99      %s\n", strings.Join(p99s, "   "))
	pa, pp := pct(a.lat), pct(p.lat)
	thr := p.rate() / a.rate()
	p99 := float64(pp.p99) / float64(pa.p99)
	fmt.Fprintln(out)
	fmt.Fprintf(out, "ratio portcullis/allow-all  throughput %.2f (target >= 0.90: %s)   p99 %.2fx (target <= 1.20: %s)   p50 %.2fx\n",
		thr, verdict(thr >= 0.90), p99, verdict(p99 <= 1.20), float64(pp.p50)/float64(pa.p50))
	if f != nil {
		pf := pct(f.lat)
		fmt.Fprintf(out, "ratio floor/allow-all       throughput %.2f (what the rules force)   p99 %.2fx   p50 %.2fx\n",
			f.rate()/a.rate(), float64(pf.p99)/float64(pa.p99), float64(pf.p50)/float64(pa.p50))
		fmt.Fprintf(out, "ratio portcullis/floor      throughput %.2f   p99 %.2fx   p50 %.2fx\n",
			p.rate()/f.rate(), float64(pp.p99)/float64(pf.p99), float64(pp.p50)/float64(pf.p50))
	}
	if a.cpuPerCall() > 0 && p.cpuPerCall() > 0 {
		fmt.Fprintf(out, "plugin CPU per call         allow-all %s, portcullis %s (%.2fx; the machine's noise does not count here)\n",
			dur(a.cpuPerCall()), dur(p.cpuPerCall()), float64(p.cpuPerCall())/float64(a.cpuPerCall()))
	}
	if f != nil && a.cpuPerCall() > 0 && f.cpuPerCall() > 0 && p.cpuPerCall() > 0 {
		fmt.Fprintf(out, "floor CPU per call          %s (%.2fx allow-all's; portcullis %.2fx the floor's)\n",
			dur(f.cpuPerCall()), float64(f.cpuPerCall())/float64(a.cpuPerCall()), float64(p.cpuPerCall())/float64(f.cpuPerCall()))
	}

	pcs.mu.Lock()
	fmt.Fprintf(out, "portcullis process  RSS idle %s, after warm-up %s, under load max %s, end %s; VmHWM %s (target < 50 MiB: %s)\n",
		kib(idle.rssKiB), kib(warm.rssKiB), kib(pcs.maxRSS), kib(pcs.last.rssKiB), kib(pcs.last.hwmKiB), verdict(pcs.last.hwmKiB < 50<<10))
	fmt.Fprintf(out, "                    threads %d -> max %d -> %d; open fds %d -> max %d -> %d (%d samples over %s)\n",
		pcs.first.threads, pcs.maxThreads, pcs.last.threads, pcs.first.fds, pcs.maxFDs, pcs.last.fds, pcs.n, time.Duration(cfg.rounds)*cfg.duration)
	pcs.mu.Unlock()
	bss.mu.Lock()
	fmt.Fprintf(out, "allow-all process   RSS idle %s, under load max %s; VmHWM %s; threads max %d; fds max %d\n",
		kib(baseIdle.rssKiB), kib(bss.maxRSS), kib(bss.last.hwmKiB), bss.maxThreads, bss.maxFDs)
	bss.mu.Unlock()
	if size, files, err := dirSize(filepath.Dir(auditFile)); err == nil && files > 0 {
		rotated := ""
		if files > 1 {
			rotated = fmt.Sprintf(", in %d files: rotated at its maximum size", files)
		}
		fmt.Fprintf(out, "audit file          %s written (%s per allowed or denied call%s)\n",
			mib(size), perCall(size, p.allow+p.deny), rotated)
	} else {
		fmt.Fprintf(out, "audit file          not found: %v\n", err)
	}
	if f != nil {
		if fi, err := os.Stat(recordFile); err == nil {
			fmt.Fprintf(out, "floor record file   %s written (%s per call of its request phase, warm-up included)\n",
				mib(fi.Size()), perCall(fi.Size(), f.allow+f.deny))
		} else {
			fmt.Fprintf(out, "floor record file   not found: %v\n", err)
		}
	}
	fmt.Fprintln(out)
	printDetails(out, p)
	failed := p.errors > 0
	for _, r := range rows {
		if r != p && r.errors > 0 {
			printDetails(out, r)
			failed = true
		}
	}
	if failed {
		return errCallsFailed
	}
	return nil
}

// dirSize is the size of the regular files in dir (the audit file and
// the files it was rotated into) and how many there are. Hidden files are
// the sink's own (the marker of a running plugin, .audit.log.running).
func dirSize(dir string) (size int64, files int, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		size += fi.Size()
		files++
	}
	return size, files, nil
}

// roundOrder is the order of round i: it starts with server i (mod n), so
// that over n rounds each server runs once in each place and the
// machine's noise falls on all alike (with two: A B, B A, A B, ...).
func roundOrder[T any](servers []T, i int) []T {
	out := make([]T, 0, len(servers))
	for j := range servers {
		out = append(out, servers[(i+j)%len(servers)])
	}
	return out
}

// measuredCalls is the traffic of the measured rounds: with phases
// "request", the calls without their AuthZRes.
func measuredCalls(calls []call, phases string) []call {
	if phases != "request" {
		return calls
	}
	out := make([]call, len(calls))
	for i, c := range calls {
		c.res = nil
		out[i] = c
	}
	return out
}

// measure runs one round against s and records the CPU time s used.
func measure(ctx context.Context, s *server, calls []call, clients int, d time.Duration, rate float64) *result {
	c0, err0 := proccpu.Of(s.pid())
	r := runLoad(ctx, s.name, s.socket, calls, clients, d, rate)
	c1, err1 := proccpu.Of(s.pid())
	if err0 == nil && err1 == nil {
		r.cpu = c1 - c0
	}
	return r
}

func printTable(out io.Writer, rs []*result) {
	fmt.Fprintf(out, "%-12s %9s %10s %9s %9s %9s %9s %9s %9s %7s %8s %8s\n",
		"plugin", "calls", "calls/s", "p50", "p90", "p99", "max", "req p99", "cpu/call", "errors", "allow", "deny")
	for _, r := range rs {
		p, q := pct(r.lat), pct(r.reqLat)
		cpu := "-"
		if r.cpuPerCall() > 0 {
			cpu = dur(r.cpuPerCall())
		}
		fmt.Fprintf(out, "%-12s %9d %10.0f %9s %9s %9s %9s %9s %9s %7d %8d %8d\n",
			r.target, r.calls(), r.rate(), dur(p.p50), dur(p.p90), dur(p.p99), dur(p.max), dur(q.p99), cpu, r.errors, r.allow, r.deny)
	}
}

// printDetails reports failed calls, surprising decisions and why calls
// were denied.
func printDetails(out io.Writer, r *result) {
	if r.errors > 0 {
		fmt.Fprintf(out, "%s: %d failed calls, for example:\n", r.target, r.errors)
		for _, e := range r.errSamp {
			fmt.Fprintf(out, "  %s\n", e)
		}
	}
	if len(r.surprise) > 0 {
		fmt.Fprintf(out, "%s: decisions other than the traffic expected (reported, not failed):\n", r.target)
		for _, k := range sortedKeys(r.surprise) {
			fmt.Fprintf(out, "  %7d  %s\n", r.surprise[k], k)
		}
	}
	if len(r.denyMsgs) > 0 {
		fmt.Fprintf(out, "%s: denials by request:\n", r.target)
		for i, k := range sortedKeys(r.denyMsgs) {
			if i == 15 {
				fmt.Fprintf(out, "  ... %d more\n", len(r.denyMsgs)-i)
				break
			}
			fmt.Fprintf(out, "  %7d  %s\n", r.denyMsgs[k], k)
		}
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module (run from the repository): %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the portcullis module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
}

func joinF(fs []float64) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(s, " ")
}

func joinD(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = dur(d)
	}
	return strings.Join(s, " ")
}

func kib(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func perCall(size int64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d B", size/int64(n))
}
