// Package hostfacts learns, from the host, what the policy cannot read in
// a request: whether the Docker daemons on the host remap users
// (userns-remap) and where their API sockets and containerd's sockets
// are. It reads the process table (each dockerd's command line) and the
// daemons' configuration files (daemon.json), nothing else, and talks to
// no daemon.
//
// Why not the daemon's /info (SecurityOptions "name=userns")? The plugin
// is started before the daemon and asked by it for every request: a
// request of its own would be judged by itself, fail while the daemon
// starts, and describe only the daemon at the other end of one socket.
// The process table and daemon.json are there first and describe every
// daemon on the host.
//
// Every uncertainty errs closed: user remapping counts only when every
// dockerd found remaps users (none found: no remapping), and sockets are
// the union over every daemon, plus the defaults.
package hostfacts

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Defaults: the daemon's default API socket, containerd's system socket
// and the one the daemon's own managed containerd uses (exec-root
// /var/run/docker).
var Defaults = []string{"/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"}

// Facts is what was learnt.
type Facts struct {
	// UsernsRemap: every dockerd found remaps users (and at least one
	// was found, or the configuration file says so when the process
	// table shows none).
	UsernsRemap bool
	// Sockets are the Unix socket paths of every daemon found, of
	// containerd, and Defaults, sorted, as written (not resolved).
	Sockets []string
	// Daemons is how many dockerd processes were found.
	Daemons int
	// Sources names what was read, for the log.
	Sources []string
}

// Learner reads the facts below a root ("/" for the host's own file
// system; a managed plugin sees the host's at, say, /host, but not its
// process table).
type Learner struct {
	// Proc is the process table ("/proc").
	Proc string
	// Root is where the host's file system is visible, to read
	// daemon.json files ("/" by default).
	Root string
	// Config is the daemon configuration file read when the process
	// table shows no dockerd ("/etc/docker/daemon.json").
	Config string
}

// daemon is one dockerd's settings that matter here.
type daemon struct {
	hosts      []string
	remap      string
	containerd string
	execRoot   string
	configFile string
}

// Learn reads the process table and the configuration files.
func (l Learner) Learn() (Facts, error) {
	proc, root, config := l.Proc, l.Root, l.Config
	if proc == "" {
		proc = "/proc"
	}
	if root == "" {
		root = "/"
	}
	if config == "" {
		config = "/etc/docker/daemon.json"
	}
	var f Facts
	daemons, err := processes(proc)
	if err != nil {
		return f, err
	}
	if len(daemons) == 0 {
		// No dockerd visible (a plugin in its own pid namespace, or the
		// daemon not started yet): its configuration file alone.
		daemons = []daemon{{configFile: config}}
	} else {
		f.Daemons = len(daemons)
		f.Sources = append(f.Sources, proc)
	}
	var errs []error
	socks := map[string]bool{}
	for _, s := range Defaults {
		socks[s] = true
	}
	remapAll := true
	for _, d := range daemons {
		cf := d.configFile
		if cf == "" {
			cf = "/etc/docker/daemon.json"
		}
		var fileCfg struct {
			Hosts      []string `json:"hosts"`
			Remap      string   `json:"userns-remap"`
			Containerd string   `json:"containerd"`
			ExecRoot   string   `json:"exec-root"`
		}
		// A file that cannot be read or parsed (another daemon's, being
		// written or removed right now) costs only what it would have
		// added: that daemon's command line still counts, its remapping
		// counts as off, and the error is returned with what was learnt.
		fileOK := true
		data, err := os.ReadFile(filepath.Join(root, cf))
		switch {
		case err == nil:
			f.Sources = append(f.Sources, cf)
			if err := json.Unmarshal(data, &fileCfg); err != nil {
				errs = append(errs, errors.New(cf+": "+err.Error()))
				fileCfg.Hosts, fileCfg.Remap, fileCfg.Containerd, fileCfg.ExecRoot = nil, "", "", ""
				fileOK = false
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			errs = append(errs, err)
			fileOK = false
		}
		// Flags and the file may not both set one option (the daemon
		// refuses to start), so either source is the daemon's.
		hosts := append(append([]string(nil), d.hosts...), fileCfg.Hosts...)
		remap := first(d.remap, fileCfg.Remap)
		ctrd := first(d.containerd, fileCfg.Containerd)
		execRoot := first(d.execRoot, fileCfg.ExecRoot, "/var/run/docker")
		if remap == "" || !fileOK {
			remapAll = false
		}
		unixHosts := 0
		for _, h := range hosts {
			if p, ok := strings.CutPrefix(h, "unix://"); ok && strings.HasPrefix(p, "/") {
				socks[filepath.Clean(p)] = true
				unixHosts++
			}
		}
		if unixHosts == 0 {
			socks["/run/docker.sock"] = true
		}
		if strings.HasPrefix(ctrd, "/") {
			socks[filepath.Clean(ctrd)] = true
		}
		socks[filepath.Join(execRoot, "containerd", "containerd.sock")] = true
	}
	f.UsernsRemap = remapAll
	for s := range socks {
		f.Sockets = append(f.Sockets, s)
	}
	sort.Strings(f.Sockets)
	return f, errors.Join(errs...)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// processes returns every dockerd in the process table.
func processes(proc string) ([]daemon, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, err
	}
	var out []daemon
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a kernel thread
		}
		args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
		if filepath.Base(args[0]) != "dockerd" {
			continue
		}
		out = append(out, parseArgs(args[1:]))
	}
	return out, nil
}

// parseArgs reads the dockerd flags that matter here, in the forms the
// daemon's flag parser (pflag) accepts: --flag=value, --flag value and,
// for -H, -Hvalue.
func parseArgs(args []string) daemon {
	var d daemon
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		if strings.HasPrefix(a, "-H") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			name, val, hasVal = "-H", strings.TrimPrefix(a[2:], "="), true
		}
		switch name {
		case "-H", "--host", "--userns-remap", "--containerd", "--exec-root", "--config-file":
		default:
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				break
			}
			i++
			val = args[i]
		}
		switch name {
		case "-H", "--host":
			d.hosts = append(d.hosts, val)
		case "--userns-remap":
			d.remap = val
		case "--containerd":
			d.containerd = val
		case "--exec-root":
			d.execRoot = val
		case "--config-file":
			d.configFile = val
		}
	}
	return d
}
