package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/hostpath"
	"github.com/portcullis/portcullis/internal/metrics"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/internal/state"
)

type serveConfig struct {
	socket    string
	policyDir string
	hostRoot  string
	logLevel  string
	poll      time.Duration
	// policyOpts are the options every load of the policy set uses.
	policyOpts []policy.Option
	drain      time.Duration
	limits     plugin.ServerLimits
	audit      auditFlags
	// metricsListen is --metrics-listen; metrics is set when it is.
	metricsListen string
	metrics       *metrics.Metrics
	stateDir      string
	dockerHost    string
	facts         hostFactsFlags
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg serveConfig
	fs := newFlags("serve", "", stderr)
	fs.StringVar(&cfg.socket, "socket", plugin.DefaultSocket, "Unix socket to serve the plugin protocol on (ignored under systemd socket activation)")
	fs.StringVar(&cfg.policyDir, "policy-dir", "/etc/portcullis/policies", "directory of HCL policy files (read recursively)")
	fs.StringVar(&cfg.hostRoot, "host-root", "/", "where the host's file system is visible, to resolve symlinks in bind sources (a managed plugin mounts it, e.g. /host); empty judges paths as written")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "operational log level: debug, info, warn, error")
	fs.DurationVar(&cfg.poll, "reload-interval", 2*time.Second, "how often to look for changed policy files (0 disables; SIGHUP always reloads)")
	fs.DurationVar(&cfg.drain, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.DurationVar(&cfg.limits.RequestTimeout, "request-timeout", plugin.DefaultLimits.RequestTimeout, "how long a client may take to send a whole request (headers and body)")
	fs.DurationVar(&cfg.limits.IdleTimeout, "idle-timeout", plugin.DefaultLimits.IdleTimeout, "close a kept-alive connection idle this long")
	fs.IntVar(&cfg.limits.MaxConnections, "max-connections", plugin.DefaultLimits.MaxConnections, "most open connections; further ones wait until one closes (0: no cap)")
	fs.StringVar(&cfg.metricsListen, "metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (for example 127.0.0.1:9323); off when empty")
	fs.StringVar(&cfg.stateDir, "state-dir", "/var/lib/portcullis", "directory of the ownership store (owners.db), kept across restarts")
	fs.StringVar(&cfg.dockerHost, "docker-host", "unix:///var/run/docker.sock", "the daemon Portcullis reads its objects and events from, to keep ownership current; \"none\": follow no daemon, only what Portcullis recorded is known (tests and benchmarks)")
	cfg.audit.register(fs)
	cfg.facts.register(fs)
	log, code, ok := parseService("serve", fs, args, "PORTCULLIS_", &cfg.logLevel, stderr)
	if !ok {
		return code
	}

	if err := serve(ctx, cfg, log, stderr); err != nil {
		log.WithError(err).Error("portcullis stopped")
		return exitRuntime
	}
	return exitOK
}

