package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/aiwatch/aiwatch/internal/kql"
)

func postQuery(t *testing.T, url, body string) (int, string, string) {
	t.Helper()
	code, hdr, b := call(t, "POST", url+"/api/v1/query", testToken, body)
	return code, hdr.Get(TruncatedHeader), b
}

func decodeResult(t *testing.T, body string) QueryResult {
	t.Helper()
	var r QueryResult
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("not a query result: %v\n%s", err, body)
	}
	return r
}

// TestQueryValues: the values of copilot-interactions.jsonl line 1 as the
// fixtures README gives them.
func TestQueryValues(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t)})
	q := `CopilotActivity | where RecordId == "ec077ad4-aec7-44b1-a8b4-406c0190f12c" | project RecordId, TimeGenerated, ActorName, ActorUserType, SrcIpAddr, ClientRegion, AppHost, RecordTypeNumber`
	code, _, body := postQuery(t, srv.URL, `{"query":`+string(jsonBytes(q))+`}`)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	want := `{"columns":[{"name":"RecordId","type":"string"},{"name":"TimeGenerated","type":"datetime"},{"name":"ActorName","type":"string"},{"name":"ActorUserType","type":"string"},{"name":"SrcIpAddr","type":"string"},{"name":"ClientRegion","type":"string"},{"name":"AppHost","type":"string"},{"name":"RecordTypeNumber","type":"int"}],"rows":[
{"RecordId":"ec077ad4-aec7-44b1-a8b4-406c0190f12c","TimeGenerated":"2026-03-02T08:03:11Z","ActorName":"user1@contoso.example","ActorUserType":"Regular","SrcIpAddr":"198.51.100.23","ClientRegion":"US","AppHost":"Word","RecordTypeNumber":261}
],"truncated":false}
`
	if body != want {
		t.Fatalf("body:\n%s\nwant:\n%s", body, want)
	}

	// Aggregates and dynamic values: 17 records, 7 distinct actors; line 4's
	// first accessed resource carries label ceb309b8-….
	code, _, body = postQuery(t, srv.URL, `{"query":"CopilotActivity | summarize n = count(), actors = dcount(ActorName)"}`)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	r := decodeResult(t, body)
	if len(r.Rows) != 1 || string(r.Rows[0]) != `{"n":17,"actors":7}` || r.Columns[0] != (ResultColumn{"n", "long"}) {
		t.Fatalf("summarize: %s", body)
	}
	code, _, body = postQuery(t, srv.URL, `{"query":"CopilotActivity | where RecordId == '0d989b32-588e-4fd3-b045-a3f920e1929c' | project LLMEventData"}`)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	r = decodeResult(t, body)
	var row struct {
		LLMEventData struct {
			AccessedResources []struct{ SensitivityLabelId, Name string }
		}
	}
	if r.Columns[0].Type != "dynamic" || len(r.Rows) != 1 || json.Unmarshal(r.Rows[0], &row) != nil ||
		len(row.LLMEventData.AccessedResources) != 1 || row.LLMEventData.AccessedResources[0].SensitivityLabelId != "ceb309b8-8ec1-4b9e-873a-50eaddc1221e" ||
		row.LLMEventData.AccessedResources[0].Name != "Pricing Memo.docx" {
		t.Fatalf("dynamic column: %s", body)
	}

	// now() is the server's clock, 2026-03-05T12:00:00Z: ago(3d) is
	// 2026-03-02T12:00:00Z, and 11 of the 17 CreationTimes come after it
	// (the first six are 08:03 to 11:05 that morning).
	code, _, body = postQuery(t, srv.URL, `{"query":"CopilotActivity | where TimeGenerated > ago(3d) | count"}`)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	if r := decodeResult(t, body); len(r.Rows) != 1 || string(r.Rows[0]) != `{"Count":11}` {
		t.Fatalf("ago(3d) is relative to the server clock: %s", body)
	}
}

func TestQueryCSV(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t)})
	code, trunc, body := postQuery(t, srv.URL, `{"query":"CopilotActivity | where ActorName == 'user1@contoso.example' | project RecordId, AppHost | order by RecordId asc","format":"csv"}`)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	// user1's records: lines 1 (Word) and 4 (Bing) of copilot-interactions.jsonl.
	want := "RecordId,AppHost\n0d989b32-588e-4fd3-b045-a3f920e1929c,Bing\nec077ad4-aec7-44b1-a8b4-406c0190f12c,Word\n"
	if body != want || trunc != "false" {
		t.Fatalf("csv (truncated %q):\n%s", trunc, body)
	}
}

