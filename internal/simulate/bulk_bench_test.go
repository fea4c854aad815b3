package simulate

import (
	"testing"
	"time"
)

// BenchmarkBulk measures the bulk generator. The million-record figure:
// go test -run X -bench Bulk -benchtime 1000000x ./internal/simulate
func BenchmarkBulk(b *testing.B) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	err := Bulk(1, b.N, start, func(ev Event) error {
		bytes += int64(len(ev.Record))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "records/s")
	b.ReportMetric(float64(bytes)/secs/1e6, "MB/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/record")
}

// BenchmarkRun measures a full simulation of the CLI's default tenant
// (300 users, three days, scenarios and noise).
func BenchmarkRun(b *testing.B) {
	cfg := Config{Seed: 1, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Scenarios: true, NoiseRecords: true}
	records := 0
	b.ReportAllocs()
	for b.Loop() {
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(func(Event) error { records++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
