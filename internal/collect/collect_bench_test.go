package collect

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365fake"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// genRecord is a Copilot record of about 700 bytes, deterministic in (blob, i).
func genRecord(blob, i int, created time.Time) []byte {
	id := fmt.Sprintf("%08x-%04x-4000-8000-%012x", blob, i%65536, i)
	ts := created.Add(-time.Duration(i%3600) * time.Second).UTC().Format("2006-01-02T15:04:05")
	return fmt.Appendf(nil, `{"CreationTime":%q,"Id":%q,"Operation":"CopilotInteraction","OrganizationId":%q,`+
		`"RecordType":261,"UserKey":"1003200%d","UserType":0,"Version":1,"Workload":"Copilot","ClientIP":"203.0.113.%d",`+
		`"UserId":"user%d@contoso.example","CopilotEventData":{"AppHost":"Teams","ThreadId":"19:meeting_%d@thread.v2",`+
		`"Contexts":[{"Id":"https://teams.microsoft.com/l/meeting/%d","Type":"TeamsMeeting"}],`+
		`"AccessedResources":[{"Id":"%d","Name":"Quarterly plan.docx","Type":"File","SiteUrl":"https://contoso.sharepoint.example/sites/plans"}],`+
		`"Messages":[{"Id":"%d","isPrompt":true},{"Id":"%d","isPrompt":false}],`+
		`"ModelTransparencyDetails":[{"ModelName":"GPT-4o","ModelVersion":"2024-05-13"}]}}`,
		ts, id, org, i%10, i%250, i%7, blob, i, i, i, i+1)
}

// BenchmarkCollect measures collection throughput from the fake API over
// loopback: AIWATCH_BENCH_RECORDS records (default 100000) in blobs of
// 1000, spread over the last 40 hours.
func BenchmarkCollect(b *testing.B) {
	records := envInt("AIWATCH_BENCH_RECORDS", 100_000)
	per := 1000
	blobs := max(records/per, 1)
	for range b.N {
		b.StopTimer()
		h := newHarness(b, o365fake.Options{})
		for k := range blobs {
			created := t0.Add(-40 * time.Hour).Add(time.Duration(k) * 39 * time.Hour / time.Duration(blobs))
			h.fake.PublishFunc(tenantA, general, per, func(i int) []byte { return genRecord(k, i, created) }, created, time.Time{})
		}
		c, err := New(context.Background(), h.options(nil))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res := c.Once(context.Background())
		el := time.Since(start)
		b.StopTimer()
		c.Close()
		if res[0].Err != nil || res[0].Summary.Stored != blobs*per {
			b.Fatalf("result %+v", res[0])
		}
		b.ReportMetric(float64(blobs*per)/el.Seconds(), "records/s")
		b.ReportMetric(float64(blobs)/el.Seconds(), "blobs/s")
	}
}

// BenchmarkBigBlob collects one big blob (AIWATCH_BIG_BLOB_MB, default 50)
// and reports the peak Go heap and the process's peak RSS: the blob streams
// through a spool file and is stored in batches, so the heap stays far
// below the blob's size (and does not grow with it).
func BenchmarkBigBlob(b *testing.B) {
	mb := envInt("AIWATCH_BIG_BLOB_MB", 50)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(128 << 20)) // as the CLI
	created := t0.Add(-2 * time.Hour)
	rec := len(genRecord(0, 0, created))
	n := mb << 20 / (rec + 1)
	size := int64(n) * int64(rec+1)
	for range b.N {
		b.StopTimer()
		h := newHarness(b, o365fake.Options{})
		h.fake.PublishFunc(tenantA, general, n, func(i int) []byte { return genRecord(1, i, created) }, created, time.Time{})
		c := h.collector(nil)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		res := c.Once(context.Background())
		el := time.Since(start)
		b.StopTimer()
		close(stop)
		<-done
		if res[0].Err != nil || res[0].Summary.Stored != n {
			b.Fatalf("result %+v", res[0])
		}
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
		b.ReportMetric(float64(size)/(1<<20), "blob-MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(base.HeapInuse)/(1<<20), "heap-before-MB")
		b.ReportMetric(float64(vmHWM())/1024, "peak-RSS-MB")
		// The heap holds batches of rows, never the blob.
		if size >= 200<<20 && peak > uint64(size)/4 {
			b.Fatalf("peak heap %d MB for a %d MB blob", peak>>20, size>>20)
		}
	}
}

// vmHWM reads the peak resident set size in kB from /proc (Linux; 0
// elsewhere).
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
