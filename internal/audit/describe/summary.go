package describe

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/request"
)

// sensitive reports whether a label, option or argument key names a
// secret: it contains "secret", "password", "passwd", "token" or "key",
// case-insensitively.
func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range [...]string{"secret", "password", "passwd", "token", "key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// masker builds one summary and remembers what it masked.
type masker struct{ masked []string }

func (m *masker) note(path string) {
	if m.masked == nil {
		m.masked = make([]string, 0, 8) // one allocation for a typical create
	}
	m.masked = append(m.masked, path)
}

// env masks every value: NAME=VALUE becomes NAME=***. A bare NAME (no
// value) is kept.
func (m *masker) env(prefix string, env []string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, len(env))
	for i, e := range env {
		name, _, ok := strings.Cut(e, "=")
		if !ok {
			out[i] = e
			continue
		}
		// One string "prefix.NAME=***" holds both the masked path and
		// the value written.
		both := prefix + "." + name + "=" + audit.Mask
		out[i] = both[len(prefix)+1:]
		m.note(both[:len(prefix)+1+len(name)])
	}
	return out
}

// labels masks the values of sensitive keys.
func (m *masker) labels(prefix string, in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	var buf [16]string
	for _, k := range appendSortedKeys(buf[:0], in) {
		v := in[k]
		if sensitive(k) {
			v = audit.Mask
			m.note(prefix + "." + k)
		} else if mv, ok := maskPairs(v); ok {
			v = mv
			m.note(prefix + "." + k)
		}
		out[k] = v
	}
	return out
}

// maskPairs masks the values of sensitive key=value pairs inside a comma-
// or space-separated option string, such as a local volume's
// "o=addr=10.0.0.1,username=u,password=p".
func maskPairs(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, false
	}
	changed := false
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	for i, f := range fields {
		k, _, ok := strings.Cut(f, "=")
		if ok && sensitive(k) {
			fields[i] = k + "=" + audit.Mask
			changed = true
		}
	}
	if !changed {
		return s, false
	}
	return strings.Join(fields, ","), true
}

