package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

const fixtures = "../../testdata/fixtures/"

func importFile(t *testing.T, st *store.Store, name string) Summary {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := reader.Open(f, reader.FormatAuto)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sum, err := Import(context.Background(), st, name, rd, Options{BatchSize: 4})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return sum
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func scalar[T any](t *testing.T, st *store.Store, q string, args ...any) T {
	t.Helper()
	var v T
	if err := st.Conn().QueryRowContext(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// Counts from testdata/fixtures/README.md, "Summary: each file imported into an empty store".
var freshCounts = []struct {
	file string
	want Summary
}{
	{"copilot-interactions.jsonl", Summary{Read: 17, Stored: 17}},
	{"management-api-blob.json", Summary{Read: 10, Stored: 6, Duplicates: 1, Skipped: 3}},
	{"management-api-blob-2.json", Summary{Read: 3, Stored: 3}},
	{"graph-auditlog-records.json", Summary{Read: 4, Stored: 4}},
	{"graph-auditlog-records-page2.json", Summary{Read: 1, Stored: 1}},
	{"purview-export.csv", Summary{Read: 9, Stored: 7, Duplicates: 1, Quarantined: 1}},
	{"classic-portal-export.csv", Summary{Read: 3, Stored: 3}},
	{"search-unifiedauditlog.csv", Summary{Read: 5, Stored: 5}},
	{"edge-cases.jsonl", Summary{Read: 15, Stored: 13, Quarantined: 2}},
}

func TestEachFixtureIntoFreshStore(t *testing.T) {
	for _, c := range freshCounts {
		t.Run(c.file, func(t *testing.T) {
			st := openStore(t)
			if got := importFile(t, st, c.file); got != c.want {
				t.Errorf("first import: %+v, want %+v", got, c.want)
			}
			// A second import stores nothing new: every stored record comes back a duplicate.
			again := importFile(t, st, c.file)
			want := Summary{Read: c.want.Read, Duplicates: c.want.Stored + c.want.Duplicates, Skipped: c.want.Skipped, Quarantined: c.want.Quarantined}
			if again != want {
				t.Errorf("second import: %+v, want %+v", again, want)
			}
			if n := scalar[int](t, st, `SELECT count(*) FROM CopilotActivity`); n != c.want.Stored {
				t.Errorf("rows %d, want %d", n, c.want.Stored)
			}
		})
	}
}

func TestAllFixturesIntoOneStore(t *testing.T) {
	st := openStore(t)
	// README: stored per file 17, 6, 2, 3, 1, 6, 2, 4, 13 = 54; duplicates 0, 1, 1, 1, 0, 2, 1, 1, 0.
	stored := []int{17, 6, 2, 3, 1, 6, 2, 4, 13}
	dups := []int{0, 1, 1, 1, 0, 2, 1, 1, 0}
	var total Summary
	for i, c := range freshCounts {
		got := importFile(t, st, c.file)
		if got.Stored != stored[i] || got.Duplicates != dups[i] || got.Conflicts != 0 {
			t.Errorf("%s: %+v, want stored %d duplicates %d", c.file, got, stored[i], dups[i])
		}
		total.Add(got)
	}
	if total.Stored != 54 || total.Duplicates != 7 || total.Skipped != 3 || total.Quarantined != 3 {
		t.Errorf("total %+v, want stored 54, duplicates 7, skipped 3, quarantined 3", total)
	}
	if n := scalar[int](t, st, `SELECT count(DISTINCT RecordId) FROM CopilotActivity`); n != 54 {
		t.Errorf("distinct ids %d", n)
	}
	// The quarantine holds the named bad units with their reasons.
	rows, err := st.Conn().QueryContext(context.Background(), `SELECT SourceName, SourceLocation, coalesce(RecordId, ''), Reason FROM Quarantine ORDER BY SourceName, SourceLocation`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type q struct{ src, loc, id, reason string }
	var got []q
	for rows.Next() {
		var x q
		rows.Scan(&x.src, &x.loc, &x.id, &x.reason)
		got = append(got, x)
	}
	want := []q{
		{"edge-cases.jsonl", "line 12", "", "no Id"},
		{"edge-cases.jsonl", "line 15", "", "not JSON"},
		{"purview-export.csv", "row 5", "2e2d75a2-9c89-4388-b334-48ef652d08f6", "AuditData is not valid JSON (truncated"},
	}
	if len(got) != len(want) {
		t.Fatalf("quarantine %+v", got)
	}
	for i := range want {
		g := got[i]
		if g.src != want[i].src || g.loc != want[i].loc || g.id != want[i].id || len(g.reason) < len(want[i].reason) || g.reason[:len(want[i].reason)] != want[i].reason {
			t.Errorf("quarantine[%d] = %+v, want %+v", i, g, want[i])
		}
	}
}

// Column values of specific fixture records, from the fixtures README.
func TestFixtureColumns(t *testing.T) {
	st := openStore(t)
	for _, c := range freshCounts {
		importFile(t, st, c.file)
	}
	cases := []struct {
		id, expr, want string
	}{
		// a jailbreak on a non-first message is visible in LLMEventData
		{"e59c80b3-e6f4-42b3-a363-15d97b9c3f08", `LLMEventData->>'$.Messages[2].JailbreakDetected'`, "true"},
		{"e59c80b3-e6f4-42b3-a363-15d97b9c3f08", `LLMEventData->>'$.Messages[0].JailbreakDetected'`, "false"},
		{"88cf8aaf-40c6-4b5e-9b94-dac1be798bd1", `AIModelName`, "DEEP_LEO"},
		{"3032d59c-db14-4769-b7b9-ecf14708c8b4", `ActorUserType`, "Admin"},
		{"db504901-3959-4e43-89f3-a0e3cdcf038e", `LLMEventData->>'$.Resource[0].Property'`, "Contoso Threat Feed"},
		{"db504901-3959-4e43-89f3-a0e3cdcf038e", `LLMEventData->>'$.Workspace.Name'`, "Contoso SOC"},
		{"73cdfe26-981d-4cf7-981d-368d727a7bc1", `LLMEventData->>'$.AccessedResources[0].Name'`, `Budget "final", v2.docx`},
		{"b88326ca-9780-4f81-91fa-694bbbc8c682", `AppHost`, "Excel"},
		{"b6448605-3442-4eb6-94c5-db2fb95c422c", `strftime(TimeGenerated, '%Y-%m-%d %H:%M:%S')`, "2026-03-05 13:02:33"},
		{"0d936a87-801b-4c4c-be09-c83aaf99653b", `json_array_length(LLMEventData->'$.AccessedResources')::VARCHAR`, "300"},
		{"b9fa353a-ba05-41b6-9b3a-73fad463d238", `AgentName`, "IT Helpdesk"},
		{"5698aef9-d903-4547-a472-bd0afb76b87a", `ActorUserType`, "Admin"},
		{"fe4f1a72-55ec-4e71-93f5-f10fdb62fbd8", `SrcIpAddr || ' ' || ClientIP`, "2001:db8::2 [2001:db8::2]:22222"},
		{"b4a2dfb1-77e8-4141-b668-11bd8c09f7c7", `RecordTypeNumber || '/' || RecordType`, "9999/"},
		{"ec077ad4-aec7-44b1-a8b4-406c0190f12c", `SourceName || ' ' || SourceLocation`, "copilot-interactions.jsonl line 1"},
	}
	for _, c := range cases {
		got := scalar[string](t, st, `SELECT `+c.expr+` FROM CopilotActivity WHERE RecordId = $1`, c.id)
		if got != c.want {
			t.Errorf("%s %s = %q, want %q", c.id, c.expr, got, c.want)
		}
	}
	// Purview row 9's PromptText holds a real newline after "replies."
	pt := scalar[string](t, st, `SELECT LLMEventData->>'$.PromptText' FROM CopilotActivity WHERE RecordId='514ce054-edde-4180-8462-143dc45c0c95'`)
	if !strings.Contains(pt, "replies.\n") {
		t.Errorf("PromptText %q lacks a newline after replies.", pt)
	}
	// Raw records are kept byte for byte: edge-cases line 13's invalid bytes survive.
	raw := scalar[[]byte](t, st, `SELECT RawRecord FROM CopilotActivity WHERE RecordId='edad9322-5eb0-4d8d-9a35-db379cccafbe'`)
	if !bytes.Contains(raw, []byte{0xFF, 0xFE, 0xC3, 0x28}) {
		t.Error("raw record lost its original bytes")
	}
}

// A record too big to store is quarantined (cut short) and the rest lands.
func TestOversizedRecordQuarantined(t *testing.T) {
	st := openStore(t)
	huge := `{"Id":"huge","CreationTime":"2026-03-01T00:00:00","RecordType":261,"Workload":"Copilot","Pad":"` + strings.Repeat("x", MaxRecordBytes) + `"}`
	small := `{"Id":"small","CreationTime":"2026-03-01T00:00:00","RecordType":261,"Workload":"Copilot"}`
	rd, err := reader.Open(strings.NewReader(small+"\n"+huge+"\n"+small+"\n"), reader.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	sum, err := Import(context.Background(), st, "big.jsonl", rd, Options{OnQuarantine: func(q store.QuarantineRow) { seen = append(seen, q.Loc) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Read: 3, Stored: 1, Duplicates: 1, Quarantined: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if len(seen) != 1 || seen[0] != "line 2" {
		t.Errorf("OnQuarantine saw %v", seen)
	}
	if n := scalar[int](t, st, `SELECT octet_length(RawText) FROM Quarantine WHERE SourceLocation = 'line 2' AND Reason LIKE 'record is 8.0 MiB, larger than the 8 MiB%'`); n != MaxQuarantineBytes {
		t.Errorf("quarantined raw length %d", n)
	}
}

// A bad line of non-ASCII text is quarantined with a reason cut on a
// character boundary, and the good lines around it land (it once failed the
// whole batch: DuckDB refused the reason's half character).
func TestNonASCIIBadLineQuarantined(t *testing.T) {
	st := openStore(t)
	rec := func(id string) string {
		return `{"Id":"` + id + `","CreationTime":"2026-03-01T00:00:00","RecordType":261,"Workload":"Copilot"}`
	}
	bad := "xx" + strings.Repeat("é", 100)
	rd, err := reader.Open(strings.NewReader(rec("a")+"\n"+bad+"\n"+rec("b")+"\n"), reader.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Import(context.Background(), st, "bad.jsonl", rd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Read: 3, Stored: 2, Quarantined: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	reason := scalar[string](t, st, `SELECT Reason FROM Quarantine WHERE SourceLocation = 'line 2'`)
	if !utf8.ValidString(reason) || strings.ContainsRune(reason, utf8.RuneError) || !strings.Contains(reason, "xxé") {
		t.Errorf("reason %q", reason)
	}
	if raw := scalar[string](t, st, `SELECT decode(RawText) FROM Quarantine`); raw != bad {
		t.Errorf("raw text %q", raw)
	}
}
