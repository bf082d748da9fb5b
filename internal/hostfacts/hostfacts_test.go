package hostfacts

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLearn(t *testing.T) {
	cases := []struct {
		dir     string
		remap   bool
		daemons int
		sockets []string
	}{
		// Two daemons: the system one (fd://, its default socket) and a
		// private one with two sockets, another exec-root and a config
		// file that remaps users: not every daemon remaps, so no.
		{"two", false, 2, []string{"/run/containerd/containerd.sock", "/run/docker.sock", "/tmp/e2e/docker.sock", "/tmp/e2e/exec/containerd/containerd.sock", "/tmp/e2e/second.sock", "/var/run/docker/containerd/containerd.sock"}},
		{"remap", true, 1, Defaults},
		// No dockerd running: the default configuration file decides.
		{"none", true, 0, []string{"/run/containerd/containerd.sock", "/run/docker.sock", "/srv/docker/api.sock", "/var/run/docker/containerd/containerd.sock"}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			root := filepath.Join("testdata", c.dir)
			f, err := Learner{Proc: filepath.Join(root, "proc"), Root: root}.Learn()
			if err != nil {
				t.Fatal(err)
			}
			if f.UsernsRemap != c.remap || f.Daemons != c.daemons {
				t.Errorf("remap %v daemons %d, want %v %d", f.UsernsRemap, f.Daemons, c.remap, c.daemons)
			}
			want := append([]string(nil), c.sockets...)
			if c.dir == "remap" {
				want = []string{"/run/containerd/containerd.sock", "/run/docker.sock", "/var/run/docker/containerd/containerd.sock"}
			}
			if !reflect.DeepEqual(f.Sockets, want) {
				t.Errorf("sockets %q, want %q", f.Sockets, want)
			}
		})
	}
}

func TestLearnNoProc(t *testing.T) {
	if _, err := (Learner{Proc: filepath.Join("testdata", "missing")}).Learn(); err == nil {
		t.Fatal("a missing process table is not an error")
	}
}

func TestLearnBadConfig(t *testing.T) {
	root := filepath.Join("testdata", "two")
	if _, err := (Learner{Proc: filepath.Join(root, "proc"), Root: root, Config: "/proc/1/cmdline"}).Learn(); err != nil {
		t.Fatalf("the default config is not read when daemons run: %v", err)
	}
	if _, err := (Learner{Proc: filepath.Join("testdata", "none", "proc"), Root: root, Config: "/proc/1/cmdline"}).Learn(); err == nil {
		t.Fatal("a config file that is not JSON is not an error")
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-H\x00unix:///x\x00--userns-remap\x00default")
	f.Add("-Hunix:///x\x00--containerd=/c\x00--exec-root")
	f.Fuzz(func(t *testing.T, s string) {
		d := parseArgs(splitNUL(s))
		for _, v := range append(d.hosts, d.remap, d.containerd, d.execRoot, d.configFile) {
			if !strings.Contains(s, v) {
				t.Fatalf("value %q is not in the arguments %q", v, s)
			}
		}
	})
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestLearnHalfWrittenConfig: a daemon whose configuration file does not
// parse (being written or removed by its owner right now) still gives the
// sockets on its command line; the error is returned with what was learnt,
// and remapping counts as off.
func TestLearnHalfWrittenConfig(t *testing.T) {
	root := t.TempDir()
	proc := filepath.Join(root, "proc")
	for pid, args := range map[string][]string{
		"10": {"/usr/bin/dockerd", "-H", "unix:///tmp/a/docker.sock", "--config-file", "/cfg/a.json"},
		"11": {"/usr/bin/dockerd", "-H", "unix:///tmp/b/docker.sock", "--config-file", "/cfg/b.json", "--userns-remap", "default"},
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(strings.Join(args, "\x00")+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cfg", "a.json"), []byte(`{"hosts": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Learner{Proc: proc, Root: root}.Learn()
	if err == nil {
		t.Error("a configuration file that does not parse is not reported")
	}
	for _, want := range []string{"/tmp/a/docker.sock", "/tmp/b/docker.sock"} {
		if !slices.Contains(f.Sockets, want) {
			t.Errorf("sockets %q lack %s", f.Sockets, want)
		}
	}
	if f.UsernsRemap {
		t.Error("remapping counted as on although one daemon's configuration could not be read")
	}
}
