package kql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/store"
)

// The benchmark compares typical hunting queries compiled from KQL with the
// DuckDB SQL a person would write for the same answer, over a simulated
// CopilotActivity table (issue 4: compiled queries should cost at most 1.2×).
//
//	AIWATCH_KQL_BENCH_RECORDS  rows to simulate (default 200000)
//	AIWATCH_KQL_BENCH_DB       store directory to reuse; filled when empty
//	AIWATCH_KQL_BENCH_ONLY     comma-separated name prefixes of the queries to run (checks included)
//	AIWATCH_KQL_BENCH_EXPLAIN  log EXPLAIN ANALYZE of queries whose name contains it
//
//	go test -bench . -run '^$' -benchtime 3x ./internal/kql/

// benchNow is now() for both sides: the simulated week ends here.
var benchNow = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

type benchQuery struct {
	name, kql, sql string
	// ordered: the result order is part of the answer (sort, top).
	ordered bool
	// countOnly: only the row count is determined (take without sort).
	countOnly bool
}

var benchQueries = []benchQuery{
	{name: "q01-count-by-apphost",
		kql: `CopilotActivity | summarize count() by AppHost`,
		sql: `SELECT AppHost, count(*) AS count_ FROM CopilotActivity GROUP BY AppHost`},
	{name: "q02-per-user-per-day-top10", ordered: true,
		kql: `CopilotActivity
| where RecordType == "CopilotInteraction"
| summarize Interactions = count() by ActorName, Day = bin(TimeGenerated, 1d)
| top 10 by Interactions desc, ActorName asc, Day asc`,
		sql: `SELECT ActorName, date_trunc('day', TimeGenerated) AS Day, count(*) AS Interactions
FROM CopilotActivity WHERE RecordType = 'CopilotInteraction'
GROUP BY ALL ORDER BY Interactions DESC, ActorName, Day LIMIT 10`},
	{name: "q03-jailbreak-rule-messages0",
		kql: `CopilotActivity
| where RecordType == "CopilotInteraction"
| where LLMEventData has "JailbreakDetected"
| extend JailbreakDetected = tostring(parse_json(LLMEventData).Messages[0].JailbreakDetected)
| where JailbreakDetected == "true"
| project TimeGenerated, ActorName, SrcIpAddr, AppHost`,
		sql: `SELECT TimeGenerated, ActorName, SrcIpAddr, AppHost FROM CopilotActivity
WHERE RecordType = 'CopilotInteraction' AND LLMEventData LIKE '%JailbreakDetected%'
  AND json_extract_string(LLMEventData, '$.Messages[0].JailbreakDetected') = 'true'`},
	{name: "q04-jailbreak-any-message-users",
		kql: `CopilotActivity
| mv-expand Message = LLMEventData.Messages
| where tobool(Message.JailbreakDetected)
| distinct ActorName`,
		sql: `SELECT DISTINCT ActorName FROM CopilotActivity
WHERE list_contains(json_extract_string(LLMEventData, '$.Messages[*].JailbreakDetected'), 'true')`},
	{name: "q05-external-ip-top20", ordered: true,
		kql: `CopilotActivity
| where isnotempty(SrcIpAddr) and not(SrcIpAddr startswith "10.") and not(SrcIpAddr startswith "172.") and not(SrcIpAddr startswith "192.168")
| summarize Count = count() by SrcIpAddr, ActorName
| top 20 by Count desc, SrcIpAddr asc, ActorName asc`,
		sql: `SELECT SrcIpAddr, ActorName, count(*) AS Count FROM CopilotActivity
WHERE SrcIpAddr <> '' AND SrcIpAddr NOT LIKE '10.%' AND SrcIpAddr NOT LIKE '172.%' AND SrcIpAddr NOT LIKE '192.168%'
GROUP BY ALL ORDER BY Count DESC, SrcIpAddr, ActorName LIMIT 20`},
	{name: "q06-plugin-tampering",
		kql: `CopilotActivity
| where RecordType in ("EnableCopilotPlugin", "DisableCopilotPlugin")
| summarize Operations = make_set(RecordType), StartTime = min(TimeGenerated), EndTime = max(TimeGenerated) by ActorName, SrcIpAddr
| where Operations has "EnableCopilotPlugin" and Operations has "DisableCopilotPlugin"
| where EndTime - StartTime <= 5m
| project ActorName, SrcIpAddr, StartTime, EndTime`,
		sql: `SELECT ActorName, SrcIpAddr, min(TimeGenerated) AS StartTime, max(TimeGenerated) AS EndTime
FROM CopilotActivity WHERE RecordType IN ('EnableCopilotPlugin', 'DisableCopilotPlugin')
GROUP BY ALL
HAVING bool_or(RecordType = 'EnableCopilotPlugin') AND bool_or(RecordType = 'DisableCopilotPlugin')
  AND max(TimeGenerated) - min(TimeGenerated) <= INTERVAL 5 MINUTE`},
	{name: "q07-sensitive-resources",
		kql: `CopilotActivity
| mv-expand R = LLMEventData.AccessedResources
| where isnotempty(tostring(R.SensitivityLabelId))
| summarize Resources = dcount(tostring(R.Id)) by ActorName`,
		sql: `SELECT ActorName, count(DISTINCT r.Id) AS Resources
FROM (SELECT ActorName, unnest(from_json(LLMEventData->'$.AccessedResources', '[{"Id":"VARCHAR","SensitivityLabelId":"VARCHAR"}]')) AS r
      FROM CopilotActivity)
WHERE r.SensitivityLabelId <> ''
GROUP BY ActorName`},
	{name: "q08-has-term",
		kql: `CopilotActivity
| where ActorName has "user042" or AppIdentity has "Bizchat"
| summarize count() by AppHost`,
		sql: `SELECT AppHost, count(*) AS count_ FROM CopilotActivity
WHERE ActorName ILIKE '%user042%' OR AppIdentity ILIKE '%bizchat%'
GROUP BY AppHost`},
	// The same question with has's whole-term meaning written by hand, as
	// a person would in DuckDB (the ILIKE above is a substring test that
	// happens to agree on this data).
	{name: "q08b-has-term-exact",
		kql: `CopilotActivity
| where ActorName has "user042" or AppIdentity has "Bizchat"
| summarize count() by AppHost`,
		sql: `SELECT AppHost, count(*) AS count_ FROM CopilotActivity
WHERE regexp_matches(ActorName, '(?i)(^|[^0-9a-z])user042($|[^0-9a-z])')
   OR regexp_matches(AppIdentity, '(?i)(^|[^0-9a-z])bizchat($|[^0-9a-z])')
GROUP BY AppHost`},
	{name: "q09-arg-max-star",
		kql: `CopilotActivity | summarize arg_max(TimeGenerated, *) by ActorName`,
		sql: `SELECT * EXCLUDE (RawRecord) FROM CopilotActivity
QUALIFY row_number() OVER (PARTITION BY ActorName ORDER BY TimeGenerated DESC) = 1`},
	{name: "q10-last-day-take1000", countOnly: true,
		kql: `CopilotActivity
| where TimeGenerated > ago(1d)
| project TimeGenerated, ActorName, AppHost, SrcIpAddr, RecordType
| take 1000`,
		sql: `SELECT TimeGenerated, ActorName, AppHost, SrcIpAddr, RecordType FROM CopilotActivity
WHERE TimeGenerated > TIMESTAMP '2026-03-09 00:00:00' LIMIT 1000`},
}

