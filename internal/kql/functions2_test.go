package kql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Scalar functions of the second increment, run on DuckDB over one row.
// Expected values are worked out by hand from KQL's documented semantics
// (several are the examples of Microsoft's reference pages).
func TestFunctions2Scalars(t *testing.T) {
	st := fixtureStore(t, "interactions")
	cases := []struct{ expr, want string }{
		// format_datetime
		{`format_datetime(datetime(2026-01-02 03:04:05.123456), "yyyy-MM-dd HH:mm:ss.fff")`, "2026-01-02 03:04:05.123"},
		{`format_datetime(datetime(2026-01-02 03:04:05.123456), "fffffff|f|ffffff")`, "1234560|1|123456"},
		{`format_datetime(datetime(2005-11-09 07:08:09), "y|yy|yyyy|M|MM|d|dd|H|HH|h|hh|m|mm|s|ss|tt")`, "5|05|2005|11|11|9|09|7|07|7|07|8|08|9|09|AM"},
		{`format_datetime(datetime(2026-03-08 15:04:05), "M/d/yyyy h:mm tt")`, "3/8/2026 3:04 PM"},
		{`format_datetime(datetime(null), "yyyy")`, ""},
		{`format_datetime(datetime(2026-03-08), "'at' yyyy [dd]")`, "at 2026 [08]"},
		// now() with an offset, from the fixed now of 2026-03-10.
		{`now(-1d)`, "2026-03-09T00:00:00Z"},
		{`now(90m)`, "2026-03-10T01:30:00Z"},
		// format_timespan
		{`format_timespan(1d + 2h + 3m + 4s + 5ms, "d.hh:mm:ss.fff")`, "1.02:03:04.005"},
		{`format_timespan(29d + 9h + 5s + 123ms, "dd.hh:mm:ss [ffff]")`, "29.09:00:05 [1230]"},
		{`format_timespan(-(2h), "hh:mm")`, "-02:00"},
		// totimespan
		{`totimespan("1.02:03:04.5") / 1s`, "93784.5"},
		{`totimespan("00:10:00") / 1m`, "10"},
		{`totimespan("-00:00:01") / 1s`, "-1"},
		{`isnull(totimespan("ten minutes"))`, "true"},
		{`totimespan(5m) / 1s`, "300"},
		// datetime_diff in weeks: Sundays crossed (first case from KQL's docs).
		{`datetime_diff("week", datetime(2017-10-29 00:00), datetime(2017-09-30 23:59))`, "5"},
		{`datetime_diff("week", datetime(2026-03-07), datetime(2026-03-01))`, "0"},
		{`datetime_diff("week", datetime(2026-03-08), datetime(2026-03-07 23:59))`, "1"},
		{`datetime_diff("week", datetime(2026-03-07), datetime(2026-03-08))`, "-1"},
		{`datetime_add("week", 2, datetime(2026-03-01))`, "2026-03-15T00:00:00Z"},
		// date parts and period ends (2026-03-08 is a Sunday)
		{`strcat(dayofmonth(datetime(2026-03-08)), "|", dayofyear(datetime(2026-03-08)), "|", getmonth(datetime(2026-03-08)), "|", getyear(datetime(2026-03-08)))`, "8|67|3|2026"},
		{`strcat(week_of_year(datetime(2026-01-01)), "|", week_of_year(datetime(2026-03-08)), "|", week_of_year(datetime(2020-12-31)))`, "1|10|53"},
		{`startofweek(datetime(2026-03-11 10:00))`, "2026-03-08T00:00:00Z"},
		{`endofweek(datetime(2026-03-11 10:00))`, "2026-03-14T23:59:59.999999Z"},
		{`endofweek(datetime(2026-03-08))`, "2026-03-14T23:59:59.999999Z"},
		{`endofmonth(datetime(2026-02-10))`, "2026-02-28T23:59:59.999999Z"},
		{`endofyear(datetime(2026-02-10))`, "2026-12-31T23:59:59.999999Z"},
		{`make_datetime(2026, 3, 8)`, "2026-03-08T00:00:00Z"},
		{`make_datetime(2026, 3, 8, 10, 20, 30.5)`, "2026-03-08T10:20:30.5Z"},
		{`isnull(make_datetime(2026, 2, 30))`, "true"},
		{`make_datetime(2026, 3, 8, 10, 20)`, "2026-03-08T10:20:00Z"},
		// strings
		{`base64_encode_tostring("Kusto1")`, "S3VzdG8x"},
		{`base64_decode_tostring("S3VzdG8x")`, "Kusto1"},
		{`strcat("[", base64_decode_tostring("@@@"), "|", base64_decode_tostring("/w=="), "]")`, "[|]"},
		{`url_decode("https%3a%2f%2fwww.bing.com%2f")`, "https://www.bing.com/"},
		{`url_decode("a+b%20c")`, "a b c"},
		{`reverse("abc")`, "cba"},
		{`replace_regex("abc123 de45", "([a-z]+)([0-9]+)", "\\2-\\1")`, "123-abc 45-de"},
		{`strcat(countof("aaa", "a"), "|", countof("aaaa", "aa"), "|", countof("aaaa", "aa", "regex"), "|", countof("abc", "x"))`, "3|3|2|0"},
		{`strcat(translate("abc", "x", "abc"), "|", translate("abc", "", "ab"), "|", translate("krasp", "otsku", "spark"))`, "xxx||kusto"},
		{`strcat(strrep("ABC", 2), "|", strrep("123", 3, ";"), "|", strrep(3, 2), "|", strrep("x", 0))`, "ABCABC|123;123;123|33|"},
		{`toscalar(5)`, "5"},
		// extract_all
		{`extract_all("[0-9]+", "a1b22c333")`, `["1","22","333"]`},
		{`extract_all("[a-z]([0-9]+)", "a1b22")`, `["1","22"]`},
		{`extract_all("([a-z])([0-9]+)", "a1b22")`, `[["a","1"],["b","22"]]`},
		{`isnull(extract_all("[0-9]+", "abc"))`, "true"},
		{`extract_all("([a-z])([0-9])?", "a1b")`, `[["a","1"],["b",""]]`},
		{`extract_all("([a-z])([0-9])([a-z])", dynamic([3, 1]), "a1b c2d")`, `[["b","a"],["d","c"]]`},
		{`extract_all("([a-z])([0-9])", dynamic([2]), "a1b2")`, `["1","2"]`},
		// array_slice (KQL's doc examples, then out of range)
		{`array_slice(dynamic([1,2,3]), 1, 2)`, "[2,3]"},
		{`array_slice(dynamic([1,2,3,4,5]), 2, -1)`, "[3,4,5]"},
		{`array_slice(dynamic([1,2,3,4,5]), -3, -2)`, "[3,4]"},
		{`array_slice(dynamic([1,2,3]), 5, 7)`, "[]"},
		{`array_slice(dynamic([1,2,3]), 0, -10)`, "[]"},
		{`array_slice(dynamic(["a",{"b":1}]), -9, 9)`, `["a",{"b":1}]`},
		{`isnull(array_slice(dynamic({"a":1}), 0, 1))`, "true"},
		// bag_merge: the leftmost bag wins a repeated key.
		{`bag_merge(dynamic({"a":1,"b":2}), dynamic({"b":3,"c":{"d":[4]}}))`, `{"a":1,"b":2,"c":{"d":[4]}}`},
		{`bag_merge(dynamic({"b":3}), dynamic({"a":1,"b":2}), dynamic([1]))`, `{"a":1,"b":3}`},
		// IPv4
		{`parse_ipv4("127.0.0.1")`, "2130706433"},
		{`parse_ipv4("192.168.1.1/24")`, "3232235776"},
		{`strcat(isnull(parse_ipv4("10.0.0.256")), isnull(parse_ipv4("1.2.3")), isnull(parse_ipv4("1.2.3.4/33")))`, "truetruetrue"},
		{`strcat(ipv4_compare("127.0.0.1", "127.0.0.1"), "|", ipv4_compare("192.168.1.1", "192.168.1.255"), "|", ipv4_compare("192.168.1.10", "192.168.1.9"))`, "0|-1|1"},
		{`strcat(ipv4_compare("192.168.1.1/24", "192.168.1.255"), "|", ipv4_compare("192.168.1.1", "192.168.1.255", 24), "|", ipv4_compare("192.168.1.1", "192.168.2.1", 24))`, "0|0|-1"},
		{`strcat(isnull(ipv4_compare("1.2.3.4/33", "1.2.3.4")), "|", isnull(ipv4_compare("1.2.3.4", "1.2.3.4", 40)))`, "true|true"},
		{`strcat(ipv4_is_match("192.168.1.1/24", "192.168.1.255/24"), "|", ipv4_is_match("192.168.1.1", "192.168.2.1", 24), "|", ipv4_is_match("192.168.1.1", "192.168.2.1", 16))`, "true|false|true"},
		{`isnull(ipv4_is_match("192.168.1.1", "fe80::1"))`, "true"},
		// IPv6 (first cases from KQL's docs); IPv4 text is IPv4-mapped.
		{`ipv6_compare("::ffff:7f00:1", "127.0.0.1")`, "0"},
		{`ipv6_compare("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995")`, "-1"},
		{`ipv6_compare("fe80::85d:e82c:9446:7994/127", "fe80::85d:e82c:9446:7995/127")`, "0"},
		{`ipv6_compare("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", 127)`, "0"},
		{`ipv6_compare("fe80::85d:e82c:9446:7994/127", "fe80::85d:e82c:9446:7998/120")`, "0"},
		{`ipv6_compare("2001:db8::2", "2001:DB8:0:0:0:0:0:1")`, "1"},
		{`ipv6_compare("::1", "::ffff:1.2.3.4")`, "-1"},
		{`strcat(ipv6_is_match("::ffff:7f00:1", "127.0.0.1"), "|", ipv6_is_match("192.168.1.1/24", "192.168.1.255/24"), "|", ipv6_is_match("fe80::1", "fe80::1:0:0:1"), "|", ipv6_is_match("fe80::1", "fe80::2", 64))`, "true|true|false|true"},
		{`strcat(isnull(ipv6_compare("fe80:::1", "::1")), isnull(ipv6_compare("gggg::1", "::1")), isnull(ipv6_compare("1:2:3:4:5:6:7:8:9", "::1")), isnull(ipv6_compare("1::2::3", "::1")), isnull(ipv6_compare("::1/129", "::1")), isnull(ipv6_is_match("1.2.3.256", "::1")))`, "truetruetruetruetruetrue"},
		// parse_url (KQL's doc example; Path keeps its leading "/")
		{`parse_url("scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment")`,
			`{"Fragment":"fragment","Host":"host","Password":"password","Path":"/this/is/a/path","Port":"1234","Query Parameters":{"k1":"v1","k2":"v2"},"Scheme":"scheme","Username":"username"}`},
		{`parse_url("https://bing.com")`,
			`{"Fragment":"","Host":"bing.com","Password":"","Path":"","Port":"","Query Parameters":{},"Scheme":"https","Username":""}`},
		{`tostring(parse_url("https://a.example/x?q=a%20b+c&q=2&flag")["Query Parameters"].q)`, "a b c"},
		{`strcat(parse_url("https://a.example/x?q=a%20b+c&q=2&flag").Host, "|", tostring(parse_url("https://a.example/x?flag")["Query Parameters"]))`, `a.example|{"flag":""}`},
		{`parse_url("not a url").Host`, ""},
	}
	for _, tc := range cases {
		q := "CopilotActivity | take 1 | project v = " + tc.expr
		if got := flat(run(t, st, q)); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}
}

