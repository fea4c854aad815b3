package kql

import (
	"fmt"
	"testing"
)

func TestRenameLambdaParams(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`list_transform(l, lambda e: {'k': e.key, 'v': CAST(e.v AS VARCHAR)})`, `list_transform(l, lambda __kql_e: {'k': __kql_e.key, 'v': CAST(__kql_e.v AS VARCHAR)})`},
		{`list_filter(l, lambda e, i: i = 1 OR "e" <> 'e''s' OR "x""y" = 1e3)`, `list_filter(l, lambda __kql_e, __kql_i: __kql_i = 1 OR "e" <> 'e''s' OR "x""y" = 1e3)`},
		{`printf('%x:%x', v // 65536, v % 65536)`, `printf('%x:%x', __kql_v // 65536, __kql_v % 65536)`},
		{`SELECT "v", ex, xe, x_1 FROM q1`, `SELECT "v", ex, xe, x_1 FROM q1`},
	} {
		if got := renameLambdaParams(c.in); got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.in, got, c.want)
		}
	}
}

// TestLambdaParamsAndColumns runs expressions the emitter writes with
// lambdas beside a column named like each lambda parameter: the answers
// must not change (DuckDB bound e.key to a column e).
func TestLambdaParamsAndColumns(t *testing.T) {
	st := fixtureStore(t, "interactions")
	queries := []struct{ q, want string }{
		{`print %sD = dynamic({"a": 1, "b": [1, 2]}) | mv-expand D | project tostring(D)`, "{\"a\":1}\n{\"b\":[1,2]}"},
		{`print %sA = dynamic({"a": 1}), B = dynamic({"b": 2}) | project tostring(bag_merge(A, B))`, `{"a":1,"b":2}`},
		{`print %sD = dynamic({"a": 1}) | summarize B = make_bag(D) | project tostring(B)`, `{"a":1}`},
		{`print %sU = "https://h.example/p?q=1&r=2" | project tostring(parse_url(U)["Query Parameters"])`, `{"q":"1","r":"2"}`},
		{`print %sr = ipv6_compare("::ffff:10.0.0.1", "10.0.0.1") | project r`, "0"},
		{`print %sr = countof("abcabc", "bc") | project r`, "2"},
		{`print %sr = tostring(extract_all(@"(\d)", "a1b2")) | project r`, `["1","2"]`},
		{`print %sr = tostring(set_difference(dynamic([1, 2, 3]), dynamic([2]))) | project r`, `[1,3]`},
	}
	for _, q := range queries {
		for _, name := range []string{"", "e", "E", "i", "s", "z", "v", "p", "x", "g", "h"} {
			pre := ""
			if name != "" {
				pre = name + " = 7, "
			}
			query := fmt.Sprintf(q.q, pre)
			if got := flat(run(t, st, query)); got != q.want {
				t.Errorf("%s\n got: %s\nwant: %s", query, got, q.want)
			}
		}
	}
}