// simulateSQL fills CopilotActivityData with n rows in one statement. Every
// value is derived from hashes of the row number, so a given n always gives
// the same table. Plugin records come in neighbouring pairs that share
// actor, address and (nearly) time, so plugin tampering finds something.
const simulateSQL = `INSERT INTO CopilotActivityData
SELECT
	TimeGenerated, RecordId, RecordType, 'user' || lpad(u::VARCHAR, 3, '0') || '@contoso.example', 'aad-' || lpad(u::VARCHAR, 6, '0'), CASE WHEN u < 10 THEN 'Admin' ELSE 'Regular' END,
	'424b1fee-9709-4315-85d9-5954058b4714', SrcIpAddr,
	['US', 'WEU', 'IN', 'GB', ''][1 + h5 % 5], 'Copilot', '1', AppHost,
	CASE WHEN h6 % 5 = 0 THEN 'Copilot.M365Copilot.Bizchat' ELSE 'Copilot.M365Copilot.' || AppHost END,
	LLMEventData, NULL, NULL,
	CASE WHEN plugin THEN '' ELSE ['gpt-4o', 'gpt-4.1', 'DEEP_LEO'][1 + h6 % 3] END,
	CASE WHEN plugin THEN '' ELSE '2025-10' END, '2024-11-30',
	CASE WHEN h7 % 20 = 0 THEN 'Researcher' ELSE '' END, CASE WHEN h7 % 20 = 0 THEN 'agent-researcher' ELSE '' END,
	'OfficeManagementAPI', RecordType, RecordTypeNumber,
	TimeGenerated + INTERVAL 20 MINUTE, 'bench', 'synthetic', SrcIpAddr,
	(h8 >> 1)::BIGINT, NULL, (h9 >> 1)::BIGINT
FROM (
	SELECT *,
		TIMESTAMP '2026-03-03 00:00:00' + to_microseconds((hh(k, 2) % 604800000000)::BIGINT)
			+ CASE WHEN plugin THEN to_seconds(i % 2 * 90) ELSE INTERVAL 0 SECOND END AS TimeGenerated,
		printf('%08x-%04x-4%03x-a%03x-%012x', h5 % 4294967296, h6 % 65536, h7 % 4096, h8 % 4096, i) AS RecordId,
		CASE
			WHEN ipkind < 4 THEN '10.' || (h3 % 256) || '.' || (u % 256) || '.' || (h4 % 254 + 1)
			WHEN ipkind = 4 THEN '172.16.' || (u % 256) || '.' || (h4 % 254 + 1)
			WHEN ipkind = 5 THEN '192.168.' || (h3 % 4) || '.' || (h4 % 254 + 1)
			WHEN plugin THEN [20, 52, 81, 104, 145, 198, 203][1 + h3 % 7] || '.' || (h4 % 256) || '.' || (h3 // 7 % 256) || '.' || (h4 // 256 % 254 + 1)
			ELSE [20, 52, 81, 104, 145, 198, 203][1 + (u + h3 % 3) % 7] || '.' || (u % 256) || '.' || (h3 % 3) || '.' || (u * 7 % 254 + 1)
		END AS SrcIpAddr,
		CASE
			WHEN RecordType = 'CopilotInteraction' THEN
				'{"AISystemPlugin":[],"AccessedResources":[' ||
				array_to_string(list_transform(range(h10 % 6), lambda j:
					'{"Action":"Read","Id":"https://contoso.sharepoint.example/sites/s' || (hh(k, 20 + j) % 50000 // 100) ||
					'/doc' || (hh(k, 20 + j) % 50000) || '.docx","Name":"doc' || (hh(k, 20 + j) % 50000) ||
					'.docx","PolicyDetails":"",' ||
					CASE WHEN hh(k, 20 + j) % 50000 % 4 = 0
						THEN '"SensitivityLabelId":"' || ['ceb309b8-8ec1-4b9e-873a-50eaddc1221e', '5eefa39c-eee5-4c7b-8db8-46c31a728415', '1b2f6c8d-3e4a-4f5b-9c6d-7e8f90a1b2c3'][1 + hh(k, 20 + j) % 3] || '",'
						ELSE '' END ||
					'"Type":"File","XPIADetected":false}'), ',') ||
				'],"AppHost":"' || AppHost || '","Contexts":[{"Id":"https://contoso.sharepoint.example/doc' || (h4 % 50000) || '","Type":"docx"}],"MessageIds":[],"Messages":[' ||
				array_to_string(list_transform(range(2 + h9 % 3), lambda j:
					'{"Id":"' || (1772438586697 + i * 4 + j) || '","isPrompt":' || (j % 2 = 0) ||
					',"JailbreakDetected":' || (CASE WHEN j = 0 THEN h10 // 8 % 2000 = 0 WHEN j = 2 THEN h10 // 8 % 2000 = 1 ELSE false END) || '}'), ',') ||
				'],"ModelTransparencyDetails":[],"ThreadId":"19:' || printf('%016x', h8) || '@thread.v2"}'
			WHEN RecordType = 'UpdateCopilotSettings' THEN
				'{"Resource":[{"Property":"AllowMicrosoftDataSharing","OriginalValue":"true","NewValue":"false"}]}'
			ELSE
				'{"Resource":[{"Property":"Contoso Threat Feed","OriginalValue":"' ||
				CASE WHEN RecordType = 'DisableCopilotPlugin' THEN 'Enabled","NewValue":"Disabled"' ELSE 'Disabled","NewValue":"Enabled"' END ||
				'}],"Workspace":{"Name":"Contoso SOC"}}'
		END AS LLMEventData
	FROM (
		SELECT *,
			['CopilotInteraction', 'EnableCopilotPlugin', 'DisableCopilotPlugin', 'CreateCopilotPlugin', 'UpdateCopilotSettings'][rt] AS RecordType,
			[261, 311, 312, 310, 325][rt] AS RecordTypeNumber,
			['Word', 'Excel', 'PowerPoint', 'Outlook', 'Teams', 'Bing', 'Office', 'Loop', 'OneNote', 'Stream'][1 + hh(k, 4) % 10] AS AppHost,
			hh(k, 1) % 300 AS u,
			hh(k, 3) % 10 AS ipkind,
			hh(k, 3) // 10 AS h3, hh(k, 4) AS h4
		FROM (
			SELECT *,
				CASE WHEN rtp < 90 THEN 1 WHEN rtp < 93 THEN 2 WHEN rtp < 96 THEN 3 WHEN rtp < 98 THEN 4 ELSE 5 END AS rt,
				CASE WHEN rtp BETWEEN 90 AND 95 THEN 1000000000000 + i // 2 ELSE i END AS k,
				rtp BETWEEN 90 AND 95 AS plugin
			FROM (
				SELECT i, hh(i, 0) % 100 AS rtp, hh(i, 5) AS h5, hh(i, 6) AS h6, hh(i, 7) AS h7,
					hh(i, 8) AS h8, hh(i, 9) AS h9, hh(i, 10) AS h10
				FROM range(?) AS r(i)
			)
		)
	)
)`

