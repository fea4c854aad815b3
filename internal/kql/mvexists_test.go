package kql

import (
	"strings"
	"testing"
)

// TestExistsExpand checks that mv-expand followed by filters and a
// duplicate-blind operator, compiled as an exists test over the elements,
// keeps the same rows as the plain expansion: the same query with an
// extend slipped in after the mv-expand (which the shortcut does not take).
func TestExistsExpand(t *testing.T) {
	st := fixtureStore(t, "interactions")
	// Rows whose M hold every shape mv-expand treats differently.
	const rows = `union
  (print K = "arr", T = 1, D = dynamic({"M": [{"p": true}, {"q": 1}, null, 5]})),
  (print K = "arr-none", T = 2, D = dynamic({"M": [{"q": 1}, {"q": 2}]})),
  (print K = "arr-null-member", T = 3, D = dynamic({"M": [{"p": null}]})),
  (print K = "arr-false", T = 4, D = dynamic({"M": [{"p": false}, {"p": "False"}]})),
  (print K = "arr-str", T = 5, D = dynamic({"M": [{"p": "true"}, {"p": "x y"}]})),
  (print K = "empty", T = 6, D = dynamic({"M": []})),
  (print K = "missing", T = 7, D = dynamic({"N": 1})),
  (print K = "null", T = 8, D = dynamic({"M": null})),
  (print K = "bag", T = 9, D = dynamic({"M": {"p": true, "z": 1}})),
  (print K = "bag-other", T = 10, D = dynamic({"M": {"z": 1}})),
  (print K = "scalar", T = 11, D = dynamic({"M": 7})),
  (print K = "nested", T = 12, D = dynamic({"M": [{"p": {"r": 3}}, {"p": {"r": 4}}]})),
  (print K = "escaped", T = 13, D = dynamic({"M": [{"p": "say \"y\""}, {"p": 1.50}, {"p": [1, 2]}]}))
`
	preds := []string{
		`tobool(M.p)`,
		`isnull(M.p)`,
		`isnotnull(M.p)`,
		`isempty(tostring(M.p))`,
		`not(tobool(M.p))`,
		`tostring(M.p) == "x y"`,
		`tostring(M.p) == 'say "y"' or tostring(M.p) == "1.5"`,
		`M.p has "y" or T == 11`,
		`tolong(M.p.r) > T - 9`,
		`array_length(M.p) == 2`,
		`M["p"] == true`,
		`T > 3 | where isnull(M.p)`,
	}
	tails := []string{
		`distinct K`,
		`summarize n = dcount(K), s = make_set(K), lo = min(T), hi = max(T)`,
		`summarize by K`,
	}
	for _, p := range preds {
		for _, tail := range tails {
			fast := rows + "| mv-expand M = D.M | where " + p + " | " + tail
			plain := rows + "| mv-expand M = D.M | extend Unused = 1 | where " + p + " | " + tail
			comp, err := Compile(fast, DefaultCatalog(), Options{Now: testNow})
			if err != nil {
				t.Fatalf("%s: %v", fast, err)
			}
			if !strings.Contains(comp.SQL, "list_bool_or") {
				t.Errorf("%s: the exists form was not used", fast)
			}
			// Filters that read the member only as text get it as text.
			if asText := strings.Contains(comp.SQL, elemTextVar); asText != !strings.Contains(p, "array_length") {
				t.Errorf("%s: member read as text: %v", fast, asText)
			}
			got, want := sortedFlat(run(t, st, fast)), sortedFlat(run(t, st, plain))
			if got != want {
				t.Errorf("where %s | %s\n got: %q\nwant: %q", p, tail, got, want)
			}
		}
	}
	// Shapes it must leave to the plain expansion.
	for _, q := range []string{
		`CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) | summarize count() by ActorName`,
		`CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) | distinct ActorName, tostring(M)`,
		`CopilotActivity | mv-expand M = LLMEventData.Messages | where isnotnull(M) | distinct ActorName`,
		`CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) and isnotnull(M.Id) | distinct ActorName`,
		`CopilotActivity | mv-expand M = LLMEventData.Messages limit 1 | where tobool(M.JailbreakDetected) | distinct ActorName`,
		`CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) | summarize arg_max(TimeGenerated, *) by ActorName`,
	} {
		comp, err := Compile(q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if strings.Contains(comp.SQL, "list_bool_or") {
			t.Errorf("%s: took the exists form", q)
		}
	}
}
