package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	units "github.com/docker/go-units"
)

// A docker run/create command line, turned into the request the Docker
// CLI would send (POST /containers/create). The Docker CLI's own parser
// (github.com/docker/cli/cli/command/container) is not a library one can
// take alone: it brings the whole CLI (cobra, the API client, its config
// and compose loaders) and builds moby's newer API module types. So the
// flags that matter to a policy are parsed here, in the CLI's syntax
// (--flag=value, --flag value, -abc for boolean short flags, "--" ends
// flags, the first argument that is not a flag is the image); a flag not
// in runFlags is an error, never ignored. docs/operations.md lists them.

type runFlag struct {
	short string
	bool  bool
	set   func(b *createBody, v string) error
}

type createBody struct {
	container.Config
	HostConfig       *container.HostConfig     `json:"HostConfig"`
	NetworkingConfig *network.NetworkingConfig `json:"NetworkingConfig,omitempty"`
	name             string
	platform         string
}

func appendTo(f func(b *createBody) *[]string) func(*createBody, string) error {
	return func(b *createBody, v string) error { p := f(b); *p = append(*p, v); return nil }
}

func setString(f func(b *createBody) *string) func(*createBody, string) error {
	return func(b *createBody, v string) error { *f(b) = v; return nil }
}

func setBool(f func(b *createBody) *bool) func(*createBody, string) error {
	return func(b *createBody, v string) error {
		x, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*f(b) = x
		return nil
	}
}

func keyValue(f func(b *createBody) *map[string]string) func(*createBody, string) error {
	return func(b *createBody, v string) error {
		k, val, _ := strings.Cut(v, "=")
		m := f(b)
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = val
		return nil
	}
}