// benchStore opens (and fills when empty) the store the benchmark reads.
func benchStore(b *testing.B) *store.Store {
	b.Helper()
	n := int64(200000)
	if v := os.Getenv("AIWATCH_KQL_BENCH_RECORDS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
			b.Fatalf("AIWATCH_KQL_BENCH_RECORDS=%q: want a positive count", v)
		}
	}
	dir := os.Getenv("AIWATCH_KQL_BENCH_DB")
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dir, store.Options{MemoryLimit: "4GB"})
	if err != nil {
		b.Fatalf("cannot open bench store: %v", err)
	}
	b.Cleanup(func() { st.Close() })
	var have int64
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData`).Scan(&have); err != nil {
		b.Fatalf("cannot count rows: %v", err)
	}
	if have == 0 {
		start := time.Now()
		conn, err := st.DB().Conn(ctx)
		if err != nil {
			b.Fatalf("cannot get a connection: %v", err)
		}
		// hh is a signed hash, so its values index lists and cast cleanly.
		_, err = conn.ExecContext(ctx, `CREATE OR REPLACE TEMP MACRO hh(a, b) AS (hash(a, b) >> 2)::BIGINT`)
		if err == nil {
			_, err = conn.ExecContext(ctx, simulateSQL, n)
		}
		conn.Close()
		if err != nil {
			b.Fatalf("cannot simulate %d records: %v", n, err)
		}
		if _, err := st.DB().ExecContext(ctx, `CHECKPOINT`); err != nil {
			b.Fatalf("cannot checkpoint: %v", err)
		}
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData`).Scan(&have); err != nil {
			b.Fatalf("cannot count rows: %v", err)
		}
		if have != n {
			b.Fatalf("simulated %d rows, want %d", have, n)
		}
		b.Logf("simulated %d records in %v", have, time.Since(start).Round(time.Millisecond))
	} else {
		b.Logf("reusing %d records in %s", have, dir)
	}
	return st
}

