package plugin_test

import (
	"io"
	"testing"

	"github.com/portcullis/portcullis/internal/audit/sink"
	"github.com/portcullis/portcullis/internal/plugin"
)

// BenchmarkTrailRecord is the request-phase audit record of each call of
// the recorded traffic, judged once up front: the record described,
// encoded and handed to a sink that discards it, so that what is measured
// is the record's own work, not a file's write(2).
func BenchmarkTrailRecord(b *testing.B) {
	a, err := sink.New(sink.Config{PluginVersion: "bench", Sinks: []sink.NamedSink{{Name: "discard", Sink: sink.NewWriterSink(io.Discard), Required: true}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	p := plugin.New(loadPolicies(b))
	var outs []*plugin.Outcome
	for _, c := range benchCalls(b) {
		e := c.env
		outs = append(outs, p.Evaluate(&e))
	}
	t := plugin.NewTrail(a)
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range outs {
			if err := t.Record(o); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(outs)), "ns/record")
}
