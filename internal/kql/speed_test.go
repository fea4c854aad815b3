package kql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// Shapes the faster emitter must keep (see doc.go): mv-expand reading
// array elements with one json_extract, raw JSON text columns, top as
// ORDER BY … LIMIT, bin as date_trunc, make_set sorted once per group.
// Expectations follow KQL's documented behaviour, not the emitter's output.
func TestEmitterShortcuts(t *testing.T) {
	st := fixtureStore(t, "interactions")
	runQueryCases(t, st, []queryCase{
		// mv-expand: a row per element, a null element stays a null row.
		{"mv-expand null element", `print a = dynamic([1, null, "s"]) | sort by tostring(a) | mv-expand a | project isnull(a), tostring(a)`, "false|1\ntrue|\nfalse|s", false},
		{"mv-expand null element compares as null", `print a = dynamic([null]) | mv-expand a | project a == dynamic(null), isnull(a)`, "null|true", false},
		{"mv-expand empty array", `print a = dynamic([]) | mv-expand a | count`, "0", false},
		{"mv-expand null value", `print a = dynamic(null) | mv-expand a | project isnull(a)`, "true", false},
		{"mv-expand bag", `print a = dynamic({"k": 1, "j": "x"}) | mv-expand a | project tostring(a)`, "{\"j\":\"x\"}\n{\"k\":1}", true},
		{"mv-expand scalar", `print a = dynamic(5) | mv-expand a | project tostring(a)`, "5", false},
		{"mv-expand string elements", `print a = dynamic(["x", "y"]) | mv-expand a | project tostring(a)`, "x\ny", true},
		{"mv-expand nested arrays", `print a = dynamic([[1, 2], [3]]) | mv-expand a | project tostring(a)`, "[1,2]\n[3]", true},
		{"mv-expand limit", `print a = dynamic([1, 2, 3]) | mv-expand a limit 2 | count`, "2", false},
		{"mv-expand zips", `print a = dynamic([1, 2, 3]), b = dynamic(["x"]) | sort by tostring(a) | mv-expand a, b | project tostring(a), tostring(b)`, "1|x\n2|\n3|", false},
		{"mv-expand to typeof", `print a = dynamic([1, null, "7"]) | sort by tostring(a) | mv-expand a to typeof(long) | project a`, "1\nnull\n7", false},
		{"mv-expand path with a null element", `print d = dynamic({"m": [{"x": 1}, null]}) | mv-expand m = d.m | project isnull(m)`, "false\ntrue", true},
		{"mv-expand missing path", `print d = dynamic({"m": [1]}) | mv-expand m = d.n | project isnull(m)`, "true", false},
		{"mv-expand empty bag", `print a = dynamic({}) | mv-expand a | count`, "0", false},
		// LLMEventData is raw JSON text inside the query: a whole value
		// still comes out as JSON and compares, groups and joins as JSON.
		{"event data out as JSON", `CopilotActivity | where RecordType == "UpdateCopilotSettings" | project LLMEventData.Resource[0].NewValue, E = LLMEventData | project tostring(E.Resource[0].Property), LLMEventData_Resource_0_NewValue`, "AllowMicrosoftDataSharing|false", false},
		{"event data kept by project-rename", `CopilotActivity | where RecordType == "UpdateCopilotSettings" | project-rename E = LLMEventData | project array_length(E.Resource)`, "1", false},
		{"event data through union", `CopilotActivity | where RecordType == "UpdateCopilotSettings" | project LLMEventData | union (print LLMEventData = dynamic({"Resource": []})) | summarize n = count() by L = array_length(LLMEventData.Resource) | sort by L asc`, "0|1\n1|1", false},
		{"event data joined on itself", `CopilotActivity | where RecordType == "UpdateCopilotSettings" | project RecordId, LLMEventData | join kind=inner (CopilotActivity | project LLMEventData, Other = RecordId) on LLMEventData | count`, "1", false},
		{"event data has a term", `CopilotActivity | where LLMEventData has "AllowMicrosoftDataSharing" | count`, "1", false},
		{"event data is never null here", `CopilotActivity | where isnull(LLMEventData) | count`, "0", false},
		{"event data by arg_max", `CopilotActivity | where RecordType == "UpdateCopilotSettings" | summarize arg_max(TimeGenerated, *) by RecordType | project tostring(LLMEventData.Resource[0].OriginalValue)`, "true", false},
		// has on strings: terms are runs of ASCII letters and digits.
		{"has after underscore", `print s = "T_bb1318e6" | project s has "bb1318e6", s has "BB1318E6", s has "bb1318"`, "true|true|false", false},
		{"has inside a longer term", `print s = "EnableCopilotPlugin" | project s has "Plugin", s !has "plugin"`, "false|true", false},
		{"has at a later occurrence", `print s = "xplugin Plugin" | project s has "plugin", s has_cs "Plugin", s has_cs "plugin"`, "true|true|false", false},
		{"has whole string", `print s = "User042" | project s has "user042", s has "user04", s has "ser042"`, "true|false|false", false},
		{"has beside non-ASCII", `print s = "xİd éuser042é" | project s has "id", s has "d", s has "user042"`, "false|true|true", false},
		{"has with GLOB characters", `print s = "x [a*b?] y" | project s has "[a*b?]", s has "a*b", s has "a?b"`, "true|true|false", false},
		{"hasprefix and hassuffix", `print s = "Copilot.M365Copilot.Bizchat" | project s hasprefix "biz", s hassuffix "CHAT", s hasprefix "chat", s hassuffix "biz"`, "true|true|false|false", false},
		{"has on JSON text", `print d = dynamic({"A": "EnableCopilotPlugin", "B": ["x y"]}) | project d has "enablecopilotplugin", d has "Plugin", d has "y", d has "A"`, "true|false|true|true", false},
		{"has on JSON text, quick and slow", `print d = dynamic({"xTerm": "aTerm", "b": "Term1 x", "c": "TERM"}), e = dynamic({"Term": 1}), f = dynamic(["x Term"]), g = dynamic({"xTerm": "yTerm"}) | project d has "term", e has "Term", f has "term", g has "term", d hasprefix "term", g hassuffix "term"`, "true|true|true|false|true|true", false},
		{"has on JSON strings and later occurrences", `print a = dynamic("Term"), b = dynamic("xTerm"), c = dynamic({"k": "xTerm", "m": "Term"}), d = dynamic(["xTerm", "yy"]), e = dynamic('abc"') | project a has "term", b has "term", c has "Term", d has "Term", a hasprefix "Term", b hasprefix "Term", c hasprefix "Term", d hassuffix "Term", e has "Term", e hasprefix "Term"`, "true|false|true|false|true|false|true|true|false|false", false},
		{"has beside ſ and the Kelvin sign", `print a = "aſbar", b = "ſtop", c = "aKbar", d = "Kb" | project a has "bar", b has "stop", b has "top", c has "bar", d has "kb", d has "b"`, "true|false|true|true|false|true", false},
		// top keeps the order of its keys.
		{"top order", `print a = dynamic([3, 1, 2, 5]) | mv-expand a to typeof(long) | top 3 by a asc`, "1\n2\n3", false},
		// bin to a day, hour, minute and second, from the epoch.
		{"bin units", `print t = datetime(2026-03-03 15:04:02.5) | project d = bin(t, 1d), h = bin(t, 1h), m = bin(t, 1m), s = bin(t, 1s), h2 = bin(t, 2h)`,
			"2026-03-03T00:00:00Z|2026-03-03T15:00:00Z|2026-03-03T15:04:00Z|2026-03-03T15:04:02Z|2026-03-03T14:00:00Z", false},
		{"bin before the epoch", `print t = datetime(1969-12-31 23:30) | project d = bin(t, 1d), h = bin(t, 1h)`, "1969-12-31T00:00:00Z|1969-12-31T23:00:00Z", false},
		// make_set: distinct, sorted, without nulls.
		{"make_set sorted", `print a = dynamic(["b", "a", "b", null, "c"]) | mv-expand a to typeof(string) | summarize make_set(a)`, `["","a","b","c"]`, false},
		{"make_set of numbers", `print a = dynamic([10, 9, 10, null]) | mv-expand a to typeof(long) | summarize make_set(a)`, `[9,10]`, false},
	})
}

