package kql

import (
	"strings"
	"testing"
)

// TestSetHas checks that "summarize S = make_set(X) | where S has term",
// compiled as a per-row question, gives what the collection's JSON text
// gives: the same query with an extend slipped in between (which the
// shortcut does not take) is the reference. The rows hold the values where
// JSON text and the string differ: control characters become \n and \t,
// whose letters join the term that follows.
func TestSetHas(t *testing.T) {
	st := fixtureStore(t, "interactions")
	const rows = `union
  (print K = "k1", X = "ab"), (print K = "k1", X = "cd"),
  (print K = "k2", X = "ab_cd"),
  (print K = "k3", X = "x\nbar"),
  (print K = "k4", X = "say \"ab\""),
  (print K = "k5", X = ""),
  (print K = "k6", X = "AB-cd"),
  (print K = "k7", X = "x\tcd"), (print K = "k7", X = "bar")
`
	aggs := []string{`make_set(X)`, `make_list(X)`, `make_set_if(X, strlen(X) > 3)`, `makeset(X)`}
	preds := []string{
		`S has "ab"`,
		`S has "AB" and S has "cd"`,
		`not(S has "cd") or K == "k1"`,
		`S has "bar"`,
		`S has "nbar" or S has "tcd"`,
		`n > 1 | where S has "cd"`,
	}
	for _, agg := range aggs {
		for _, p := range preds {
			head := rows + "| summarize S = " + agg + ", n = count() by K"
			fast := head + " | where " + p + " | project K"
			plain := head + " | extend Unused = 1 | where " + p + " | project K"
			comp, err := Compile(fast, DefaultCatalog(), Options{Now: testNow})
			if err != nil {
				t.Fatalf("%s: %v", fast, err)
			}
			if !strings.Contains(comp.SQL, "__kql_sethas") {
				t.Errorf("%s: the per-row form was not used", fast)
			}
			got, want := sortedFlat(run(t, st, fast)), sortedFlat(run(t, st, plain))
			if got != want {
				t.Errorf("%s | where %s\n got: %q\nwant: %q", agg, p, got, want)
			}
		}
	}
	// Hand-checked answers, so that both forms being wrong alike fails too.
	for q, want := range map[string]string{
		`S has "bar"`:  "k7",             // k3's "x\nbar" is "x\\nbar" as JSON: the term is nbar
		`S has "nbar"`: "k3",             //
		`S has "ab"`:   "k1\nk2\nk4\nk6", // an underscore ends a term
	} {
		got := sortedFlat(run(t, st, rows+"| summarize S = make_set(X) by K | where "+q+" | project K"))
		if got != want {
			t.Errorf("where %s: got %q, want %q", q, got, want)
		}
	}
	// Not taken: a size limit, a term that is not alphanumeric, a set of numbers.
	for _, q := range []string{
		rows + `| summarize S = make_set(X, 1) by K | where S has "ab"`,
		rows + `| summarize S = make_set(X) by K | where S has "a b"`,
		rows + `| summarize S = make_set(strlen(X)) by K | where S has "2"`,
	} {
		comp, err := Compile(q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if strings.Contains(comp.SQL, "__kql_sethas") {
			t.Errorf("%s: the per-row form was used", q)
		}
	}
}
