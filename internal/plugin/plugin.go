// Package plugin is Portcullis' side of the Docker authorization plugin
// protocol: it decodes the daemon's AuthZ messages, asks the loaded policy
// set for a decision, records it, and answers. Everything here fails
// closed: a message it cannot decode, a request it cannot judge, an
// internal error or a panic is answered with a denial and a reason.
package plugin

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/sirupsen/logrus"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/metrics"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// Plugin answers the daemon's AuthZReq and AuthZRes calls. It is safe for
// concurrent use; the policy set can be swapped at any time with SetPolicy.
type Plugin struct {
	policies atomic.Pointer[policy.Set]
	owners   Owners
	// carried holds what allowed creates' bodies said of the objects
	// they create, for their response phase (see carryCreate).
	carried  carriedCreates
	audit    Auditor
	log      logrus.FieldLogger
	instance string
	version  string
	started  time.Time
	now      func() time.Time
	// auditErrs rate-limits the log line of a failed audit record.
	auditErrs rateLog
	metrics   *metrics.Metrics // nil: none
	// selfToken recognises Portcullis's own requests (self.go); nil: none.
	selfToken []byte
}

// Option configures a Plugin.
type Option func(*Plugin)

// WithAuditor sends one record per decision to a.
func WithAuditor(a Auditor) Option { return func(p *Plugin) { p.audit = a } }

// WithMetrics counts decisions, denials and latencies in m.
func WithMetrics(m *metrics.Metrics) Option { return func(p *Plugin) { p.metrics = m } }

// WithLogger sets the operational logger.
func WithLogger(l logrus.FieldLogger) Option { return func(p *Plugin) { p.log = l } }

// WithInstance sets the plugin instance id (default: a new random id).
func WithInstance(id string) Option { return func(p *Plugin) { p.instance = id } }

// WithVersion sets the version /Portcullis.Status reports (default "dev").
func WithVersion(v string) Option { return func(p *Plugin) { p.version = v } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(p *Plugin) { p.now = now } }

// New returns a Plugin judging with set. A nil set denies everything.
func New(set *policy.Set, opts ...Option) *Plugin {
	p := &Plugin{
		audit:    nopAuditor{},
		log:      logrus.StandardLogger(),
		instance: newID(),
		version:  "dev",
		now:      time.Now,
	}
	for _, o := range opts {
		o(p)
	}
	p.started = p.now()
	p.auditErrs = rateLog{every: 10 * time.Second, now: p.now}
	p.policies.Store(set)
	return p
}

// SetPolicy replaces the policy set atomically: each request is judged by
// exactly one set, the old or the new.
func (p *Plugin) SetPolicy(set *policy.Set) { p.policies.Store(set) }

// Policy returns the set in use.
func (p *Plugin) Policy() *policy.Set { return p.policies.Load() }

// Instance is this process's plugin instance id, as in audit records.
func (p *Plugin) Instance() string { return p.instance }

// Started is when the plugin was created.
func (p *Plugin) Started() time.Time { return p.started }

// Outcome is everything known about one decision; audit records are made
// from it.
type Outcome struct {
	ID       string
	Phase    string // "request" or "response"
	Time     time.Time
	Identity request.Identity
	// Request is the parsed request; nil when the envelope or URI could
	// not be parsed at all.
	Request *request.Request
	// Method and URI as the daemon reported them, even when Request is nil.
	Method, URI string
	Decision    policy.Decision
	// Rejected is set when the request was denied before any policy
	// judged it (malformed, body missing or undecodable, internal error).
	Rejected *request.Error
	Revision string
	Duration time.Duration
	// Target is the object the request's target resolved to (request
	// phase) or that the response created, removed or renamed (response
	// phase), when ownership is kept.
	Target *request.Object
	// Response phase only.
	StatusCode      int
	ResponseBody    []byte
	ResponseHeaders map[string]string
}

// Allowed is the answer sent to the daemon.
func (o *Outcome) Allowed() bool { return o.Rejected == nil && o.Decision.Allow }