// runFlags are the flags eval understands, by long name.
var runFlags = map[string]runFlag{
	// Settings the policy judges.
	"volume":             {short: "v", set: setBind},
	"mount":              {set: setMount},
	"user":               {short: "u", set: setString(func(b *createBody) *string { return &b.User })},
	"privileged":         {bool: true, set: setBool(func(b *createBody) *bool { return &b.HostConfig.Privileged })},
	"read-only":          {bool: true, set: setBool(func(b *createBody) *bool { return &b.HostConfig.ReadonlyRootfs })},
	"cap-add":            {set: appendTo(func(b *createBody) *[]string { return (*[]string)(&b.HostConfig.CapAdd) })},
	"cap-drop":           {set: appendTo(func(b *createBody) *[]string { return (*[]string)(&b.HostConfig.CapDrop) })},
	"security-opt":       {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.SecurityOpt })},
	"network":            {set: func(b *createBody, v string) error { b.HostConfig.NetworkMode = container.NetworkMode(v); return nil }},
	"net":                {set: func(b *createBody, v string) error { b.HostConfig.NetworkMode = container.NetworkMode(v); return nil }},
	"pid":                {set: func(b *createBody, v string) error { b.HostConfig.PidMode = container.PidMode(v); return nil }},
	"ipc":                {set: func(b *createBody, v string) error { b.HostConfig.IpcMode = container.IpcMode(v); return nil }},
	"uts":                {set: func(b *createBody, v string) error { b.HostConfig.UTSMode = container.UTSMode(v); return nil }},
	"userns":             {set: func(b *createBody, v string) error { b.HostConfig.UsernsMode = container.UsernsMode(v); return nil }},
	"cgroupns":           {set: func(b *createBody, v string) error { b.HostConfig.CgroupnsMode = container.CgroupnsMode(v); return nil }},
	"cgroup-parent":      {set: setString(func(b *createBody) *string { return &b.HostConfig.CgroupParent })},
	"device":             {set: setDevice},
	"device-cgroup-rule": {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.DeviceCgroupRules })},
	"gpus": {set: func(b *createBody, v string) error {
		n := -1
		if c, ok := strings.CutPrefix(v, "count="); ok && c != "all" {
			n, _ = strconv.Atoi(c)
		} else if v != "all" && !ok {
			n, _ = strconv.Atoi(v)
		}
		b.HostConfig.DeviceRequests = append(b.HostConfig.DeviceRequests, container.DeviceRequest{Count: n, Capabilities: [][]string{{"gpu"}}})
		return nil
	}},
	"publish":     {short: "p", set: setPublish},
	"publish-all": {short: "P", bool: true, set: setBool(func(b *createBody) *bool { return &b.HostConfig.PublishAllPorts })},
	"tmpfs": {set: func(b *createBody, v string) error {
		if b.HostConfig.Tmpfs == nil {
			b.HostConfig.Tmpfs = map[string]string{}
		}
		p, o, _ := strings.Cut(v, ":")
		b.HostConfig.Tmpfs[p] = o
		return nil
	}},
	"volumes-from":  {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.VolumesFrom })},
	"volume-driver": {set: setString(func(b *createBody) *string { return &b.HostConfig.VolumeDriver })},
	"memory": {short: "m", set: func(b *createBody, v string) error {
		n, err := units.RAMInBytes(v)
		b.HostConfig.Memory = n
		return err
	}},
	"cpus": {set: func(b *createBody, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		b.HostConfig.NanoCPUs = int64(f * 1e9)
		return err
	}},
	"pids-limit": {set: func(b *createBody, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		b.HostConfig.PidsLimit = &n
		return err
	}},
	"oom-kill-disable": {bool: true, set: func(b *createBody, v string) error {
		x, err := strconv.ParseBool(v)
		b.HostConfig.OomKillDisable = &x
		return err
	}},
	"ulimit": {set: func(b *createBody, v string) error {
		u, err := units.ParseUlimit(v)
		if err == nil {
			b.HostConfig.Ulimits = append(b.HostConfig.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
		}
		return err
	}},
	"log-driver": {set: setString(func(b *createBody) *string { return &b.HostConfig.LogConfig.Type })},
	"log-opt":    {set: keyValue(func(b *createBody) *map[string]string { return &b.HostConfig.LogConfig.Config })},
	"sysctl":     {set: keyValue(func(b *createBody) *map[string]string { return &b.HostConfig.Sysctls })},
	"runtime":    {set: setString(func(b *createBody) *string { return &b.HostConfig.Runtime })},
	"label":      {short: "l", set: keyValue(func(b *createBody) *map[string]string { return &b.Labels })},
	"env":        {short: "e", set: appendTo(func(b *createBody) *[]string { return &b.Env })},
	"restart": {set: func(b *createBody, v string) error {
		name, n, _ := strings.Cut(v, ":")
		b.HostConfig.RestartPolicy.Name = container.RestartPolicyMode(name)
		if n != "" {
			x, err := strconv.Atoi(n)
			b.HostConfig.RestartPolicy.MaximumRetryCount = x
			return err
		}
		return nil
	}},
	"group-add": {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.GroupAdd })},
	"name":      {set: setString(func(b *createBody) *string { return &b.name })},
	"entrypoint": {set: func(b *createBody, v string) error {
		b.Entrypoint = []string{v}
		return nil
	}},
	"platform": {set: setString(func(b *createBody) *string { return &b.platform })},
	// Settings no policy judges, accepted so that everyday command lines
	// parse.
	"workdir":     {short: "w", set: setString(func(b *createBody) *string { return &b.WorkingDir })},
	"hostname":    {short: "h", set: setString(func(b *createBody) *string { return &b.Hostname })},
	"interactive": {short: "i", bool: true, set: setBool(func(b *createBody) *bool { return &b.OpenStdin })},
	"tty":         {short: "t", bool: true, set: setBool(func(b *createBody) *bool { return &b.Tty })},
	"detach":      {short: "d", bool: true, set: func(*createBody, string) error { return nil }},
	"rm":          {bool: true, set: setBool(func(b *createBody) *bool { return &b.HostConfig.AutoRemove })},
	"init": {bool: true, set: func(b *createBody, v string) error {
		x, err := strconv.ParseBool(v)
		b.HostConfig.Init = &x
		return err
	}},
	"pull":        {set: func(*createBody, string) error { return nil }},
	"quiet":       {short: "q", bool: true, set: func(*createBody, string) error { return nil }},
	"add-host":    {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.ExtraHosts })},
	"dns":         {set: appendTo(func(b *createBody) *[]string { return &b.HostConfig.DNS })},
	"stop-signal": {set: setString(func(b *createBody) *string { return &b.StopSignal })},
}

// parseRun parses the arguments of docker run or docker create (after
// "run"/"create") as the CLI would send them. cwd resolves relative bind
// sources ("-v .:/app"), as the CLI does.
func parseRun(args []string, cwd string) (*createBody, error) {
	b := &createBody{HostConfig: &container.HostConfig{}}
	short := map[string]string{}
	for long, f := range runFlags {
		if f.short != "" {
			short[f.short] = long
		}
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		var names []string
		var val string
		hasVal := false
		if long, ok := strings.CutPrefix(a, "--"); ok {
			n, v, has := strings.Cut(long, "=")
			names, val, hasVal = []string{n}, v, has
		} else {
			// -abc: boolean short flags; the last may take a value,
			// attached (-p80:80) or next.
			s := a[1:]
			for j := 0; j < len(s); j++ {
				long, ok := short[string(s[j])]
				if !ok {
					return nil, fmt.Errorf("unknown flag -%c (eval understands the flags listed in docs/operations.md)", s[j])
				}
				names = append(names, long)
				if !runFlags[long].bool {
					if rest := s[j+1:]; rest != "" {
						val, hasVal = strings.TrimPrefix(rest, "="), true
					}
					break
				}
			}
		}
		for k, n := range names {
			f, ok := runFlags[n]
			if !ok {
				return nil, fmt.Errorf("unknown flag --%s (eval understands the flags listed in docs/operations.md)", n)
			}
			v := val
			switch {
			case f.bool && (!hasVal || k < len(names)-1):
				v = "true"
			case !f.bool && !hasVal:
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag --%s needs a value", n)
				}
				i++
				v = args[i]
			}
			if n == "volume" {
				v = absBind(v, cwd)
			}
			if err := f.set(b, v); err != nil {
				return nil, fmt.Errorf("--%s %q: %v", n, v, err)
			}
		}
	}
	if i >= len(args) {
		return nil, fmt.Errorf("no image named")
	}
	b.Image = args[i]
	if len(args) > i+1 {
		b.Cmd = args[i+1:]
	}
	if b.HostConfig.NetworkMode == "" {
		b.HostConfig.NetworkMode = "default"
	}
	return b, nil
}

