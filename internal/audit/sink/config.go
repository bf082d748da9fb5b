package sink

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
)

// Config configures an Auditor. The JSON names are the configuration keys
// that validation errors name ("file.max_size: …"). New fills defaults;
// docs/audit.md lists them.
type Config struct {
	// Instance identifies this plugin process in every record.
	// Default: a new random id.
	Instance string `json:"instance"`
	// PluginVersion is the plugin's version, in every record. Required.
	PluginVersion string `json:"plugin_version"`
	// CloseTimeout bounds how long Close drains queues. Default 5s.
	CloseTimeout time.Duration `json:"close_timeout"`

	// File is the JSON-lines file sink; nil disables it.
	File *FileConfig `json:"file"`
	// Syslog is the syslog sink; nil disables it.
	Syslog *SyslogConfig `json:"syslog"`
	// Stdout, when set, receives every record as a JSON line (for example
	// os.Stdout). It is not required unless StdoutRequired is set.
	Stdout         io.Writer `json:"-"`
	StdoutRequired bool      `json:"stdout_required"`
	// Sinks are further sinks, for example in tests.
	Sinks []NamedSink `json:"-"`

	// Logger receives operational messages (sink failures, reconnects).
	// Default: logrus's standard logger.
	Logger logrus.FieldLogger `json:"-"`
}

// NamedSink is a sink with the name errors and logs use for it.
type NamedSink struct {
	Name     string
	Sink     Sink
	Required bool
}

// FileConfig configures the JSON-lines file sink.
type FileConfig struct {
	// Path of the active file. Required. Its directory is created (0700)
	// when missing; the file is created 0600.
	Path string `json:"path"`
	// Required makes a failed write fail Auditor.Record. Default true.
	Required *bool `json:"required"`
	// MaxSize rotates the file before a write would take it past this
	// many bytes. Default 100 MiB; negative disables size rotation.
	MaxSize int64 `json:"max_size"`
	// MaxFileAge rotates the file once it has been open this long.
	// Default 24h; negative disables age rotation.
	MaxFileAge time.Duration `json:"max_file_age"`
	// MaxBackupAge deletes rotated files rotated longer ago than this:
	// retention is by age only, never by count or size, so that no volume
	// of requests can delete history. Each deletion is recorded
	// (audit.retention). Default 30 days; negative keeps every file.
	MaxBackupAge time.Duration `json:"max_backup_age"`
	// MinBackupAge is the least age of a rotated file retention may
	// delete; MaxBackupAge below it is a configuration error. Default 7
	// days.
	MinBackupAge time.Duration `json:"min_backup_age"`
	// Sync is the fsync policy: "interval" (default: fsync every
	// SyncInterval when something was written), "always" (fsync each
	// group-committed batch before Record returns) or "never".
	Sync string `json:"sync"`
	// SyncInterval is the interval of Sync "interval". Default 1s.
	SyncInterval time.Duration `json:"sync_interval"`
}

