package request

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/mount"
)

// This file holds the one reading of each Docker string syntax that both
// the policy and the audit trail need. Each parser agrees with the
// daemon's own, error messages included (syntax_test.go compares them
// with the daemon's code on every input the fuzzer finds), so that what
// is judged, what is recorded and what the daemon does are one reading.

// Bind is one HostConfig.Binds entry ("[source:]target[:mode]") as the
// daemon's Linux parser reads it (volume/mounts linuxParser.ParseMountRaw).
type Bind struct {
	// Type is mount.TypeBind when Source is an absolute path, otherwise
	// mount.TypeVolume: a named volume, or an anonymous one when Source
	// is empty.
	Type mount.Type
	// Source is the host path or the volume name as written (the daemon
	// cleans a host path with path.Clean before mounting it).
	Source string
	// Target is the path in the container as written.
	Target string
	// Mode is the comma-separated option list ("ro,z,rshared").
	Mode string
	// ReadOnly is set by the "ro" option.
	ReadOnly bool
	// Propagation is the propagation option, "" when the mode names none
	// (the daemon then uses rprivate).
	Propagation mount.Propagation
	// NoCopy is set by the "nocopy" option.
	NoCopy bool
}

// ParseBind reads one bind specification as the daemon does. A spec the
// daemon refuses returns an error whose text is the daemon's own
// (docker/docker v28, which FuzzParseBind runs against). Engine 29's
// parser (moby v2) refuses the same specs; where one has two faults, a
// relative target and an option of the other mount type, it names the
// option first (TestAuditMalformedBinds checks single faults against the
// running daemon).
func ParseBind(raw string) (Bind, error) {
	// strings.SplitN(raw, ":", 4), as the daemon splits, without
	// allocating.
	var arr [4]string
	n, rest := 0, raw
	for {
		if n == 3 {
			arr[3], n = rest, 4
			break
		}
		part, after, found := strings.Cut(rest, ":")
		arr[n] = part
		n++
		if !found {
			break
		}
		rest = after
	}
	if arr[0] == "" {
		return Bind{}, errInvalidSpec(raw)
	}
	var b Bind
	switch n {
	case 1:
		// Only a path in the container: an anonymous volume.
		b.Target = arr[0]
	case 2:
		if validMountMode(arr[1]) {
			// "/foo:rw": a volume cannot have a mode without a
			// target.
			return Bind{}, errInvalidSpec(raw)
		}
		b.Source, b.Target = arr[0], arr[1]
	case 3:
		b.Source, b.Target, b.Mode = arr[0], arr[1], arr[2]
	default:
		return Bind{}, errInvalidSpec(raw)
	}
	if !validMountMode(b.Mode) {
		return Bind{}, fmt.Errorf("invalid mode: %v", b.Mode)
	}
	if path.IsAbs(b.Source) {
		b.Type = mount.TypeBind
	} else {
		b.Type = mount.TypeVolume
	}
	for o := range strings.SplitSeq(b.Mode, ",") {
		switch {
		case o == "ro":
			b.ReadOnly = true
		case o == "nocopy":
			b.NoCopy = true
		case propagationModes[o] && b.Propagation == "":
			b.Propagation = mount.Propagation(o)
		}
	}
	if err := b.validate(); err != nil {
		return Bind{}, fmt.Errorf("%v: %v", errInvalidSpec(raw), err)
	}
	return b, nil
}

// validate is the daemon's validateMountConfigImpl for what a bind
// specification can express, without the check that a bind source
// exists (ParseMountRaw skips it too).
func (b *Bind) validate() error {
	bad := func(err error) error {
		return fmt.Errorf("invalid mount config for type %q: %v", b.Type, err)
	}
	if b.Target == "" {
		return bad(errors.New("field Target must not be empty"))
	}
	t := strings.ReplaceAll(b.Target, `\`, `/`)
	if path.Clean(t) == "/" {
		return bad(errors.New("invalid specification: destination can't be '/'"))
	}
	if !path.IsAbs(t) {
		return bad(fmt.Errorf("invalid mount path: '%s' mount path must be absolute", t))
	}
	// The daemon turns "nocopy" into VolumeOptions and a propagation
	// option into BindOptions; each is refused on the other type.
	switch b.Type {
	case mount.TypeBind:
		if b.NoCopy {
			return bad(errors.New("field VolumeOptions must not be specified"))
		}
	case mount.TypeVolume:
		if b.Propagation != "" {
			return bad(errors.New("field BindOptions must not be specified"))
		}
	}
	return nil
}

func errInvalidSpec(raw string) error {
	return fmt.Errorf("invalid volume specification: '%s'", raw)
}

var propagationModes = map[string]bool{
	"private": true, "rprivate": true, "slave": true, "rslave": true, "shared": true, "rshared": true,
}

// validMountMode is the daemon's linuxValidMountMode: comma-separated
// options, at most one of each group.
func validMountMode(mode string) bool {
	if mode == "" {
		return true
	}
	var rw, label, prop, cp, cons int
	for o := range strings.SplitSeq(mode, ",") {
		switch o {
		case "rw", "ro":
			rw++
		case "z", "Z":
			label++
		case "shared", "rshared", "slave", "rslave", "private", "rprivate":
			prop++
		case "nocopy":
			cp++
		case "consistent", "cached", "delegated":
			cons++
		default:
			return false
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && cp <= 1 && cons <= 1
}

// ParseVolumesFrom reads one HostConfig.VolumesFrom entry
// ("container[:mode]") as the daemon's Linux parser does
// (ParseVolumesFrom): the mode is "rw" when absent, and may name neither
// a propagation nor a copy option.
func ParseVolumesFrom(spec string) (container, mode string, err error) {
	if spec == "" {
		return "", "", errors.New("volumes-from specification cannot be an empty string")
	}
	id, mode, _ := strings.Cut(spec, ":")
	if mode == "" {
		return id, "rw", nil
	}
	if !validMountMode(mode) {
		return "", "", fmt.Errorf("invalid mode: %v", mode)
	}
	for o := range strings.SplitSeq(mode, ",") {
		if propagationModes[o] || o == "nocopy" {
			return "", "", fmt.Errorf("invalid mode: %v", mode)
		}
	}
	return id, mode, nil
}

// ParseHostPort reads the HostPort of a port binding ("8080", "8000-8100",
// "80/tcp") as the daemon does: an empty HostPort is an ephemeral port
// (0, 0); a "/protocol" suffix is ignored; a range is inclusive. It
// agrees with go-connections/nat (Engine 28 and earlier), which also
// accepts a leading "+" that Engine 29 refuses, so a port the policy
// reads is never lower than the one any daemon would bind.
func ParseHostPort(s string) (start, end int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	ports, _, _ := strings.Cut(s, "/")
	if ports == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	start, err = parsePortNumber(lo)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid start port '%s': %w", lo, err)
	}
	if !isRange || lo == hi {
		return start, start, nil
	}
	end, err = parsePortNumber(hi)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid end port '%s': %w", hi, err)
	}
	if end < start {
		return 0, 0, errors.New("invalid port range: " + ports)
	}
	return start, end, nil
}

// parsePortNumber is go-connections/nat's: a base-10 integer in 0–65535.
func parsePortNumber(raw string) (int, error) {
	if raw == "" {
		return 0, errors.New("value is empty")
	}
	n, err := strconv.ParseInt(raw, 10, 0)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, err
	}
	if n < 0 || n > 65535 {
		return 0, errors.New("value out of range (0–65535)")
	}
	return int(n), nil
}
