package kql

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .sql files (review the diff by hand)")

// Golden tests: testdata/NAME.kql compiles to exactly testdata/NAME.sql.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.kql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden queries: %v", err)
	}
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".kql")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			comp, err := Compile(string(src), DefaultCatalog(), Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".kql") + ".sql"
			if *update {
				if err := os.WriteFile(golden, []byte(comp.SQL+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if comp.SQL+"\n" != string(want) {
				t.Errorf("SQL differs from %s:\n%s", golden, comp.SQL)
			}
		})
	}
}

// Every golden query also runs on DuckDB over the fixtures.
func TestGoldenRuns(t *testing.T) {
	st := fixtureStore(t, "interactions")
	files, _ := filepath.Glob("testdata/*.kql")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		run(t, st, string(src))
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		q         string
		line, col int
		msg       string
	}{
		{`CopilotActivity | make-series count() on TimeGenerated step 1h`, 1, 19, `unsupported operator "make-series"`},
		{`CopilotActivity | lookup kind=fullouter (CopilotActivity) on RecordId`, 1, 31, `unsupported join kind "fullouter"`},
		{`CopilotActivity | join kind=outer (CopilotActivity) on RecordId`, 1, 29, `unsupported join kind "outer"`},
		{`CopilotActivity | join (CopilotActivity) on Nope`, 1, 45, `unknown column "Nope" on the left side of the join`},
		{`CopilotActivity | join (CopilotActivity) on $left.ActorName == $right.TimeGenerated`, 1, 45, `join keys ActorName (string) and TimeGenerated (datetime) differ in type`},
		{`CopilotActivity | join hint.strategy=broadcast (CopilotActivity) on RecordId`, 1, 24, `unsupported: join parameter hint`},
		{"CopilotActivity\n| where ActorName hassuffix_cs \"x\"", 2, 19, `unsupported operator "hassuffix_cs"`},
		{`CopilotActivity | where ActorName matches regex "("`, 1, 49, `bad regular expression`},
		{`CopilotActivity | where datetime_diff("fortnight", TimeGenerated, TimeGenerated) > 1`, 1, 39, `unsupported datetime_diff period "fortnight"`},
		{`CopilotActivity | where format_datetime(TimeGenerated, "yyyy MMM") == ""`, 1, 56, `format_datetime(): unsupported specifier "MMM"`},
		{`CopilotActivity | where Foo == 1`, 1, 25, `unknown column or name "Foo"`},
		{`CopilotActivity | summarize count() by bin(TimeGenerated, 0s)`, 1, 59, `bin() needs a positive bin size`},
		{"let size = -5;\nprint bin(3, size)", 2, 14, `bin() needs a positive bin size`},
		{`CopilotActivity | where ActorName == "x`, 1, 38, `string literal not closed`},
		{`CopilotActivity | where TimeGenerated > ago(5y)`, 1, 46, `unknown timespan unit "y"`},
		{`Nope | count`, 1, 1, `unknown table "Nope"`},
		{`CopilotActivity | project count()`, 1, 27, `aggregate count() is only allowed in summarize`},
		{"CopilotActivity\n| mv-apply m = LLMEventData.Messages on (distinct m)", 2, 42, `unsupported in mv-apply: distinct`},
		{"CopilotActivity\n| join (CopilotActivity) on ActorName\n| parse kind=relaxed ActorName with a \"@\" b", 3, 14, `unsupported: parse kind=relaxed`},
		{"CopilotActivity\n\t| where ActorName == 1", 2, 20, `cannot compare string with long`},
		{`CopilotActivity | where ActorName`, 1, 25, `expected a bool, found string`},
		{`CopilotActivity | summarize count() by`, 1, 39, `expected an expression, found end of query`},
		{`CopilotActivity | take -1`, 1, 24, `take needs a constant, non-negative whole number`},
		{`CopilotActivity | where ActorName has ActorName`, 1, 39, `has needs a constant string`},
		{`CopilotActivity | project LLMEventData["a\"b"]`, 1, 39, `unsupported: property names holding quotes`},
		{`CopilotActivity | project LLMEventData["*"]`, 1, 39, `unsupported: the property name "*"`},
		{`CopilotActivity | where AppHost has "` + strings.Repeat("x", 5000) + `"`, 1, 37, `has: a term of 5000 bytes is longer than supported (at most 4096)`},
		{`CopilotActivity | where AppHost has_any ("a", "` + strings.Repeat("x", 5000) + `")`, 1, 47, `has_any: a term of 5000 bytes is longer than supported (at most 4096)`},
		{`CopilotActivity | project LLMEventData.Messages[""]`, 1, 48, `unsupported: the property name ""`},
		{`CopilotActivity | where ActorName.x == ""`, 1, 34, `ActorName is string; only dynamic values have members`},
		{`let f = (x:string) { x }; CopilotActivity | where f(1) == ""`, 1, 53, `argument x of f must be string, found long`},
		{`CopilotActivity | where ActorName == "a" | render timechart | count`, 1, 44, `render must be the last operator`},
		{`CopilotActivity | project a = 1, a = 2`, 1, 34, `column "a" is named twice`},
		{`CopilotActivity | where ActorName !hasprefix_cs "x"`, 1, 35, `unsupported operator "!hasprefix_cs"`},
		{`CopilotActivity | summarize p = percentiles(RecordTypeNumber, 50, 90)`, 1, 29, `unsupported: naming the columns of percentiles()`},
		{`CopilotActivity | extend __kql_ord1 = 1`, 1, 26, `names starting with __kql_ are reserved`},
		{`CopilotActivity | where ActorName == "a" ; `, 0, 0, ``},
	}
	for _, c := range cases {
		_, err := Compile(c.q, DefaultCatalog(), Options{})
		if c.msg == "" {
			if err != nil {
				t.Errorf("%q: unexpected error %v", c.q, err)
			}
			continue
		}
		var ke *Error
		if !errors.As(err, &ke) {
			t.Errorf("%q: got %v, want a *kql.Error", c.q, err)
			continue
		}
		if ke.Line != c.line || ke.Column != c.col || !strings.HasPrefix(ke.Msg, c.msg) {
			t.Errorf("%q:\n got %d:%d %s\nwant %d:%d %s", c.q, ke.Line, ke.Column, ke.Msg, c.line, c.col, c.msg)
		}
	}
}