// SyslogConfig configures the RFC 5424 syslog sink.
type SyslogConfig struct {
	// Network is "unixgram" (default), "unix" (stream), "udp", "tcp" or
	// "tls".
	Network string `json:"network"`
	// Address is a socket path for unix networks (default "/dev/log"),
	// host:port otherwise (required).
	Address string `json:"address"`
	// Required makes Auditor.Record fail when a record cannot be queued
	// (the memory and disk bounds are exceeded). Default false.
	Required bool `json:"required"`
	// Facility is a facility name: kern, user, mail, daemon, auth,
	// syslog, lpr, news, uucp, cron, authpriv, ftp, local0 … local7.
	// Default "authpriv".
	Facility string `json:"facility"`
	// AppName is the APP-NAME header field. Default "portcullis".
	AppName string `json:"app_name"`
	// Hostname is the HOSTNAME header field. Default os.Hostname().
	Hostname string `json:"hostname"`
	// Framing of stream transports: "octet-counting" (RFC 6587 LEN SP
	// MSG; default for tcp and tls) or "lf" (MSG LF; default for unix).
	Framing string `json:"framing"`

	// CAFile verifies the server for "tls"; default the system roots.
	CAFile string `json:"ca_file"`
	// CertFile and KeyFile are an optional client certificate for "tls".
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// ServerName overrides the name verified for "tls"; default the
	// Address's host.
	ServerName string `json:"server_name"`

	// MaxMessageSize is the largest message (RFC 5424 header and MSG,
	// without framing) sent whole; a larger record is sent as a truncated
	// copy, or replaced by an audit.loss record when even that does not
	// fit. Default 65507 for "udp" (the largest UDP payload over IPv4),
	// otherwise 0: no limit but the socket's (a Unix datagram socket's
	// limit is learned from EMSGSIZE). At least 1024 when set.
	MaxMessageSize int `json:"max_message_size"`

	// QueueSize is the number of records held in memory while the
	// server is unreachable. Default 10000.
	QueueSize int `json:"queue_size"`
	// SpoolDir, when set, receives records that do not fit in memory
	// (and those still queued at Close); they are delivered in order
	// after the memory queue, also after a restart.
	SpoolDir string `json:"spool_dir"`
	// SpoolMaxBytes bounds the spool directory. Default 256 MiB.
	SpoolMaxBytes int64 `json:"spool_max_bytes"`

	// DialTimeout and WriteTimeout bound one connection attempt and one
	// write. Default 5s each.
	DialTimeout  time.Duration `json:"dial_timeout"`
	WriteTimeout time.Duration `json:"write_timeout"`
	// ReconnectMin and ReconnectMax bound the exponential backoff
	// between connection attempts. Defaults 100ms and 30s.
	ReconnectMin time.Duration `json:"reconnect_min"`
	ReconnectMax time.Duration `json:"reconnect_max"`
}

// ConfigError is an invalid configuration value.
type ConfigError struct {
	Key    string // for example "syslog.address"
	Reason string
}

func (e *ConfigError) Error() string { return "audit config: " + e.Key + ": " + e.Reason }

func badKey(key, format string, args ...any) error {
	return &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...)}
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// validate checks cfg and returns a copy with every default filled.
func (cfg Config) validate() (Config, error) {
	if cfg.PluginVersion == "" {
		return cfg, badKey("plugin_version", "required")
	}
	if cfg.Instance == "" {
		cfg.Instance = audit.NewID()
	}
	if cfg.CloseTimeout < 0 {
		return cfg, badKey("close_timeout", "must not be negative, got %v", cfg.CloseTimeout)
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.StandardLogger()
	}
	if cfg.File == nil && cfg.Syslog == nil && cfg.Stdout == nil && len(cfg.Sinks) == 0 {
		return cfg, badKey("file", "no sink configured: set file, syslog or stdout")
	}
	if cfg.File != nil {
		f := *cfg.File
		if err := f.fill(); err != nil {
			return cfg, err
		}
		cfg.File = &f
	}
	if cfg.Syslog != nil {
		s := *cfg.Syslog
		if err := s.fill(); err != nil {
			return cfg, err
		}
		cfg.Syslog = &s
	}
	for i, s := range cfg.Sinks {
		if s.Name == "" || s.Sink == nil {
			return cfg, badKey(fmt.Sprintf("sinks[%d]", i), "needs a name and a sink")
		}
	}
	return cfg, nil
}

func (f *FileConfig) fill() error {
	if f.Path == "" {
		return badKey("file.path", "required")
	}
	if !filepath.IsAbs(f.Path) {
		abs, err := filepath.Abs(f.Path)
		if err != nil {
			return badKey("file.path", "%v", err)
		}
		f.Path = abs
	}
	if f.Required == nil {
		t := true
		f.Required = &t
	}
	if f.MaxSize == 0 {
		f.MaxSize = 100 << 20
	}
	if f.MaxFileAge == 0 {
		f.MaxFileAge = 24 * time.Hour
	}
	if f.MinBackupAge < 0 {
		return badKey("file.min_backup_age", "must not be negative, got %v", f.MinBackupAge)
	}
	if f.MinBackupAge == 0 {
		f.MinBackupAge = 7 * 24 * time.Hour
	}
	if f.MaxBackupAge == 0 {
		f.MaxBackupAge = 30 * 24 * time.Hour
	}
	if f.MaxBackupAge > 0 && f.MaxBackupAge < f.MinBackupAge {
		return badKey("file.max_backup_age", "must be at least min_backup_age (%v), got %v: retention never deletes a younger file", f.MinBackupAge, f.MaxBackupAge)
	}
	switch f.Sync {
	case "":
		f.Sync = "interval"
	case "interval", "always", "never":
	default:
		return badKey("file.sync", "must be interval, always or never, got %q", f.Sync)
	}
	if f.SyncInterval < 0 {
		return badKey("file.sync_interval", "must not be negative, got %v", f.SyncInterval)
	}
	if f.SyncInterval == 0 {
		f.SyncInterval = time.Second
	}
	return nil
}

