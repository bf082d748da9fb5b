package audit_test

import (
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/audit/describe"
	"github.com/portcullis/portcullis/internal/audit/sink"
)

func benchRecord(b *testing.B) *audit.Record {
	rec := goldenCases(b)[1].rec // the deny of a privileged create: a large record
	return rec
}

func BenchmarkEncodeRecord(b *testing.B) {
	rec := benchRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := audit.Encode(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func fileAuditor(b *testing.B, fc sink.FileConfig) *sink.Auditor {
	a, err := sink.New(sink.Config{PluginVersion: "bench", File: &fc})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkSummarize(b *testing.B) {
	req := parse(b, "POST", "/v1.47/containers/create?name=web", createBody)
	b.ReportAllocs()
	for b.Loop() {
		var r audit.Record
		describe.SetRequest(&r, req)
	}
}

// BenchmarkFileSink measures Auditor.Record (stamp, encode, write) to the
// file sink, sequentially and from parallel goroutines.
func BenchmarkFileSink(b *testing.B) {
	for _, sync := range []string{"interval", "always"} {
		b.Run("sync="+sync, func(b *testing.B) {
			a := fileAuditor(b, sink.FileConfig{Path: filepath.Join(b.TempDir(), "audit.log"), Sync: sync})
			defer a.Close()
			rec := *benchRecord(b)
			b.ReportAllocs()
			for b.Loop() {
				r := rec
				r.ID = ""
				if err := a.Record(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("sync="+sync+"/parallel", func(b *testing.B) {
			a := fileAuditor(b, sink.FileConfig{Path: filepath.Join(b.TempDir(), "audit.log"), Sync: sync})
			defer a.Close()
			rec := *benchRecord(b)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := rec
					r.ID = ""
					if err := a.Record(&r); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