// args masks the value of --key=value and key=value arguments whose key is
// sensitive. It is a best effort: "--password secret" as two arguments is
// not recognised.
func (m *masker) args(prefix string, args []string) []string {
	if len(args) == 0 {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		k, _, ok := strings.Cut(a, "=")
		if ok && sensitive(strings.TrimLeft(k, "-")) {
			out[i] = k + "=" + audit.Mask
			m.note(prefix + "." + strings.TrimLeft(k, "-"))
			continue
		}
		out[i] = a
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

// appendSortedKeys appends m's keys to keys, sorted; with a stack array's
// slice as keys, small maps cost no allocation.
func appendSortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Summarize reduces a decoded request to its security-relevant settings,
// masking secrets; Summary.Masked lists what it masked. It returns nil for
// a nil request and for requests with nothing to summarise, and is safe on
// every nil body pointer.
func Summarize(req *request.Request) *audit.Summary {
	if req == nil {
		return nil
	}
	m := &masker{}
	var sum audit.Summary
	s := &sum
	if c := req.ContainerCreate; c != nil {
		m.config(s, c.Config)
		m.hostConfig(s, c.HostConfig)
	}
	if e := req.Exec; e != nil {
		s.Exec = &audit.Exec{Privileged: e.Privileged, User: e.User, Cmd: m.args("exec.cmd", e.Cmd)}
		s.Env = m.env("exec.env", e.Env)
	}
	if c := req.CommitConfig; c != nil {
		m.config(s, c)
	}
	if v := req.VolumeCreate; v != nil {
		s.Driver = v.Driver
		s.DriverOpts = m.labels("driver_opts", v.DriverOpts)
		s.Labels = m.labels("labels", v.Labels)
	}
	if n := req.NetworkCreate; n != nil {
		s.Driver = n.Driver
		s.DriverOpts = m.labels("driver_opts", n.Options)
		s.Labels = m.labels("labels", n.Labels)
	}
	if sp := req.ServiceSpec; sp != nil {
		s.Labels = m.labels("labels", sp.Labels)
		if cs := sp.TaskTemplate.ContainerSpec; cs != nil {
			s.Image = cs.Image
			s.User = cs.User
			s.Env = m.env("env", cs.Env)
			s.ReadOnlyRootfs = cs.ReadOnly
			s.CapAdd = cs.CapabilityAdd
			s.CapDrop = cs.CapabilityDrop
			s.Mounts = mounts(nil, cs.Mounts)
			if cs.Labels != nil {
				s.Labels = m.labels("container_labels", cs.Labels)
			}
		}
		if ep := sp.EndpointSpec; ep != nil {
			for _, p := range ep.Ports {
				s.Ports = append(s.Ports, audit.Port{
					ContainerPort: itoa(p.TargetPort) + "/" + string(p.Protocol),
					HostPort:      itoa(p.PublishedPort),
				})
			}
		}
	}
	for _, p := range req.PluginPrivileges {
		s.PluginPrivileges = append(s.PluginPrivileges, audit.PluginPrivilege{Name: p.Name, Value: p.Value})
	}
	if req.Action == request.ActionImageBuild {
		m.build(s, req.Query)
	}
	if empty(s) {
		return nil
	}
	s.Masked = m.masked
	out := new(audit.Summary)
	*out = sum
	return out
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// empty reports whether s is the zero Summary (reflect.Value.IsZero: nil,
// not empty, slices and maps). TestSummaryEmpty checks it covers every
// field.
func empty(s *audit.Summary) bool {
	return s.Image == "" && s.User == "" && !s.Privileged && s.CapAdd == nil && s.CapDrop == nil &&
		s.SecurityOpt == nil && s.Namespaces == nil && s.NetworkMode == "" && s.Mounts == nil &&
		s.VolumesFrom == nil && s.Devices == nil && s.DeviceCgroup == nil && s.Ports == nil &&
		!s.PublishAll && s.LogDriver == "" && !s.ReadOnlyRootfs && s.Env == nil && s.Labels == nil &&
		s.BuildArgs == nil && s.Exec == nil && s.Driver == "" && s.DriverOpts == nil &&
		s.PluginPrivileges == nil && s.Masked == nil
}

func (m *masker) config(s *audit.Summary, c *container.Config) {
	if c == nil {
		return
	}
	s.Image = c.Image
	s.User = c.User
	s.Env = m.env("env", c.Env)
	s.Labels = m.labels("labels", c.Labels)
}

func (m *masker) hostConfig(s *audit.Summary, h *container.HostConfig) {
	if h == nil {
		return
	}
	s.Privileged = h.Privileged
	s.CapAdd = h.CapAdd
	s.CapDrop = h.CapDrop
	s.SecurityOpt = h.SecurityOpt
	ns := audit.Namespaces{
		PID: string(h.PidMode), IPC: string(h.IpcMode), UTS: string(h.UTSMode),
		Net: string(h.NetworkMode), UserNS: string(h.UsernsMode), CgroupNS: string(h.CgroupnsMode),
	}
	if ns != (audit.Namespaces{}) {
		s.Namespaces = &ns
	}
	s.NetworkMode = string(h.NetworkMode)
	s.Mounts = mounts(h.Binds, h.Mounts)
	s.VolumesFrom = h.VolumesFrom
	if len(h.Devices) > 0 {
		s.Devices = make([]audit.Device, 0, len(h.Devices))
	}
	for _, d := range h.Devices {
		s.Devices = append(s.Devices, audit.Device{Host: d.PathOnHost, Container: d.PathInContainer, Permissions: d.CgroupPermissions})
	}
	s.DeviceCgroup = h.DeviceCgroupRules
	if len(h.PortBindings) > 0 {
		n := 0
		for _, bs := range h.PortBindings {
			n += max(len(bs), 1)
		}
		s.Ports = make([]audit.Port, 0, n)
	}
	for p, bs := range h.PortBindings {
		if len(bs) == 0 {
			s.Ports = append(s.Ports, audit.Port{ContainerPort: string(p)})
		}
		for _, b := range bs {
			s.Ports = append(s.Ports, audit.Port{ContainerPort: string(p), HostIP: b.HostIP, HostPort: b.HostPort})
		}
	}
	slices.SortStableFunc(s.Ports, func(a, b audit.Port) int {
		if c := strings.Compare(a.ContainerPort, b.ContainerPort); c != 0 {
			return c
		}
		if c := strings.Compare(a.HostIP, b.HostIP); c != 0 {
			return c
		}
		return strings.Compare(a.HostPort, b.HostPort)
	})
	s.PublishAll = h.PublishAllPorts
	s.LogDriver = h.LogConfig.Type
	s.ReadOnlyRootfs = h.ReadonlyRootfs
}

// mounts lists Binds ("[source:]target[:options]", read as the daemon
// reads them) and Mounts. A bind whose source is not an absolute path is a
// named volume, one without a source an anonymous volume.
func mounts(binds []string, ms []mount.Mount) []audit.Mount {
	if len(binds)+len(ms) == 0 {
		return nil
	}
	out := make([]audit.Mount, 0, len(binds)+len(ms))
	for _, raw := range binds {
		b, err := request.ParseBind(raw)
		if err != nil {
			out = append(out, audit.Mount{Type: audit.MountInvalid, Spec: raw, Invalid: err.Error()})
			continue
		}
		out = append(out, audit.Mount{Type: string(b.Type), Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly})
	}
	for _, x := range ms {
		out = append(out, audit.Mount{Type: string(x.Type), Source: x.Source, Target: x.Target, ReadOnly: x.ReadOnly})
	}
	return out
}

// build summarises an image build's query: tags, network mode, labels and
// build args, whose values are always masked.
func (m *masker) build(s *audit.Summary, q url.Values) {
	if q == nil {
		return
	}
	s.Image = q.Get("t")
	if nm := q.Get("networkmode"); nm != "" {
		s.NetworkMode = nm
	}
	if ba := q.Get("buildargs"); ba != "" {
		var args map[string]*string
		if json.Unmarshal([]byte(ba), &args) == nil {
			for _, k := range sortedKeys(args) {
				s.BuildArgs = append(s.BuildArgs, k+"="+audit.Mask)
				m.note("build_args." + k)
			}
		} else {
			s.BuildArgs = []string{audit.Mask}
			m.note("build_args")
		}
	}
	if l := q.Get("labels"); l != "" {
		var labels map[string]string
		if json.Unmarshal([]byte(l), &labels) == nil {
			s.Labels = m.labels("labels", labels)
		}
	}
}