// The message shows the line and a caret under the spot, tabs kept.
func TestErrorCaret(t *testing.T) {
	_, err := Compile("CopilotActivity\n\t| where Foo == 1", DefaultCatalog(), Options{})
	want := "line 2, column 10: unknown column or name \"Foo\"\n  \t| where Foo == 1\n  \t        ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestColumnsAndRender(t *testing.T) {
	cases := []struct {
		q      string
		cols   []Column
		render string
	}{
		{`CopilotActivity | summarize count() by RecordType | render barchart with (title="x")`,
			[]Column{{"RecordType", TString}, {"count_", TLong}}, "barchart"},
		{`CopilotActivity | summarize dcount(ActorName), make_set(AppHost), make_list(AppHost), countif(true), sum(ContentHash), avg(RecordTypeNumber), max(TimeGenerated), take_any(Operation) by bin(TimeGenerated, 1h)`,
			[]Column{{"TimeGenerated", TDatetime}, {"dcount_ActorName", TLong}, {"set_AppHost", TDynamic}, {"list_AppHost", TDynamic},
				{"countif_", TLong}, {"sum_ContentHash", TLong}, {"avg_RecordTypeNumber", TReal}, {"max_TimeGenerated", TDatetime}, {"any_Operation", TString}}, ""},
		{`CopilotActivity | summarize count(), count() by tostring(LLMEventData.AppHost)`,
			[]Column{{"Column1", TString}, {"count_", TLong}, {"count_1", TLong}}, ""},
		{`CopilotActivity | summarize percentile(RecordTypeNumber, 95), stdev(RecordTypeNumber), variance(RecordTypeNumber)`,
			[]Column{{"percentile_RecordTypeNumber_95", TInt}, {"stdev_RecordTypeNumber", TReal}, {"variance_RecordTypeNumber", TReal}}, ""},
		{`CopilotActivity | project LLMEventData.Messages[0].isPrompt, strlen(ActorName), strlen(AppHost), ActorName`,
			[]Column{{"LLMEventData_Messages_0_isPrompt", TDynamic}, {"Column1", TLong}, {"Column2", TLong}, {"ActorName", TString}}, ""},
		{`CopilotActivity | project RecordId, ActorName | join (CopilotActivity | project RecordId, ActorName, AppHost) on RecordId`,
			[]Column{{"RecordId", TString}, {"ActorName", TString}, {"RecordId1", TString}, {"ActorName1", TString}, {"AppHost", TString}}, ""},
		{`CopilotActivity | project-away LLMEventData, RecordId | project-rename Who = ActorName | take 0 | project Who, ContentHash`,
			[]Column{{"Who", TString}, {"ContentHash", TLong}}, ""},
		{`CopilotActivity | count`, []Column{{"Count", TLong}}, ""},
		{`print a = 1, "x", 2.5`, []Column{{"a", TLong}, {"print_1", TString}, {"print_2", TReal}}, ""},
		{`CopilotActivity | project ActorName, RecordType | lookup (CopilotActivity | summarize n = count() by ActorName) on ActorName`,
			[]Column{{"ActorName", TString}, {"RecordType", TString}, {"n", TLong}}, ""},
		{`CopilotActivity | summarize arg_max(TimeGenerated, *) by ActorName | project-away LLMEventData | take 0 | project ActorName, TimeGenerated, RecordId`,
			[]Column{{"ActorName", TString}, {"TimeGenerated", TDatetime}, {"RecordId", TString}}, ""},
	}
	for _, c := range cases {
		comp, err := Compile(c.q, DefaultCatalog(), Options{})
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if !reflect.DeepEqual(comp.Columns, c.cols) {
			t.Errorf("%s:\n got %v\nwant %v", c.q, comp.Columns, c.cols)
		}
		got := ""
		if comp.Render != nil {
			got = comp.Render.Kind
		}
		if got != c.render {
			t.Errorf("%s: render %q, want %q", c.q, got, c.render)
		}
	}
}