func serve(ctx context.Context, cfg serveConfig, log *logrus.Logger, stderr io.Writer) error {
	tuneGC(ctx)
	instance := audit.NewID()
	auditor, err := cfg.audit.open(instance, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := auditor.Close(); err != nil {
			log.WithError(err).Error("audit trail not closed cleanly")
		}
	}()

	var popts []policy.Option
	var resolve func(string) (string, error)
	if cfg.hostRoot != "" {
		r, err := hostpath.New(cfg.hostRoot)
		if err != nil {
			return fmt.Errorf("--host-root: %w", err)
		}
		resolve = r.Resolve
		popts = append(popts, policy.WithPathResolver(r.Resolve), policy.WithSocketCheck(r.IsSocket))
	}
	facts, err := newHostFacts(cfg.facts, cfg.hostRoot, cfg.socket, resolve)
	if err != nil {
		return err
	}
	facts.log = log
	learnt, _ := facts.learn()
	log.WithFields(logrus.Fields{"daemons": learnt.Daemons, "read": learnt.Sources, "userns_remap": facts.get().UsernsRemap, "sockets": facts.get().Sockets}).Info("host facts")
	popts = append(popts, policy.WithHostFacts(facts.get))
	popts = append(popts, policy.WithHostResolver(resolveFetchHost))
	cfg.policyOpts = popts

	var diag bytes.Buffer
	sig := dirSignature(cfg.policyDir)
	set, err := loadPolicies(cfg.policyDir, &diag, popts...)
	if err != nil {
		// Refuse to start rather than serve without a policy: the daemon
		// then fails every request, which is closed, and says why.
		stderr.Write(diag.Bytes())
		_ = auditor.Event(audit.TypePolicyReloadFailed, err.Error(), splitDiagnostics(diag.String())...)
		return err
	}
	_ = auditor.Event(audit.TypePolicyLoad, fmt.Sprintf("loaded policies %v from %s, revision %s", set.Policies(), cfg.policyDir, set.Revision()))
	// The parsed files are garbage now; hand their memory back rather than
	// carry a load-time peak for the life of the process.
	debug.FreeOSMemory()
	trail := plugin.NewTrail(auditor)
	popt := []plugin.Option{plugin.WithLogger(log), plugin.WithAuditor(trail), plugin.WithInstance(instance), plugin.WithVersion(version)}
	owners, err := state.Open(cfg.stateDir)
	if err != nil {
		return fmt.Errorf("--state-dir: %w", err)
	}
	defer owners.Close()
	if rep := owners.Replayed(); rep.Segments > 0 {
		log.WithField("segments", rep.Segments).WithField("entries", rep.Applied).WithField("torn", rep.Torn).
			Info("state journal replayed into the store")
		for _, c := range rep.Corrupt {
			log.WithField("entry", c).Error("state journal: a corrupt entry was skipped; its object is judged as unowned until the daemon's lists say otherwise")
		}
	}
	owners.OnError(func(err error) { log.WithError(err).Error("state store") })
	if cfg.metricsListen != "" {
		var open atomic.Int64
		cfg.limits.Open = &open
		cfg.metrics = metrics.New(metrics.Options{
			AuditStats:      func() []metrics.SinkStats { return sinkStats(auditor) },
			OpenConnections: func() float64 { return float64(open.Load()) },
			Ownership:       func() []metrics.ObjectCount { return objectCounts(owners) },
		})
		cfg.metrics.SetRevision(set.Revision())
		ml, err := net.Listen("tcp", cfg.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mctx, stopMetrics := context.WithCancel(ctx)
		defer stopMetrics()
		go func() {
			if err := cfg.metrics.Serve(mctx, ml); err != nil {
				log.WithError(err).Error("metrics endpoint stopped")
			}
		}()
		log.WithField("address", ml.Addr().String()).Info("serving metrics")
		popt = append(popt, plugin.WithMetrics(cfg.metrics))
	}
	// The follower's own requests are recognised by a secret drawn now
	// (internal/plugin/self.go).
	selfToken, err := newSelfToken()
	if err != nil {
		return err
	}
	popt = append(popt, plugin.WithOwners(owners), plugin.WithSelfToken(selfToken))
	p := plugin.New(set, popt...)

	l, err := plugin.ActivationListener()
	if err != nil {
		return err
	}
	where := "systemd socket"
	if l == nil {
		if l, err = plugin.Listen(cfg.socket); err != nil {
			return err
		}
		where = cfg.socket
	}
	log.WithFields(logrus.Fields{
		"socket": where, "policy_dir": cfg.policyDir, "policy_revision": set.Revision(),
		"policies": set.Policies(), "instance": p.Instance(), "version": version,
	}).Info("portcullis started")

	_ = auditor.Event(audit.TypePluginStart, fmt.Sprintf("portcullis %s serving on %s", version, where))

	rctx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go reloadLoop(rctx, cfg, p, auditor, log, sig)
	go func() {
		t := time.NewTicker(plugin.SummaryInterval)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := trail.FlushSummary(); err != nil {
					log.WithError(err).Error("health call summary not recorded")
				}
			}
		}
	}()
	if err := followDaemon(rctx, cfg.dockerHost, selfToken, owners, auditor, log); err != nil {
		return err
	}

	cfg.limits.Log = log
	err = plugin.Serve(ctx, l, p, cfg.drain, cfg.limits)
	stopReload()
	if ferr := trail.FlushSummary(); ferr != nil {
		log.WithError(ferr).Error("health call summary not recorded")
	}
	msg := "portcullis stopped"
	if err != nil {
		msg += ": " + err.Error()
	}
	_ = auditor.Event(audit.TypePluginStop, msg)
	log.WithField("instance", p.Instance()).Info("portcullis stopped")
	return err
}

// objectCounts converts the ownership store's size for the metrics.
func objectCounts(s *state.Store) []metrics.ObjectCount {
	var out []metrics.ObjectCount
	for _, c := range s.Counts() {
		out = append(out, metrics.ObjectCount{Kind: c.Kind, Owned: c.Owned, Unowned: c.Unowned})
	}
	return out
}

