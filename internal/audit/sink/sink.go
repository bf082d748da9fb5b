// Package sink delivers audit records: the Auditor stamps each record,
// encodes it once and writes it to its sinks — a rotating JSON-lines
// file, an io.Writer such as stdout, RFC 5424 syslog over Unix, UDP, TCP
// or TLS sockets with a memory queue and a disk spool — and accounts for
// every record a sink did not take (audit.loss records). It knows the
// record (internal/audit) and nothing of Docker requests.
package sink

import "sync"

// lineBufs holds buffers for Auditor.Record, which encodes into one and
// gives it back once every sink has copied the line.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledLine is the largest buffer kept in lineBufs; a huge record's
// buffer is left to the garbage collector.
const maxPooledLine = 64 << 10
