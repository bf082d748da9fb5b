// Package audit is Portcullis's decision trail record: one typed,
// versioned Record per authorization decision (and per lifecycle event)
// and its encoding as one JSON object per line. internal/audit/sink
// delivers records to the file and to syslog; internal/audit/describe
// fills a record's Summary, Target and masked URI from a decoded request,
// masking secrets (environment values, build args, sensitive labels) on
// the way. This package depends on the standard library alone.
// docs/audit.md documents every field and the delivery guarantees.
package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the Record schema this package writes.
// It changes only when a field changes meaning or is removed; new optional
// fields do not change it.
const SchemaVersion = 1

// Type is what a record reports: a decision or a lifecycle event.
type Type string

// Record types.
const (
	TypeDecision           Type = "decision"
	TypePluginStart        Type = "plugin.start"
	TypePluginStop         Type = "plugin.stop"
	TypePolicyLoad         Type = "policy.load"
	TypePolicyReloadFailed Type = "policy.reload_failed"
	TypeAuditLoss          Type = "audit.loss"
	// TypePluginCrashed: the previous run stopped without closing the
	// trail (kill -9, a crash, power loss); written at the next start.
	TypePluginCrashed Type = "plugin.crashed"
	// TypeAuditRetention: retention deleted rotated audit files (Files).
	TypeAuditRetention Type = "audit.retention"
	// TypeAuditReopen: the audit file was reopened at its path (a
	// rotation tool moved, deleted or asked).
	TypeAuditReopen Type = "audit.reopen"
	// TypeDecisionSummary counts the decisions a policy's audit volume
	// setting did not record one by one (Count, Action).
	TypeDecisionSummary Type = "decision.summary"

	// Container lifecycle events no request caused, from the daemon's
	// event stream (Target: the container and its owner; EventTime).
	// TypeContainerDied: its process exited (ExitCode).
	TypeContainerDied Type = "container.died"
	// TypeContainerOOM: the kernel killed a process of it for memory.
	TypeContainerOOM Type = "container.oom"
	// TypeContainerRestarted: started again after it died: by its
	// restart policy (or a start or restart request, which has its own
	// decision record).
	TypeContainerRestarted Type = "container.restarted"
	// TypeContainerUnhealthy: its health check turned unhealthy.
	TypeContainerUnhealthy Type = "container.unhealthy"
	// TypeContainerRemoved: removed by --rm (or a remove request).
	TypeContainerRemoved Type = "container.removed"
	// TypeEventsGap: daemon events between GapFrom and GapTo may be
	// missing from the trail (GapFrom absent: from the beginning).
	TypeEventsGap Type = "events.gap"
)

// RuleUnavailable is the rule of a request denied because a required
// sink could not record its decision.
const RuleUnavailable = "audit.unavailable"

// UnavailableReason is the reason given with RuleUnavailable.
func UnavailableReason(err error) string {
	return "the audit trail cannot be written, so nothing is allowed: " + err.Error()
}

// Phase is the authorization protocol call a decision answers.
type Phase string

// Phases.
const (
	PhaseRequest  Phase = "request"  // AuthZReq, before the daemon acts
	PhaseResponse Phase = "response" // AuthZRes, after the daemon acted
)

// Decision is allow or deny.
type Decision string

// Decisions.
const (
	Allow Decision = "allow"
	Deny  Decision = "deny"
)

// Mode is how the policy's decision is applied.
type Mode string

// Modes.
const (
	// ModeEnforce answers the daemon with the policy's decision.
	ModeEnforce Mode = "enforce"
	// ModeAudit answers allow and records what enforcement would have done
	// in EnforcedDecision and WouldDeny.
	ModeAudit Mode = "audit"
)