// now() and ago() are fixed once per query: literals from Options.Now.
func TestNowIsALiteral(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	comp, err := Compile(`CopilotActivity | where TimeGenerated > ago(1h) and IngestionTime < now()`, DefaultCatalog(), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TIMESTAMP '2026-03-10 11:00:00.000000'", "TIMESTAMP '2026-03-10 12:00:00.000000'"} {
		if !strings.Contains(comp.SQL, want) {
			t.Errorf("SQL lacks %s:\n%s", want, comp.SQL)
		}
	}
	if strings.Contains(strings.ToLower(comp.SQL), "now()") || strings.Contains(comp.SQL, "current_timestamp") {
		t.Errorf("SQL asks DuckDB for the time:\n%s", comp.SQL)
	}
}

// A value that looks like SQL stays inside one escaped literal.
func TestLiteralsAreEscaped(t *testing.T) {
	comp, err := Compile(`CopilotActivity | where ActorName == "a'b\"c" and AppHost has @"x'y"`, DefaultCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`'a''b"c'`, `(|.*[^0-9A-Za-z])[xX]''[yY](|[^0-9A-Za-z].*)`} {
		if !strings.Contains(comp.SQL, want) {
			t.Errorf("SQL lacks %s:\n%s", want, comp.SQL)
		}
	}
}

