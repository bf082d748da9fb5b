package audit

import (
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The audit trail's JSON is written by hand: encoding/json's reflection
// was about a tenth of the plugin's handler CPU, two records per allowed
// call. The output is byte for byte what encoding/json writes for these
// types through a json.Encoder with SetEscapeHTML(false), newline trimmed:
// same field order, the same omitempty rules (zero numbers and bools,
// empty strings, nil or empty slices and maps, nil pointers — a non-nil
// *bool is written also when false), map keys sorted, strings escaped the
// same way. encode_test.go and FuzzEncodeRecord hold encoding/json as the
// reference; a field added to a record type must be added here too, and
// TestEncodeCoversEveryField fails until it is.

// lineBufs holds buffers for Encode, which encodes into one and copies
// the line out before giving it back.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledLine is the largest buffer kept in lineBufs; a huge record's
// buffer is left to the garbage collector.
const maxPooledLine = 64 << 10

// appendRecord appends rec's JSON encoding, without a newline, to b.
func appendRecord(b []byte, r *Record) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(r.Version), 10)
	b = append(b, `,"type":`...)
	b = appendString(b, string(r.Type))
	b = append(b, `,"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"time":`...)
	b = appendTimestamp(b, r.Time)
	b = appendStringField(b, `,"phase":`, string(r.Phase))
	b = appendStringField(b, `,"mode":`, string(r.Mode))
	b = appendStringField(b, `,"decision":`, string(r.Decision))
	b = appendStringField(b, `,"enforced_decision":`, string(r.EnforcedDecision))
	if r.WouldDeny != nil {
		b = append(b, `,"would_deny":`...)
		b = strconv.AppendBool(b, *r.WouldDeny)
	}
	if id := r.Identity; id != nil {
		b = append(b, `,"identity":`...)
		b = appendIdentity(b, id)
	}
	b = appendStringField(b, `,"policy":`, r.Policy)
	b = appendStringField(b, `,"policy_revision":`, r.PolicyRevision)
	if len(r.Violations) > 0 {
		b = append(b, `,"violations":[`...)
		for i := range r.Violations {
			if i > 0 {
				b = append(b, ',')
			}
			v := &r.Violations[i]
			b = append(b, `{"rule":`...)
			b = appendString(b, v.Rule)
			b = appendStringField(b, `,"field":`, v.Field)
			b = append(b, `,"reason":`...)
			b = appendString(b, v.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"action":`, r.Action)
	b = appendStringField(b, `,"method":`, r.Method)
	b = appendStringField(b, `,"uri":`, r.URI)
	b = appendStringField(b, `,"api_version":`, r.APIVersion)
	if t := r.Target; t != nil {
		b = append(b, `,"target":`...)
		b = appendTarget(b, t)
	}
	if s := r.Summary; s != nil {
		b = append(b, `,"summary":`...)
		b = appendSummary(b, s)
	}
	if r.DurationNS != 0 {
		b = append(b, `,"duration_ns":`...)
		b = strconv.AppendInt(b, r.DurationNS, 10)
	}
	b = appendStringField(b, `,"request_id":`, r.RequestID)
	if r.StatusCode != 0 {
		b = append(b, `,"status_code":`...)
		b = strconv.AppendInt(b, int64(r.StatusCode), 10)
	}
	b = appendStringField(b, `,"created_id":`, r.CreatedID)
	b = appendStringsField(b, `,"masked":`, r.Masked)
	b = appendStringField(b, `,"message":`, r.Message)
	b = appendStringsField(b, `,"diagnostics":`, r.Diagnostics)
	if r.Dropped != 0 {
		b = append(b, `,"dropped":`...)
		b = strconv.AppendUint(b, r.Dropped, 10)
	}
	b = appendStringField(b, `,"sink":`, r.Sink)
	if r.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	b = appendStringField(b, `,"overridden_decision":`, string(r.OverriddenDecision))
	if len(r.Losses) > 0 {
		b = append(b, `,"losses":[`...)
		for i := range r.Losses {
			if i > 0 {
				b = append(b, ',')
			}
			l := &r.Losses[i]
			b = append(b, `{"type":`...)
			b = appendString(b, string(l.Type))
			b = appendStringField(b, `,"phase":`, string(l.Phase))
			b = appendStringField(b, `,"decision":`, string(l.Decision))
			b = append(b, `,"count":`...)
			b = strconv.AppendUint(b, l.Count, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"previous_instance":`, r.PreviousInstance)
	b = appendStringField(b, `,"last_record_id":`, r.LastRecordID)
	b = appendStringsField(b, `,"files":`, r.Files)
	if r.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, r.Count, 10)
	}
	if r.EventTime != nil {
		b = append(b, `,"event_time":`...)
		b = appendTimestamp(b, *r.EventTime)
	}
	if r.ExitCode != nil {
		b = append(b, `,"exit_code":`...)
		b = strconv.AppendInt(b, int64(*r.ExitCode), 10)
	}
	if r.GapFrom != nil {
		b = append(b, `,"gap_from":`...)
		b = appendTimestamp(b, *r.GapFrom)
	}
	if r.GapTo != nil {
		b = append(b, `,"gap_to":`...)
		b = appendTimestamp(b, *r.GapTo)
	}
	b = append(b, `,"instance":`...)
	b = appendString(b, r.Instance)
	b = append(b, `,"plugin_version":`...)
	b = appendString(b, r.PluginVersion)
	return append(b, '}')
}

// appendTimestamp appends what Timestamp.MarshalJSON returns.
func appendTimestamp(b []byte, t Timestamp) []byte {
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, timestampLayout)
	return append(b, '"')
}

