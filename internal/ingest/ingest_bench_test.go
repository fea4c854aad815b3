package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// benchFile writes n realistic Copilot interaction records as JSONL (or uses
// $AIWATCH_BENCH_FILE) and returns its path and size.
func benchFile(b *testing.B, n int) (string, int64) {
	b.Helper()
	if p := os.Getenv("AIWATCH_BENCH_FILE"); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		return p, fi.Size()
	}
	path := filepath.Join(b.TempDir(), "bench.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hosts := []string{"Word", "Teams", "Outlook", "bizchat", "Excel"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, `{"CreationTime":"%s","Id":"%08x-0000-4000-8000-%012x","Operation":"CopilotInteraction","OrganizationId":"424b1fee-9709-4315-85d9-5954058b4714","RecordType":261,"UserKey":"k%d","UserType":0,"Version":1,"Workload":"Copilot","ClientIP":"192.0.2.%d","ClientRegion":"US","UserId":"user%d@contoso.example","AppIdentity":"Copilot.M365Copilot.Bizchat","CopilotEventData":{"AISystemPlugin":[],"AccessedResources":[`,
			base.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05"), i, i, i%300, i%250, i%300)
		for j := 0; j < i%9; j++ {
			if j > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(w, `{"Action":"Read","Id":"https:\/\/contoso.sharepoint.example\/sites\/s\/doc%d.docx","Name":"Doc %d.docx","SensitivityLabelId":"ceb309b8-8ec1-4b9e-873a-50eaddc1221e","SiteUrl":"https:\/\/contoso.sharepoint.example\/sites\/s","Type":"File"}`, j, j)
		}
		fmt.Fprintf(w, `],"AppHost":%q,"Contexts":[{"Id":"https:\/\/contoso.sharepoint.example\/x%d","Type":"docx"}],"MessageIds":[],"Messages":[{"Id":"%d","JailbreakDetected":false,"isPrompt":true},{"Id":"%d","JailbreakDetected":false,"isPrompt":false}],"ModelTransparencyDetails":[{"ModelName":"DEEP_LEO"}],"ThreadId":"19:abc%d@thread.v2"},"CopilotLogVersion":"1.0.0.0"}`+"\n",
			hosts[i%len(hosts)], i, 1772618526641+2*i, 1772618526642+2*i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(path)
	return path, fi.Size()
}

// BenchmarkImportJSONL measures parse+normalize+store of a JSONL file into a
// fresh store. AIWATCH_BENCH_RECORDS sets the size (default 50000).
func BenchmarkImportJSONL(b *testing.B) {
	n := 50000
	if s := os.Getenv("AIWATCH_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	path, size := benchFile(b, n)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open(context.Background(), b.TempDir(), store.Options{MemoryLimit: "192MB"})
		if err != nil {
			b.Fatal(err)
		}
		f, _ := os.Open(path)
		rd, err := reader.Open(f, reader.FormatAuto)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := Import(context.Background(), st, "bench", rd, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Close()
		st.Close()
		b.ReportMetric(float64(sum.Read), "records/op")
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
