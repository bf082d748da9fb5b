package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit/sink"
)

// auditFlags are serve's audit trail options.
type auditFlags struct {
	file         string
	fileRequired bool
	maxSize      int64
	maxAge       time.Duration
	maxBackups   int
	retention    time.Duration
	minRetention time.Duration
	fileSync     string
	stdout       bool

	syslog         string
	syslogRequired bool
	facility       string
	appName        string
	hostname       string
	spoolDir       string
	maxMessageSize int
	caFile         string
	certFile       string
	keyFile        string
}

func (a *auditFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.file, "audit-file", "/var/log/portcullis/audit.log", "JSON-lines audit file; empty disables the file sink")
	fs.BoolVar(&a.fileRequired, "audit-file-required", true, "deny requests when the audit file cannot be written (fail closed)")
	fs.Int64Var(&a.maxSize, "audit-max-size", 0, "rotate the audit file at this many bytes (0: the default, 100 MiB)")
	fs.DurationVar(&a.maxAge, "audit-max-age", 0, "rotate the audit file after this long (0: the default, 24h)")
	fs.IntVar(&a.maxBackups, "audit-max-backups", 0, "removed: retention is by age (--audit-retention), so that no volume of requests can delete history; setting it is an error")
	fs.DurationVar(&a.retention, "audit-retention", 0, "delete rotated audit files rotated longer ago than this (0: the default, 720h; negative keeps all); each deletion is recorded")
	fs.DurationVar(&a.minRetention, "audit-min-retention", 0, "the least age of a rotated audit file retention may delete (0: the default, 168h)")
	fs.StringVar(&a.fileSync, "audit-sync", "", "fsync policy of the audit file: interval (default), always, never")
	fs.BoolVar(&a.stdout, "audit-stdout", false, "also write audit records to standard output")
	fs.StringVar(&a.syslog, "syslog", "", "send audit records to syslog (RFC 5424): unixgram:///dev/log, unix:///path, udp://host:port, tcp://host:port, tls://host:port")
	fs.BoolVar(&a.syslogRequired, "syslog-required", false, "deny requests when a record cannot be queued for syslog")
	fs.StringVar(&a.facility, "syslog-facility", "", "syslog facility (default authpriv)")
	fs.StringVar(&a.appName, "syslog-app-name", "", "syslog APP-NAME (default portcullis)")
	fs.StringVar(&a.hostname, "syslog-hostname", "", "syslog HOSTNAME (default the host name)")
	fs.StringVar(&a.spoolDir, "syslog-spool-dir", "", "directory where records wait on disk while syslog is unreachable and memory is full")
	fs.IntVar(&a.maxMessageSize, "syslog-max-message-size", 0, "largest syslog message sent whole; larger records are sent truncated (0: 65507 for udp, else no limit; match the server's, e.g. rsyslog's 8192 default)")
	fs.StringVar(&a.caFile, "syslog-ca", "", "CA file that verifies a tls:// syslog server")
	fs.StringVar(&a.certFile, "syslog-cert", "", "client certificate for a tls:// syslog server")
	fs.StringVar(&a.keyFile, "syslog-key", "", "client key for a tls:// syslog server")
}

// open builds the auditor the flags describe.
func (a *auditFlags) open(instance string, log logrus.FieldLogger) (*sink.Auditor, error) {
	cfg := sink.Config{Instance: instance, PluginVersion: version, Logger: log}
	if a.maxBackups != 0 {
		return nil, fmt.Errorf("--audit-max-backups was removed: retention is by age, so that no volume of requests can delete history; use --audit-retention (and --audit-min-retention)")
	}
	if a.file != "" {
		req := a.fileRequired
		cfg.File = &sink.FileConfig{
			Path: a.file, Required: &req, MaxSize: a.maxSize, MaxFileAge: a.maxAge,
			MaxBackupAge: a.retention, MinBackupAge: a.minRetention, Sync: a.fileSync,
		}
	}
	if a.stdout {
		cfg.Stdout = os.Stdout
	}
	if a.syslog != "" {
		u, err := url.Parse(a.syslog)
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("--syslog %q: want scheme://address, e.g. udp://127.0.0.1:514", a.syslog)
		}
		addr := u.Host
		if u.Scheme == "unix" || u.Scheme == "unixgram" {
			addr = u.Path
		}
		cfg.Syslog = &sink.SyslogConfig{
			Network: u.Scheme, Address: addr, Required: a.syslogRequired, Facility: a.facility,
			AppName: a.appName, Hostname: a.hostname, SpoolDir: a.spoolDir, MaxMessageSize: a.maxMessageSize,
			CAFile: a.caFile, CertFile: a.certFile, KeyFile: a.keyFile,
		}
	}
	if cfg.File == nil && cfg.Syslog == nil && cfg.Stdout == nil {
		return nil, fmt.Errorf("no audit sink: set --audit-file, --syslog or --audit-stdout")
	}
	return sink.New(cfg)
}