func TestQueryCompileError(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t)})
	cases := []struct {
		query        string
		line, column int
		says         string
	}{
		// The unknown column starts at line 2, column 9.
		{"CopilotActivity\n| where NoSuchColumn == 1", 2, 9, "NoSuchColumn"},
		{"NoSuchTable | take 1", 1, 1, "NoSuchTable"},
	}
	for _, c := range cases {
		code, _, body := postQuery(t, srv.URL, `{"query":`+string(jsonBytes(c.query))+`}`)
		if code != 400 {
			t.Fatalf("%q: HTTP %d: %s", c.query, code, body)
		}
		e := errorOf(t, body)
		if e.Line != c.line || e.Column != c.column || !strings.Contains(e.Error, c.says) || !strings.HasPrefix(e.Error, "cannot compile the query: line ") {
			t.Fatalf("%q: %+v, want line %d column %d", c.query, e, c.line, c.column)
		}
	}
	for _, body := range []string{`{}`, `{"query":"  "}`, `{"query":"x","format":"xml"}`, `{"query":"x","maxRows":-1}`, `{"query":"x","limit":3}`, `not json`, `{"query":"a"} {"query":"b"}`} {
		if code, _, resp := postQuery(t, srv.URL, body); code != 400 {
			t.Fatalf("%s: HTTP %d: %s", body, code, resp)
		} else {
			errorOf(t, resp)
		}
	}
}

func TestQueryRowCap(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t), MaxRows: 5})
	cases := []struct {
		body      string
		rows      int
		truncated bool
	}{
		{`{"query":"CopilotActivity | project RecordId"}`, 5, true},
		{`{"query":"CopilotActivity | take 5"}`, 5, false},
		{`{"query":"CopilotActivity | take 4"}`, 4, false},
		{`{"query":"CopilotActivity | project RecordId","maxRows":3}`, 3, true},
		{`{"query":"CopilotActivity | project RecordId","maxRows":50}`, 5, true},
		{`{"query":"CopilotActivity | where RecordId == 'none'"}`, 0, false},
	}
	for _, c := range cases {
		code, _, body := postQuery(t, srv.URL, c.body)
		if code != 200 {
			t.Fatalf("%s: HTTP %d: %s", c.body, code, body)
		}
		r := decodeResult(t, body)
		if len(r.Rows) != c.rows || r.Truncated != c.truncated || r.Rows == nil {
			t.Fatalf("%s: %d rows, truncated %v; want %d, %v", c.body, len(r.Rows), r.Truncated, c.rows, c.truncated)
		}
	}
	code, trunc, body := postQuery(t, srv.URL, `{"query":"CopilotActivity | project RecordId","format":"csv"}`)
	if code != 200 || trunc != "true" || strings.Count(body, "\n") != 6 {
		t.Fatalf("csv cap: HTTP %d, truncated %q:\n%s", code, trunc, body)
	}
}

// TestQueryTimeout: a deadline already past stops the query with 504.
func TestQueryTimeout(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t), QueryTimeout: time.Nanosecond})
	code, _, body := postQuery(t, srv.URL, `{"query":"CopilotActivity | take 1"}`)
	if code != 504 || !strings.Contains(errorOf(t, body).Error, "ran longer than 1ns") {
		t.Fatalf("HTTP %d: %s", code, body)
	}
}

// TestQueryReadOnly: SQL that writes fails inside the read-only
// transaction, and the pooled connection is fine afterwards.
func TestQueryReadOnly(t *testing.T) {
	st := fixtureStore(t)
	a := &api{opts: Options{Store: st, MaxRows: 10, Logger: slog.New(slog.DiscardHandler)}}
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE TABLE Sneaky (a INTEGER)",
		"DELETE FROM CopilotActivityData",
		"INSERT INTO SchemaVersion VALUES (99)",
	} {
		var out bytes.Buffer
		_, err := a.run(ctx, &kql.Compiled{SQL: sql}, "json", 10, &out)
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var out bytes.Buffer
	if _, err := a.run(ctx, &kql.Compiled{SQL: "SELECT count(*) AS n FROM CopilotActivity"}, "json", 10, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `{"n":17}`) {
		t.Fatalf("after refused writes: %s", out.String())
	}
	// The store's own connection still writes.
	if _, err := st.Conn().ExecContext(ctx, "CREATE TABLE Allowed (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
}

func TestValueEncoding(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{duckdb.Interval{Micros: 5 * 60e6}, `"00:05:00"`},
		{duckdb.Interval{Days: 1, Micros: 2*3600e6 + 1500}, `"1.02:00:00.0015000"`},
		{duckdb.Interval{Micros: -90e6}, `"-00:01:30"`},
		{duckdb.Decimal{Scale: 2, Value: big.NewInt(-5)}, `-0.05`},
		{duckdb.Decimal{Scale: 2, Value: big.NewInt(12345)}, `123.45`},
		{big.NewInt(7), `7`},
		{time.Date(2026, 3, 2, 8, 3, 11, 500000000, time.FixedZone("x", 3600)), `"2026-03-02T07:03:11.5Z"`},
		{"a&b<c>", `"a&b<c>"`},
		{[]byte("raw"), `"raw"`},
	}
	for _, c := range cases {
		if got := string(jsonBytes(jsonValue(c.v, false))); got != c.want {
			t.Errorf("%#v: %s, want %s", c.v, got, c.want)
		}
	}
	if got := string(jsonBytes(jsonValue(`{"a":[1]}`, true))); got != `{"a":[1]}` {
		t.Errorf("dynamic string: %s", got)
	}
	if got := cellText(duckdb.Decimal{Scale: 3, Value: big.NewInt(1)}); got != "0.001" {
		t.Errorf("decimal cell: %s", got)
	}
}