// absBind makes a relative bind source absolute, as the CLI does for
// "-v .:/app" and "-v ./src:/src".
func absBind(v, cwd string) string {
	src, rest, ok := strings.Cut(v, ":")
	if !ok || !(src == "." || src == ".." || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../")) {
		return v
	}
	return filepath.Join(cwd, src) + ":" + rest
}

func setBind(b *createBody, v string) error {
	b.HostConfig.Binds = append(b.HostConfig.Binds, v)
	return nil
}

// setMount parses --mount as the CLI does (opts/mount.go): CSV of
// key=value, type defaulting to volume.
func setMount(b *createBody, v string) error {
	r := csv.NewReader(strings.NewReader(v))
	fields, err := r.Read()
	if err != nil {
		return err
	}
	m := mount.Mount{Type: mount.TypeVolume}
	for _, f := range fields {
		k, val, has := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		boolVal := func() (bool, error) {
			if !has {
				return true, nil
			}
			return strconv.ParseBool(val)
		}
		switch k {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = boolVal(); err != nil {
				return err
			}
		case "bind-propagation":
			if m.BindOptions == nil {
				m.BindOptions = &mount.BindOptions{}
			}
			m.BindOptions.Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-recursive":
			if m.BindOptions == nil {
				m.BindOptions = &mount.BindOptions{}
			}
			switch val {
			case "enabled":
			case "disabled":
				m.BindOptions.NonRecursive = true
			case "writable":
				m.BindOptions.ReadOnlyNonRecursive = true
			case "readonly":
				m.BindOptions.ReadOnlyForceRecursive = true
			default:
				return fmt.Errorf("bind-recursive %q is not enabled, disabled, writable or readonly", val)
			}
		case "volume-driver":
			if m.VolumeOptions == nil {
				m.VolumeOptions = &mount.VolumeOptions{}
			}
			if m.VolumeOptions.DriverConfig == nil {
				m.VolumeOptions.DriverConfig = &mount.Driver{}
			}
			m.VolumeOptions.DriverConfig.Name = val
		case "volume-opt":
			if m.VolumeOptions == nil {
				m.VolumeOptions = &mount.VolumeOptions{}
			}
			if m.VolumeOptions.DriverConfig == nil {
				m.VolumeOptions.DriverConfig = &mount.Driver{}
			}
			if m.VolumeOptions.DriverConfig.Options == nil {
				m.VolumeOptions.DriverConfig.Options = map[string]string{}
			}
			ok, ov, _ := strings.Cut(val, "=")
			m.VolumeOptions.DriverConfig.Options[ok] = ov
		case "volume-nocopy", "tmpfs-size", "tmpfs-mode", "consistency", "image-path", "volume-subpath":
		default:
			return fmt.Errorf("unknown --mount key %q", k)
		}
	}
	b.HostConfig.Mounts = append(b.HostConfig.Mounts, m)
	return nil
}

func setDevice(b *createBody, v string) error {
	parts := strings.Split(v, ":")
	d := container.DeviceMapping{PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: "rwm"}
	if len(parts) > 1 {
		d.PathInContainer = parts[1]
	}
	if len(parts) > 2 {
		d.CgroupPermissions = parts[2]
	}
	b.HostConfig.Devices = append(b.HostConfig.Devices, d)
	return nil
}

func setPublish(b *createBody, v string) error {
	exposed, bindings, err := nat.ParsePortSpecs([]string{v})
	if err != nil {
		return err
	}
	if b.ExposedPorts == nil {
		b.ExposedPorts = nat.PortSet{}
	}
	for p := range exposed {
		b.ExposedPorts[p] = struct{}{}
	}
	if b.HostConfig.PortBindings == nil {
		b.HostConfig.PortBindings = nat.PortMap{}
	}
	for p, bs := range bindings {
		b.HostConfig.PortBindings[p] = append(b.HostConfig.PortBindings[p], bs...)
	}
	return nil
}

// createRequest is the URI and body the CLI would send for b.
func createRequest(b *createBody) (uri string, body []byte, err error) {
	q := url.Values{}
	if b.name != "" {
		q.Set("name", b.name)
	}
	if b.platform != "" {
		q.Set("platform", b.platform)
	}
	uri = "/v1.41/containers/create"
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	body, err = json.Marshal(b)
	return uri, body, err
}
