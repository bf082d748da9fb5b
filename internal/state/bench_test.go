package state

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
	"github.com/portcullis/portcullis/test/benchcpu"
)

// BenchmarkRecord: recording one owner, in the journal when Record
// returns (what the response phase of every create waits for), with
// bbolt's commits behind it in the same process (cpu-ns/op counts them);
// "8clients" runs eight at once, as the load generator's clients do.
func BenchmarkRecord(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("%dclients", par), func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Uint64
			b.SetParallelism(par)
			done := benchcpu.Report(b)
			defer done()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprintf("%064x", n.Add(1)%512)
					if err := s.Record(request.Object{Kind: request.KindContainer, ID: id, Owner: request.Owner{Team: "web"}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
