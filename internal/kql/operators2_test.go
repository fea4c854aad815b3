package kql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Functions, table(), union parameters, materialize, as, parse and
// mv-apply, run on copilot-interactions.jsonl (17 records). Expected values
// are worked out by hand from the fixture file and its README: per actor
// user1 lines 1, 4; user2 2, 8, 17; user3 3, 9; user4 5, 10, 13; user5 6,
// 11; user6 7, 12; user7 14, 15, 16 (UserType 2, Admin). AppHost Teams on
// lines 2, 7, 9, 11; Word 1, 8; Excel 6. Messages: 2 on each of lines 1, 3–7,
// 9–11, 4 on lines 2 and 8 (26), none on 12–17; jailbreaks on line 7
// Messages[0] and line 8 Messages[2].
var operators2Queries = []queryCase{
	// let functions
	{"scalar function", `let domain = (upn:string) { tostring(split(upn, "@")[1]) };
CopilotActivity | where ActorName == "user7@contoso.example" | take 1 | project d = domain(ActorName)`, "contoso.example", false},
	{"scalar function, default argument", `let f = (s:string, n:long = 2) { strcat(s, "-", tostring(n)) };
print a = f("x"), b = f("y", 3)`, "x-2|y-3", false},
	{"function named like a type", `let double = (n:long) { n * 2 }; print x = double(21)`, "42", false},
	{"scalar function calling another", `let g = (n:long) { n * 10 }; let f = (n:long) { g(n) + 1 }; print x = f(4)`, "41", false},
	{"parameter hides a column", `let f = (ActorName:string) { strcat(ActorName, "!") };
CopilotActivity | where RecordId == "ec077ad4-aec7-44b1-a8b4-406c0190f12c" | project v = f("p")`, "p!", false},
	{"tabular function", `let byHost = (h:string, n:long) { CopilotActivity | where AppHost == h | take n };
byHost("Teams", 10) | count`, "4", false},
	{"tabular function, take parameter", `let byHost = (h:string, n:long) { CopilotActivity | where AppHost == h | take n };
byHost("Teams", 2) | count`, "2", false},
	{"tabular function in union", `let actor = (u:string) { CopilotActivity | where ActorName == u };
union actor("user7@contoso.example"), actor("user1@contoso.example") | count`, "5", false},
	{"tabular function in join", `let actor = (u:string) { CopilotActivity | where ActorName == u };
actor("user2@contoso.example") | join kind=inner (actor("user2@contoso.example") | summarize n = count() by ActorName) on ActorName | distinct n`, "3", false},
	{"tabular function in lookup", `let f = (u:string) { CopilotActivity | where ActorName == u | project ActorName, RecordId };
CopilotActivity | lookup f("user7@contoso.example") on RecordId | where isnotempty(ActorName1) | count`, "3", false},
	// max(messages, resources) per row: 2,4,2,2,3,2,2,4,2,2,2 on lines 1–11,
	// one null row on each of 12–17: 33.
	{"mv-apply zips two arrays", `CopilotActivity | project RecordId, LLMEventData
| mv-apply m = LLMEventData.Messages, r = LLMEventData.AccessedResources on (project m, r) | count`, "33", false},
	{"function with local lets", `let f = (u:string) { let t = CopilotActivity | where ActorName == u; let k = 1; t | count | extend c = Count + k | project c };
f("user2@contoso.example")`, "4", false},
	{"function without parameters, named bare", `let admins = () { CopilotActivity | where ActorUserType == "Admin" }; admins | count`, "3", false},
	{"function without parameters, called", `let admins = () { CopilotActivity | where ActorUserType == "Admin" }; admins() | count`, "3", false},
	{"let holding a tabular function call", `let f = (u:string) { CopilotActivity | where ActorName == u }; let t = f("user3@contoso.example"); t | count`, "2", false},
	{"let pipeline from a function call", `let f = (u:string) { CopilotActivity | where ActorName == u }; let t = f("user3@contoso.example") | where AppHost == "Teams"; t | project RecordId`,
		"d85ab9c5-f9f9-4a6a-b156-fd5c3c20c69b", false},
	{"table() literal", `table("CopilotActivity") | count`, "17", false},
	{"table() of a let string", `let name = "CopilotActivity"; table(name) | count`, "17", false},
	{"table() in a function", `let f = (n:string) { table(n) | count }; f("CopilotActivity")`, "17", false},
	{"table() of a tabular let", `let W = CopilotActivity | where AppHost == "Word"; table("W") | count`, "2", false},

	// union parameters
	{"union withsource, lets", `let W = CopilotActivity | where AppHost == "Word"; let X = CopilotActivity | where AppHost == "Excel";
union withsource=Src W, X | summarize n = count() by Src | sort by Src asc`, "W|2\nX|1", false},
	{"union withsource, table and expression", `union withsource=Src CopilotActivity, (print x = 1) | summarize n = count() by Src | sort by Src asc`,
		"CopilotActivity|17\nunion_arg1|1", false},
	{"union operator withsource, piped input", `CopilotActivity | where AppHost == "Word" | union withsource=S (CopilotActivity | where AppHost == "Excel") | summarize n = count() by S | sort by S asc`,
		"union_arg0|2\nunion_arg1|1", false},
	{"union isfuzzy skips a missing table", `union isfuzzy=true CopilotActivity, NoSuchTable | count`, "17", false},
	{"union isfuzzy with withsource", `union isfuzzy=true withsource=T NoSuchTable, CopilotActivity | distinct T`, "CopilotActivity", false},
	{"union kind=outer fills nulls", `union kind=outer (print A = "x", B = 1), (print A = "y", C = 2) | sort by A asc`, "x|1|null\ny|null|2", false},
	{"union kind=inner keeps common columns", `union kind=inner (print A = "x", B = 1), (print A = "y", C = 2) | sort by A asc`, "x\ny", false},

	// materialize and as
	{"materialize", `let m = materialize(CopilotActivity | summarize n = count() by ActorName);
m | join kind=inner (m | where n > 2) on ActorName | project ActorName | sort by ActorName asc`,
		"user2@contoso.example\nuser4@contoso.example\nuser7@contoso.example", false},
	{"as, then union", `CopilotActivity | where AppHost == "Teams" | as T | union T | count`, "8", false},
	{"as, then join", `CopilotActivity | where AppHost == "Word" | as W | join kind=leftsemi (W | where ActorName == "user2@contoso.example") on RecordId | project RecordId`,
		"e59c80b3-e6f4-42b3-a363-15d97b9c3f08", false},

	// parse
	{"parse simple, typed", `CopilotActivity | where ActorName == "user7@contoso.example" | take 1 | parse ActorName with "user" N:long "@" Domain | project N, Domain`,
		"7|contoso.example", false},
	{"parse with wildcards", `print s = "Event: x (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=23)"
| parse s with * "resourceName=" R ", totalSlices=" T:long * "sliceNumber=" Slice:long ")" | project R, T, Slice`, "PipelineScheduler|27|23", false},
	{"parse no match gives null and empty", `print s = "abc" | parse s with "x=" A:long "," B | project A, B, s`, "null||abc", false},
	{"parse strict type: 1.5 is no long", `print s = "a=1.5" | parse s with "a=" N:long | project N`, "null", false},
	{"parse real and datetime", `print s = "v=1.5 at 2026-03-02T08:03:11Z" | parse s with "v=" V:real " at " D:datetime | project V, D`, "1.5|2026-03-02T08:03:11Z", false},
	{"parse escapes regex characters in constants", `print s = "a.b(c)" | parse s with X "(" Y ")" | project X, Y`, "a.b|c", false},
	{"parse replaces an existing column", `print s = "k=5" | parse s with "k=" s:long | project s`, "5", false},
	{"parse IPv4 addresses", `CopilotActivity | parse SrcIpAddr with A:long "." B:long "." C:long "." D:long | where isnotnull(D) | summarize n = count(), d = dcount(SrcIpAddr)`, "12|6", false},
	{"parse kind=regex", `print s = "key=42;name=bob" | parse kind=regex s with "(id|key)=" Id:long ";name=" Name | project Id, Name`, "42|bob", false},
	{"parse kind=regex flags=i", `print s = "ID=7" | parse kind=regex flags=i s with "id=" Id:long | project Id`, "7", false},

	// mv-apply
	// Teams 4 (lines 2, 7, 9, 11; RecordType 261 but 334 on line 11) and 9
	// after 2026-03-03 00:00 (lines 9–17, largest RecordType 363).
	{"golden functions-union-materialize", `let dbl = (n:long) { n * 2 };
let byHost = (h:string, n:long = 100) { table("CopilotActivity") | where AppHost == h | take n };
let Recent = materialize(CopilotActivity | where TimeGenerated > datetime(2026-03-03));
union withsource=Source isfuzzy=true kind=outer byHost("Teams"), Recent, MissingTable
| extend Twice = dbl(RecordTypeNumber)
| as Rows
| summarize n = count(), t = max(Twice) by Source | sort by Source asc`, "Recent|9|726\nunion_arg0|4|668", false},
	{"mv-apply where | take 1 (issue example)", `CopilotActivity
| mv-apply X = LLMEventData.Messages to typeof(dynamic) on (where tobool(X.JailbreakDetected) | take 1)
| project RecordId`, "4e814558-4e74-4a98-9267-9fad350f5e18\ne59c80b3-e6f4-42b3-a363-15d97b9c3f08", true},
	{"parse then mv-apply (golden parse-mvapply)", `CopilotActivity
| parse SrcIpAddr with A:long "." B:long "." *
| mv-apply X = LLMEventData.Messages to typeof(dynamic) on (where tobool(X.JailbreakDetected) | take 1)
| project RecordId, A, B`, "4e814558-4e74-4a98-9267-9fad350f5e18|198|51\ne59c80b3-e6f4-42b3-a363-15d97b9c3f08|null|null", true},
	{"mv-apply take 1 per row", `CopilotActivity | mv-apply m = LLMEventData.Messages on (take 1) | count`, "17", false},
	// 2 on each of nine lines, 3 on lines 2 and 8, one null row on 12–17: 30.
	{"mv-apply limit 3 per row", `CopilotActivity | mv-apply m = LLMEventData.Messages on (limit 3) | count`, "30", false},
	{"mv-apply summarize per row", `CopilotActivity | mv-apply m = LLMEventData.Messages on (summarize n = countif(isnotnull(m)), j = countif(tobool(m.JailbreakDetected)))
| where j > 0 | project RecordId, n, j`, "4e814558-4e74-4a98-9267-9fad350f5e18|2|1\ne59c80b3-e6f4-42b3-a363-15d97b9c3f08|4|1", true},
	{"mv-apply summarize over an emptied sub-table", `CopilotActivity | mv-apply m = LLMEventData.Messages on (where tobool(m.JailbreakDetected) | summarize c = count())
| summarize rows = count(), hits = countif(c > 0), s = sum(c)`, "17|2|2", false},
	{"mv-apply top by, extend, project", `CopilotActivity | where RecordId == "e59c80b3-e6f4-42b3-a363-15d97b9c3f08"
| mv-apply m = LLMEventData.Messages on (extend i = tobool(m.JailbreakDetected) | top 1 by i desc | project i)
| project RecordId, i`, "e59c80b3-e6f4-42b3-a363-15d97b9c3f08|true", false},
	{"mv-apply keeps the input order", `CopilotActivity | where AppHost == "Teams" | sort by TimeGenerated asc
| mv-apply m = LLMEventData.Messages on (take 1 | project First = tobool(m.JailbreakDetected))
| project RecordId, First`, "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1|false\n4e814558-4e74-4a98-9267-9fad350f5e18|true\nd85ab9c5-f9f9-4a6a-b156-fd5c3c20c69b|false\nbc90c43f-9824-4393-9b4d-7398bcd63aab|false", false},
	{"mv-apply of a column replaces it", `CopilotActivity | where RecordId == "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1" | project RecordId, LLMEventData
| extend Messages = LLMEventData.Messages | project-away LLMEventData
| mv-apply Messages on (summarize n = count())`, "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1|4", false},
}

