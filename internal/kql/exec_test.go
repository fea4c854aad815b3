package kql

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

const fixtures = "../../testdata/fixtures/"

// testNow is the fixed now() of execution tests: after every fixture record.
var testNow = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

var (
	storeOnce sync.Once
	storeDir  string
	stores    map[string]*store.Store
	storeErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, st := range stores {
		st.Close()
	}
	if storeDir != "" {
		os.RemoveAll(storeDir)
	}
	os.Exit(code)
}

// fixtureStore returns a store holding the named fixture files, built once
// per test binary. "interactions" is copilot-interactions.jsonl alone.
func fixtureStore(t *testing.T, name string) *store.Store {
	t.Helper()
	storeOnce.Do(func() {
		storeDir, storeErr = os.MkdirTemp("", "kqltest")
		if storeErr != nil {
			return
		}
		stores = map[string]*store.Store{}
		sets := map[string][]string{
			"interactions": {"copilot-interactions.jsonl"},
			"edge":         {"edge-cases.jsonl"},
		}
		for set, files := range sets {
			st, err := store.Open(context.Background(), filepath.Join(storeDir, set), store.Options{})
			if err != nil {
				storeErr = err
				return
			}
			stores[set] = st
			for _, f := range files {
				fh, err := os.Open(filepath.Join(fixtures, f))
				if err != nil {
					storeErr = err
					return
				}
				rd, err := reader.Open(fh, reader.FormatAuto)
				if err == nil {
					_, err = ingest.Import(context.Background(), st, f, rd, ingest.Options{})
				}
				fh.Close()
				if err != nil {
					storeErr = fmt.Errorf("%s: %w", f, err)
					return
				}
			}
		}
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	return stores[name]
}

// run compiles and executes a query, returning its rows as text cells.
func run(t *testing.T, st *store.Store, q string) [][]string {
	t.Helper()
	comp, err := Compile(q, DefaultCatalog(), Options{Now: testNow})
	if err != nil {
		t.Fatalf("compile %s: %v", q, err)
	}
	rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
	if err != nil {
		t.Fatalf("run %s: %v\nSQL: %s", q, err, comp.SQL)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if len(cols) != len(comp.Columns) {
		t.Fatalf("%s: %d columns, schema says %d", q, len(cols), len(comp.Columns))
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = cell(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("run %s: %v\nSQL: %s", q, err, comp.SQL)
	}
	return out
}

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	case string, int64, int32, int, float64, bool:
		return fmt.Sprint(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func flat(rows [][]string) string {
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, "|"))
	}
	return strings.Join(lines, "\n")
}

func sortedFlat(rows [][]string) string {
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, "|"))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// queryCase is a KQL query with its expected rows (flat form); sorted
// compares the rows in sorted order, for queries without a defined order.
type queryCase struct {
	name, q, want string
	sorted        bool
}

// runQueryCases runs each query on st and compares its rows.
func runQueryCases(t *testing.T, st *store.Store, cases []queryCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := run(t, st, c.q)
			got := flat(rows)
			if c.sorted {
				got = sortedFlat(rows)
			}
			if got != c.want {
				t.Errorf("%s\n got: %q\nwant: %q", c.q, got, c.want)
			}
		})
	}
}