// Raw JSON text columns must leave the query as JSON, whatever the
// operators in between: the driver hands JSON columns out parsed.
func TestRawJSONTextLeavesAsJSON(t *testing.T) {
	st := fixtureStore(t, "interactions")
	for _, q := range []string{
		`CopilotActivity | project LLMEventData`,
		`CopilotActivity | where RecordType == "UpdateCopilotSettings" | project-rename E = LLMEventData | project E`,
		`CopilotActivity | project LLMEventData | union (CopilotActivity | project LLMEventData)`,
		`CopilotActivity | project RecordId | join kind=inner (CopilotActivity | project RecordId, LLMEventData) on RecordId | project LLMEventData`,
		`CopilotActivity | summarize arg_max(TimeGenerated, *) by RecordType | project LLMEventData`,
		`CopilotActivity | sort by TimeGenerated | mv-expand M = LLMEventData.Messages | project LLMEventData`,
		`CopilotActivity | distinct LLMEventData`,
		`CopilotActivity | parse RecordId with A "-" * | project LLMEventData`,
		`CopilotActivity | as T | union T | project LLMEventData`,
	} {
		comp, err := Compile(q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("compile %s: %v", q, err)
		}
		rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
		if err != nil {
			t.Fatalf("run %s: %v", q, err)
		}
		types, err := rows.ColumnTypes()
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := types[len(types)-1].DatabaseTypeName(); got != "JSON" {
			t.Errorf("%s: the dynamic column is %s, want JSON", q, got)
		}
	}
}

