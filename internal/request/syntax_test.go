package request_test

import (
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/volume/mounts"
	"github.com/docker/go-connections/nat"

	"github.com/portcullis/portcullis/internal/request"
)

// bindSeeds are bind specifications that exercise every branch of the
// daemon's parser: the malformed forms the policy and the audit trail
// once read differently, every mode group, and look-alikes.
var bindSeeds = []string{
	"/a:/b:ro:x", "/src:ro", "/src:rw", "/src:", "/src:/dst", "/src:/dst:ro", "/src:/dst:rw", "/src:/dst:ro,rw",
	"/src:/dst:ro,rshared", "/src:/dst:shared", "/src:/dst:rshared,slave", "/src:/dst:z,Z", "/src:/dst:Z",
	"/src:/dst:nocopy", "vol:/dst:nocopy", "vol:/dst:rshared", "vol:/dst", "vol:dst", "vol:/", "/src:/",
	"/src:/dst/..", "/src:\\dst", "/src:\\", "/src:/dst:", "/src::ro", ":/dst", "", "/dst", "dst", "/",
	"vol:/dst:ro,nocopy,z,rshared,cached", "/src:/dst:consistent,delegated", "/src:/dst:RO", "/src:/dst:ro ",
	"/src:/dst:,ro", "/a:/b:c:d:e", "relative/src:/dst", "./src:/dst", "~/src:/dst", "/src/../etc:/dst:ro",
	"/var/run/docker.sock:/var/run/docker.sock", "//:/h", "/:/host:ro", "C:\\x:/dst", "/src:/dst:ro,ro",
}

// FuzzParseBind: request.ParseBind agrees with the daemon's Linux parser
// (docker/docker volume/mounts, the module Portcullis requires) on every
// input: the same specs refused with the same message, the same reading
// of the others.
func FuzzParseBind(f *testing.F) {
	for _, s := range bindSeeds {
		f.Add(s)
	}
	daemon := mounts.NewLinuxParser()
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := request.ParseBind(raw)
		for _, driver := range []string{"", "other"} {
			mp, derr := daemon.ParseMountRaw(raw, driver)
			if (err == nil) != (derr == nil) {
				t.Fatalf("ParseBind(%q): error %v, daemon's %v", raw, err, derr)
			}
			if err != nil {
				if err.Error() != derr.Error() {
					t.Fatalf("ParseBind(%q): error %q, daemon's %q", raw, err, derr)
				}
				continue
			}
			want := request.Bind{
				Type: mp.Type, Source: mp.Spec.Source, Target: mp.Spec.Target, Mode: mp.Mode,
				ReadOnly: !mp.RW,
			}
			if mp.Spec.BindOptions != nil {
				want.Propagation = mp.Spec.BindOptions.Propagation
			}
			if mp.Spec.VolumeOptions != nil {
				want.NoCopy = mp.Spec.VolumeOptions.NoCopy
			}
			if got != want {
				t.Fatalf("ParseBind(%q) = %+v, daemon reads %+v", raw, got, want)
			}
			if got.Type == mount.TypeVolume && mp.Name != got.Source {
				t.Fatalf("ParseBind(%q): volume %q, daemon's %q", raw, got.Source, mp.Name)
			}
		}
	})
}

func TestParseBind(t *testing.T) {
	tests := []struct {
		raw  string
		want request.Bind
		err  string
	}{
		{raw: "/a:/b:ro:x", err: "invalid volume specification: '/a:/b:ro:x'"},
		{raw: "/src:ro", err: "invalid volume specification: '/src:ro'"},
		{raw: "/src:/dst:ro,x", err: "invalid mode: ro,x"},
		{raw: "/src:dst", err: `invalid volume specification: '/src:dst': invalid mount config for type "bind": invalid mount path: 'dst' mount path must be absolute`},
		{raw: "/src:/dst:nocopy", err: `invalid volume specification: '/src:/dst:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`},
		{raw: "/src:/dst:ro,rshared", want: request.Bind{Type: mount.TypeBind, Source: "/src", Target: "/dst", Mode: "ro,rshared", ReadOnly: true, Propagation: mount.PropagationRShared}},
		{raw: "vol:/dst:nocopy", want: request.Bind{Type: mount.TypeVolume, Source: "vol", Target: "/dst", Mode: "nocopy", NoCopy: true}},
		{raw: "/anon", want: request.Bind{Type: mount.TypeVolume, Target: "/anon"}},
	}
	for _, tt := range tests {
		got, err := request.ParseBind(tt.raw)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseBind(%q): error %v, want %q", tt.raw, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseBind(%q): %v", tt.raw, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseBind(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

// FuzzParseVolumesFrom: request.ParseVolumesFrom agrees with the
// daemon's.
func FuzzParseVolumesFrom(f *testing.F) {
	for _, s := range []string{"", "c", "c:", "c:ro", "c:rw", "c:ro,z", "c:rshared", "c:nocopy", "c:x", ":ro", "c:ro:rw", "c:ro,rw"} {
		f.Add(s)
	}
	daemon := mounts.NewLinuxParser()
	f.Fuzz(func(t *testing.T, spec string) {
		id, mode, err := request.ParseVolumesFrom(spec)
		did, dmode, derr := daemon.ParseVolumesFrom(spec)
		if (err == nil) != (derr == nil) || (err != nil && err.Error() != derr.Error()) {
			t.Fatalf("ParseVolumesFrom(%q): error %v, daemon's %v", spec, err, derr)
		}
		if id != did || mode != dmode {
			t.Fatalf("ParseVolumesFrom(%q) = %q, %q; daemon's %q, %q", spec, id, mode, did, dmode)
		}
	})
}

// FuzzParseHostPort: request.ParseHostPort agrees with go-connections/nat
// as the daemon uses it on a binding's HostPort
// (nat.NewPort(nat.SplitProtoPort(HostPort)), then Range).
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"80", "80/tcp", "80/udp", "80/x", "/tcp", "80/", "+80", "080", "-80", "0-80", "80-80", "80-79", "1000-1100", "80-", "-", "65535", "65536", "0x50", " 80", "80-90/tcp", "1-2-3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			// Ephemeral for every daemon that accepts it.
			if a, b, err := request.ParseHostPort(s); a != 0 || b != 0 || err != nil {
				t.Fatalf("ParseHostPort(\"\") = %d, %d, %v", a, b, err)
			}
			return
		}
		start, end, err := request.ParseHostPort(s)
		var ds, de int
		p, derr := nat.NewPort(nat.SplitProtoPort(s))
		if derr == nil {
			ds, de, derr = p.Range()
		}
		if (err == nil) != (derr == nil) || (err != nil && err.Error() != derr.Error()) {
			t.Fatalf("ParseHostPort(%q): error %v, nat's %v", s, err, derr)
		}
		if start != ds || end != de {
			t.Fatalf("ParseHostPort(%q) = %d-%d, nat's %d-%d", s, start, end, ds, de)
		}
	})
}