func appendIdentity(b []byte, id *Identity) []byte {
	n := len(b)
	b = append(b, '{')
	b = appendStringField(b, `,"user":`, id.User)
	b = appendStringField(b, `,"authn_method":`, id.AuthNMethod)
	b = appendStringField(b, `,"team":`, id.Team)
	b = appendStringField(b, `,"cert_subject":`, id.CertSubject)
	b = appendStringField(b, `,"uid":`, id.UID)
	if id.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(id.PID), 10)
	}
	b = appendStringField(b, `,"exe":`, id.Exe)
	return closeObject(b, n)
}

func appendTarget(b []byte, t *Target) []byte {
	n := len(b)
	b = append(b, '{')
	b = appendStringField(b, `,"container":`, t.Container)
	b = appendStringField(b, `,"exec":`, t.Exec)
	b = appendStringField(b, `,"image":`, t.Image)
	b = appendStringField(b, `,"volume":`, t.Volume)
	b = appendStringField(b, `,"network":`, t.Network)
	b = appendStringField(b, `,"object":`, t.Object)
	b = appendStringField(b, `,"id":`, t.ID)
	b = appendStringField(b, `,"owner_team":`, t.OwnerTeam)
	b = appendStringField(b, `,"owner_user":`, t.OwnerUser)
	return closeObject(b, n)
}

