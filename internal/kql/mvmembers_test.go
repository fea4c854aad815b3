package kql

import (
	"strings"
	"testing"
)

// TestMemberExpand checks that mv-expand followed by filters and a
// summarize reading only tostring(E.member), compiled with from_json, gives
// what the plain expansion gives: the same query with an extend slipped in
// after the mv-expand (which the shortcut does not take).
func TestMemberExpand(t *testing.T) {
	st := fixtureStore(t, "interactions")
	// Rows whose M hold every shape mv-expand treats differently, and
	// members of every JSON kind.
	const rows = `union
  (print K = "arr", T = 1, D = dynamic({"M": [{"p": "a", "q": 1}, {"q": 2}, null, 5, "s", [1]]})),
  (print K = "arr-kinds", T = 2, D = dynamic({"M": [{"p": 1.50}, {"p": true}, {"p": null}, {"p": {"r": [1, 2]}}, {"p": [3, {"x": null}]}, {"p": "say \"y\""}, {"p": ""}]})),
  (print K = "arr-case", T = 3, D = dynamic({"M": [{"P": "upper"}, {"p": "lower", "P": "upper"}]})),
  (print K = "empty", T = 4, D = dynamic({"M": []})),
  (print K = "missing", T = 5, D = dynamic({"N": 1})),
  (print K = "null", T = 6, D = dynamic({"M": null})),
  (print K = "bag", T = 7, D = dynamic({"M": {"p": "b", "q": 3}})),
  (print K = "scalar", T = 8, D = dynamic({"M": 7})),
  (print K = "string", T = 9, D = dynamic({"M": "text"})),
  (print K = "dup", T = 10, D = dynamic({"M": [{"p": "x"}, {"p": "x"}, {"p": "y", "q": 4}]}))
`
	tails := []string{
		`summarize n = count(), ps = make_set(tostring(M.p)) by K`,
		`summarize d = dcount(tostring(M.p)), qs = make_list(tostring(M.q)), lo = min(T) by K`,
		`summarize rows = count() by P = tostring(M.p)`,
		`summarize c = countif(isempty(tostring(M.p))), s = make_set(tostring(M["q"])) by K`,
		`summarize n = count(), q = make_set(tostring(M.q))`,
	}
	preds := []string{
		"",
		`| where isnotempty(tostring(M.p))`,
		`| where tostring(M.p) has "y" or T > 8`,
		`| where tostring(M.q) != "" | where T < 10`,
	}
	for _, p := range preds {
		for _, tail := range tails {
			fast := rows + "| mv-expand M = D.M " + p + " | " + tail
			plain := rows + "| mv-expand M = D.M | extend Unused = 1 " + p + " | " + tail
			comp, err := Compile(fast, DefaultCatalog(), Options{Now: testNow})
			if err != nil {
				t.Fatalf("%s: %v", fast, err)
			}
			if !strings.Contains(comp.SQL, "from_json") {
				t.Errorf("%s: the member form was not used", fast)
			}
			got, want := sortedFlat(run(t, st, fast)), sortedFlat(run(t, st, plain))
			if got != want {
				t.Errorf("%s | %s\n got: %q\nwant: %q", p, tail, got, want)
			}
		}
	}
	// Over the fixture: the sensitive-resources hunting query, its count
	// checked by hand against the fixture's accessed resources.
	q := `CopilotActivity
| mv-expand R = LLMEventData.AccessedResources
| where isnotempty(tostring(R.SensitivityLabelId))
| summarize Resources = dcount(tostring(R.Id)) by ActorName`
	plain := strings.Replace(q, "AccessedResources\n", "AccessedResources | extend Unused = 1\n", 1)
	if got, want := sortedFlat(run(t, st, q)), sortedFlat(run(t, st, plain)); got != want || got == "" {
		t.Errorf("sensitive resources:\n got: %q\nwant: %q", got, want)
	}
	// Shapes it must leave to the plain expansion.
	for _, q := range []string{
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize make_set(tostring(R.Id)) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize n = make_set(R.Id) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize n = dcount(tostring(R.Id)) by tostring(R.Name)`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | where isnotnull(R) | summarize n = dcount(tostring(R.Id)) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize n = dcount(tostring(R.Id.x)) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources limit 2 | summarize n = dcount(tostring(R.Id)) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize n = dcount(tostring(R.Id)), m = dcount(tostring(R.id)) by ActorName`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | summarize arg_max(TimeGenerated, *) by tostring(R.Id)`,
		`CopilotActivity | mv-expand R = LLMEventData.AccessedResources | where isnotempty(tostring(R.Id)) | project ActorName`,
	} {
		comp, err := Compile(q, DefaultCatalog(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if strings.Contains(comp.SQL, "from_json") {
			t.Errorf("%s: the member form was used", q)
		}
	}
}