// sinkStats converts the audit trail's counts for the metrics.
func sinkStats(a *sink.Auditor) []metrics.SinkStats {
	var out []metrics.SinkStats
	for _, s := range a.Stats() {
		out = append(out, metrics.SinkStats{Sink: s.Sink, Written: s.Written, Queued: s.Queued, Spooled: s.Spooled, Lost: s.Lost})
	}
	return out
}

// followDaemon keeps the ownership store current with the daemon, on its
// own goroutine: its requests pass through the daemon's authorization,
// which calls this very process, so nothing here may hold up serving.
func followDaemon(ctx context.Context, host, selfToken string, owners *state.Store, auditor *sink.Auditor, log *logrus.Logger) error {
	if host == "none" {
		owners.Standalone()
		log.Warn("--docker-host none: following no daemon; objects Portcullis did not see created are unknown and judged as unowned")
		return nil
	}
	cli, err := state.NewClient(host, map[string]string{plugin.SelfHeader: selfToken})
	if err != nil {
		return fmt.Errorf("--docker-host: %w", err)
	}
	// Container lifecycle events no request caused go to the trail too.
	owners.OnLifecycle(func(ev state.LifecycleEvent) {
		if rec := lifecycleRecord(ev); rec != nil {
			if err := auditor.Record(rec); err != nil {
				log.WithError(err).Warn("cannot record a container lifecycle event")
			}
		}
	})
	go func() {
		defer cli.Close()
		failing := false
		owners.Follow(ctx, cli, func(err error) {
			switch {
			case err == nil:
				failing = false
				log.WithFields(logrus.Fields{
					"containers": owners.Len(request.KindContainer), "volumes": owners.Len(request.KindVolume),
					"networks": owners.Len(request.KindNetwork), "services": owners.Len(request.KindService),
					"secrets": owners.Len(request.KindSecret), "configs": owners.Len(request.KindConfig),
				}).Info("ownership reconciled with the daemon")
			case !failing:
				failing = true
				log.WithError(err).Warn("cannot follow the daemon; objects it creates meanwhile are judged as unowned until it answers")
			default:
				log.WithError(err).Debug("still cannot follow the daemon")
			}
		})
	}()
	return nil
}

// splitDiagnostics turns printed diagnostics into one entry per
// diagnostic (each starts with "Error: " or "Warning: ").
func splitDiagnostics(s string) []string {
	var out []string
	for _, block := range strings.Split(s, "\n\n") {
		if b := strings.TrimSpace(block); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// loadPolicies compiles the policy directory; on failure it prints every
// diagnostic and returns an error.
func loadPolicies(dir string, diagOut io.Writer, opts ...policy.Option) (*policy.Set, error) {
	set, files, diags := policy.LoadDir(dir, opts...)
	if diags.HasErrors() || set == nil {
		var buf bytes.Buffer
		_ = policy.WriteDiagnostics(&buf, files, diags)
		diagOut.Write(buf.Bytes())
		return nil, fmt.Errorf("policies in %s are not valid (%d errors)", dir, len(diags.Errs()))
	}
	return set, nil
}

// reloadLoop reloads the policies on SIGHUP and when files in the policy
// directory change, and reopens the audit file on SIGHUP (logrotate's
// postrotate). A new set replaces the old one only if it is valid. A
// failed reload is retried at every poll until the files load, since
// what it needs (a permission, a mount) may change without any file
// changing; the failure is recorded once per distinct error.
//
// last is the directory's signature taken before the set in use was
// loaded, so that no change after that load goes unseen.
func reloadLoop(ctx context.Context, cfg serveConfig, p *plugin.Plugin, auditor *sink.Auditor, log *logrus.Logger, last string) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if cfg.poll > 0 {
		t := time.NewTicker(cfg.poll)
		defer t.Stop()
		tick = t.C
	}
	failure := "" // the error of the last failed reload, until one succeeds
	for {
		reason := ""
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reason = "SIGHUP"
			auditor.Reopen()
			failure = "" // record the outcome of an explicit reload
		case <-tick:
			sig := dirSignature(cfg.policyDir)
			switch {
			case sig != last:
				last = sig
				reason = "policy files changed"
			case failure != "":
				reason = "retry after a failed reload"
			default:
				continue
			}
		}
		failure = reload(cfg, p, auditor, log, reason, failure)
	}
}

