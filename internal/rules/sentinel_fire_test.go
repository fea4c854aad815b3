package rules

import (
	"context"
	"os"
	"testing"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// The four Microsoft-equivalent rules, run as loaded over every record of
// copilot-interactions.jsonl, return exactly the rows the fixtures README
// says each should fire on. (Windows and scheduling are internal/detect's;
// this shows the queries themselves mean what Sentinel's do.)
func TestSentinelCopilotRulesFire(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := os.Open("../../testdata/fixtures/copilot-interactions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := reader.Open(f, reader.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := ingest.Import(ctx, st, "copilot-interactions.jsonl", rd, ingest.Options{}); err != nil || sum.Stored != 17 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	rules, probs := LoadFS(os.DirFS("testdata/sentinel"), ".", nil)
	if len(probs) != 0 || len(rules) != 4 {
		t.Fatalf("%v", probs)
	}
	// README, copilot-interactions.jsonl: line 15 turns FileUploads off;
	// line 7 is the only jailbreak on Messages[0]; line 13 is a plugin made by
	// a Regular user; lines 14 and 15 (same actor and IP, 2 min 52 s apart)
	// enable then disable a plugin.
	want := map[string]struct {
		col, val string
	}{
		"copilot-file-uploads-disabled.yaml":       {"RecordId", "7826f49a-9109-42c6-9a1d-110d9ad87ab2"},
		"copilot-jailbreak-first-message.yaml":     {"RecordId", "4e814558-4e74-4a98-9267-9fad350f5e18"},
		"copilot-plugin-created-by-non-admin.yaml": {"PluginName", "Contoso Threat Feed"},
		"copilot-plugin-toggled-quickly.yaml":      {"AddressEntity", "192.0.2.50"},
	}
	for _, r := range rules {
		comp, err := kql.Compile(r.Query, kql.DefaultCatalog(), kql.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.DB().QueryContext(ctx, comp.SQL)
		if err != nil {
			t.Fatalf("%s: %v", r.File, err)
		}
		cols, _ := rows.Columns()
		var got []map[string]any
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			m := map[string]any{}
			for i, c := range cols {
				m[c] = vals[i]
			}
			got = append(got, m)
		}
		rows.Close()
		w := want[r.File]
		if len(got) != 1 || got[0][w.col] != w.val || !r.Triggered(len(got)) {
			t.Errorf("%s: want one row with %s = %s, got %v", r.File, w.col, w.val, got)
		}
	}
}
