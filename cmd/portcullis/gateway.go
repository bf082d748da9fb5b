package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/plugin"
)

// DefaultGatewaySocket is where users' docker clients look by default.
const DefaultGatewaySocket = "/run/docker.sock"

type gatewayConfig struct {
	listen      string
	socketMode  string
	socketGroup string
	daemon      string
	daemonName  string
	daemonCA    string
	caCert      string
	caKey       string
	lifetime    time.Duration
	userTTL     time.Duration
	refusalLog  string
	logLevel    string
	drain       time.Duration
	maxProcs    int
}

func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg gatewayConfig
	fs := newFlags("gateway", "", stderr)
	fs.StringVar(&cfg.listen, "listen", DefaultGatewaySocket, "Unix socket users' docker clients connect to (ignored under systemd socket activation)")
	fs.StringVar(&cfg.socketMode, "socket-mode", "0666", "mode of the --listen socket: every local user may connect; the gateway identifies each and the policies decide")
	fs.StringVar(&cfg.socketGroup, "socket-group", "", "group of the --listen socket (with --socket-mode 0660, only its members may connect)")
	fs.StringVar(&cfg.daemon, "daemon", "127.0.0.1:2376", "host:port of the daemon's TLS listener (dockerd -H tcp://127.0.0.1:2376 --tlsverify)")
	fs.StringVar(&cfg.daemonName, "daemon-name", "", "name the daemon's certificate must carry (default: the host of --daemon)")
	fs.StringVar(&cfg.daemonCA, "daemon-ca", "", "CA certificate that verifies the daemon's certificate (default: --ca-cert)")
	fs.StringVar(&cfg.caCert, "ca-cert", "/etc/portcullis/gateway/ca.pem", "CA certificate the gateway mints users' client certificates from; dockerd --tlscacert must trust it")
	fs.StringVar(&cfg.caKey, "ca-key", "/etc/portcullis/gateway/ca-key.pem", "the CA's private key; must be readable by its owner (root) only")
	fs.DurationVar(&cfg.lifetime, "cert-lifetime", gateway.DefaultLifetime, "how long a minted client certificate is valid (renewed with a quarter left)")
	fs.DurationVar(&cfg.userTTL, "user-cache", 5*time.Second, "how long a user database answer is reused (group changes are seen after at most this)")
	fs.StringVar(&cfg.refusalLog, "refusal-log", "/var/log/portcullis/gateway.log", "JSON-lines file recording each refused connection; empty logs them only")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "operational log level: debug, info, warn, error")
	fs.DurationVar(&cfg.drain, "shutdown-timeout", 30*time.Second, "how long in-flight requests and streams may take to finish on shutdown")
	fs.IntVar(&cfg.maxProcs, "max-procs", 1, "threads running the gateway's Go code at once (GOMAXPROCS); 0: Go's default, one per CPU")
	log, code, ok := parseService("gateway", fs, args, "PORTCULLIS_GATEWAY_", &cfg.logLevel, stderr)
	if !ok {
		return code
	}
	if err := serveGateway(ctx, cfg, log); err != nil {
		log.WithError(err).Error("portcullis gateway stopped")
		return exitRuntime
	}
	return exitOK
}

func serveGateway(ctx context.Context, cfg gatewayConfig, log *logrus.Logger) error {
	// Every forwarded request allocates; trade memory for CPU as serve does.
	tuneGC(ctx)
	if cfg.maxProcs < 0 {
		return fmt.Errorf("--max-procs %d: not a count", cfg.maxProcs)
	}
	mode, err := strconv.ParseUint(cfg.socketMode, 8, 32)
	if err != nil || mode > 0o777 {
		return fmt.Errorf("--socket-mode %q: not an octal mode", cfg.socketMode)
	}
	gid := -1
	if cfg.socketGroup != "" {
		g, err := user.LookupGroup(cfg.socketGroup)
		if err != nil {
			return fmt.Errorf("--socket-group: %w", err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return fmt.Errorf("--socket-group: gid %q", g.Gid)
		}
	}
	auth, err := gateway.LoadAuthority(cfg.caCert, cfg.caKey, cfg.lifetime)
	if err != nil {
		return err
	}
	caFile := cfg.daemonCA
	if caFile == "" {
		caFile = cfg.caCert
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("--daemon-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("--daemon-ca %s: no PEM certificate", caFile)
	}
	gcfg := gateway.Config{
		Daemon: cfg.daemon, ServerName: cfg.daemonName, DaemonCAs: pool, Authority: auth,
		Accounts: gateway.SystemAccounts(cfg.userTTL), Log: log, Version: version,
	}
	if cfg.refusalLog != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.refusalLog), 0o750); err != nil {
			return fmt.Errorf("--refusal-log: %w", err)
		}
		f, err := os.OpenFile(cfg.refusalLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("--refusal-log: %w", err)
		}
		defer f.Close()
		gcfg.Refusals = f
	}
	g, err := gateway.New(gcfg)
	if err != nil {
		return err
	}
	l, err := plugin.ActivationListener()
	if err != nil {
		return err
	}
	where := "systemd socket"
	if l == nil {
		if l, err = gateway.Listen(cfg.listen, os.FileMode(mode), gid); err != nil {
			return err
		}
		where = cfg.listen
	}
	// A forwarded request is mostly system calls and wake-ups. With one
	// P, the goroutine the poller readies runs on the thread that polled
	// it instead of waking another thread for it: about a tenth less CPU
	// per request (docs/performance.md, "Through the gateway").
	if cfg.maxProcs > 0 {
		runtime.GOMAXPROCS(cfg.maxProcs)
	}
	log.WithFields(logrus.Fields{"socket": where, "daemon": cfg.daemon, "version": version, "max_procs": runtime.GOMAXPROCS(0)}).Info("portcullis gateway started")
	err = g.Serve(ctx, l, cfg.drain)
	log.Info("portcullis gateway stopped")
	return err
}
