//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestImage is the image NewEnv imports into every daemon: busybox and
// nothing else, so no registry is ever contacted.
const TestImage = "portcullis-e2e/busybox:1"

// busyboxPath is busybox-static's binary. It must be statically linked:
// the image has no libc.
const busyboxPath = "/bin/busybox"

// busyboxApplets get a symlink in /bin of the test image.
var busyboxApplets = []string{"sh", "true", "false", "sleep", "id", "ls", "cat", "echo", "env"}

// writeRootfsTar writes the test image's root filesystem as a tar file:
// /bin/busybox, applet symlinks, and the directories the runtime mounts
// onto.
func writeRootfsTar(path string) error {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("%w (install busybox-static; see test/e2e/deps.sh)", err)
	}
	if !bytes.HasPrefix(bb, []byte("\x7fELF")) {
		return fmt.Errorf("%s is not an ELF binary", busyboxPath)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	mtime := time.Unix(0, 0)
	for _, dir := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "tmp/", "root/"} {
		mode := int64(0o755)
		if dir == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: mode, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb)), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, applet := range busyboxApplets {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// ImportImage imports the test image's rootfs as ref with `docker import`
// on the Unix socket, which goes through the authorization plugin
// (POST /images/create?fromSrc=-).
func (d *Daemon) ImportImage(t testing.TB, ref string) {
	t.Helper()
	f, err := os.Open(rootfsTar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := d.Local().DockerOpts(DockerOpts{Stdin: io.Reader(f)}, "import", "-", ref)
	if r.ExitCode != 0 {
		t.Fatalf("import test image: %s", r)
	}
	if !strings.HasPrefix(strings.TrimSpace(r.Stdout), "sha256:") {
		t.Fatalf("import test image: unexpected output: %s", r)
	}
}