func TestCatalog(t *testing.T) {
	c := NewCatalog()
	if err := c.Register(Table{Name: "T", Columns: []Column{{"a", TString}, {"b", TLong}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(Table{Name: "T", Columns: []Column{{"a", TString}}}); err == nil {
		t.Error("registered T twice")
	}
	if err := c.Register(Table{Name: "U", Columns: []Column{{"a", "blob"}}}); err == nil {
		t.Error("registered an unknown type")
	}
	comp, err := Compile(`T | where a == "x" | project b`, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(comp.SQL, `FROM "T"`) || !reflect.DeepEqual(comp.Columns, []Column{{"b", TLong}}) {
		t.Errorf("got %v\n%s", comp.Columns, comp.SQL)
	}
	if _, err := Compile(`CopilotActivity | count`, c, Options{}); err == nil {
		t.Error("CopilotActivity is not in this catalogue")
	}
}

func TestLexerLiterals(t *testing.T) {
	toks, err := lex(`5m 1.5h 100ms 7d 2s 10 1.5 1e3 @'a''b' @"c""d" 'e\'f' "g\\h" datetime(2026-03-02 08:00) !has in~ !in~`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind tokKind
		text string
		dur  time.Duration
	}{
		{tTimespan, "5m", 5 * time.Minute}, {tTimespan, "1.5h", 90 * time.Minute}, {tTimespan, "100ms", 100 * time.Millisecond},
		{tTimespan, "7d", 168 * time.Hour}, {tTimespan, "2s", 2 * time.Second}, {tLong, "10", 0}, {tReal, "1.5", 0}, {tReal, "1e3", 0},
		{tString, "a'b", 0}, {tString, `c"d`, 0}, {tString, "e'f", 0}, {tString, `g\h`, 0}, {tDatetime, "2026-03-02 08:00", 0},
		{tIdent, "!has", 0}, {tIdent, "in~", 0}, {tIdent, "!in~", 0}, {tEOF, "", 0},
	}
	if len(toks) != len(want) {
		t.Fatalf("%d tokens, want %d: %+v", len(toks), len(want), toks)
	}
	for i, w := range want {
		if toks[i].kind != w.kind || toks[i].text != w.text || toks[i].dur != w.dur {
			t.Errorf("token %d = %+v, want %+v", i, toks[i], w)
		}
	}
}

func TestDeepNestingIsAnError(t *testing.T) {
	for _, q := range []string{
		"CopilotActivity | where " + strings.Repeat("(", 10000) + "true" + strings.Repeat(")", 10000),
		"CopilotActivity | where " + strings.Repeat("-", 10000) + "1 == 1",
		"CopilotActivity | extend d = dynamic(" + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + ")",
	} {
		var ke *Error
		if _, err := Compile(q, DefaultCatalog(), Options{}); !errors.As(err, &ke) || !strings.Contains(ke.Msg, "nested too deeply") {
			t.Errorf("got %v", err)
		}
	}
}

// A table is read with only the columns the rest of the query names.
func TestTableReadIsPruned(t *testing.T) {
	for _, tc := range []struct{ kql, read string }{
		{`CopilotActivity | where AppHost == "Word" | count`, `SELECT "AppHost" FROM "CopilotActivity"`},
		{`CopilotActivity | summarize count()`, `SELECT "TimeGenerated" FROM "CopilotActivity"`},
		{`CopilotActivity | project ActorName, Ip = SrcIpAddr | take 3`, `SELECT "ActorName", "SrcIpAddr" FROM "CopilotActivity"`},
		{`CopilotActivity | where array_length(LLMEventData.AccessedResources) > 2 | project RecordId`, `SELECT "RecordId", "LLMEventData" FROM "CopilotActivity"`},
	} {
		comp, err := Compile(tc.kql, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("%s: %v", tc.kql, err)
		}
		if !strings.Contains(comp.SQL, "q1 AS ("+tc.read+")") {
			t.Errorf("%s: the table is not read as %s:\n%s", tc.kql, tc.read, comp.SQL)
		}
	}
}
