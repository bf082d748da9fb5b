package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/audit"
)

// A record can be larger than a transport carries in one message: a UDP
// datagram holds at most 65507 bytes, a Unix datagram what the socket's
// send buffer holds, and receivers cut messages at their own limit (rsyslog
// at 8 KiB unless configured otherwise). Such a record would fail with
// EMSGSIZE on every attempt and block the queue behind it, or arrive cut
// in the middle of its JSON. The syslog sink sends it as a truncated copy
// instead, still one valid JSON object; the file trail holds it whole.

// Truncation levels, tried in order until the copy fits.
const (
	// truncDetails drops the summary, masked paths and diagnostics,
	// keeps at most maxTruncViolations violations and cuts strings.
	truncDetails = iota
	// truncMinimal keeps only what identifies the decision: who, what
	// action, the answer and the violated rules.
	truncMinimal
)

const (
	maxTruncViolations = 10
	// maxUDPPayload is the largest UDP payload over IPv4: 65535 bytes
	// less the IP and UDP headers.
	maxUDPPayload = 65535 - 20 - 8
	// minMessageSize is the smallest max_message_size allowed: room for
	// the header and an audit.loss record.
	minMessageSize = 1024
)

// truncatedCopy returns a copy of r, marked Truncated, that leaves out
// what level says (docs/audit.md lists it). Strings are cut at UTF-8
// boundaries.
func truncatedCopy(r *audit.Record, level int) *audit.Record {
	t := *r
	t.Truncated = true
	t.Summary, t.Masked, t.Diagnostics = nil, nil, nil
	long, short := 1024, 256 // uri and message; every other string
	if level >= truncMinimal {
		long, short = 0, 80
	}
	if n := min(len(r.Violations), maxTruncViolations); n > 0 {
		t.Violations = make([]audit.Violation, n)
		for i, v := range r.Violations[:n] {
			t.Violations[i] = audit.Violation{Rule: cut(v.Rule, short)}
			if level < truncMinimal {
				t.Violations[i].Field = cut(v.Field, short)
				t.Violations[i].Reason = cut(v.Reason, short)
			}
		}
	}
	t.URI, t.Message = cut(r.URI, long), cut(r.Message, long)
	if r.Identity != nil {
		id := audit.Identity{User: cut(r.Identity.User, short)}
		if level < truncMinimal {
			id.AuthNMethod = cut(r.Identity.AuthNMethod, short)
			id.Team = cut(r.Identity.Team, short)
			id.CertSubject = cut(r.Identity.CertSubject, short)
			id.UID, id.PID, id.Exe = cut(r.Identity.UID, short), r.Identity.PID, cut(r.Identity.Exe, short)
		}
		t.Identity = &id
	}
	if r.Target != nil && level < truncMinimal {
		t.Target = &audit.Target{
			Container: cut(r.Target.Container, short), Exec: cut(r.Target.Exec, short),
			Image: cut(r.Target.Image, short), Volume: cut(r.Target.Volume, short),
			Network: cut(r.Target.Network, short), Object: cut(r.Target.Object, short),
		}
	} else {
		t.Target = nil
	}
	for _, s := range []*string{&t.Policy, &t.PolicyRevision, &t.Action, &t.Method,
		&t.APIVersion, &t.RequestID, &t.CreatedID, &t.Sink, &t.ID, &t.Instance, &t.PluginVersion} {
		*s = cut(*s, short)
	}
	return &t
}

// cut returns s shortened to at most n bytes, at a UTF-8 boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fitted caches the form of the queue's head message that fits, so a
// message whose write failed is not shortened (or replaced by a new
// audit.loss record) again on the next attempt.
type fitted struct {
	src   *byte // the head message's first byte
	limit int
	out   []byte
	sent  func()
}

// fit returns msg, or when it is longer than the sink's message limit, a
// message carrying a truncated copy of its record, or else an audit.loss
// record in its place (with sent, to call once that is delivered); nil
// when not even that fits.
func (s *syslogSink) fit(msg []byte) (out []byte, sent func()) {
	limit := s.maxMsg
	if limit <= 0 || len(msg) <= limit {
		return msg, nil
	}
	if s.fitted.src == &msg[0] && s.fitted.limit == limit {
		return s.fitted.out, s.fitted.sent
	}
	out, sent, id := s.shorten(msg, limit)
	s.fitted = fitted{src: &msg[0], limit: limit, out: out, sent: sent}
	if out != nil && sent == nil {
		s.truncated++
		if time.Since(s.truncWarn) >= time.Minute {
			s.log.WithFields(map[string]any{"id": id, "bytes": len(msg), "limit": limit, "truncated": s.truncated}).
				Warn("audit records too large for one syslog message were sent truncated; the file trail holds them whole; further ones in the next minute are not logged")
			s.truncated, s.truncWarn = 0, time.Now()
		}
	}
	return out, sent
}

func (s *syslogSink) shorten(msg []byte, limit int) (out []byte, sent func(), id string) {
	hdr, line, ok := splitMessage(msg)
	var rec audit.Record
	if ok && json.Unmarshal(line, &rec) == nil {
		id = rec.ID
		for level := truncDetails; level <= truncMinimal; level++ {
			short, err := audit.Encode(truncatedCopy(&rec, level))
			if err == nil && len(hdr)+len(short) <= limit {
				return append(bytes.Clone(hdr), short...), nil, id
			}
		}
	}
	loss, lossLine := s.lossRecord(1, map[lossKey]uint64{messageKey(msg): 1}, fmt.Sprintf("audit record %s (%s, %d bytes) was not sent to syslog: larger than one message (%d bytes) even truncated", cut(id, 64), cut(string(rec.Type), 32), len(msg), limit))
	out = s.format(loss, lossLine)
	if len(out) > limit {
		return nil, nil, id
	}
	return out, func() {
		s.log.WithField("id", id).Warn("audit record too large for syslog even truncated; sent an audit.loss record in its place")
		s.report(loss, lossLine)
	}, id
}

// splitMessage splits an RFC 5424 message as format writes it into the
// header up to and including the space before MSG, and MSG.
func splitMessage(msg []byte) (hdr, line []byte, ok bool) {
	spaces := 0
	for i, c := range msg {
		if c == ' ' {
			if spaces++; spaces == 7 {
				return msg[:i+1], msg[i+1:], true
			}
		}
	}
	return nil, nil, false
}
