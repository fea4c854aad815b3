package rulepack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// rule is the part of a Sentinel analytic rule these tests need; the real
// loader lives in internal/rules and is not used here on purpose.
type rule struct {
	File                   string
	ID                     string `yaml:"id"`
	Name                   string `yaml:"name"`
	Description            string `yaml:"description"`
	Severity               string `yaml:"severity"`
	Kind                   string `yaml:"kind"`
	Version                string `yaml:"version"`
	Query                  string `yaml:"query"`
	QueryFrequency         string `yaml:"queryFrequency"`
	QueryPeriod            string `yaml:"queryPeriod"`
	TriggerOperator        string `yaml:"triggerOperator"`
	TriggerThreshold       *int   `yaml:"triggerThreshold"`
	Tactics                []string
	RelevantTechniques     []string `yaml:"relevantTechniques"`
	AtlasTechniques        []string `yaml:"atlasTechniques"`
	RequiredDataConnectors []struct {
		ConnectorID string   `yaml:"connectorId"`
		DataTypes   []string `yaml:"dataTypes"`
	} `yaml:"requiredDataConnectors"`
	EntityMappings []struct {
		EntityType    string `yaml:"entityType"`
		FieldMappings []struct {
			Identifier string `yaml:"identifier"`
			ColumnName string `yaml:"columnName"`
		} `yaml:"fieldMappings"`
	} `yaml:"entityMappings"`
	CustomDetails        map[string]string `yaml:"customDetails"`
	AlertDetailsOverride struct {
		AlertDisplayNameFormat string `yaml:"alertDisplayNameFormat"`
		AlertDescriptionFormat string `yaml:"alertDescriptionFormat"`
	} `yaml:"alertDetailsOverride"`
	EventGroupingSettings struct {
		AggregationKind string `yaml:"aggregationKind"`
	} `yaml:"eventGroupingSettings"`
	IncidentConfiguration struct {
		CreateIncident        bool `yaml:"createIncident"`
		GroupingConfiguration struct {
			Enabled          bool     `yaml:"enabled"`
			LookbackDuration string   `yaml:"lookbackDuration"`
			MatchingMethod   string   `yaml:"matchingMethod"`
			GroupByEntities  []string `yaml:"groupByEntities"`
		} `yaml:"groupingConfiguration"`
	} `yaml:"incidentConfiguration"`

	freq, period time.Duration
}

func loadRules(t testing.TB) []*rule {
	t.Helper()
	names, err := fs.Glob(FS(), Dir+"/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no rule files under %s: %v", Dir, err)
	}
	var out []*rule
	for _, name := range names {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		r := &rule{File: path.Base(name)}
		if err := yaml.Unmarshal(b, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.freq, err = parseSpan(r.QueryFrequency); err != nil {
			t.Fatalf("%s: queryFrequency: %v", name, err)
		}
		if r.period, err = parseSpan(r.QueryPeriod); err != nil {
			t.Fatalf("%s: queryPeriod: %v", name, err)
		}
		out = append(out, r)
	}
	return out
}

func ruleByFile(t testing.TB, file string) *rule {
	t.Helper()
	for _, r := range loadRules(t) {
		if r.File == file {
			return r
		}
	}
	t.Fatalf("no rule file %s", file)
	return nil
}

// parseSpan reads Sentinel's short durations: 5m, 1h, 14d.
func parseSpan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad duration unit in %q", s)
	}
	return time.Duration(n) * unit, nil
}

// Sensitivity labels of the simulated tenant (internal/simulate/tenant.go),
// ranked as a user would configure them.
var testLabels = []struct {
	id, name string
	rank     int
}{
	{"7a1f3c52-2d4e-4b8a-9c61-3e5f8a2b9d04", "Public", 1},
	{"e4a8e902-76fc-4fd7-abcb-b9cda4dbb9a7", "General", 2},
	{"ceb309b8-8ec1-4b9e-873a-50eaddc1221e", "Confidential", 3},
	{"5eefa39c-eee5-4c7b-8db8-46c31a728415", "Highly Confidential", 4},
}