// Message is what the docker CLI shows after "authorization denied by
// plugin NAME: ". Empty when allowed.
func (o *Outcome) Message() string {
	if o.Rejected != nil {
		return "portcullis: request rejected: " + o.Rejected.Error()
	}
	if o.Decision.Allow {
		return ""
	}
	return o.Decision.Message()
}

// AuthZReq judges one request. It implements authorization.Plugin.
func (p *Plugin) AuthZReq(req authorization.Request) authorization.Response {
	e, err := envelopeOf(req)
	if err != nil {
		return p.fail("request", e, err)
	}
	return p.judge(e)
}

// AuthZRes records the daemon's response to a request that was allowed.
// Portcullis does not filter responses: it allows them.
func (p *Plugin) AuthZRes(req authorization.Request) authorization.Response {
	e, _ := envelopeOf(req)
	return p.respond(e)
}

// envelopeOf converts the protocol library's request into an Envelope.
func envelopeOf(req authorization.Request) (*Envelope, error) {
	e := &Envelope{
		User: req.User, UserAuthNMethod: req.UserAuthNMethod,
		RequestMethod: req.RequestMethod, RequestURI: req.RequestURI,
		RequestBody: req.RequestBody, RequestHeaders: req.RequestHeaders,
		ResponseStatusCode: req.ResponseStatusCode, ResponseBody: req.ResponseBody,
		ResponseHeaders: req.ResponseHeaders,
	}
	for _, c := range req.RequestPeerCertificates {
		raw, err := c.MarshalJSON()
		if err != nil {
			return e, fmt.Errorf("encode peer certificate: %w", err)
		}
		e.RequestPeerCertificates = append(e.RequestPeerCertificates, raw)
	}
	return e, nil
}

// judge decides one envelope of the request phase.
func (p *Plugin) judge(e *Envelope) authorization.Response {
	o := p.Evaluate(e)
	res := p.finish(o)
	if res.Allow {
		// Before the answer: the response phase follows it.
		p.carryCreate(e, o.Request)
	}
	return res
}

// Evaluate decides one request-phase envelope without recording or
// answering it: what `portcullis eval` and policy tests use.
func (p *Plugin) Evaluate(e *Envelope) *Outcome {
	start := p.now()
	o := &Outcome{ID: newID(), Phase: "request", Time: start, Method: e.RequestMethod, URI: e.RequestURI}
	set := p.policies.Load()
	if set != nil {
		o.Revision = set.Revision()
	}

	id, err := e.identity()
	o.Identity = id
	switch {
	case err != nil:
		o.Rejected = &request.Error{Code: request.CodeMalformed, Field: "RequestPeerCertificates", Reason: err.Error()}
	case e.RequestMethod == "" && e.RequestURI == "":
		o.Rejected = &request.Error{Code: request.CodeMalformed, Reason: "the authorization request is empty"}
	case set == nil:
		o.Rejected = &request.Error{Code: "plugin.no_policy", Reason: "no policy is loaded"}
	default:
		r, err := request.Parse(e.RequestMethod, e.RequestURI, e.RequestHeaders, e.RequestBody)
		o.Request = r
		if err != nil {
			o.Rejected = asRequestError(err)
			break
		}
		if p.isSelf(e, r) {
			o.Decision = policy.Decision{Allow: true, Mode: "enforce", Policy: SelfPolicy}
			break
		}
		if p.owners == nil {
			o.Decision = set.Decide(id, r)
			break
		}
		o.Decision = set.DecideWith(id, r, p.owners)
		if r.Target != "" && r.TargetKind != request.KindNone {
			if t, res := p.owners.Resolve(r.TargetKind, r.Target); res == request.Found {
				o.Target = &t
			}
		}
	}
	o.Duration = p.now().Sub(start)
	return o
}

