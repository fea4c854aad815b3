package audit_test

import (
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/simulate"
)

// BenchmarkNormalize measures one record's normalization, the import
// pipeline's per-record Go cost, over the bulk simulator's records.
//
//	go test -run '^$' -bench Normalize -benchmem ./internal/audit/
func BenchmarkNormalize(b *testing.B) {
	var records [][]byte
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if err := simulate.Bulk(1, 4096, start, func(ev simulate.Event) error {
		records = append(records, ev.Record)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	n := audit.NewNormalizer(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := records[i%len(records)]
		if _, rej := n.Normalize(rec, rec); rej != nil {
			b.Fatal(rej.Reason)
		}
	}
}
