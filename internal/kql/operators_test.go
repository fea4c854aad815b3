package kql

import (
	"context"
	"strings"
	"testing"
)

// Operator and type combinations that must compile to SQL DuckDB runs.
func TestOperatorsCompileToRunnableSQL(t *testing.T) {
	st := fixtureStore(t, "interactions")
	ops := []string{
		"sort by LLMEventData", "distinct LLMEventData", "summarize count() by LLMEventData.Messages[0]", "top 3 by LLMEventData.AppHost asc",
		"summarize make_set(LLMEventData.Messages) by ActorName", "summarize make_list(LLMEventData.Messages[0])", "summarize arg_max(RecordTypeNumber, LLMEventData.Messages)",
		"summarize dcount(LLMEventData)", "mv-expand x = LLMEventData.Messages to typeof(string)", "mv-expand x = LLMEventData.Messages to typeof(bool)",
		"mv-expand x = LLMEventData.Messages to typeof(datetime)", "mv-expand x = LLMEventData.Messages to typeof(real)", "extend x = LLMEventData.Messages[0] | summarize take_any(x)",
		"where LLMEventData.Messages[0] == LLMEventData.Messages[1]", "where LLMEventData.Messages[0].isPrompt", "where LLMEventData.Messages[0].isPrompt == 1",
		"where LLMEventData.Messages[0].Id > 5", "where LLMEventData.Messages[0].Id in (1, 2)", "where LLMEventData.Messages[0].Id in~ (\"a\")",
		"where LLMEventData.Messages[0].Id between (1 .. 2)", "extend d = -LLMEventData.Messages[0].Id", "extend d = LLMEventData.x + 1",
		"extend d = TimeGenerated - 1h, e = 1h * 2, f = 2 * 1h, g = 1h / 2, h = 1h + 1h, i = -1h", "where TimeGenerated in (datetime(2026-03-02 08:03:11))",
		"extend s = tostring(1h)", "extend x = iff(true, LLMEventData, dynamic(null))", "extend x = case(false, 1, 2.5)", "extend x = coalesce(LLMEventData.a, LLMEventData.b)",
		"extend x = coalesce(1, 2)", "union (CopilotActivity | project Z = 1)", "summarize count() by bin(RecordTypeNumber, 10)", "summarize count() by bin(toreal(RecordTypeNumber), 0.5)",
		"project-away LLMEventData | distinct *", "sort by TimeGenerated | distinct RecordId | take 1", "sort by TimeGenerated | mv-expand m = LLMEventData.Messages limit 0",
		"summarize percentile(TimeGenerated, 50), percentile(TimeGenerated - TimeGenerated, 50)", "summarize sumif(RecordTypeNumber, true), avgif(RecordTypeNumber, false), dcountif(ActorName, true)",
		"summarize make_set_if(ActorName, true, 2), make_list_if(LLMEventData, true)", "where isnotempty(TimeGenerated) and isnull(RecordTypeNumber) == false",
		"extend x = todatetime(LLMEventData.Messages[0].Id), y = todatetime(\"2026-01-01\")", "extend x = strcat(LLMEventData, TimeGenerated, 1h, true)",
		"where ActorName has_all (\"user1\", \"contoso\")", "where ActorName !in~ (\"A\")", "where ActorName hasprefix \"cont\" and ActorName !hassuffix \"exam\"",
		"extend x = split(\"a,b\", \",\")[5]", "extend x = pack_array()", "extend x = substring(ActorName, 3)", "extend x = tolong(TimeGenerated)",
		"where ActorName startswith_cs \"user\" and ActorName !endswith_cs \"X\" and ActorName !contains_cs \"Q\"",
		"join kind=fullouter (CopilotActivity | project LLMEventData) on LLMEventData | count", "summarize by ActorName", "count | extend x = Count * 2",
		`extend x = LLMEventData["a.b"]["c[0]"]["it's"]["$x"][-2] | where isnull(x)`, `extend x = "it's \"q\" \\ ; --" | where x == @'it''s "q" \ ; --'`,
	}
	for _, op := range ops {
		q := "CopilotActivity | " + op
		comp, err := Compile(q, DefaultCatalog(), Options{})
		if err != nil {
			t.Errorf("compile %s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
			continue
		}
		rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err != nil {
			t.Errorf("run %s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
		}
	}
}
