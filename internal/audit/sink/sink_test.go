package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/sink"
)

func quietLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func event(n int) *audit.Record {
	return &audit.Record{Type: audit.TypePluginStart, Message: fmt.Sprintf("n=%04d", n)}
}

// rfc5424 matches <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG.
var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\d+) (\S+) - (\{.*\})$`)

type syslogMsg struct {
	pri      int
	ts       string
	host     string
	app      string
	msgID    string
	rec      audit.Record
	original string
}

func parseSyslog(t *testing.T, s string) syslogMsg {
	t.Helper()
	m := rfc5424.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("not an RFC 5424 message: %q", s)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z", m[2]); err != nil {
		t.Errorf("timestamp %q: %v", m[2], err)
	}
	pri, _ := strconv.Atoi(m[1])
	out := syslogMsg{pri: pri, ts: m[2], host: m[3], app: m[4], msgID: m[6], original: s}
	if err := json.Unmarshal([]byte(m[7]), &out.rec); err != nil {
		t.Fatalf("MSG is not a record: %v", err)
	}
	return out
}

// readOctetCounted reads RFC 6587 "LEN SP MSG" frames.
func readOctetCounted(r *bufio.Reader) (string, error) {
	n, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	l, err := strconv.Atoi(strings.TrimSuffix(n, " "))
	if err != nil || l <= 0 {
		return "", fmt.Errorf("bad frame length %q", n)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// tcpServer is a loopback syslog server that can go away and come back on
// the same address.
type tcpServer struct {
	t     *testing.T
	addr  string
	tls   *tls.Config
	msgs  chan string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newTCPServer(t *testing.T, tc *tls.Config) *tcpServer {
	s := &tcpServer{t: t, tls: tc, msgs: make(chan string, 10000)}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *tcpServer) start(addr string) {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old port may linger briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				r := bufio.NewReader(c)
				for {
					m, err := readOctetCounted(r)
					if err != nil {
						return
					}
					s.msgs <- m
				}
			}()
		}
	}()
}

// stop closes the listener and every connection.
func (s *tcpServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *tcpServer) next(t *testing.T) syslogMsg {
	t.Helper()
	select {
	case m := <-s.msgs:
		return parseSyslog(t, m)
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a syslog message")
	}
	return syslogMsg{}
}

func syslogAuditor(t *testing.T, sc sink.SyslogConfig) *sink.Auditor {
	t.Helper()
	if sc.ReconnectMin == 0 {
		sc.ReconnectMin, sc.ReconnectMax = 5*time.Millisecond, 40*time.Millisecond
	}
	sc.Hostname = "host-1"
	a, err := sink.New(sink.Config{PluginVersion: "test", Syslog: &sc, Logger: quietLogger(), CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestSyslogFraming sends an allow, a deny and a lifecycle record over each
// transport and checks RFC 5424 framing, priority and MSG.
func TestSyslogFraming(t *testing.T) {
	recs := []struct {
		rec *audit.Record
		sev int
	}{
		{&audit.Record{Type: audit.TypeDecision, Decision: audit.Allow, Action: "container.list"}, 6},
		{&audit.Record{Type: audit.TypeDecision, Decision: audit.Deny, Action: "container.create"}, 4},
		{&audit.Record{Type: audit.TypeDecision, Decision: audit.Allow, Mode: audit.ModeAudit, WouldDeny: yes()}, 4},
		{&audit.Record{Type: audit.TypePolicyLoad, Message: "loaded"}, 5},
	}
	const local3 = 19
	check := func(t *testing.T, next func() syslogMsg) {
		for _, r := range recs {
			m := next()
			if m.pri != local3*8+r.sev {
				t.Errorf("%s: PRI %d, want %d", r.rec.Type, m.pri, local3*8+r.sev)
			}
			if m.host != "host-1" || m.app != "pc-test" || m.msgID != string(r.rec.Type) {
				t.Errorf("header host=%q app=%q msgid=%q", m.host, m.app, m.msgID)
			}
			if m.rec.ID != r.rec.ID {
				t.Errorf("MSG id %q, want %q", m.rec.ID, r.rec.ID)
			}
		}
	}
	send := func(t *testing.T, a *sink.Auditor) {
		for _, r := range recs {
			r.rec.ID = ""
			if err := a.Record(r.rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("tcp", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		a := syslogAuditor(t, sink.SyslogConfig{Network: "tcp", Address: srv.addr, Facility: "local3", AppName: "pc-test"})
		send(t, a)
		check(t, func() syslogMsg { return srv.next(t) })
	})
	t.Run("tls", func(t *testing.T) {
		caFile, serverConf := testCA(t)
		srv := newTCPServer(t, serverConf)
		a := syslogAuditor(t, sink.SyslogConfig{Network: "tls", Address: srv.addr, CAFile: caFile, ServerName: "syslog.test", Facility: "local3", AppName: "pc-test"})
		send(t, a)
		check(t, func() syslogMsg { return srv.next(t) })
	})
	t.Run("udp", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		a := syslogAuditor(t, sink.SyslogConfig{Network: "udp", Address: pc.LocalAddr().String(), Facility: "local3", AppName: "pc-test"})
		send(t, a)
		check(t, func() syslogMsg { return readPacket(t, pc) })
	})
	t.Run("unixgram", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		pc, err := net.ListenPacket("unixgram", path)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		a := syslogAuditor(t, sink.SyslogConfig{Network: "unixgram", Address: path, Facility: "local3", AppName: "pc-test"})
		send(t, a)
		check(t, func() syslogMsg { return readPacket(t, pc) })
	})
	t.Run("unix_stream_lf", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lines := make(chan string, 10)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		a := syslogAuditor(t, sink.SyslogConfig{Network: "unix", Address: path, Facility: "local3", AppName: "pc-test"})
		send(t, a)
		check(t, func() syslogMsg {
			select {
			case l := <-lines:
				return parseSyslog(t, l)
			case <-time.After(10 * time.Second):
				t.Fatal("timeout")
			}
			return syslogMsg{}
		})
	})
}

func readPacket(t *testing.T, pc net.PacketConn) syslogMsg {
	t.Helper()
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	return parseSyslog(t, string(buf[:n]))
}

// testCA writes a CA certificate to a file and returns it with a server
// TLS config whose certificate it signed for "syslog.test".
func testCA(t *testing.T) (string, *tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "syslog.test"},
		DNSNames: []string{"syslog.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestSyslogOutage takes the server away, writes N records, brings the
// server back on the same address and expects all N in order, exactly
// once, with the spool holding what does not fit in memory.
func TestSyslogOutage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		queueSize int
		spool     bool
		tls       bool
	}{
		{"memory", 1000, false, false},
		{"memory_then_spool", 7, true, false},
		{"tls", 1000, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := sink.SyslogConfig{Network: "tcp", QueueSize: tc.queueSize}
			var serverConf *tls.Config
			if tc.tls {
				sc.Network, sc.ServerName = "tls", "syslog.test"
				sc.CAFile, serverConf = testCA(t)
			}
			srv := newTCPServer(t, serverConf)
			sc.Address = srv.addr
			if tc.spool {
				sc.SpoolDir = filepath.Join(t.TempDir(), "spool")
			}
			a := syslogAuditor(t, sc)
			if err := a.Record(event(0)); err != nil {
				t.Fatal(err)
			}
			if m := srv.next(t); m.rec.Message != "n=0000" {
				t.Fatalf("first message %q", m.rec.Message)
			}
			srv.stop()
			time.Sleep(50 * time.Millisecond) // let the FIN arrive
			const n = 50
			for i := 1; i <= n; i++ {
				if err := a.Record(event(i)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond) // a few failed reconnects
			srv.start(srv.addr)
			for i := 1; i <= n; i++ {
				if m := srv.next(t); m.rec.Message != fmt.Sprintf("n=%04d", i) {
					t.Fatalf("message %d is %q (%s)", i, m.rec.Message, m.rec.Type)
				}
			}
			// Nothing is sent twice: the next message is the sentinel.
			if err := a.Record(event(9999)); err != nil {
				t.Fatal(err)
			}
			if m := srv.next(t); m.rec.Message != "n=9999" {
				t.Fatalf("after the outage got %q, want the sentinel", m.rec.Message)
			}
		})
	}
}

// TestSyslogLoss exceeds the queue bound while the server is down and
// expects the queued records, then one audit.loss record with the count.
func TestSyslogLoss(t *testing.T) {
	srv := newTCPServer(t, nil)
	addr := srv.addr
	srv.stop()
	a := syslogAuditor(t, sink.SyslogConfig{Network: "tcp", Address: addr, QueueSize: 5})
	for i := 0; i < 20; i++ {
		if err := a.Record(event(i)); err != nil {
			t.Fatalf("optional sink failed Record: %v", err)
		}
	}
	srv.start(addr)
	for i := 0; i < 5; i++ {
		if m := srv.next(t); m.rec.Message != fmt.Sprintf("n=%04d", i) {
			t.Fatalf("message %d is %q", i, m.rec.Message)
		}
	}
	m := srv.next(t)
	if m.rec.Type != audit.TypeAuditLoss || m.rec.Dropped != 15 || m.msgID != "audit.loss" || m.pri != 10*8+4 {
		t.Fatalf("want audit.loss with dropped=15 at authpriv.warning, got %s dropped=%d pri=%d", m.rec.Type, m.rec.Dropped, m.pri)
	}
	if m.rec.Instance != a.Instance() || m.rec.ID == "" || m.rec.Version != audit.SchemaVersion {
		t.Errorf("loss record not stamped: %+v", m.rec)
	}
	if l := m.rec.Losses; len(l) != 1 || l[0].Type != audit.TypePluginStart || l[0].Count != 15 {
		t.Errorf("losses %+v, want 15 plugin.start records", l)
	}
	if err := a.Record(event(100)); err != nil {
		t.Fatal(err)
	}
	if m := srv.next(t); m.rec.Message != "n=0100" {
		t.Fatalf("after loss got %q", m.rec.Message)
	}
}

// TestRequiredSinks checks fail-closed behaviour: a required sink that
// cannot accept a record fails Record with a SinkError naming it.
func TestRequiredSinks(t *testing.T) {
	t.Run("syslog_queue_full", func(t *testing.T) {
		srv := newTCPServer(t, nil)
		addr := srv.addr
		srv.stop()
		a := syslogAuditor(t, sink.SyslogConfig{Network: "tcp", Address: addr, QueueSize: 2, Required: true})
		for i := 0; i < 2; i++ {
			if err := a.Record(event(i)); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		err := a.Record(event(2))
		var se *sink.SinkError
		if !errors.As(err, &se) || se.Sink != "syslog" || !errors.Is(err, sink.ErrQueueFull) {
			t.Fatalf("want a syslog SinkError wrapping ErrQueueFull, got %v", err)
		}
	})
	t.Run("file_write_error", func(t *testing.T) {
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Skip("no /dev/full")
		}
		a, err := sink.New(sink.Config{PluginVersion: "test", File: &sink.FileConfig{Path: "/dev/full", Sync: "never"}, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		err = a.Record(event(1))
		var se *sink.SinkError
		if !errors.As(err, &se) || se.Sink != "file" {
			t.Fatalf("want a file SinkError, got %v", err)
		}
	})
	t.Run("optional_failure_is_not_an_error", func(t *testing.T) {
		var out bytes.Buffer
		a, err := sink.New(sink.Config{PluginVersion: "test", Stdout: &out, Logger: quietLogger(),
			Sinks: []sink.NamedSink{{Name: "broken", Sink: failingSink{}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.Record(event(1)); err != nil {
			t.Fatalf("optional sink failure returned %v", err)
		}
		if out.Len() == 0 {
			t.Error("other sinks did not get the record")
		}
	})
}

type failingSink struct{}

func (failingSink) Write(*audit.Record, []byte) error { return errors.New("broken") }
func (failingSink) Close(context.Context) error       { return nil }

// TestConfigErrors checks that validation names the key.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sink.Config
		key  string
	}{
		{"no version", sink.Config{Stdout: io.Discard}, "plugin_version"},
		{"no sink", sink.Config{PluginVersion: "v"}, "file"},
		{"no path", sink.Config{PluginVersion: "v", File: &sink.FileConfig{}}, "file.path"},
		{"bad sync", sink.Config{PluginVersion: "v", File: &sink.FileConfig{Path: "/tmp/x", Sync: "sometimes"}}, "file.sync"},
		{"bad network", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{Network: "sctp"}}, "syslog.network"},
		{"tcp without address", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{Network: "tcp"}}, "syslog.address"},
		{"bad facility", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{Facility: "local9"}}, "syslog.facility"},
		{"udp framing", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{Network: "udp", Address: "h:514", Framing: "lf"}}, "syslog.framing"},
		{"ca without tls", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{Network: "tcp", Address: "h:514", CAFile: "/ca"}}, "syslog.ca_file"},
		{"app name with space", sink.Config{PluginVersion: "v", Syslog: &sink.SyslogConfig{AppName: "a b"}}, "syslog.app_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.New(tc.cfg)
			var ce *sink.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("want ConfigError for %s, got %v", tc.key, err)
			}
		})
	}
}

func yes() *bool { b := true; return &b }
