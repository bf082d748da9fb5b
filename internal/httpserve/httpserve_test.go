package httpserve

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestRunServesUntilCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	called := make(chan bool, 1)
	done := make(chan [2]error, 1)
	go func() {
		serveErr, err := Run(ctx, srv, l, time.Second, func(sctx context.Context) {
			_, hasDeadline := sctx.Deadline()
			called <- hasDeadline
		})
		done <- [2]error{serveErr, err}
	}()
	resp, err := http.Get("http://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	got := <-done
	if got[0] != nil || got[1] != nil {
		t.Fatalf("Run = %v, %v; want nil, nil", got[0], got[1])
	}
	if !<-called {
		t.Error("after was not given the drain's deadline")
	}
	if _, err := http.Get("http://" + l.Addr().String()); err == nil {
		t.Error("still serving after the shutdown")
	}
}

func TestRunReportsServeFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	serveErr, err := Run(context.Background(), &http.Server{}, l, time.Second, func(context.Context) {
		t.Error("after called although nothing was shut down")
	})
	if serveErr == nil || err != nil {
		t.Fatalf("Run = %v, %v; want a serve error", serveErr, err)
	}
}
