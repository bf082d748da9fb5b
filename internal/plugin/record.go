package plugin

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sort"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/describe"
	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/request"
)

// Trail turns outcomes into audit records and links each response record
// to the decision of its request.
type Trail struct {
	a       *sink.Auditor
	pending pendingRequests

	// Health calls a policy summarises (audit_health_calls), counted
	// until the next FlushSummary.
	sumMu sync.Mutex
	sums  map[summaryKey]uint64
	since time.Time
}

type summaryKey struct {
	policy, team, user, action string
	phase                      audit.Phase
}

// NewTrail records outcomes with a.
func NewTrail(a *sink.Auditor) *Trail {
	return &Trail{a: a, pending: pendingRequests{ids: map[uint64][]pending{}}, sums: map[summaryKey]uint64{}, since: time.Now()}
}

// SummaryInterval is how often serve writes the decision.summary records.
const SummaryInterval = time.Minute

// FlushSummary writes one decision.summary record per policy, team, user,
// action and phase for the health calls counted since the last flush.
func (t *Trail) FlushSummary() error {
	t.sumMu.Lock()
	sums, since := t.sums, t.since
	t.sums, t.since = map[summaryKey]uint64{}, time.Now()
	t.sumMu.Unlock()
	keys := make([]summaryKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	var errs []error
	for _, k := range keys {
		n := sums[k]
		rec := &audit.Record{
			Type: audit.TypeDecisionSummary, Phase: k.phase, Decision: audit.Allow, Policy: k.policy, Action: k.action, Count: n,
			Message: fmt.Sprintf("%d allowed %s calls (%s phase) since %s, summarised by the policy's audit_health_calls", n, k.action, k.phase, since.UTC().Format(time.RFC3339)),
		}
		if k.team != "" || k.user != "" {
			rec.Identity = &audit.Identity{Team: k.team, User: k.user}
		}
		if err := t.a.Record(rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *Trail) count(k summaryKey) {
	t.sumMu.Lock()
	t.sums[k]++
	t.sumMu.Unlock()
}

// Record writes one record for o. It implements Auditor.
func (t *Trail) Record(o *Outcome) error {
	if o.Phase == "request" && o.Allowed() && o.Decision.SummarizeAudit && o.Request != nil {
		t.count(summaryKey{o.Decision.Policy, o.Decision.Team, o.Identity.User, string(o.Request.Action), audit.PhaseRequest})
		t.pending.put(t.pending.key(o), pending{id: o.ID, route: o.Request.Route(), summary: &summaryKey{
			o.Decision.Policy, o.Decision.Team, o.Identity.User, string(o.Request.Action), audit.PhaseResponse}})
		return nil
	}
	rec := &audit.Record{
		Type:           audit.TypeDecision,
		ID:             o.ID,
		Time:           audit.Timestamp(o.Time.UTC()),
		Phase:          audit.Phase(o.Phase),
		PolicyRevision: o.Revision,
		Method:         o.Method,
		DurationNS:     o.Duration.Nanoseconds(),
	}
	key := t.pending.key(o)
	req := o.Request
	if o.Phase == "response" {
		// The response names the request its request record described,
		// by route: the request phase classified it already.
		var route *request.Request
		var sum *summaryKey
		rec.RequestID, route, sum = t.pending.take(key)
		if sum != nil {
			t.count(*sum)
			return nil
		}
		if req == nil {
			req = route
		}
		if req == nil {
			req, _ = request.Classify(o.Method, o.URI)
		}
	}
	if req != nil {
		describe.SetRequest(rec, req) // the sanitised URI, target, summary and what was masked
	} else {
		rec.URI, rec.Masked = describe.SanitizeURI(o.URI)
	}
	if t := o.Target; t != nil && t.ID != "" {
		if rec.Target == nil {
			rec.Target = &audit.Target{}
		}
		rec.Target.ID = t.ID
		rec.Target.OwnerTeam, rec.Target.OwnerUser = t.Owner.Team, t.Owner.User
	}
	if o.Identity.User != "" || o.Identity.Subject != "" || o.Identity.AuthNMethod != "" || o.Decision.Team != "" {
		rec.Identity = &audit.Identity{
			User: o.Identity.User, AuthNMethod: o.Identity.AuthNMethod,
			Team: o.Decision.Team, CertSubject: o.Identity.Subject,
			UID: o.Identity.UID, PID: o.Identity.PID, Exe: o.Identity.Exe,
		}
	}
	switch o.Phase {
	case "response":
		// The daemon has already acted; nothing waits for this record.
		rec.Deferred = true
		rec.Decision = audit.Allow
		rec.StatusCode = o.StatusCode
		if req != nil && req.Creates != request.KindNone && req.Creates != request.KindVolume && (o.StatusCode == 200 || o.StatusCode == 201) {
			rec.CreatedID = audit.ParseCreatedID(o.ResponseBody)
		}
	default:
		rec.Policy = o.Decision.Policy
		rec.Mode = audit.Mode(o.Decision.Mode)
		if o.Allowed() {
			rec.Decision = audit.Allow
		} else {
			rec.Decision = audit.Deny
		}
		if o.Rejected != nil {
			rec.Violations = []audit.Violation{{Rule: o.Rejected.Code, Field: o.Rejected.Field, Reason: o.Rejected.Reason}}
		}
		for _, v := range o.Decision.Violations {
			rec.Violations = append(rec.Violations, audit.Violation{Rule: v.Rule, Field: v.Field, Reason: v.Reason})
		}
		if o.Rejected == nil && o.Decision.Mode == "audit" {
			would := o.Decision.WouldDeny()
			rec.WouldDeny = &would
			rec.EnforcedDecision = audit.Allow
			if would {
				rec.EnforcedDecision = audit.Deny
			}
		}
	}
	if err := t.a.Record(rec); err != nil {
		return err
	}
	if o.Phase == "request" && o.Allowed() {
		var route *request.Request
		if o.Request != nil {
			route = o.Request.Route()
		}
		t.pending.put(key, pending{id: o.ID, route: route})
	}
	return nil
}

// pendingRequests remembers the ids of allowed requests until their
// response arrives. The daemon sends the same user, method, URI and body
// in both phases and nothing else that links them; identical requests in
// flight at once are told apart by arrival order. The map is bounded:
// requests whose response never comes (hijacked streams, daemon errors)
// are forgotten oldest first.
type pendingRequests struct {
	mu    sync.Mutex
	ids   map[uint64][]pending // per key, oldest first
	order []pendingEntry       // every put, oldest first, for eviction
}

// pending is an allowed request waiting for its response: its decision
// id and its route (no body).
type pending struct {
	id    string
	route *request.Request
	// summary, when set, counts the response in a summary record.
	summary *summaryKey
}

type pendingEntry struct {
	key uint64
	id  string
}

const maxPending = 4096

var seed = maphash.MakeSeed()

func (p *pendingRequests) key(o *Outcome) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(o.Identity.User)
	h.WriteByte(0)
	h.WriteString(o.Method)
	h.WriteByte(0)
	h.WriteString(o.URI)
	return h.Sum64()
}

func (p *pendingRequests) put(k uint64, e pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[k] = append(p.ids[k], e)
	p.order = append(p.order, pendingEntry{k, e.id})
	if len(p.order) > maxPending {
		old := p.order[0]
		p.order = p.order[1:]
		// Forget old.id unless its response already took it (both lists
		// are oldest first, so it can only be at the front).
		if ids := p.ids[old.key]; len(ids) > 0 && ids[0].id == old.id {
			p.remove(old.key, ids)
		}
	}
}

// take returns the oldest request waiting for a response with key k. Its
// entry in order is left for put to skip: taking stays O(1).
func (p *pendingRequests) take(k uint64) (id string, route *request.Request, summary *summaryKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.ids[k]
	if len(ids) == 0 {
		return "", nil, nil
	}
	first := ids[0]
	p.remove(k, ids)
	return first.id, first.route, first.summary
}

func (p *pendingRequests) remove(k uint64, ids []pending) {
	if len(ids) == 1 {
		delete(p.ids, k)
	} else {
		ids[0] = pending{}
		p.ids[k] = ids[1:]
	}
}
