package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// surrogateIds are AccessedResources[0].Id values as written in a record,
// and as KQL reads them back: an unpaired surrogate escape reads as U+FFFD.
var surrogateIds = []struct{ written, read string }{
	{`"sur\ud800x"`, "sur\uFFFDx"},
	{`"sur\udc00x"`, "sur\uFFFDx"},
	{`"sur\ud800"`, "sur\uFFFD"},
	{`"sur\udc00\ud800x"`, "sur\uFFFD\uFFFDx"},
	{`"sur\ud83d\ude00x"`, "sur\U0001F600x"},
}

// surrogateRecords returns line 2 of copilot-interactions.jsonl once per
// surrogateIds entry, each with its own Id (prefix + index).
func surrogateRecords(t *testing.T, prefix string) [][]byte {
	t.Helper()
	lines := bytes.Split(readFixture(t, "copilot-interactions.jsonl"), []byte("\n"))
	line := lines[1]
	var out [][]byte
	for i, c := range surrogateIds {
		rec := bytes.Replace(line, []byte(`"Id":"88cf8aaf-40c6-4b5e-9b94-dac1be798bd1"`), []byte(fmt.Sprintf(`"Id":"%s-%d"`, prefix, i)), 1)
		rec = bytes.Replace(rec, []byte(`"AccessedResources":[{`), []byte(`"AccessedResources":[{"Id":`+c.written+`,`), 1)
		if bytes.Equal(rec, line) {
			t.Fatal("fixture line 2 changed shape")
		}
		out = append(out, rec)
	}
	return out
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kqlRows runs a KQL query on the store and returns its rows as strings.
func kqlRows(t *testing.T, st *store.Store, q string) [][]string {
	t.Helper()
	comp, err := kql.Compile(q, kql.DefaultCatalog(), kql.Options{})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// A record with an unpaired UTF-16 surrogate escape in a string is stored,
// and every query reading LLMEventData over it works, whichever format it
// came in: DuckDB's JSON functions reject such escapes.
func TestSurrogateEscapesQueryable(t *testing.T) {
	jsonl := func(recs [][]byte) []byte { return append(bytes.Join(recs, []byte("\n")), '\n') }
	graph := func(recs [][]byte) []byte {
		var b bytes.Buffer
		b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/auditLog/queries('q')/records","value":[`)
		for i, r := range recs {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"@odata.type":"#microsoft.graph.security.auditLogRecord","id":"g-%d","auditData":%s}`, i, r)
		}
		b.WriteString("]}")
		return b.Bytes()
	}
	classicCSV := func(recs [][]byte) []byte {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"CreationDate", "UserIds", "Operations", "AuditData"})
		for _, r := range recs {
			_ = w.Write([]string{"2026-03-02T08:17:45.0000000Z", "user2@contoso.example", "CopilotInteraction", string(r)})
		}
		w.Flush()
		return b.Bytes()
	}
	formats := []struct {
		name  string
		build func([][]byte) []byte
	}{
		{"jsonl", jsonl}, {"graph", graph}, {"csv", classicCSV},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			st := openStore(t)
			recs := surrogateRecords(t, f.name)
			input := f.build(recs)
			rd, err := reader.Open(bytes.NewReader(input), reader.FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Import(context.Background(), st, "surrogates", rd, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := (Summary{Read: len(recs), Stored: len(recs)}); sum != want {
				t.Fatalf("summary %+v, want %+v", sum, want)
			}

			// Each record's resource Id, read through LLMEventData.
			got := kqlRows(t, st, `CopilotActivity
				| project RecordId, Id = tostring(LLMEventData.AccessedResources[0].Id), AppHost, N = array_length(LLMEventData.AccessedResources)
				| sort by RecordId asc`)
			if len(got) != len(surrogateIds) {
				t.Fatalf("%d rows, want %d", len(got), len(surrogateIds))
			}
			for i, c := range surrogateIds {
				want := []string{fmt.Sprintf("%s-%d", f.name, i), c.read, "Teams", "2"}
				if strings.Join(got[i], "|") != strings.Join(want, "|") {
					t.Errorf("row %d = %q, want %q", i, got[i], want)
				}
			}

			// The bulk-access rule's shape: expand every resource.
			counts := map[string]string{}
			for _, r := range kqlRows(t, st, `CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize count() by tostring(R.Id)`) {
				counts[r[0]] = r[1]
			}
			wantCounts := map[string]string{"": "5", "sur\uFFFDx": "2", "sur\uFFFD": "1", "sur\uFFFD\uFFFDx": "1", "sur\U0001F600x": "1"}
			if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
				t.Errorf("counts by resource Id = %q, want %q", counts, wantCounts)
			}

			// The whole column, as JSON, and the raw records kept byte for byte.
			if n := len(kqlRows(t, st, `CopilotActivity | project LLMEventData`)); n != len(recs) {
				t.Errorf("project LLMEventData: %d rows", n)
			}
			if n := len(kqlRows(t, st, `CopilotActivity | where LLMEventData has "sur" | project LLMEventData`)); n != len(recs) {
				t.Errorf("has over LLMEventData: %d rows", n)
			}
			for i, r := range recs {
				raw := scalar[[]byte](t, st, `SELECT RawRecord FROM CopilotActivity WHERE RecordId = ?`, fmt.Sprintf("%s-%d", f.name, i))
				if f.name != "graph" && !bytes.Equal(raw, r) || f.name == "graph" && !bytes.Contains(raw, r) {
					t.Errorf("record %d: RawRecord is not the record as received: %s", i, raw)
				}
			}

			// Importing the same input again finds every record a duplicate.
			rd, _ = reader.Open(bytes.NewReader(input), reader.FormatAuto)
			sum, err = Import(context.Background(), st, "surrogates", rd, Options{})
			if want := (Summary{Read: len(recs), Duplicates: len(recs)}); err != nil || sum != want {
				t.Errorf("second import %+v %v, want %+v", sum, err, want)
			}
		})
	}
}