// Record is one line of the audit trail. Field order here is the order in
// the JSON output. docs/audit.md documents every field.
type Record struct {
	Version int       `json:"version"`
	Type    Type      `json:"type"`
	ID      string    `json:"id"`
	Time    Timestamp `json:"time"`

	// Decision records.
	Phase            Phase       `json:"phase,omitempty"`
	Mode             Mode        `json:"mode,omitempty"`
	Decision         Decision    `json:"decision,omitempty"`
	EnforcedDecision Decision    `json:"enforced_decision,omitempty"`
	WouldDeny        *bool       `json:"would_deny,omitempty"`
	Identity         *Identity   `json:"identity,omitempty"`
	Policy           string      `json:"policy,omitempty"`
	PolicyRevision   string      `json:"policy_revision,omitempty"`
	Violations       []Violation `json:"violations,omitempty"`
	Action           string      `json:"action,omitempty"`
	Method           string      `json:"method,omitempty"`
	URI              string      `json:"uri,omitempty"`
	APIVersion       string      `json:"api_version,omitempty"`
	Target           *Target     `json:"target,omitempty"`
	Summary          *Summary    `json:"summary,omitempty"`
	DurationNS       int64       `json:"duration_ns,omitempty"`

	// Response phase.
	RequestID  string `json:"request_id,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	CreatedID  string `json:"created_id,omitempty"`

	// Masked lists the summary fields whose values were replaced by "***".
	Masked []string `json:"masked,omitempty"`

	// Lifecycle events.
	Message     string   `json:"message,omitempty"`
	Diagnostics []string `json:"diagnostics,omitempty"`
	Dropped     uint64   `json:"dropped,omitempty"`

	// Deferred says that no decision waits for this record to be written:
	// the file sink adds it to the next write instead of writing now (at
	// most deferDelay later). Response records are deferred; the daemon
	// has already acted on them, and a failure to write one is only
	// logged. Not part of the record.
	Deferred bool `json:"-"`
	// Sink names the sink that lost the records of an audit.loss record
	// ("syslog"); the record reaches the other sinks too.
	Sink string `json:"sink,omitempty"`

	// Truncated marks a shortened copy of a record, sent where the whole
	// record did not fit (a syslog datagram); the other sinks hold it
	// whole. docs/audit.md says what a truncated copy leaves out.
	Truncated bool `json:"truncated,omitempty"`

	// OverriddenDecision is the decision the policy made when the plugin
	// answered otherwise: a required sink failed (RuleUnavailable), so
	// an allow was answered, and recorded, as a denial.
	OverriddenDecision Decision `json:"overridden_decision,omitempty"`
	// Losses counts, by record type, phase and decision, the records an
	// audit.loss record reports lost (Dropped is their sum).
	Losses []LossCount `json:"losses,omitempty"`
	// PreviousInstance and LastRecordID, in plugin.crashed, name the run
	// that stopped uncleanly and the last record found of it.
	PreviousInstance string `json:"previous_instance,omitempty"`
	LastRecordID     string `json:"last_record_id,omitempty"`
	// Files are the rotated files an audit.retention record deleted.
	Files []string `json:"files,omitempty"`
	// Count is how many decisions a decision.summary record stands for.
	Count uint64 `json:"count,omitempty"`
	// EventTime is when the daemon reported a container lifecycle event
	// (replayed events are recorded later than they happened).
	EventTime *Timestamp `json:"event_time,omitempty"`
	// ExitCode is a container.died record's exit code.
	ExitCode *int `json:"exit_code,omitempty"`
	// GapFrom and GapTo bound an events.gap record's interval.
	GapFrom *Timestamp `json:"gap_from,omitempty"`
	GapTo   *Timestamp `json:"gap_to,omitempty"`

	Instance      string `json:"instance"`
	PluginVersion string `json:"plugin_version"`
}

// LossCount is a number of records of one type, phase and decision that
// a sink did not take.
type LossCount struct {
	Type     Type     `json:"type"`
	Phase    Phase    `json:"phase,omitempty"`
	Decision Decision `json:"decision,omitempty"`
	Count    uint64   `json:"count"`
}

// Identity is who the daemon authenticated, as the plugin determined it
// from the daemon's own fields (never from client headers).
type Identity struct {
	User        string `json:"user,omitempty"`
	AuthNMethod string `json:"authn_method,omitempty"`
	// Team is the team the policy mapped the user to, if any.
	Team string `json:"team,omitempty"`
	// CertSubject is the client certificate's subject (RFC 2253).
	CertSubject string `json:"cert_subject,omitempty"`
	// UID, PID and Exe describe a local caller, as the portcullis
	// gateway learnt them from the kernel: the user's uid, and the client
	// process and its executable when the kernel gave them.
	UID string `json:"uid,omitempty"`
	PID int    `json:"pid,omitempty"`
	Exe string `json:"exe,omitempty"`
}

// Violation is one rule that denied (or would have denied) a request.
type Violation struct {
	Rule   string `json:"rule"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Target names the objects a request acts on. Object holds the path
// variable of routes on other kinds of object (plugin, service, node,
// secret, config, task); Action tells which kind.
type Target struct {
	Container string `json:"container,omitempty"`
	Exec      string `json:"exec,omitempty"`
	Image     string `json:"image,omitempty"`
	Volume    string `json:"volume,omitempty"`
	Network   string `json:"network,omitempty"`
	Object    string `json:"object,omitempty"`
	// ID is the full id the target resolved to, and OwnerTeam and
	// OwnerUser who owns it, when ownership is kept (--state-dir).
	ID        string `json:"id,omitempty"`
	OwnerTeam string `json:"owner_team,omitempty"`
	OwnerUser string `json:"owner_user,omitempty"`
}

// Timestamp is a time encoded as RFC 3339 in UTC with exactly nine
// fractional digits, so that records sort lexically by time.
type Timestamp time.Time

const timestampLayout = "2006-01-02T15:04:05.000000000Z"

// Time returns t as a time.Time.
func (t Timestamp) Time() time.Time { return time.Time(t) }

// IsZero reports whether t is the zero time.
func (t Timestamp) IsZero() bool { return time.Time(t).IsZero() }

// String formats t as it appears in records.
func (t Timestamp) String() string { return time.Time(t).UTC().Format(timestampLayout) }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timestampLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, timestampLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decode time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("decode time: %w", err)
	}
	*t = Timestamp(v.UTC())
	return nil
}

