package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/api"
	"github.com/sirupsen/logrus"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and said no (invalid policy, failed test, denied request, unhealthy plugin)
	exitUsage   = 2
	exitRuntime = 3 // the command could not do its job (I/O, socket)
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "serve the authorization plugin on a Unix socket", runServe},
		{"gateway", "serve the Docker API on a local socket, telling the daemon who calls", runGateway},
		{"validate", "check policy files and print every diagnostic", runValidate},
		{"eval", "judge one request offline against a policy directory", runEval},
		{"test", "run the policy test cases kept beside the policies", runTest},
		{"status", "ask a running plugin for its health, policy revision and uptime", runStatus},
		{"version", "print version information", runVersion},
	}
}

// run is the whole program, minus the process: testable end to end.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "portcullis: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: portcullis COMMAND [OPTIONS]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'portcullis COMMAND -h' for a command's options.")
}

// newFlags returns a flag set that reports errors to stderr and whose
// usage line names the command.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: portcullis %s [OPTIONS] %s\n\nOptions:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and says which exit code to use if it failed.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// parseService reads a long-running command's flags — the environment
// (envPrefix) first, then args, with no positional arguments — and builds
// its operational logger at the level *logLevel names once parsed. The
// bool is false when the command must exit with the int.
func parseService(cmd string, fs *flag.FlagSet, args []string, envPrefix string, logLevel *string, stderr io.Writer) (*logrus.Logger, int, bool) {
	if err := flagsFromEnv(fs, envPrefix); err != nil {
		fmt.Fprintf(stderr, "portcullis %s: %v\n", cmd, err)
		return nil, exitUsage, false
	}
	if code, ok := parseFlags(fs, args); !ok {
		return nil, code, false
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "portcullis %s: unexpected arguments %q\n", cmd, fs.Args())
		return nil, exitUsage, false
	}
	log := logrus.New()
	log.SetOutput(stderr)
	log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339Nano, DisableColors: true})
	lvl, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis %s: --log-level: %v\n", cmd, err)
		return nil, exitUsage, false
	}
	log.SetLevel(lvl)
	return log, 0, true
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(stdout, "portcullis %s\n", version)
	fmt.Fprintf(stdout, " commit:         %s\n", commit)
	fmt.Fprintf(stdout, " go:             %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, " docker api:     %s (types), requests of any version are classified\n", api.DefaultVersion)
	fmt.Fprintf(stdout, " plugin api:     authz (docker.authz/1.0)\n")
	return exitOK
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// flagsFromEnv sets each flag of fs whose environment variable (prefix
// plus the flag name upper-cased, dashes as underscores: --policy-dir is
// PORTCULLIS_POLICY_DIR) is set. Flags on the command line still win,
// since they are parsed afterwards. A managed plugin is configured this
// way (docker plugin set NAME PORTCULLIS_LOG_LEVEL=debug).
func flagsFromEnv(fs *flag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %v", name, v, e)
		}
	})
	return err
}
