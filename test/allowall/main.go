// Command allowall is the performance baseline for Portcullis: the
// smallest authorization plugin the Docker helpers allow, which allows
// every request and response. It does exactly the protocol work every
// plugin built on github.com/docker/go-plugins-helpers does (decode the
// daemon's envelope, encode the answer) and nothing else.
//
//	go run ./test/allowall -socket /tmp/allowall.sock
//
// The load generator (test/loadgen) starts it beside `portcullis serve`
// and compares the two.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/go-plugins-helpers/authorization"
)

type allowAll struct{}

func (allowAll) AuthZReq(authorization.Request) authorization.Response {
	return authorization.Response{Allow: true}
}

func (allowAll) AuthZRes(authorization.Request) authorization.Response {
	return authorization.Response{Allow: true}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("allowall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "Unix socket to serve the plugin protocol on (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	// Own the listener rather than ServeUnix, which also creates
	// /run/docker/plugins and chowns the socket: the baseline must run as
	// any user, in a temporary directory.
	_ = os.Remove(*socket)
	l, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(stderr, "allowall: %v\n", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		l.Close() // the helpers' Serve has no Shutdown; closing the listener ends it
	}()
	err = authorization.NewHandler(allowAll{}).Serve(l)
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return 0
	}
	fmt.Fprintf(stderr, "allowall: %v\n", err)
	return 1
}