// reload loads the policy directory and swaps the set in when it is
// valid and new. It returns the failure ("" on success); a failure equal
// to previous is logged at debug level only and not recorded again.
func reload(cfg serveConfig, p *plugin.Plugin, auditor *sink.Auditor, log *logrus.Logger, reason, previous string) string {
	old := p.Policy()
	var diag bytes.Buffer
	set, err := loadPolicies(cfg.policyDir, &diag, cfg.policyOpts...)
	if err != nil {
		failure := err.Error() + "\n" + diag.String()
		cfg.metrics.Reload("failed")
		if failure == previous {
			log.WithField("reason", reason).Debug("policy reload still fails; retrying at the next poll")
			return failure
		}
		// The record first, then the log line: the log is what people and
		// tests watch for, and by then the trail must already hold it.
		_ = auditor.Event(audit.TypePolicyReloadFailed,
			fmt.Sprintf("reload (%s) failed, keeping revision %s: %v", reason, old.Revision(), err),
			splitDiagnostics(diag.String())...)
		log.WithFields(logrus.Fields{"reason": reason, "policy_revision": old.Revision()}).
			Errorf("policy reload failed, keeping the loaded policies (retrying at every poll): %v\n%s", err, diag.String())
		return failure
	}
	if set.Revision() == old.Revision() {
		cfg.metrics.Reload("unchanged")
		if previous != "" {
			log.WithFields(logrus.Fields{"reason": reason, "policy_revision": set.Revision()}).Info("policies load again; the revision in use is unchanged")
		}
		return ""
	}
	p.SetPolicy(set)
	cfg.metrics.Reload("loaded")
	cfg.metrics.SetRevision(set.Revision())
	debug.FreeOSMemory() // the old set and the parsed files
	_ = auditor.Event(audit.TypePolicyLoad, fmt.Sprintf("reloaded (%s) policies %v, revision %s, previous %s", reason, set.Policies(), set.Revision(), old.Revision()))
	log.WithFields(logrus.Fields{
		"reason": reason, "policy_revision": set.Revision(), "previous_revision": old.Revision(), "policies": set.Policies(),
	}).Info("policies reloaded")
	return ""
}

// dirSignature summarises names, sizes and modification times under dir,
// cheaply enough to poll.
func dirSignature(dir string) string {
	var b bytes.Buffer
	walkFiles(dir, func(path string, fi os.FileInfo) {
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", path, fi.Size(), fi.ModTime().UnixNano())
	})
	return b.String()
}

func walkFiles(dir string, fn func(string, os.FileInfo)) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := dir + "/" + e.Name()
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			walkFiles(path, fn)
			continue
		}
		fn(path, fi)
	}
}

// tuneGC trades memory for CPU unless the operator set GOGC or GOMEMLIMIT:
// every decision allocates (bodies, records), and with the default GOGC=100
// the collector took 10-20% of the plugin's CPU under load, so the heap may
// grow to five times what is live (GOGC=400). A soft memory limit bounds
// that growth, but a constant one made the collector run without pause
// once thousands of idle connections held more than it (6.8 instead of
// 0.2 CPU-seconds for 400 requests): the limit follows what the process
// holds instead, measured every second (see memoryLimit).
func tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(memoryLimit())
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				debug.SetMemoryLimit(memoryLimit())
			}
		}
	}()
}

// memoryFloor is the least soft memory limit: the shipped policies run at
// about 31 MiB RSS (docs/performance.md).
const memoryFloor = 64 << 20

// memoryLimit is the soft limit for what the process holds now: twice the
// live heap and goroutine stacks (each connection holds a stack and its
// buffers), at least memoryFloor. The collector then runs when the heap
// has grown by what is live, never continuously.
func memoryLimit() int64 {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	rtmetrics.Read(s)
	var held uint64
	for _, x := range s {
		if x.Value.Kind() == rtmetrics.KindUint64 {
			held += x.Value.Uint64()
		}
	}
	return max(memoryFloor, 2*int64(held))
}

// resolveFetchHost resolves a host the daemon would fetch from, for the
// policy's fetch checks, with the host's resolver and a short deadline: a
// name that does not resolve in time is denied.
func resolveFetchHost(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// newSelfToken is a secret of 256 random bits, hex-encoded.
func newSelfToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw a secret for the plugin's own requests: %w", err)
	}
	return hex.EncodeToString(b), nil
}
