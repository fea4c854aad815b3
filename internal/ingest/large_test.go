package ingest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// largeRecords writes n interaction records of about kb kilobytes each:
// hundreds of accessed resources, as a heavy Copilot user's record has.
func largeRecords(n, kb int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"CreationTime":"2026-03-01T00:%02d:%02d","Id":"00000000-0000-4000-8000-%012d","Operation":"CopilotInteraction","OrganizationId":"424b1fee-9709-4315-85d9-5954058b4714","RecordType":261,"UserKey":"k","UserType":0,"Version":1,"Workload":"Copilot","UserId":"u@contoso.example","ClientIP":"192.0.2.1","CopilotEventData":{"AppHost":"Word","AccessedResources":[`, i/60%60, i%60, i)
		start := b.Len()
		for j := 0; b.Len()-start < kb*1000; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"Action":"Read","Id":"https://contoso.sharepoint.example/sites/s%d/doc%06d.docx","Name":"doc%06d.docx","Type":"File"}`, i, j, j)
		}
		b.WriteString(`],"Messages":[{"Id":"1","isPrompt":true}]}}` + "\n")
	}
	return b.Bytes()
}

// TestImportLargeRecords: DuckDB holds strings over about 4 KB in memory
// until a checkpoint writes them, so many large records in one transaction
// used to fail its commit within the small memory limit writers run with.
// 600 records of 70 KB (42 MB) into a store limited to 32 MB must all land,
// once.
func TestImportLargeRecords(t *testing.T) {
	data := largeRecords(600, 70)
	if len(data) < 600*70000 {
		t.Fatalf("generated %d bytes, want at least %d", len(data), 600*70000)
	}
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{MemoryLimit: "32MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for run, want := range []Summary{{Read: 600, Stored: 600}, {Read: 600, Duplicates: 600}} {
		rd, err := reader.Open(bytes.NewReader(data), reader.FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Import(context.Background(), st, "large.jsonl", rd, Options{})
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if got != want {
			t.Errorf("run %d: got %+v, want %+v", run+1, got, want)
		}
	}
	if n := scalar[int64](t, st, `SELECT count(DISTINCT RecordId) FROM CopilotActivity WHERE octet_length(RawRecord) > 70000`); n != 600 {
		t.Errorf("%d distinct large records stored, want 600", n)
	}
}