// respond handles one envelope of the response phase.
func (p *Plugin) respond(e *Envelope) authorization.Response {
	start := p.now()
	o := &Outcome{
		ID: newID(), Phase: "response", Time: start, Method: e.RequestMethod, URI: e.RequestURI,
		StatusCode: e.ResponseStatusCode, ResponseBody: e.ResponseBody, ResponseHeaders: e.ResponseHeaders,
	}
	o.Identity, _ = e.identity()
	o.Decision = policy.Decision{Allow: true}
	set := p.policies.Load()
	if set != nil {
		o.Revision = set.Revision()
		o.Decision.Team = set.TeamOf(o.Identity)
	}
	if p.owners != nil && set != nil {
		t, err := p.followResponse(e, set, o.Identity)
		o.Target = t
		if err != nil {
			// The object exists but has no owner: it is judged as
			// unowned from now on. Tell the client instead of
			// answering as if all went well.
			o.Rejected = &request.Error{Code: "ownership.unrecorded", Reason: err.Error()}
		}
	}
	// The request phase judged the request and recorded what it asked
	// for; the response record needs only its route, which the audit
	// trail keeps from the request phase (o.Request stays nil).
	o.Duration = p.now().Sub(start)
	return p.finish(o)
}

// finish records the outcome and turns it into the daemon's answer. A
// request record that a required sink cannot take turns an allow into a
// denial; a response has already happened, so its record failing is only
// logged.
func (p *Plugin) finish(o *Outcome) authorization.Response {
	if err := p.audit.Record(o); err != nil {
		p.auditErrs.log(p.log.WithError(err).WithField("decision_id", o.ID), logrus.ErrorLevel,
			"audit record not written (one line per interval; \"repeated\" counts the records since the last line)")
		if o.Phase == "request" && o.Allowed() {
			o.Rejected = &request.Error{Code: audit.RuleUnavailable, Reason: audit.UnavailableReason(err)}
		}
	}
	if p.metrics != nil && o.Phase == "request" {
		p.observe(o)
	}
	if o.Allowed() {
		return authorization.Response{Allow: true}
	}
	msg := o.Message() + " (decision " + o.ID + ")"
	// The decision's record is in the audit trail and dockerd logs the
	// denial with its message; the operational log repeats it only at
	// debug level (formatting it cost a denial about 5 us).
	if debugEnabled(p.log) {
		p.log.WithFields(logrus.Fields{
			"decision_id": o.ID, "user": o.Identity.User, "method": o.Method, "uri": o.URI,
		}).Debug(o.Message())
	}
	return authorization.Response{Allow: false, Msg: msg}
}

// observe counts a request-phase answer.
func (p *Plugin) observe(o *Outcome) {
	action := string(request.ActionUnknown)
	if o.Request != nil && o.Request.Action != "" {
		action = string(o.Request.Action)
	}
	var rules []string
	if !o.Allowed() {
		if o.Rejected != nil {
			rules = append(rules, o.Rejected.Code)
		}
		for _, v := range o.Decision.Violations {
			rules = append(rules, v.Rule)
		}
	}
	p.metrics.Decision(action, o.Decision.Policy, o.Decision.Team, o.Allowed(), rules, o.Duration)
}

// debugEnabled reports whether l logs at debug level (true when it cannot
// tell).
func debugEnabled(l logrus.FieldLogger) bool {
	switch l := l.(type) {
	case *logrus.Logger:
		return l.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}

// fail denies an envelope the plugin could not handle.
func (p *Plugin) fail(phase string, e *Envelope, err error) authorization.Response {
	o := &Outcome{ID: newID(), Phase: phase, Time: p.now(), Method: e.RequestMethod, URI: e.RequestURI}
	o.Rejected = &request.Error{Code: "plugin.internal", Reason: err.Error()}
	return p.finish(o)
}

func asRequestError(err error) *request.Error {
	if re, ok := request.AsError(err); ok {
		return re
	}
	return &request.Error{Code: "plugin.internal", Reason: err.Error()}
}

// newID is a decision id: the audit trail's own ids (UUIDv7, so they sort
// by time), so that the id a user sees in a denial is the record's id.
func newID() string { return audit.NewID() }
