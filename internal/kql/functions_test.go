package kql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every function name with many kinds of odd arguments either fails to
// compile with a positioned error or compiles to SQL that DuckDB runs:
// no panic, and no SQL the database rejects.
func TestFunctionsCompileToRunnableSQL(t *testing.T) {
	st := fixtureStore(t, "interactions")
	names := strings.Fields(`abs ago any arg_max arg_min array_concat array_length avg bag_keys bag_pack bin bin_at case coalesce column_ifexists
		count countif datetime_add datetime_diff dayofweek dcount dcountif endofday extract extract_json extractjson floor hash_sha256 hourofday iff iif
		indexof ipv4_is_in_range ipv4_is_private isempty isnotempty isnotnull isnull make_list make_list_if make_set make_set_if makelist makeset max min
		not now pack pack_array parse_json parsejson percentile replace_string round set_difference set_has_element set_union split startofday
		startofmonth startofweek startofyear stdev strcat strcat_delim strlen substring sum sumif avgif take_any tobool toboolean todatetime todouble
		todynamic toint tolong tolower toreal tostring toupper trim trim_end trim_start variance`)
	argLists := []string{"", "*", "1", "ActorName", `"x"`, "LLMEventData", "1, 2", `"x", 1, TimeGenerated`, `"$.a", LLMEventData, 3, 4`, "TimeGenerated", "TimeGenerated, 1h", "RecordTypeNumber", "LLMEventData.Messages", "true", "1.5", "5m", `"hour", 2, TimeGenerated`, "ActorName, ActorName", `LLMEventData.Messages, "x"`, `"a", ActorName`, `"1.2.3.4", "1.2.3.0/24"`}
	n, bad := 0, 0
	for _, f := range names {
		for _, args := range argLists {
			for _, q := range []string{
				fmt.Sprintf("CopilotActivity | extend v = %s(%s) | take 3", f, args),
				fmt.Sprintf("CopilotActivity | summarize v = %s(%s) by ActorName", f, args),
			} {
				comp, err := Compile(q, DefaultCatalog(), Options{})
				if err != nil {
					var ke *Error
					if !errors.As(err, &ke) {
						t.Errorf("%s: error without a position: %v", q, err)
					}
					continue
				}
				n++
				rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
				if err != nil {
					bad++
					t.Errorf("%s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
					continue
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					bad++
					t.Errorf("%s: %v", q, strings.SplitN(err.Error(), "\n", 2)[0])
				}
				rows.Close()
			}
		}
	}
	if n < 300 || bad > 0 {
		t.Errorf("%d queries compiled, %d failed in DuckDB", n, bad)
	}
}
