package gateway

import (
	"errors"
	"net"
	"syscall"
)

// isConnReset: the daemon closed a kept-alive connection under us.
func isConnReset(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &op) && op.Op == "write"
}