// drain runs a query to completion, scanning every row, and returns the
// rows as text cells keyed by column name order (so SELECT * matches).
func drain(ctx context.Context, db *sql.DB, q string, keep bool) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, c int) bool { return cols[order[a]] < cols[order[c]] })
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if keep {
			cells := make([]string, len(cols))
			for j, i := range order {
				cells[j] = cols[i] + "=" + benchCell(vals[i])
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	return out, rows.Err()
}

func BenchmarkHuntingQueries(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	db := st.DB()
	type figure struct{ sqlNs, kqlNs float64 }
	figures := map[string]*figure{}
	only := os.Getenv("AIWATCH_KQL_BENCH_ONLY")
	for _, q := range benchQueries {
		if only != "" && !nameIn(q.name, only) {
			continue
		}
		comp, err := Compile(q.kql, DefaultCatalog(), Options{Now: benchNow})
		if err != nil {
			b.Fatalf("%s: compile: %v", q.name, err)
		}
		// Same answer first: a fast wrong query proves nothing.
		want, err := drain(ctx, db, q.sql, true)
		if err != nil {
			b.Fatalf("%s: hand-written SQL: %v", q.name, err)
		}
		got, err := drain(ctx, db, comp.SQL, true)
		if err != nil {
			b.Fatalf("%s: compiled SQL: %v\n%s", q.name, err, comp.SQL)
		}
		if err := sameResult(q, got, want); err != nil {
			b.Fatalf("%s: %v\nSQL: %s", q.name, err, comp.SQL)
		}
		if x := os.Getenv("AIWATCH_KQL_BENCH_EXPLAIN"); x != "" && strings.Contains(q.name, x) {
			explain(b, db, q.name+" hand-written", q.sql)
			explain(b, db, q.name+" compiled", comp.SQL)
		}
		f := &figure{}
		figures[q.name] = f
		measure := func(query string, dst *float64) func(*testing.B) {
			return func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := drain(ctx, db, query, false); err != nil {
						b.Fatal(err)
					}
				}
				*dst = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(float64(len(want)), "rows")
			}
		}
		b.Run(q.name+"/sql", measure(q.sql, &f.sqlNs))
		b.Run(q.name+"/kql", func(b *testing.B) {
			measure(comp.SQL, &f.kqlNs)(b)
			if f.sqlNs > 0 {
				b.ReportMetric(f.kqlNs/f.sqlNs, "x-sql")
			}
		})
	}
	var lines []string
	for _, q := range benchQueries {
		f := figures[q.name]
		if f == nil || f.sqlNs == 0 || f.kqlNs == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("%-36s sql %9.1f ms  kql %9.1f ms  ratio %.2f", q.name, f.sqlNs/1e6, f.kqlNs/1e6, f.kqlNs/f.sqlNs))
	}
	if len(lines) > 0 {
		b.Logf("KQL vs hand-written SQL:\n%s", strings.Join(lines, "\n"))
	}
}