func TestOperators2Queries(t *testing.T) {
	runQueryCases(t, fixtureStore(t, "interactions"), operators2Queries)
}

func TestOperators2Columns(t *testing.T) {
	cases := []struct {
		q    string
		cols []Column
	}{
		{`union kind=inner (print A = "x", B = 1), (print A = "y", C = 2)`, []Column{{"A", TString}}},
		{`union withsource=S kind=outer (print A = "x", B = 1), (print A = "y", C = 2)`, []Column{{"S", TString}, {"A", TString}, {"B", TLong}, {"C", TLong}}},
		{`print s = "a" | parse s with X "-" N:long * | project-away s`, []Column{{"X", TString}, {"N", TLong}}},
		{`CopilotActivity | project RecordId, LLMEventData | mv-apply m = LLMEventData.Messages on (project j = m.JailbreakDetected)`,
			[]Column{{"RecordId", TString}, {"LLMEventData", TDynamic}, {"j", TDynamic}}},
		{`let f = (x:long) { x * 2 }; print v = f(2)`, []Column{{"v", TLong}}},
	}
	for _, c := range cases {
		comp, err := Compile(c.q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if !reflect.DeepEqual(comp.Columns, c.cols) {
			t.Errorf("%s:\n got %v\nwant %v", c.q, comp.Columns, c.cols)
		}
	}
}

// A materialized let is one CTE, computed once however often it is read.
func TestMaterializeOnce(t *testing.T) {
	comp, err := Compile(`let m = materialize(CopilotActivity | summarize n = count() by ActorName); union m, m, m | count`, DefaultCatalog(), Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(comp.SQL, "AS MATERIALIZED"); n != 1 {
		t.Errorf("%d materialized CTEs, want 1:\n%s", n, comp.SQL)
	}
	if n := strings.Count(comp.SQL, `FROM "CopilotActivity"`); n != 1 {
		t.Errorf("the table is read %d times, want 1:\n%s", n, comp.SQL)
	}
	rows := run(t, fixtureStore(t, "interactions"), `let m = materialize(CopilotActivity | summarize n = count() by ActorName); union m, m, m | count`)
	if got := flat(rows); got != "21" { // 7 actors, three times
		t.Errorf("got %s, want 21", got)
	}
}

func TestOperators2Errors(t *testing.T) {
	cases := []struct {
		q         string
		line, col int
		msg       string
	}{
		{`let f = (x:long) { f(x) }; print f(1)`, 1, 20, `function f calls itself`},
		{`let f = (x:long) { x }; print f(1, 2)`, 1, 31, `function f takes 1 arguments, found 2`},
		{`let f = (x:long, y:long) { x }; print f(1)`, 1, 39, `function f needs argument y`},
		{`let f = (x:string) { x }; print f(1)`, 1, 35, `argument x of f must be string, found long`},
		{`let f = (x:string) { x }; f("a") | count`, 1, 27, `function f returns a scalar, not a table`},
		{`let f = () { CopilotActivity }; print f()`, 1, 39, `function f returns a table, not a scalar`},
		{`let f = (x:string) { x }; print f`, 1, 33, `f is a function: call it as f(…)`},
		{`nope(1) | count`, 1, 1, `unknown tabular function nope()`},
		{`table(1) | count`, 1, 7, `table() needs a constant string`},
		{`table("Nope") | count`, 1, 1, `unknown table "Nope"`},
		{`let f = (T:(*)) { T }; print 1`, 1, 12, `unsupported: tabular function parameters`},
		{`union NoSuchTable, CopilotActivity`, 1, 7, `unknown table "NoSuchTable"`},
		{`union isfuzzy=true NoSuchTable`, 1, 1, `union: none of its tables exists`},
		{`union kind=middle CopilotActivity`, 1, 12, `bad value "middle" for union parameter kind`},
		{`union hint.concurrency=2 CopilotActivity`, 1, 7, `unsupported: union parameter hint.concurrency`},
		{`union withsource=ActorName CopilotActivity`, 1, 1, `union withsource=ActorName: a column of that name exists already`},
		{`CopilotActivity | as hint.materialized=true X`, 1, 22, `unsupported: as parameter hint.materialized`},
		{`CopilotActivity | parse kind=relaxed ActorName with "u" N:long`, 1, 30, `unsupported: parse kind=relaxed`},
		{`CopilotActivity | parse ActorName with "u" X "@" X`, 1, 50, `column "X" is named twice in the parse pattern`},
		{`CopilotActivity | parse ActorName with "u" *`, 1, 19, `parse needs at least one column in its pattern`},
		{`CopilotActivity | parse ActorName with "u" X * "@" Y`, 1, 46, `parse: * cannot follow a string column (X)`},
		{`CopilotActivity | parse kind=regex ActorName with "(" X`, 1, 51, `bad regular expression in parse`},
		{`print s = "a-1" | parse s with X "-" S:long`, 1, 19, `unsupported: columns "s" and "S" differ only in case`},
		{"CopilotActivity\n| mv-apply m = LLMEventData.Messages on (count)", 2, 42, `unsupported in mv-apply: count`},
		{"CopilotActivity\n| mv-apply m = LLMEventData.Messages on (summarize count() by tostring(m))", 2, 42, `unsupported in mv-apply: summarize with by`},
		{"CopilotActivity | mv-apply with_itemindex=i m = LLMEventData.Messages on (take 1)", 1, 28, `unsupported: mv-apply parameter with_itemindex`},
		{"CopilotActivity | mv-apply m = LLMEventData.Messages on (take 1) | project ActorName, m, LLMEventData | mv-apply m on (project ActorName = 1)", 1, 105, `mv-apply: the sub-query makes a column "ActorName" the input has already`},
	}
	for _, c := range cases {
		_, err := Compile(c.q, DefaultCatalog(), Options{})
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
