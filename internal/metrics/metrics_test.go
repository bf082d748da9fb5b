package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/portcullis/portcullis/internal/metrics"
)

// scrape serves m over HTTP, as Prometheus scrapes it, and parses the
// text exposition format with the client library's parser.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

func exercised(t *testing.T) *metrics.Metrics {
	m := metrics.New(metrics.Options{
		AuditStats: func() []metrics.SinkStats {
			return []metrics.SinkStats{{Sink: "file", Written: 7, Lost: 2}, {Sink: "syslog", Written: 5, Queued: 1, Spooled: 3}}
		},
		OpenConnections: func() float64 { return 3 },
		Ownership: func() []metrics.ObjectCount {
			return []metrics.ObjectCount{{Kind: "container", Owned: 4, Unowned: 1}, {Kind: "volume", Owned: 2}}
		},
	})
	m.Decision("container.create", "default", "", false, []string{"container.privileged"}, 20*time.Microsecond)
	m.Decision("system.ping", "web", "web", true, nil, 5*time.Microsecond)
	m.Call("request", 40*time.Microsecond)
	m.Call("response", 10*time.Microsecond)
	m.Reload("failed")
	m.SetRevision("aaa")
	m.SetRevision("bbb")
	return m
}

func value(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	for _, mt := range f.GetMetric() {
		ok := true
		for k, v := range labels {
			found := false
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue(), true
			case mt.Gauge != nil:
				return mt.Gauge.GetValue(), true
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestFamilies(t *testing.T) {
	fams := scrape(t, exercised(t))
	for _, tc := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{metrics.Decisions, map[string]string{"action": "container.create", "policy": "default", "team": "", "decision": "deny"}, 1},
		{metrics.Decisions, map[string]string{"action": "system.ping", "team": "web", "decision": "allow"}, 1},
		{metrics.Denials, map[string]string{"rule": "container.privileged"}, 1},
		{metrics.JudgeSeconds, nil, 2},
		{metrics.CallSeconds, map[string]string{"phase": "request"}, 1},
		{metrics.CallSeconds, map[string]string{"phase": "response"}, 1},
		{metrics.AuditRecords, map[string]string{"sink": "file", "outcome": "written"}, 7},
		{metrics.AuditRecords, map[string]string{"sink": "file", "outcome": "lost"}, 2},
		{metrics.AuditRecords, map[string]string{"sink": "syslog", "outcome": "spooled"}, 3},
		{metrics.AuditRecords, map[string]string{"sink": "syslog", "outcome": "queued"}, 1},
		{metrics.Reloads, map[string]string{"outcome": "failed"}, 1},
		{metrics.Reloads, map[string]string{"outcome": "loaded"}, 0},
		{metrics.PolicyRevision, map[string]string{"revision": "bbb"}, 1},
		{metrics.OpenConnections, nil, 3},
		{metrics.OwnershipObjects, map[string]string{"kind": "container", "owned": "true"}, 4},
		{metrics.OwnershipObjects, map[string]string{"kind": "container", "owned": "false"}, 1},
		{metrics.OwnershipObjects, map[string]string{"kind": "volume", "owned": "true"}, 2},
		{metrics.OwnershipObjects, map[string]string{"kind": "volume", "owned": "false"}, 0},
	} {
		f := fams[tc.family]
		if f == nil {
			t.Errorf("no family %s", tc.family)
			continue
		}
		got, ok := value(f, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.family, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(fams[metrics.PolicyRevision], map[string]string{"revision": "aaa"}); ok {
		t.Error("the previous revision is still reported")
	}
}

// metricName matches the metric names the examples use.
var metricName = regexp.MustCompile(`\b(?:portcullis|process|go)_[a-z0-9_]+\b`)

// TestExamplesUseExistingMetrics: every metric the example Grafana
// dashboard and Prometheus alert rules name exists on the endpoint.
func TestExamplesUseExistingMetrics(t *testing.T) {
	fams := scrape(t, exercised(t))
	exists := func(name string) bool {
		if fams[name] != nil {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && fams[base] != nil && fams[base].GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	files, err := filepath.Glob("../../examples/metrics/*")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples/metrics: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, n := range metricName.FindAllString(string(b), -1) {
			names[n] = true
		}
		if len(names) == 0 {
			t.Errorf("%s names no metric", f)
		}
		var sorted []string
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, n := range sorted {
			if !exists(n) {
				t.Errorf("%s uses %s, which the metrics endpoint does not have", f, n)
			}
		}
	}
}

// TestNilMetrics: a plugin without --metrics-listen holds a nil *Metrics.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.Decision("a", "p", "t", true, nil, time.Second)
	m.Call("request", time.Second)
	m.Reload("loaded")
	m.SetRevision("x")
}