func (s *SyslogConfig) fill() error {
	switch s.Network {
	case "":
		s.Network = "unixgram"
	case "unixgram", "unix", "udp", "tcp", "tls":
	default:
		return badKey("syslog.network", "must be unixgram, unix, udp, tcp or tls, got %q", s.Network)
	}
	if s.Address == "" {
		if !strings.HasPrefix(s.Network, "unix") {
			return badKey("syslog.address", "required for network %q", s.Network)
		}
		s.Address = "/dev/log"
	}
	if s.Facility == "" {
		s.Facility = "authpriv"
	}
	if _, ok := facilities[s.Facility]; !ok {
		return badKey("syslog.facility", "unknown facility %q", s.Facility)
	}
	if s.AppName == "" {
		s.AppName = "portcullis"
	}
	if err := headerField("syslog.app_name", s.AppName, 48); err != nil {
		return err
	}
	if s.Hostname == "" {
		s.Hostname, _ = os.Hostname()
		if s.Hostname == "" {
			s.Hostname = "-"
		}
	}
	if err := headerField("syslog.hostname", s.Hostname, 255); err != nil {
		return err
	}
	stream := s.Network == "tcp" || s.Network == "tls" || s.Network == "unix"
	switch s.Framing {
	case "":
		if s.Network == "unix" {
			s.Framing = "lf"
		} else if stream {
			s.Framing = "octet-counting"
		}
	case "octet-counting", "lf":
		if !stream {
			return badKey("syslog.framing", "only stream networks (unix, tcp, tls) are framed, not %q", s.Network)
		}
	default:
		return badKey("syslog.framing", "must be octet-counting or lf, got %q", s.Framing)
	}
	if s.Network != "tls" && (s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" || s.ServerName != "") {
		return badKey("syslog.ca_file", "TLS settings need network \"tls\", got %q", s.Network)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return badKey("syslog.key_file", "cert_file and key_file go together")
	}
	switch {
	case s.MaxMessageSize < 0:
		return badKey("syslog.max_message_size", "must not be negative, got %d", s.MaxMessageSize)
	case s.MaxMessageSize == 0 && s.Network == "udp":
		s.MaxMessageSize = maxUDPPayload
	case s.MaxMessageSize > 0 && s.MaxMessageSize < minMessageSize:
		return badKey("syslog.max_message_size", "must be at least %d, got %d", minMessageSize, s.MaxMessageSize)
	}
	if s.QueueSize < 0 {
		return badKey("syslog.queue_size", "must not be negative, got %d", s.QueueSize)
	}
	if s.QueueSize == 0 {
		s.QueueSize = 10000
	}
	if s.SpoolMaxBytes < 0 {
		return badKey("syslog.spool_max_bytes", "must not be negative, got %d", s.SpoolMaxBytes)
	}
	if s.SpoolMaxBytes == 0 {
		s.SpoolMaxBytes = 256 << 20
	}
	for _, d := range []struct {
		key string
		v   *time.Duration
		def time.Duration
	}{
		{"syslog.dial_timeout", &s.DialTimeout, 5 * time.Second},
		{"syslog.write_timeout", &s.WriteTimeout, 5 * time.Second},
		{"syslog.reconnect_min", &s.ReconnectMin, 100 * time.Millisecond},
		{"syslog.reconnect_max", &s.ReconnectMax, 30 * time.Second},
	} {
		if *d.v < 0 {
			return badKey(d.key, "must not be negative, got %v", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.ReconnectMax < s.ReconnectMin {
		return badKey("syslog.reconnect_max", "must be at least reconnect_min (%v), got %v", s.ReconnectMin, s.ReconnectMax)
	}
	return nil
}

// headerField checks an RFC 5424 header field: 1 to max printable
// US-ASCII characters, no spaces.
func headerField(key, v string, max int) error {
	if len(v) > max {
		return badKey(key, "longer than %d characters", max)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 33 || v[i] > 126 {
			return badKey(key, "must be printable US-ASCII without spaces, got %q", v)
		}
	}
	return nil
}