func appendSummary(b []byte, s *Summary) []byte {
	n := len(b)
	b = append(b, '{')
	b = appendStringField(b, `,"image":`, s.Image)
	b = appendStringField(b, `,"user":`, s.User)
	if s.Privileged {
		b = append(b, `,"privileged":true`...)
	}
	b = appendStringsField(b, `,"cap_add":`, s.CapAdd)
	b = appendStringsField(b, `,"cap_drop":`, s.CapDrop)
	b = appendStringsField(b, `,"security_opt":`, s.SecurityOpt)
	if ns := s.Namespaces; ns != nil {
		b = append(b, `,"namespaces":`...)
		m := len(b)
		b = append(b, '{')
		b = appendStringField(b, `,"pid":`, ns.PID)
		b = appendStringField(b, `,"ipc":`, ns.IPC)
		b = appendStringField(b, `,"uts":`, ns.UTS)
		b = appendStringField(b, `,"net":`, ns.Net)
		b = appendStringField(b, `,"userns":`, ns.UserNS)
		b = appendStringField(b, `,"cgroupns":`, ns.CgroupNS)
		b = closeObject(b, m)
	}
	b = appendStringField(b, `,"network_mode":`, s.NetworkMode)
	if len(s.Mounts) > 0 {
		b = append(b, `,"mounts":[`...)
		for i := range s.Mounts {
			if i > 0 {
				b = append(b, ',')
			}
			mt := &s.Mounts[i]
			b = append(b, `{"type":`...)
			b = appendString(b, mt.Type)
			b = appendStringField(b, `,"source":`, mt.Source)
			b = appendStringField(b, `,"target":`, mt.Target)
			b = append(b, `,"read_only":`...)
			b = strconv.AppendBool(b, mt.ReadOnly)
			b = appendStringField(b, `,"spec":`, mt.Spec)
			b = appendStringField(b, `,"invalid":`, mt.Invalid)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStringsField(b, `,"volumes_from":`, s.VolumesFrom)
	if len(s.Devices) > 0 {
		b = append(b, `,"devices":[`...)
		for i := range s.Devices {
			if i > 0 {
				b = append(b, ',')
			}
			d := &s.Devices[i]
			b = append(b, `{"host":`...)
			b = appendString(b, d.Host)
			b = appendStringField(b, `,"container":`, d.Container)
			b = appendStringField(b, `,"permissions":`, d.Permissions)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStringsField(b, `,"device_cgroup_rules":`, s.DeviceCgroup)
	if len(s.Ports) > 0 {
		b = append(b, `,"published_ports":[`...)
		for i := range s.Ports {
			if i > 0 {
				b = append(b, ',')
			}
			p := &s.Ports[i]
			b = append(b, `{"container_port":`...)
			b = appendString(b, p.ContainerPort)
			b = appendStringField(b, `,"host_ip":`, p.HostIP)
			b = appendStringField(b, `,"host_port":`, p.HostPort)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if s.PublishAll {
		b = append(b, `,"publish_all_ports":true`...)
	}
	b = appendStringField(b, `,"log_driver":`, s.LogDriver)
	if s.ReadOnlyRootfs {
		b = append(b, `,"read_only_rootfs":true`...)
	}
	b = appendStringsField(b, `,"env":`, s.Env)
	b = appendMapField(b, `,"labels":`, s.Labels)
	b = appendStringsField(b, `,"build_args":`, s.BuildArgs)
	if e := s.Exec; e != nil {
		b = append(b, `,"exec":`...)
		m := len(b)
		b = append(b, '{')
		if e.Privileged {
			b = append(b, `,"privileged":true`...)
		}
		b = appendStringField(b, `,"user":`, e.User)
		b = appendStringsField(b, `,"cmd":`, e.Cmd)
		b = closeObject(b, m)
	}
	b = appendStringField(b, `,"driver":`, s.Driver)
	b = appendMapField(b, `,"driver_opts":`, s.DriverOpts)
	if len(s.PluginPrivileges) > 0 {
		b = append(b, `,"plugin_privileges":[`...)
		for i := range s.PluginPrivileges {
			if i > 0 {
				b = append(b, ',')
			}
			p := &s.PluginPrivileges[i]
			b = append(b, `{"name":`...)
			b = appendString(b, p.Name)
			b = appendStringsField(b, `,"value":`, p.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	// Masked is `json:"-"`: SetRequest copies it to Record.Masked.
	return closeObject(b, n)
}

// closeObject ends an object opened with '{' at b[n] whose members were
// each appended with a leading comma: it drops the first member's comma.
func closeObject(b []byte, n int) []byte {
	if len(b) > n+1 {
		b = append(b[:n+1], b[n+2:]...)
	}
	return append(b, '}')
}

// appendStringField appends key (`,"name":`) and s unless s is empty.
func appendStringField(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

// appendStringsField appends key and ss as an array unless ss is empty.
func appendStringsField(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMapField appends key and m as an object with sorted keys unless m
// is empty.
func appendMapField(b []byte, key string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, key...)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// plainASCII marks the ASCII bytes encoding/json writes as they are when
// it does not escape HTML: printable ASCII and DEL, except '"' and '\\'.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does
// without HTML escaping: '"', '\\' and control characters escaped (\b,
// \f, \n, \r, \t, otherwise \u00xx), invalid UTF-8 bytes replaced by
// \ufffd, U+2028 and U+2029 escaped, everything else as is.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
