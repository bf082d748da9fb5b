// Package metrics is Portcullis's Prometheus endpoint: decisions, denials,
// latencies, the audit trail's deliveries and losses, policy reloads and
// the active policy revision. It is off unless serve is given
// --metrics-listen. The package knows nothing of the plugin or the audit
// trail: they report through its methods, and the audit trail's counters
// are read at scrape time through Options.AuditStats.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis/portcullis/internal/httpserve"
)

// SinkStats are one audit sink's record counts since start.
type SinkStats struct {
	Sink string
	// Written: taken by the sink (the file: handed to the kernel; syslog:
	// delivered to the server).
	Written uint64
	// Queued and Spooled: accepted into syslog's memory queue or its
	// disk spool, to be delivered.
	Queued, Spooled uint64
	// Lost: not written, and reported by audit.loss records.
	Lost uint64
}

// Options are the values read at scrape time.
type Options struct {
	// AuditStats returns the audit sinks' counts.
	AuditStats func() []SinkStats
	// OpenConnections returns the plugin socket's open connections.
	OpenConnections func() float64
	// Ownership returns the ownership store's objects by kind.
	Ownership func() []ObjectCount
}

// ObjectCount is how many objects of one kind the ownership store knows.
type ObjectCount struct {
	Kind           string
	Owned, Unowned int
}

// Metrics holds the registry and every metric family.
type Metrics struct {
	reg *prometheus.Registry

	decisions *prometheus.CounterVec
	denials   *prometheus.CounterVec
	judge     prometheus.Histogram
	call      *prometheus.HistogramVec
	reloads   *prometheus.CounterVec
	revision  *prometheus.GaugeVec

	mu      sync.Mutex
	current string // the revision label set now
}

// Names of the metric families, as the examples use them.
const (
	Decisions        = "portcullis_decisions_total"
	Denials          = "portcullis_denials_total"
	JudgeSeconds     = "portcullis_judge_duration_seconds"
	CallSeconds      = "portcullis_call_duration_seconds"
	AuditRecords     = "portcullis_audit_records_total"
	Reloads          = "portcullis_policy_reloads_total"
	PolicyRevision   = "portcullis_policy_revision_info"
	OpenConnections  = "portcullis_open_connections"
	OwnershipObjects = "portcullis_ownership_objects"
)

// latencyBuckets span a decision's usual 10 µs to a slow call's second.
var latencyBuckets = []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1}

// New registers every family, the Go runtime's and the process's.
func New(o Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Decisions, Help: "Request-phase decisions answered, by action, policy, team and decision (allow or deny).",
		}, []string{"action", "policy", "team", "decision"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Denials, Help: "Rules that denied requests (a request denied by several counts once per rule).",
		}, []string{"rule"}),
		judge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: JudgeSeconds, Help: "Time to decode and judge one request.", Buckets: latencyBuckets,
		}),
		call: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: CallSeconds, Help: "Time of one whole plugin call, from its body read to its answer, audit record included, by phase.", Buckets: latencyBuckets,
		}, []string{"phase"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Reloads, Help: "Policy reloads by outcome: loaded (a new revision), unchanged, failed.",
		}, []string{"outcome"}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: PolicyRevision, Help: "The policy revision in use (value 1).",
		}, []string{"revision"}),
	}
	m.reg.MustRegister(m.decisions, m.denials, m.judge, m.call, m.reloads, m.revision,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, outcome := range []string{"loaded", "unchanged", "failed"} {
		m.reloads.WithLabelValues(outcome)
	}
	if o.AuditStats != nil {
		m.reg.MustRegister(&auditCollector{stats: o.AuditStats})
	}
	if o.OpenConnections != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: OpenConnections, Help: "Open connections to the plugin socket.",
		}, o.OpenConnections))
	}
	if o.Ownership != nil {
		m.reg.MustRegister(&ownershipCollector{counts: o.Ownership})
	}
	return m
}

// Registry is the registry, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Decision counts one request-phase answer and the rules that denied it.
func (m *Metrics) Decision(action, policy, team string, allow bool, rules []string, judge time.Duration) {
	if m == nil {
		return
	}
	d := "allow"
	if !allow {
		d = "deny"
	}
	m.decisions.WithLabelValues(action, policy, team, d).Inc()
	for _, r := range rules {
		m.denials.WithLabelValues(r).Inc()
	}
	if judge > 0 {
		m.judge.Observe(judge.Seconds())
	}
}

// Call observes one whole call of phase "request" or "response".
func (m *Metrics) Call(phase string, d time.Duration) {
	if m == nil {
		return
	}
	m.call.WithLabelValues(phase).Observe(d.Seconds())
}

// Reload counts a reload: "loaded", "unchanged" or "failed".
func (m *Metrics) Reload(outcome string) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(outcome).Inc()
}

// SetRevision sets the active policy revision.
func (m *Metrics) SetRevision(rev string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current != "" {
		m.revision.DeleteLabelValues(m.current)
	}
	m.current = rev
	m.revision.WithLabelValues(rev).Set(1)
}

// Handler serves the registry in the exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Serve answers GET /metrics on addr until ctx is done.
func (m *Metrics) Serve(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	serveErr, err := httpserve.Run(ctx, srv, l, 2*time.Second, nil)
	if serveErr != nil {
		return fmt.Errorf("metrics: %w", serveErr)
	}
	return err
}

// auditCollector reads the audit sinks' counts at scrape time.
type auditCollector struct {
	stats func() []SinkStats
}

var auditDesc = prometheus.NewDesc(AuditRecords,
	"Audit records by sink and outcome: written (file: handed to the kernel; syslog: delivered), queued (syslog memory queue), spooled (syslog disk spool), lost (reported by audit.loss).",
	[]string{"sink", "outcome"}, nil)

func (c *auditCollector) Describe(ch chan<- *prometheus.Desc) { ch <- auditDesc }

func (c *auditCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		for _, v := range []struct {
			outcome string
			n       uint64
		}{{"written", s.Written}, {"queued", s.Queued}, {"spooled", s.Spooled}, {"lost", s.Lost}} {
			ch <- prometheus.MustNewConstMetric(auditDesc, prometheus.CounterValue, float64(v.n), s.Sink, v.outcome)
		}
	}
}

// ownershipCollector reads the ownership store's size at scrape time.
type ownershipCollector struct {
	counts func() []ObjectCount
}

var ownershipDesc = prometheus.NewDesc(OwnershipObjects,
	"Objects the ownership store knows, by kind and whether Portcullis saw them created (owned) or only listed them (unowned).",
	[]string{"kind", "owned"}, nil)

func (c *ownershipCollector) Describe(ch chan<- *prometheus.Desc) { ch <- ownershipDesc }

func (c *ownershipCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(ownershipDesc, prometheus.GaugeValue, float64(n.Owned), n.Kind, "true")
		ch <- prometheus.MustNewConstMetric(ownershipDesc, prometheus.GaugeValue, float64(n.Unowned), n.Kind, "false")
	}
}