// sameResult compares the two answers: in order for ordered queries, as
// multisets otherwise, by count alone when only the count is determined.
func sameResult(q benchQuery, got, want []string) error {
	if len(got) != len(want) {
		return fmt.Errorf("compiled query gave %d rows, hand-written SQL %d", len(got), len(want))
	}
	if len(want) == 0 {
		return fmt.Errorf("both queries gave no rows: the data does not exercise the query")
	}
	if q.countOnly {
		return nil
	}
	g, w := got, want
	if !q.ordered {
		g, w = append([]string(nil), got...), append([]string(nil), want...)
		sort.Strings(g)
		sort.Strings(w)
	}
	for i := range w {
		if g[i] != w[i] {
			return fmt.Errorf("row %d differs:\ncompiled: %s\nhand SQL: %s", i, g[i], w[i])
		}
	}
	return nil
}

// benchCell is cell, with JSON text normalised the way the driver's JSON
// values print, so a VARCHAR column of JSON equals the compiled JSON column.
func benchCell(v any) string {
	if s, ok := v.(string); ok && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
		var parsed any
		if json.Unmarshal([]byte(s), &parsed) == nil {
			v = parsed
		}
	}
	return cell(v)
}

// explain logs the profiled plan of a query, to see where compiled SQL
// spends its time.
func explain(b *testing.B, db *sql.DB, what, q string) {
	b.Helper()
	rows, err := db.Query("EXPLAIN ANALYZE " + q)
	if err != nil {
		b.Fatalf("%s: explain: %v", what, err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			b.Fatalf("%s: explain: %v", what, err)
		}
		plan.WriteString(value)
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("%s: explain: %v", what, err)
	}
	b.Logf("%s:\n%s", what, plan.String())
}

// nameIn reports whether name starts with one of the comma-separated prefixes.
func nameIn(name, prefixes string) bool {
	for _, p := range strings.Split(prefixes, ",") {
		if p = strings.TrimSpace(p); p != "" && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