func baseCatalog(t testing.TB) *kql.Catalog {
	t.Helper()
	var rows []string
	for _, l := range testLabels {
		rows = append(rows, fmt.Sprintf("('%s', '%s', %d)", l.id, l.name, l.rank))
	}
	// The scheduler fills SensitivityLabel from configuration; here it is scoped to fixed rows.
	cat, err := kql.DefaultCatalog().Scoped("SensitivityLabel",
		"SELECT * FROM (VALUES "+strings.Join(rows, ", ")+") AS t(LabelId, LabelName, \"Rank\")")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func importRecords(t testing.TB, st *store.Store, source string, r io.Reader) ingest.Summary {
	t.Helper()
	rd, err := reader.Open(r, reader.FormatAuto)
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	sum, err := ingest.Import(context.Background(), st, source, rd, ingest.Options{})
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	return sum
}

// result is one output row of a rule: the records it covers and its columns.
type result struct {
	records []string
	cols    map[string]any
}

// runWindow evaluates r as the scheduler does for the window ending at end:
// CopilotActivity holds only [end-period, end) and now() is end.
func runWindow(ctx context.Context, st *store.Store, base *kql.Catalog, r *rule, end time.Time) ([]result, error) {
	const layout = "2006-01-02 15:04:05.999999"
	from := fmt.Sprintf("SELECT * FROM CopilotActivity WHERE TimeGenerated >= TIMESTAMP '%s' AND TimeGenerated < TIMESTAMP '%s'",
		end.Add(-r.period).UTC().Format(layout), end.UTC().Format(layout))
	cat, err := base.Scoped("CopilotActivity", from)
	if err != nil {
		return nil, err
	}
	comp, err := kql.Compile(r.Query, cat, kql.Options{Now: end})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.File, err)
	}
	rows, err := st.DB().QueryContext(ctx, comp.SQL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.File, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []result
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res := result{cols: map[string]any{}}
		for i, n := range names {
			res.cols[n] = vals[i]
		}
		if v, ok := res.cols["RecordId"]; ok {
			if s := fmt.Sprint(v); v != nil && s != "" {
				res.records = append(res.records, s)
			}
		}
		if v, ok := res.cols["RecordIds"]; ok {
			ids, err := stringList(v)
			if err != nil {
				return nil, fmt.Errorf("%s: RecordIds: %w", r.File, err)
			}
			res.records = append(res.records, ids...)
		}
		out = append(out, res)
	}
	return out, rows.Err()
}

// stringList reads a dynamic array of strings however the driver hands it over.
func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return stringList([]byte(x))
	case []byte:
		var out []string
		if err := json.Unmarshal(x, &out); err != nil {
			return nil, err
		}
		return out, nil
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// windowEnds lists the scheduler's window ends (multiples of freq since the
// Unix epoch) from the first after from to the first at or after to+freq:
// every record in [from, to] falls in the newest freq of one of these windows,
// which is where each rule of the pack reports it. Later windows, which see
// the records only as history, are left out to keep the tests fast.
func windowEnds(r *rule, from, to time.Time) []time.Time {
	var out []time.Time
	for end := from.Truncate(r.freq).Add(r.freq); !end.Add(-r.freq).After(to); end = end.Add(r.freq) {
		out = append(out, end)
	}
	return out
}

// runSpan runs r over every window overlapping [from, to] and returns the rows.
func runSpan(t testing.TB, st *store.Store, base *kql.Catalog, r *rule, from, to time.Time) []result {
	t.Helper()
	var all []result
	for _, end := range windowEnds(r, from, to) {
		res, err := runWindow(context.Background(), st, base, r, end)
		if err != nil {
			t.Fatalf("window ending %s: %v", end.Format(time.RFC3339), err)
		}
		all = append(all, res...)
	}
	return all
}

func recordSet(rs []result) []string {
	seen := map[string]bool{}
	for _, r := range rs {
		for _, id := range r.records {
			seen[id] = true
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// timeSpan is the event-time span of the records in a JSONL file.
func timeSpan(t testing.TB, data []byte) (time.Time, time.Time) {
	t.Helper()
	var lo, hi time.Time
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct{ CreationTime string }
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("bad test record %s: %v", line, err)
		}
		ts, err := time.Parse("2006-01-02T15:04:05", rec.CreationTime)
		if err != nil {
			t.Fatalf("bad CreationTime %q: %v", rec.CreationTime, err)
		}
		if lo.IsZero() || ts.Before(lo) {
			lo = ts
		}
		if ts.After(hi) {
			hi = ts
		}
	}
	return lo, hi
}
