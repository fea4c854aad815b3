// Package kql compiles a subset of the Kusto Query Language over the
// aiwatch store's tables (CopilotActivity) to one DuckDB SQL statement.
//
// Pipeline: lexer.go (tokens, literals, positions) → parser.go (syntax tree
// in ast.go) → emit.go, summarize.go, scalar.go, functions.go (typing and
// SQL, one CTE per operator) against the schemas of catalog.go. Anything
// not supported is refused by name with its line and column; nothing is
// approximated. Every user value reaches SQL as an escaped literal and every
// name as a quoted identifier.
//
// KQL semantics kept, and the choices where KQL's docs are silent:
//   - Strings are never null: string columns are coalesced to "" when read,
//     and every string function returns "" rather than null.
//   - Dynamic values are DuckDB JSON. A missing member is SQL NULL; JSON null
//     stays JSON null; isnull() is true for both, tostring() gives "" for both.
//   - tostring(dynamic) gives a JSON string's text without quotes and other
//     values' JSON text ("true" for JSON true), so
//     tostring(x.JailbreakDetected) == "true" works as in Sentinel.
//   - Comparing a dynamic value with a string compares tostring() of it;
//     with a bool, tobool() of it; with a number, toreal() of it.
//   - tobool() accepts JSON booleans, "true"/"false" in any case and numbers
//     (non-zero is true); anything else is null, and where drops null rows.
//   - == and != are case-sensitive; =~, !~, in~, contains, startswith,
//     endswith and has are not (lower() on both sides).
//   - has matches whole terms: maximal runs of ASCII letters and digits, so
//     "_" and "." separate terms ("T_bb1318e6" has "bb1318e6"), and a term
//     never matches inside a longer run ("EnableCopilotPlugin" !has "Plugin").
//     The right-hand side must be a constant.
//   - Integer division truncates toward zero; real division otherwise.
//   - now() and ago(constant) are literals computed once from Options.Now.
//   - bin(datetime, span) buckets from the Unix epoch (7d bins start on Thursdays).
//   - Sorting is explicit: desc by default; nulls first ascending, last
//     descending. The order is carried by a hidden row_number() column to
//     the final SELECT, since SQL does not keep a CTE's ORDER BY.
//   - mv-expand: an array gives a row per element, an empty array no row, a
//     missing or null value one row holding null, a property bag one row per
//     property ({key: value}), another value one row. Several columns zip,
//     the shorter padded with null.
//   - summarize without by over no rows yields one row (count 0, empty sets).
//     make_set and make_list ignore nulls (but keep empty strings) and give
//     [] over no rows; make_set of strings is sorted; make_set flattens
//     dynamic arrays. dcount is exact. percentile is the exact nearest rank.
//   - arg_max(X, *) / arg_min keep the original column names; with * every
//     column except the by columns.
//   - Unnamed columns: a column keeps its name, a dynamic path joins its
//     parts with "_", bin(x, …) is named after x, aggregates are count_,
//     countif_, dcount_X, sum_X, avg_X, min_X, max_X, set_X (make_set),
//     list_X (make_list), any_X (take_any), percentile_X_P, stdev_X,
//     variance_X; other expressions Column1, Column2, … A repeated name gets
//     a number (count_, count_1).
//   - datetime_diff counts period boundaries (DuckDB date_diff); weeks are
//     refused because KQL's weeks start on Sunday and DuckDB's on Monday.
//   - Timespans are INTERVALs with microsecond resolution (KQL: 100 ns ticks).
package kql