// NewID returns a new decision id: a UUIDv7 (RFC 9562) — 48 bits of Unix
// milliseconds, then 74 random bits from crypto/rand — so ids are unique
// and sort roughly by creation time.
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		// crypto/rand.Read does not fail on supported platforms.
		panic(fmt.Sprintf("audit: read random id: %v", err))
	}
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(u[:8], ms<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// Encode returns rec as one line of JSON without the trailing newline,
// exactly as encoding/json would encode it with HTML escaping off (a URI's
// & stays &); encode.go writes it without reflection. The error is always
// nil: every record encodes.
func Encode(rec *Record) ([]byte, error) {
	buf := lineBufs.Get().(*[]byte)
	line := appendRecord((*buf)[:0], rec)
	out := append([]byte(nil), line...)
	if cap(line) <= maxPooledLine {
		*buf = line[:0]
		lineBufs.Put(buf)
	}
	return out, nil
}

// AppendRecord appends rec's encoding, Encode's line, to b: the auditor
// encodes each record once into a buffer of its own with it.
func AppendRecord(b []byte, rec *Record) []byte { return appendRecord(b, rec) }

// ParseCreatedID returns the id in a create response body such as
// {"Id":"4f1c…","Warnings":[]} (keys match case-insensitively, so
// {"ID":…} of service create works too), or "" when the body is not such an
// object or the id is not a short printable string. Call it only for
// successful create actions: it parses the whole body.
func ParseCreatedID(body []byte) string {
	var v struct {
		ID string `json:"Id"`
	}
	if len(body) == 0 || len(body) > 1<<20 || json.Unmarshal(body, &v) != nil {
		return ""
	}
	if len(v.ID) > 128 || !utf8.ValidString(v.ID) {
		return ""
	}
	for _, r := range v.ID {
		if r <= ' ' || r == 0x7f {
			return ""
		}
	}
	return v.ID
}

// PolicyRevision hashes a loaded policy set for Record.PolicyRevision:
// "sha256:" and the hex SHA-256 of every file's name and contents, in name
// order, each length-prefixed so that no two sets collide by moving bytes
// between names and contents.
func PolicyRevision(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	var n [8]byte
	for _, name := range names {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write(files[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
