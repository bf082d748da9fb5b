// Package httpserve runs an http.Server until its context ends and then
// shuts it down within a drain time: the one loop the gateway's socket and
// the metrics endpoint share (the plugin's socket has its own server,
// internal/plugin/wire).
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Run serves l with srv until ctx is done or serving fails. When serving
// fails first, its error is serveErr and nothing is shut down. Otherwise
// srv stops accepting and in-flight requests get up to drain to finish;
// after, if not nil, is then called with the drain's context (what is
// left of the drain time, for connections the server no longer tracks,
// such as hijacked streams), and err is Shutdown's error, or Serve's if
// it failed other than by the shutdown.
func Run(ctx context.Context, srv *http.Server, l net.Listener, drain time.Duration, after func(context.Context)) (serveErr, err error) {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err, nil
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if after != nil {
		after(sctx)
	}
	return nil, err
}
