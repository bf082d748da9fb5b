package sink

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func netListenAt(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// serveLines reads octet-counted syslog messages from every connection.
func serveLines(ln net.Listener, out chan<- string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				lenStr, err := r.ReadString(' ')
				if err != nil {
					return
				}
				n, err := strconv.Atoi(strings.TrimSpace(lenStr))
				if err != nil {
					return
				}
				buf := make([]byte, n)
				if _, err := io.ReadFull(r, buf); err != nil {
					return
				}
				out <- string(buf)
			}
		}()
	}
}
