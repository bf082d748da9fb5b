package gateway

import (
	"fmt"
	"net"
	"os"

	"github.com/portcullis/portcullis/internal/unixsock"
)

// Listen creates the gateway's Unix socket at path with mode and, when gid
// is not negative, that group. Its directory is created; a stale socket
// left by a crashed run is replaced; anything else at path, or a socket a
// live process serves (the daemon's, say), is an error.
func Listen(path string, mode os.FileMode, gid int) (net.Listener, error) {
	// Created private, then opened up: nobody connects before the mode
	// and group are right.
	l, err := unixsock.Listen(path, 0o177)
	if err != nil {
		return nil, err
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("chown %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}
