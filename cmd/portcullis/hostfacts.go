package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/hostfacts"
	"github.com/portcullis/portcullis/internal/hostpath"
	"github.com/portcullis/portcullis/internal/policy"
)

// hostFactsFlags are serve's flags for what the policy learns from the
// host (internal/hostfacts).
type hostFactsFlags struct {
	remap        string
	sockets      string
	daemonConfig string
	refresh      time.Duration
}

func (h *hostFactsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.remap, "userns-remap", "auto", "whether the daemon remaps users (userns-remap), which lets root containers have writable binds: auto (learnt from every dockerd's flags and daemon.json: yes only if every one remaps), on, off")
	fs.StringVar(&h.sockets, "protect-sockets", "", "comma-separated host paths of further sockets no container may bind (the daemon's, containerd's and Portcullis's own are learnt)")
	fs.StringVar(&h.daemonConfig, "daemon-config", "/etc/docker/daemon.json", "the daemon's configuration file, read (below --host-root) when no dockerd is visible in the process table")
	fs.DurationVar(&h.refresh, "host-facts-interval", time.Second, "how old the learnt daemons' sockets and user remapping may be when a host path is judged; older, they are learnt again first")
}

// hostFactsSource holds the facts the policy reads on each decision that
// judges a host path.
type hostFactsSource struct {
	flags   hostFactsFlags
	learner hostfacts.Learner
	own     []string // Portcullis's own socket and --protect-sockets
	resolve func(string) (string, error)
	cur     atomic.Pointer[learntFacts]
	mu      sync.Mutex // one learn at a time
	log     *logrus.Logger
}

type learntFacts struct {
	policy.HostFacts
	at time.Time
}

func newHostFacts(h hostFactsFlags, hostRoot, ownSocket string, resolve func(string) (string, error)) (*hostFactsSource, error) {
	switch h.remap {
	case "auto", "on", "off":
	default:
		return nil, fmt.Errorf("--userns-remap: %q is not auto, on or off", h.remap)
	}
	s := &hostFactsSource{flags: h, resolve: resolve, learner: hostfacts.Learner{Root: hostRoot, Config: h.daemonConfig}}
	if ownSocket != "" {
		s.own = append(s.own, ownSocket)
	}
	for _, p := range strings.Split(h.sockets, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if !strings.HasPrefix(p, "/") {
				return nil, fmt.Errorf("--protect-sockets: %q is not an absolute path", p)
			}
			s.own = append(s.own, p)
		}
	}
	return s, nil
}

// learn reads the host again. On an error the facts fall back to the safe
// ones (no remapping; the default, own and protected sockets).
func (s *hostFactsSource) learn() (hostfacts.Facts, error) {
	f, err := s.learner.Learn()
	if err != nil {
		// Keep every socket known before and every one learnt now: a
		// failed read must not forget one. Remapping counts as off.
		f.UsernsRemap = false
		f.Sockets = append(append([]string(nil), f.Sockets...), hostfacts.Defaults...)
		if prev := s.cur.Load(); prev != nil {
			f.Sockets = append(f.Sockets, prev.Sockets...)
		}
	}
	pf := &policy.HostFacts{UsernsRemap: f.UsernsRemap}
	switch s.flags.remap {
	case "on":
		pf.UsernsRemap = true
	case "off":
		pf.UsernsRemap = false
	}
	seen := map[string]bool{}
	for _, p := range append(append([]string(nil), f.Sockets...), s.own...) {
		// Both as written and resolved: a daemon that listens on
		// /var/run/docker.sock is at /run/docker.sock.
		for _, q := range []string{lexical(p), s.resolved(p)} {
			if q != "" && !seen[q] {
				seen[q] = true
				pf.Sockets = append(pf.Sockets, q)
			}
		}
	}
	sort.Strings(pf.Sockets)
	prev := s.cur.Swap(&learntFacts{HostFacts: *pf, at: time.Now()})
	if s.log != nil && prev != nil && (prev.UsernsRemap != pf.UsernsRemap || strings.Join(prev.Sockets, ",") != strings.Join(pf.Sockets, ",")) {
		s.log.WithFields(logrus.Fields{"userns_remap": pf.UsernsRemap, "sockets": pf.Sockets}).Info("host facts changed")
	}
	if s.log != nil && err != nil {
		s.log.WithError(err).Warn("cannot learn the daemons' sockets and user remapping; judging as if users are not remapped")
	}
	return f, err
}

func (s *hostFactsSource) resolved(p string) string {
	if s.resolve == nil {
		return ""
	}
	r, err := s.resolve(p)
	if err != nil {
		return ""
	}
	return r
}

// lexical is p cleaned, with /var/run read as /run, as the policy reads
// host paths without a resolver.
func lexical(p string) string {
	p = filepath.Clean(p)
	if p == "/var/run" || strings.HasPrefix(p, "/var/run/") {
		p = "/run" + p[len("/var/run"):]
	}
	return p
}

// get returns the facts, learnt again first when they are older than
// --host-facts-interval: the plugin starts before the daemon it serves,
// so what it learnt at start may miss that daemon's sockets. A decision
// that judges a host path pays for a learn (a scan of the process table)
// at most once per interval.
func (s *hostFactsSource) get() policy.HostFacts {
	if f := s.cur.Load(); f != nil && time.Since(f.at) < s.flags.refresh {
		return f.HostFacts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.cur.Load(); f == nil || time.Since(f.at) >= s.flags.refresh {
		_, _ = s.learn()
	}
	return s.cur.Load().HostFacts
}

// hostOptions are the policy options that read the host: the path
// resolver and socket check below hostRoot (none for ""), and the learnt
// host facts, learnt once.
func hostOptions(hostRoot, ownSocket string, h hostFactsFlags) ([]policy.Option, error) {
	var opts []policy.Option
	if hostRoot == "" {
		// Nothing of the host is read; only what the flags say.
		f := policy.HostFacts{UsernsRemap: h.remap == "on"}
		for _, p := range strings.Split(h.sockets, ",") {
			if p = strings.TrimSpace(p); p != "" {
				f.Sockets = append(f.Sockets, lexical(p))
			}
		}
		return append(opts, policy.WithHostFacts(func() policy.HostFacts { return f })), nil
	}
	var resolve func(string) (string, error)
	{
		r, err := hostpath.New(hostRoot)
		if err != nil {
			return nil, fmt.Errorf("--host-root: %w", err)
		}
		resolve = r.Resolve
		opts = append(opts, policy.WithPathResolver(r.Resolve), policy.WithSocketCheck(r.IsSocket))
	}
	facts, err := newHostFacts(h, hostRoot, ownSocket, resolve)
	if err != nil {
		return nil, err
	}
	_, _ = facts.learn() // on an error, the safe facts
	return append(opts, policy.WithHostFacts(facts.get)), nil
}
