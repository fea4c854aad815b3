// Package kql compiles a subset of the Kusto Query Language over the
// aiwatch store's tables (CopilotActivity) to one DuckDB SQL statement.
//
// Pipeline: lexer.go (tokens, literals, positions) → parser.go (syntax tree
// in ast.go) → emit.go, summarize.go, scalar.go, functions.go (typing and
// SQL, one CTE per operator) against the schemas of catalog.go. Anything
// not supported is refused by name with its line and column; nothing is
// approximated. Every user value reaches SQL as an escaped literal and every
// name as a quoted identifier. A name may be written bracketed, ['Two words']
// or ["x"], where an expression or an assigned name starts; directly after
// a value, [...] indexes it.
//
// KQL semantics kept, and the choices where KQL's docs are silent:
//   - Strings are never null: string columns are coalesced to "" when read
//     (except those in Table.NotNull, which the store already guarantees,
//     read bare so DuckDB can push filters into its scan), and every string
//     function returns "" rather than null.
//   - Dynamic values are DuckDB JSON. A missing member is SQL NULL; JSON null
//     stays JSON null; isnull() is true for both, tostring() gives "" for both.
//   - A catalogue column listed in Table.JSONText (CopilotActivity's
//     LLMEventData, which the normalizer writes) is trusted to hold valid
//     JSON text and is not cast to JSON row by row: members are read from
//     the text with json_extract, and the cast is made only where the whole
//     value is used and in the final SELECT. The text is the same either
//     way (DuckDB's cast validates, it does not rewrite); text that is not
//     JSON would make the query fail rather than read as null.
//   - tostring(dynamic) gives a JSON string's text without quotes and other
//     values' JSON text ("true" for JSON true), so
//     tostring(x.JailbreakDetected) == "true" works as in Sentinel.
//   - Comparing a dynamic value with a string compares tostring() of it;
//     with a bool, tobool() of it; with a number, toreal() of it.
//   - tobool() accepts JSON booleans, "true"/"false" in any case and numbers
//     (non-zero is true); anything else is null, and where drops null rows.
//   - == and != are case-sensitive; =~, !~, in~, contains, startswith and
//     endswith are not (lower() on both sides).
//   - has matches whole terms: maximal runs of ASCII letters and digits, so
//     "_" and "." separate terms ("T_bb1318e6" has "bb1318e6"), and a term
//     never matches inside a longer run ("EnableCopilotPlugin" !has "Plugin").
//     Every non-ASCII character separates terms too, ſ and the Kelvin sign
//     included ("aſbar" has "bar", "ſtop" !has "stop"); case is ignored for
//     ASCII letters, and for a non-ASCII letter written in the term. The
//     right-hand side must be a constant; has_cs keeps case.
//   - Integer division truncates toward zero; real division otherwise.
//   - now() and ago(constant) are literals computed once from Options.Now.
//   - bin(datetime, span) buckets from the Unix epoch (7d bins start on Thursdays).
//     A bin size that is not positive is refused when it is a constant and
//     gives null when it is computed per row.
//   - Sorting is explicit: desc by default; nulls first ascending, last
//     descending. The order is carried by a hidden row_number() column to
//     the final SELECT, since SQL does not keep a CTE's ORDER BY. top n
//     numbers only the rows an ORDER BY … LIMIT n keeps.
//   - mv-expand: an array gives a row per element, an empty array no row, a
//     missing or null value one row holding null, a property bag one row per
//     property ({key: value}), another value one row. Several columns zip,
//     the shorter padded with null. The elements of a non-empty array are
//     read with one json_extract(…, '$…[*]') (a JSON null element becomes
//     SQL null); only other values are looked at further. An mv-expand
//     followed only by where filters that read one member of the element
//     (M.JailbreakDetected), then by distinct or a summarize blind to
//     repeated rows (dcount, make_set, min, max, take_any), is compiled as
//     a test that some element passes, without expanding (mvexists.go).
//   - summarize without by over no rows yields one row (count 0, empty sets).
//     make_set and make_list ignore nulls (but keep empty strings) and give
//     [] over no rows; make_set of strings is sorted; make_set flattens
//     dynamic arrays. dcount is exact. percentile is the exact nearest rank.
//     "where S has term" right after the summarize that made S = make_set(X)
//     or make_list(X) of strings (alphanumeric term, no size limit) is asked
//     of each row instead, as count(*) FILTER (WHERE to_json(X) has term) > 0:
//     the same answer as the set's JSON text, without building it (sethas.go).
//   - arg_max(X, *) / arg_min keep the original column names; with * every
//     column except the by columns.
//   - Unnamed columns: a column keeps its name, a dynamic path joins its
//     parts with "_", bin(x, …) is named after x, aggregates are count_,
//     countif_, dcount_X, sum_X, avg_X, min_X, max_X, set_X (make_set),
//     list_X (make_list), any_X (take_any), percentile_X_P, stdev_X,
//     variance_X; other expressions Column1, Column2, … A repeated name gets
//     a number (count_, count_1).
//   - datetime_diff counts period boundaries (DuckDB date_diff); weeks are
//     counted apart, from Sunday (see the functions section below).
//   - Timespans are INTERVALs with microsecond resolution (KQL: 100 ns ticks).
//
// # Functions, second increment (functions2.go)
//
// Choices where KQL's docs are silent or DuckDB differs:
//   - format_datetime / format_timespan take a constant format. Specifiers:
//     y, yy, yyyy, M, MM, d, dd, H, HH, h, hh, m, mm, s, ss, tt, f to
//     fffffff (the 7th digit is always 0: microsecond resolution); for
//     timespans d… (whole days), h/H, m, s, f and a leading "-" when
//     negative. Other characters are kept; '…', "…" and \x quote text.
//     Other letters (MMM, F, z…) are refused. A null value gives "".
//   - totimespan reads [-][d.]hh:mm[:ss[.fffffff]]; anything else is null.
//   - datetime_diff("week", a, b) counts Sundays crossed from b to a (weeks
//     numbered from Sunday 1969-12-28); datetime_add("week", n, d) adds 7n days.
//   - week_of_year is the ISO 8601 week (as KQL's). endofweek/month/year are
//     the last microsecond of the period (KQL: the last tick); weeks end on
//     Saturday. The optional offset argument of the startof/endof family
//     is not supported. make_datetime of an impossible date is null.
//   - make_bag / make_bag_if merge property bags (other values are skipped;
//     {} over no rows). On a key held by several rows, KQL picks any value;
//     here the value whose JSON text sorts first wins, so results do not
//     depend on row order. Keys come out sorted, and a size limit keeps
//     the first keys in that order. The column is bag_X.
//   - bag_merge: the leftmost bag wins a repeated key (as documented);
//     arguments that are not bags are skipped.
//   - percentiles(X, p1, p2…) gives one column per p, percentile_X_p,
//     each the exact nearest rank like percentile(); naming its columns is refused.
//   - base64_decode_tostring of text that is not base64, or whose bytes are
//     not UTF-8, gives "". url_decode reads "+" as a space (as .NET does);
//     malformed escapes leave the text as it is. url_encode is not supported
//     (.NET's lowercase escapes and "+" for space differ from DuckDB's).
//   - extract_all: no match gives null; with no capture group the whole
//     matches are returned (KQL requires a group); a group that did not take
//     part gives "". The groups argument is a constant array of numbers.
//   - array_slice bounds are inclusive and clamped; a non-array gives null.
//   - countof counts overlapping matches for plain text (KQL: "aaaa" holds
//     "aa" 3 times) and non-overlapping ones for regex; an empty search gives 0.
//   - translate: a shorter replacement list repeats its last character; an
//     empty one deletes the searched characters. Both lists must be constant.
//   - strrep caps the count at 1024 (as KQL); a count below 1 gives "".
//   - parse_url gives {Scheme, Host, Port, Path, Username, Password,
//     "Query Parameters", Fragment}, all strings ("" when absent); Path keeps
//     its leading "/"; query values are URL-decoded and the first of a
//     repeated name wins. Text that is not scheme://… gives empty parts.
//   - IP: parse_ipv4 masks by a "/n" suffix. ipv4_compare/ipv4_is_match and
//     ipv6_compare/ipv6_is_match mask both sides with the smallest prefix
//     among the texts' "/n" and the third argument. IPv6 functions read
//     IPv4 text as IPv4-mapped (::ffff:a.b.c.d; a "/n" after it counts from
//     bit 96). Malformed addresses or prefixes give null.
//   - toscalar(x) of a scalar is x; a tabular argument is refused by the parser.
//   - let functions, "let f = (x:string, n:long = 3) { [let …;] body }", are
//     inlined before compilation (letfunc.go): a call becomes the body with
//     each parameter replaced by its argument expression, so a parameter
//     hides a column or let of the same name. A body that is a pipeline or
//     names a table is tabular and is called as a source (f(1) | …, union,
//     join, a let); otherwise it is scalar. A function without parameters may
//     be named without parentheses as a source. Defaults see only global
//     lets. Recursion, tabular parameters and functions inside functions are
//     refused; a literal argument of the wrong type is refused (other
//     arguments are not checked). Lets are visible from their definition on.
//   - table(name) takes a constant string (a literal or a let) naming a
//     catalogue table, a tabular let or an "as" result.
//   - union kind=outer (default) keeps every column, null ("" for strings)
//     where an input lacks it; a column with two types is refused (KQL would
//     split it into Col_type columns). kind=inner keeps the columns every
//     input has. withsource=C adds C as the first column: the table or let
//     name for a bare name, else union_argN with N the input's position
//     from 0, a piped input being union_arg0. isfuzzy=true leaves out inputs
//     whose source names nothing known; none left is an error.
//   - materialize(pipeline) in a let is one CTE AS MATERIALIZED, shared by
//     every reference. Inside a function body it is inlined like any let.
//   - "as Name" names the result so far; later references to Name in the
//     same query (join, union, table("Name")) read it. A let of the same
//     name wins.
//   - parse builds one regular expression matched against the whole value
//     (anchored at both ends, so a trailing "*" is needed to skip the rest):
//     constants are escaped (kind=simple) or taken as regex (kind=regex,
//     with flags=U/m/s/i), "*" is .*?, a string column (.*?), long and int
//     (-?\d+), real a decimal number, other types (.*?) converted with
//     todatetime, totimespan, tobool or todynamic. kind=simple lets "." match
//     newlines. Matching is strict: if the value does not match or a typed
//     part does not convert, every column is null ("" for strings) and the
//     row is kept. "*" after a string column is refused (as in KQL); a
//     parsed column named like an existing one replaces it. kind=relaxed is
//     refused.
//   - mv-apply expands as mv-expand does (an empty array gives an empty
//     sub-table, a missing value one null row), runs the sub-pipeline once
//     over all rows with take/limit, top and sort partitioned by a hidden
//     row id, and joins the result back to the row's other columns (input
//     columns first, then the sub-query's). The sub-table holds only the
//     expanded columns; an expanded column replaces an input column of the
//     same name. Supported in the sub-pipeline: where, extend, project(-away,
//     -rename, -reorder), take/limit, top, sort, summarize without by, which
//     gives one row per input row (its over-no-rows value, e.g. count 0, when
//     the sub-table is empty). Others, with_itemindex and limit are refused.
//   - Two columns whose names differ only in case (s and S) are refused
//     after any operator: DuckDB matches quoted identifiers case-insensitively
//     and would read one for the other.
package kql
