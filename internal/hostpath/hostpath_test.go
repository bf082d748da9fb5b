package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tree builds, below dir, the file system every case resolves against.
// Link targets starting with "/" are absolute; "@" is replaced by dir, so
// that an absolute link can point into the tree itself.
func tree(t *testing.T, dir string) {
	t.Helper()
	dirs := []string{"srv/allowed/sub", "srv/secret", "etc", "run", "var"}
	files := []string{"srv/secret/file", "srv/allowed/file", "etc/passwd", "run/docker.sock"}
	links := map[string]string{
		"var/run":                "../run",            // as on every distribution
		"srv/allowed/etc":        "/etc",              // the classic
		"srv/allowed/etcslash":   "/etc/",             // trailing slash
		"srv/allowed/rel":        "../secret",         // relative, one level up
		"srv/allowed/sub/deep":   "../../secret/file", // relative, two levels
		"srv/allowed/chain1":     "chain2",
		"srv/allowed/chain2":     "chain3",
		"srv/allowed/chain3":     "/var/run",             // ends at a link to a link
		"srv/allowed/loop1":      "loop2",                // a loop
		"srv/allowed/loop2":      "loop1",                //
		"srv/allowed/self":       "self",                 // a loop of one
		"srv/allowed/dangling":   "/nonexistent/child",   // target missing
		"srv/allowed/dangrel":    "gone/../../secret",    // ".." after a missing component
		"srv/allowed/climb":      "../../../../../../..", // ".." beyond the root
		"srv/allowed/climbetc":   "../../../../../../../etc",
		"srv/allowed/dot":        ".",
		"srv/allowed/sock":       "/var/run/docker.sock",
		"srv/allowed/intree":     "@/srv/secret", // absolute, naming the tree (host root "/" only)
		"srv/allowed/dotdotlink": "sub/..",
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for l, target := range links {
		target = strings.ReplaceAll(target, "@", dir)
		if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	// 41 links in a row: one more than the kernel follows.
	for i := 0; i < MaxLinks+1; i++ {
		if err := os.Symlink("long"+itoa(i+1), filepath.Join(dir, "srv/allowed/long"+itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "srv/allowed/long"+itoa(MaxLinks+1)), 0o755); err != nil {
		t.Fatal(err)
	}
	// 40 links in a row: exactly what the kernel follows.
	for i := 0; i < MaxLinks; i++ {
		if err := os.Symlink("ok"+itoa(i+1), filepath.Join(dir, "srv/allowed/ok"+itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "srv/allowed/ok"+itoa(MaxLinks)), 0o755); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

// TestResolveUnderHostRoot resolves host paths whose file system is seen
// below a root, as a managed plugin sees the host's / at /host.
func TestResolveUnderHostRoot(t *testing.T) {
	root := t.TempDir()
	tree(t, root)
	r, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want string
		err            string // substring of the error; "" means success
	}{
		{"plain directory", "/srv/allowed", "/srv/allowed", ""},
		{"plain file", "/srv/secret/file", "/srv/secret/file", ""},
		{"the root", "/", "/", ""},
		{"double slashes", "//srv//allowed//", "/srv/allowed", ""},
		{"dot components", "/srv/./allowed/.", "/srv/allowed", ""},
		{"symlink to /etc is /etc of the host, not of the plugin", "/srv/allowed/etc", "/etc", ""},
		{"below a symlink to /etc", "/srv/allowed/etc/passwd", "/etc/passwd", ""},
		{"symlink with a trailing slash", "/srv/allowed/etcslash/passwd", "/etc/passwd", ""},
		{"relative symlink", "/srv/allowed/rel", "/srv/secret", ""},
		{"relative symlink two levels", "/srv/allowed/sub/deep", "/srv/secret/file", ""},
		{"chain ending at /var/run", "/srv/allowed/chain1", "/run", ""},
		{"chain ending at the socket", "/srv/allowed/chain1/docker.sock", "/run/docker.sock", ""},
		{"symlink to the socket", "/srv/allowed/sock", "/run/docker.sock", ""},
		{"/var/run itself", "/var/run/docker.sock", "/run/docker.sock", ""},
		{"parent of a symlink's target (kernel semantics)", "/srv/allowed/rel/..", "/srv", ""},
		{"parent of a symlink to /etc", "/srv/allowed/etc/..", "/", ""},
		{"dotdot cannot climb above the root", "/../../srv/allowed", "/srv/allowed", ""},
		{"link climbing above the root stops there", "/srv/allowed/climb", "/", ""},
		{"link climbing above the root then into /etc", "/srv/allowed/climbetc", "/etc", ""},
		{"link to dot", "/srv/allowed/dot/dot/dot/rel", "/srv/secret", ""},
		{"link to sub/..", "/srv/allowed/dotdotlink", "/srv/allowed", ""},
		{"missing tail is kept", "/srv/allowed/new/a/b", "/srv/allowed/new/a/b", ""},
		{"missing tail below a symlink", "/srv/allowed/etc/newdir", "/etc/newdir", ""},
		{"missing then dotdot back into a symlink", "/srv/allowed/new/../etc", "/etc", ""},
		{"missing then dotdot back into a relative symlink", "/srv/allowed/new/x/../../rel/file", "/srv/secret/file", ""},
		{"dangling symlink is judged by its target", "/srv/allowed/dangling", "/nonexistent/child", ""},
		{"below a dangling symlink", "/srv/allowed/dangling/x", "/nonexistent/child/x", ""},
		{"dangling link whose target climbs back", "/srv/allowed/dangrel", "/srv/secret", ""},
		{"40 links are followed", "/srv/allowed/ok00", "/srv/allowed/ok40", ""},
		{"41 links are a loop", "/srv/allowed/long00", "", "too many levels of symbolic links"},
		{"loop of two", "/srv/allowed/loop1", "", "too many levels of symbolic links"},
		{"loop of one", "/srv/allowed/self/x", "", "too many levels of symbolic links"},
		{"component that is a file", "/srv/allowed/file/x", "", "not a directory"},
		{"file then dotdot", "/srv/allowed/file/..", "", "not a directory"},
		{"relative path", "srv/allowed", "", "not an absolute path"},
		{"empty path", "", "", "not an absolute path"},
		{"NUL byte", "/srv/allowed\x00/etc", "", "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Resolve(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Resolve(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				if strings.Contains(err.Error(), root) {
					t.Errorf("error %q names the plugin's view of the host root", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestResolveHostRootSlash resolves against the plugin's own root, as an
// unmanaged plugin running on the host does: the tree lives in a temp
// directory and its absolute links point at the real /etc.
func TestResolveHostRootSlash(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir)
	dir, err := filepath.EvalSymlinks(dir) // t.TempDir may itself sit below a symlink
	if err != nil {
		t.Fatal(err)
	}
	r, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	etc, err := filepath.EvalSymlinks("/etc")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{dir + "/srv/allowed/etc", etc},
		{dir + "/srv/allowed/intree", dir + "/srv/secret"},
		{dir + "/srv/allowed/rel/file", dir + "/srv/secret/file"},
		{dir + "/srv/allowed/new/../etc", etc},
		{dir + "/srv/allowed/dangling", "/nonexistent/child"},
	} {
		got, err := r.Resolve(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if want, err := filepath.EvalSymlinks(tc.in); err == nil && want != got {
			t.Errorf("Resolve(%q) = %q, but filepath.EvalSymlinks gives %q", tc.in, got, want)
		}
	}
	if _, err := r.Resolve(dir + "/srv/allowed/loop1"); !errors.Is(err, ErrLoop) {
		t.Errorf("loop: err = %v, want ErrLoop", err)
	}
}

// TestResolveErrors: errors other than "does not exist" deny.
func TestResolveErrors(t *testing.T) {
	root := t.TempDir()
	tree(t, root)
	for _, tc := range []struct {
		name     string
		lstat    func(string) (fs.FileInfo, error)
		readlink func(string) (string, error)
		want     error
	}{
		{
			name: "permission denied on a component",
			lstat: func(p string) (fs.FileInfo, error) {
				return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EACCES}
			},
			want: syscall.EACCES,
		},
		{
			name:  "I/O error",
			lstat: func(p string) (fs.FileInfo, error) { return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EIO} },
			want:  syscall.EIO,
		},
		{
			name: "ELOOP from the kernel",
			lstat: func(p string) (fs.FileInfo, error) {
				return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.ELOOP}
			},
			want: ErrLoop,
		},
		{
			name:     "readlink fails",
			readlink: func(p string) (string, error) { return "", &fs.PathError{Op: "readlink", Path: p, Err: syscall.EACCES} },
			want:     syscall.EACCES,
		},
		{
			name:     "empty link target",
			readlink: func(string) (string, error) { return "", nil },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(root)
			if err != nil {
				t.Fatal(err)
			}
			if tc.lstat != nil {
				r.lstat = tc.lstat
			}
			if tc.readlink != nil {
				r.readlink = tc.readlink
			}
			got, err := r.Resolve("/srv/allowed/etc/x")
			if err == nil {
				t.Fatalf("Resolve = %q, nil; want an error", got)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestResolveUnreadableDirectory uses a real directory without search
// permission. Root ignores permissions, so it runs only as another user.
func TestResolveUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses directory permissions; TestResolveErrors covers EACCES")
	}
	root := t.TempDir()
	tree(t, root)
	locked := filepath.Join(root, "srv/allowed/sub")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	r, _ := New(root)
	if got, err := r.Resolve("/srv/allowed/sub/deep"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Resolve = %q, %v; want a permission error", got, err)
	}
}

func TestNew(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"relative", "/nonexistent-host-root", f} {
		if _, err := New(root); err == nil {
			t.Errorf("New(%q) succeeded", root)
		}
		if _, err := NewResolver(root)("/etc"); err == nil {
			t.Errorf("NewResolver(%q) resolves", root)
		}
	}
	for _, root := range []string{"", "/", "//"} {
		r, err := New(root)
		if err != nil || r.Root() != "/" {
			t.Errorf("New(%q) = %v, %v", root, r, err)
		}
	}
}