// make_bag, make_bag_if and percentiles over lines 13–15 of
// copilot-interactions.jsonl (README): CreateCopilotPlugin 310 by user4,
// EnableCopilotPlugin 313 and DisableCopilotPlugin 314 by user7 from 192.0.2.50.
func TestFunctions2Aggregates(t *testing.T) {
	st := fixtureStore(t, "interactions")
	const plugins = `CopilotActivity | where RecordType in ("EnableCopilotPlugin", "DisableCopilotPlugin") `
	cases := []struct{ name, q, cols, want string }{
		{"make_bag", plugins + `| summarize b = make_bag(bag_pack(RecordType, SrcIpAddr))`,
			"b", `{"DisableCopilotPlugin":"192.0.2.50","EnableCopilotPlugin":"192.0.2.50"}`},
		// A repeated key keeps the value whose JSON text sorts first.
		{"make_bag conflict", plugins + `| summarize make_bag(bag_pack("op", RecordType))`,
			"bag_", `{"op":"DisableCopilotPlugin"}`},
		{"make_bag named after its column", plugins + `| extend p = bag_pack("op", RecordType) | summarize make_bag(p)`,
			"bag_p", `{"op":"DisableCopilotPlugin"}`},
		{"make_bag_if", plugins + `| summarize b = make_bag_if(bag_pack("op", RecordType), RecordType startswith "En")`,
			"b", `{"op":"EnableCopilotPlugin"}`},
		{"make_bag skips non-bags", plugins + `| summarize b = make_bag(iff(RecordType startswith "En", bag_pack("x", 1), dynamic([1])))`,
			"b", `{"x":1}`},
		// The size limit keeps the first keys in sorted order.
		{"make_bag size limit", plugins + `| summarize b = make_bag(bag_pack(RecordType, 1), 1)`,
			"b", `{"DisableCopilotPlugin":1}`},
		{"make_bag over no rows", `CopilotActivity | where RecordType == "none" | summarize b = make_bag(bag_pack("x", 1))`,
			"b", `{}`},
		{"make_bag by", `CopilotActivity | where RecordType endswith "CopilotPlugin" | summarize b = make_bag(bag_pack(RecordType, RecordTypeNumber)) by ActorName | order by ActorName asc`,
			"ActorName|b", `user4@contoso.example|{"CreateCopilotPlugin":310}` + "\n" + `user7@contoso.example|{"DisableCopilotPlugin":314,"EnableCopilotPlugin":313}`},
		// Nearest rank over 313, 314: ceil(0.5·2) = 1st, ceil(0.95·2) = 2nd.
		{"percentiles", plugins + `| summarize percentiles(RecordTypeNumber, 50, 95)`,
			"percentile_RecordTypeNumber_50|percentile_RecordTypeNumber_95", "313|314"},
		// Over 310, 313, 314: 0 → 1st, 50 → 2nd, 95 → 3rd.
		{"percentiles with others", `CopilotActivity | where RecordType endswith "CopilotPlugin" | summarize n = count(), percentiles(RecordTypeNumber, 0, 50, 95)`,
			"n|percentile_RecordTypeNumber_0|percentile_RecordTypeNumber_50|percentile_RecordTypeNumber_95", "3|310|313|314"},
	}
	for _, tc := range cases {
		comp, err := Compile(tc.q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var names []string
		for _, c := range comp.Columns {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, "|"); got != tc.cols {
			t.Errorf("%s: columns %s, want %s", tc.name, got, tc.cols)
		}
		if got := flat(run(t, st, tc.q)); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// Refusals of the second increment carry their position.
func TestFunctions2Errors(t *testing.T) {
	cases := []struct{ q, want string }{
		{`CopilotActivity | project format_datetime(TimeGenerated, "yyyy MMM")`, `line 1, column 58: format_datetime(): unsupported specifier "MMM"`},
		{`CopilotActivity | project format_timespan(1h, "yyyy")`, `line 1, column 47: format_timespan(): unsupported specifier "yyyy"`},
		{`CopilotActivity | project format_datetime(TimeGenerated, ActorName)`, `line 1, column 58: format_datetime()'s format needs a constant string`},
		{`CopilotActivity | summarize make_bag(ActorName)`, `line 1, column 29: make_bag needs a dynamic property bag, found string`},
		{`CopilotActivity | summarize p = percentiles(RecordTypeNumber, 50, 90)`, `line 1, column 29: unsupported: naming the columns of percentiles()`},
		{`CopilotActivity | extend x = percentiles(RecordTypeNumber, 50)`, `line 1, column 30: aggregate percentiles() is only allowed in summarize`},
		{`CopilotActivity | project extract_all("(", ActorName)`, `line 1, column 39: bad regular expression`},
		{`CopilotActivity | project extract_all("(a)", dynamic([2]), ActorName)`, `line 1, column 46: extract_all()'s groups are numbers from 1 to 1`},
		{`CopilotActivity | project countof(ActorName, "a", "fuzzy")`, `line 1, column 51: countof()'s kind is "normal" or "regex"`},
	}
	for _, tc := range cases {
		_, err := Compile(tc.q, DefaultCatalog(), Options{Now: testNow})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s", tc.q, err, tc.want)
		}
	}
}

// Every function of the second increment, with odd arguments, either is
// refused with a positioned error or compiles to SQL that DuckDB runs.
func TestFunctions2CompileToRunnableSQL(t *testing.T) {
	st := fixtureStore(t, "interactions")
	scalars := strings.Fields(`format_datetime format_timespan totimespan dayofmonth dayofyear getmonth monthofyear getyear week_of_year
		endofweek endofmonth endofyear make_datetime base64_encode_tostring base64_decode_tostring url_decode reverse replace_regex
		countof translate strrep toscalar extract_all array_slice bag_merge parse_url parse_ipv4 ipv4_compare ipv4_is_match
		ipv6_compare ipv6_is_match datetime_diff datetime_add`)
	aggs := []string{"make_bag", "make_bag_if", "percentiles"}
	argLists := []string{"", "1", "ActorName", `"x"`, "LLMEventData", "1, 2", `"x", 1, TimeGenerated`, "TimeGenerated", `TimeGenerated, "yyyy-MM-dd"`,
		"5m, \"hh:mm\"", "LLMEventData, LLMEventData", "LLMEventData.Messages, 0, -1", `"week", TimeGenerated, TimeGenerated`, `"a(b)", "ab"`,
		`"(a)(b)", dynamic([2, 1]), ActorName`, `SrcIpAddr, "192.0.2.0/24"`, `SrcIpAddr, SrcIpAddr, 16`, `"a", "b", ActorName`, "2026, 1, 2, 3, 4, 5.5", "RecordTypeNumber, 50, 90",
		"bag_pack(ActorName, 1), true"}
	n, bad := 0, 0
	try := func(q string) {
		comp, err := Compile(q, DefaultCatalog(), Options{})
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) {
				t.Errorf("%s: error without a position: %v", q, err)
			}
			return
		}
		n++
		rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
		if err != nil {
			bad++
			t.Errorf("%s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
			return
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			bad++
			t.Errorf("%s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
		}
		rows.Close()
	}
	for _, args := range argLists {
		for _, f := range scalars {
			try(fmt.Sprintf("CopilotActivity | extend v = %s(%s) | take 3", f, args))
		}
		for _, f := range aggs {
			try(fmt.Sprintf("CopilotActivity | summarize %s(%s) by ActorName", f, args))
		}
	}
	if n < 100 || bad > 0 {
		t.Errorf("%d queries compiled, %d failed in DuckDB", n, bad)
	}
}
