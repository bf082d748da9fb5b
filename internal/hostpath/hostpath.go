// Package hostpath resolves the host paths a container would mount (bind
// sources, local volume devices) the way the kernel will when the daemon
// mounts them: symlinks followed, component by component, against the
// host's filesystem. A policy that allows /tmp must not allow /tmp/x when
// /tmp/x is a symlink to /etc.
//
// The plugin may see the host's filesystem under a root (a managed plugin
// mounts the host's / read-only at, say, /host). Resolution then never
// leaves that root: an absolute symlink target is read below the root, and
// ".." stops at it, as it would for a process chrooted there. The result is
// always a host path (the root removed).
//
// A path that does not exist yet is judged by where it would be created:
// the longest existing prefix is resolved and the rest appended. The
// daemon creates a missing bind source with MkdirAll, which follows the
// same symlinks.
//
// Resolution is a race by nature: the path may change between the
// decision and the mount. Policies should deny write access to the
// directories they allow binding from to anyone they do not trust.
package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MaxLinks is how many symlinks one resolution may follow, the kernel's
// limit (MAXSYMLINKS); more is reported as a loop.
const MaxLinks = 40

// ErrLoop is returned (wrapped) for a path with more than MaxLinks symlinks.
var ErrLoop = errors.New("too many levels of symbolic links")

// Resolver resolves host paths below a root.
type Resolver struct {
	root string // cleaned, absolute; "/" for the host's own root
	// lstat and readlink are the file system calls, replaceable in tests.
	lstat    func(string) (fs.FileInfo, error)
	readlink func(string) (string, error)
}

// New returns a Resolver for a host filesystem visible at root ("" or "/"
// for the plugin's own root). root must be an absolute path to an existing
// directory.
func New(root string) (*Resolver, error) {
	if root == "" {
		root = "/"
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("host root %q is not an absolute path", root)
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("host root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("host root %s is not a directory", root)
	}
	return &Resolver{root: root, lstat: os.Lstat, readlink: os.Readlink}, nil
}

// NewResolver is New as the function policy.WithPathResolver takes. When
// root is unusable every call fails with New's error, so every host path
// is denied; callers that take root from a flag should call New first and
// refuse to start on its error.
func NewResolver(root string) func(string) (string, error) {
	r, err := New(root)
	if err != nil {
		return func(string) (string, error) { return "", err }
	}
	return r.Resolve
}

// Root is the directory the host filesystem is read from.
func (r *Resolver) Root() string { return r.root }

// Resolve returns the host path p refers to once every symlink in its
// existing prefix is followed. p must be absolute. Any error (a loop, a
// permission error, a component that is not a directory, an I/O error)
// means the path cannot be judged, and the caller must deny.
func (r *Resolver) Resolve(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%q contains a NUL byte", p)
	}
	links := 0
	// resolved is the host path resolved so far ("" is the root);
	// pending holds the components still to walk, in order.
	resolved := ""
	pending := split(p)
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case ".":
			continue
		case "..":
			// The parent of a resolved path (which contains no
			// symlinks) is lexical; at the root it is the root.
			if i := strings.LastIndexByte(resolved, '/'); i >= 0 {
				resolved = resolved[:i]
			}
			continue
		}
		next := resolved + "/" + c
		fi, err := r.lstat(r.onDisk(next))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// A missing component is a directory the daemon will
				// create (MkdirAll). Nothing exists below it, but a
				// later ".." can climb back into what exists, where
				// symlinks are followed again, as MkdirAll would.
				resolved = next
				continue
			}
			return "", fmt.Errorf("resolve %s: %w", p, unwrapPath(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(pending) > 0 && !fi.IsDir() {
				return "", fmt.Errorf("resolve %s: %s is not a directory", p, next)
			}
			resolved = next
			continue
		}
		links++
		if links > MaxLinks {
			return "", fmt.Errorf("resolve %s: %w", p, ErrLoop)
		}
		target, err := r.readlink(r.onDisk(next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, unwrapPath(err))
		}
		if target == "" {
			return "", fmt.Errorf("resolve %s: %s is an empty symlink", p, next)
		}
		if strings.HasPrefix(target, "/") {
			// Absolute targets are host paths: read them below the root.
			resolved = ""
		}
		pending = append(split(target), pending...)
	}
	if resolved == "" {
		return "/", nil
	}
	return resolved, nil
}

// onDisk is where the plugin finds host path hp.
func (r *Resolver) onDisk(hp string) string {
	if r.root == "/" {
		return hp
	}
	return r.root + hp
}

// split returns p's non-empty components.
func split(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// unwrapPath drops the *fs.PathError's path, which names the file below
// the host root, and keeps the cause (EACCES, ELOOP, ENOTDIR...).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, syscall.ELOOP) {
			return ErrLoop
		}
		return fmt.Errorf("%s %w", pe.Op, pe.Err)
	}
	return err
}

// IsSocket reports whether the resolved host path hp is a Unix socket
// (false for a path that does not exist). A symlink there means the path
// changed since it was resolved: an error, so that the caller denies.
func (r *Resolver) IsSocket(hp string) (bool, error) {
	fi, err := r.lstat(r.onDisk(hp))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("inspect %s: %w", hp, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, fmt.Errorf("inspect %s: it became a symlink while it was judged", hp)
	}
	return fi.Mode()&fs.ModeSocket != 0, nil
}