// TestHasAgreesWithTermRegex checks has, hasprefix and hassuffix as
// compiled (a whole-text match in DuckDB) against a plain scan written
// from the definition (terms are runs of ASCII letters and digits, case
// ignored for ASCII letters), on strings mixing ASCII with newlines and the
// letters whose case folding is special: ſ, İ and the Kelvin sign, which
// are separators like any other non-ASCII character.
func TestHasAgreesWithTermRegex(t *testing.T) {
	st := fixtureStore(t, "interactions")
	alphabet := []string{"a", "B", "s", "S", "ſ", "İ", "i", "K", "k", "_", ".", " ", "é", "1", "\n"}
	terms := []string{"a", "ab", "s", "is", "k", "b1", "i", "sk", "a.b"}
	ops := []struct {
		op         string
		start, end bool
	}{{"has", true, true}, {"hasprefix", true, false}, {"hassuffix", false, true}}
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' }
	lower := func(c byte) byte {
		if c >= 'A' && c <= 'Z' {
			return c | 0x20
		}
		return c
	}
	// has reports an occurrence of term in s, case ignored for ASCII
	// letters, not touching a letter or digit on a side where the term
	// ends in one (when that side is checked).
	has := func(s, term string, start, end bool) bool {
	next:
		for i := 0; i+len(term) <= len(s); i++ {
			for j := 0; j < len(term); j++ {
				if lower(s[i+j]) != lower(term[j]) {
					continue next
				}
			}
			if start && alnum(term[0]) && i > 0 && alnum(s[i-1]) {
				continue
			}
			if end && alnum(term[len(term)-1]) && i+len(term) < len(s) && alnum(s[i+len(term)]) {
				continue
			}
			return true
		}
		return false
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for n := 0; n < 150; n++ {
		var b strings.Builder
		for k := rng.IntN(7); k > 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		var cols, want []string
		for _, op := range ops {
			for _, term := range terms {
				cols = append(cols, fmt.Sprintf(`s %s %q`, op.op, term))
				want = append(want, strconv.FormatBool(has(s, term, op.start, op.end)))
			}
		}
		q := fmt.Sprintf("print s = %q | project %s", s, strings.Join(cols, ", "))
		if got := flat(run(t, st, q)); got != strings.Join(want, "|") {
			t.Errorf("%q:\n got: %s\nwant: %s", s, got, strings.Join(want, "|"))
		}
	}
}
