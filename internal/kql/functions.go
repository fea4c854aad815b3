package kql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type arg struct {
	sql string
	t   Type
	e   Expr
}

func (c *compiler) args(call *Call, r *relation, min, max int) ([]arg, error) {
	n := len(call.Args)
	if n < min || (max >= 0 && n > max) {
		want := fmt.Sprintf("%d", min)
		if max != min {
			if max < 0 {
				want = fmt.Sprintf("at least %d", min)
			} else {
				want = fmt.Sprintf("%d to %d", min, max)
			}
		}
		return nil, c.errf(call.Pos, "%s takes %s arguments, found %d", call.Name, want, n)
	}
	out := make([]arg, n)
	for i, a := range call.Args {
		s, t, err := c.expr(a, r)
		if err != nil {
			return nil, err
		}
		out[i] = arg{s, t, a}
	}
	return out, nil
}

var aggregates = map[string]bool{
	"count": true, "countif": true, "dcount": true, "dcountif": true, "sum": true, "sumif": true,
	"avg": true, "avgif": true, "min": true, "max": true, "make_set": true, "makeset": true,
	"make_list": true, "makelist": true, "make_set_if": true, "make_list_if": true,
	"take_any": true, "any": true, "arg_max": true, "arg_min": true,
	"stdev": true, "variance": true, "percentile": true, "percentiles": true,
	"make_bag": true, "make_bag_if": true,
}

// call compiles a function call: aggregates (in summarize) and scalars.
func (c *compiler) call(call *Call, r *relation) (string, Type, error) {
	if aggregates[call.Name] {
		if !c.aggOK {
			return "", "", c.errf(call.Pos, "aggregate %s() is only allowed in summarize", call.Name)
		}
		if c.inAgg {
			return "", "", c.errf(call.Pos, "aggregate %s() inside another aggregate", call.Name)
		}
		if call.Name == "arg_max" || call.Name == "arg_min" {
			return "", "", c.errf(call.Pos, "unsupported: %s() inside an expression; use it alone", call.Name)
		}
		c.aggSeen++
		c.inAgg = true
		defer func() { c.inAgg = false }()
		return c.aggregate(call, r)
	}
	name := call.Name
	switch name {
	case "now":
		a, err := c.args(call, r, 0, 1)
		if err != nil {
			return "", "", err
		}
		if len(a) == 1 {
			if a[0].t != TTimespan {
				return "", "", c.errf(call.Pos, "now() takes a timespan")
			}
			return fmt.Sprintf("(%s + %s)", timestampLit(c.now), a[0].sql), TDatetime, nil
		}
		return timestampLit(c.now), TDatetime, nil
	case "ago":
		// ago(constant) is folded here so the instant is the same for every row.
		if len(call.Args) == 1 {
			if l, ok := c.resolveLet(call.Args[0]).(*Lit); ok {
				if d, ok := l.Val.(time.Duration); ok {
					return timestampLit(c.now.Add(-d)), TDatetime, nil
				}
			}
		}
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		if a[0].t != TTimespan {
			return "", "", c.errf(call.Pos, "ago() takes a timespan")
		}
		return fmt.Sprintf("(%s - %s)", timestampLit(c.now), a[0].sql), TDatetime, nil
	case "bin", "floor":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return "", "", err
		}
		x, size := a[0], a[1]
		if l, ok := c.resolveLet(call.Args[1]).(*Lit); ok {
			v, num := constNumber(l)
			d, span := l.Val.(time.Duration)
			if num && v <= 0 || span && d <= 0 {
				return "", "", c.errf(call.Args[1].exprPos(), "%s() needs a positive bin size", name)
			}
		}
		switch {
		case x.t == TDatetime && size.t == TTimespan:
			// Bins are aligned to the Unix epoch, as in KQL. A day, hour,
			// minute or second divides the time since the epoch evenly,
			// so date_trunc gives the same bins, and faster.
			if l, ok := c.resolveLet(call.Args[1]).(*Lit); ok {
				if d, ok := l.Val.(time.Duration); ok {
					if unit := map[time.Duration]string{24 * time.Hour: "day", time.Hour: "hour", time.Minute: "minute", time.Second: "second"}[d]; unit != "" {
						return fmt.Sprintf("date_trunc('%s', %s)", unit, x.sql), TDatetime, nil
					}
				}
			}
			// A size computed per row that is not positive gives null, not
			// DuckDB's error.
			return fmt.Sprintf("(CASE WHEN %[1]s > INTERVAL 0 SECOND THEN time_bucket(%[1]s, %[2]s, TIMESTAMP '1970-01-01 00:00:00') END)", size.sql, x.sql), TDatetime, nil
		case x.t.numeric() && size.t.numeric():
			if x.t.integer() && size.t.integer() {
				return fmt.Sprintf("(CASE WHEN %[2]s > 0 THEN CAST(floor(%[1]s / %[2]s) * %[2]s AS BIGINT) END)", x.sql, size.sql), TLong, nil
			}
			return fmt.Sprintf("(CASE WHEN %[2]s > 0 THEN floor(%[1]s / %[2]s) * %[2]s END)", x.sql, size.sql), TReal, nil
		}
		return "", "", c.errf(call.Pos, "%s() takes a datetime and a timespan, or two numbers; found %s and %s", name, x.t, size.t)
	case "startofday", "startofmonth", "startofyear":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		if a[0].t != TDatetime {
			return "", "", c.errf(call.Pos, "%s() takes a datetime", name)
		}
		return fmt.Sprintf("date_trunc('%s', %s)", strings.TrimPrefix(name, "startof"), a[0].sql), TDatetime, nil
	case "todatetime":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		switch a[0].t {
		case TDatetime:
			return a[0].sql, TDatetime, nil
		case TString:
			return fmt.Sprintf("TRY_CAST(%s AS TIMESTAMP)", a[0].sql), TDatetime, nil
		case TDynamic:
			s, _ := c.dynAs(a[0].sql, TDatetime)
			return s, TDatetime, nil
		}
		return "", "", c.errf(call.Pos, "todatetime() cannot convert %s", a[0].t)
	case "tostring":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		return c.toStr(a[0].sql, a[0].t), TString, nil
	case "tolong", "toint", "toreal", "todouble":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		t := map[string]Type{"tolong": TLong, "toint": TInt, "toreal": TReal, "todouble": TReal}[name]
		if a[0].t == t {
			return a[0].sql, t, nil
		}
		return c.toNum(a[0].sql, a[0].t, t.sqlType()), t, nil
	case "tobool", "toboolean":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		s, ok := c.toBool(a[0].sql, a[0].t)
		if !ok {
			return "", "", c.errf(call.Pos, "tobool() cannot convert %s", a[0].t)
		}
		return s, TBool, nil
	case "todynamic", "parse_json", "parsejson":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		return toDyn(a[0].sql, a[0].t), TDynamic, nil
	case "isempty", "isnotempty":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		var s string
		switch a[0].t {
		case TString:
			s = fmt.Sprintf("(%s = '')", a[0].sql)
		case TDynamic:
			// Missing, JSON null and "" are empty.
			s = fmt.Sprintf("(coalesce(%s, '') = '')", c.dynText(a[0].sql))
		default:
			s = fmt.Sprintf("(%s IS NULL)", a[0].sql)
		}
		if name == "isnotempty" {
			s = "(NOT " + s + ")"
		}
		return s, TBool, nil
	case "isnull", "isnotnull":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		var s string
		switch a[0].t {
		case TString:
			s = "false" // strings are never null
		case TDynamic:
			// Missing and JSON null are null.
			s = fmt.Sprintf("(%s IS NULL)", c.dynText(a[0].sql))
		default:
			s = fmt.Sprintf("(%s IS NULL)", a[0].sql)
		}
		if name == "isnotnull" {
			s = "(NOT " + s + ")"
		}
		return s, TBool, nil
	case "not":
		if len(call.Args) != 1 {
			return "", "", c.errf(call.Pos, "not takes 1 argument")
		}
		b, err := c.boolExpr(call.Args[0], r)
		if err != nil {
			return "", "", err
		}
		return "(NOT " + b + ")", TBool, nil
	case "iff", "iif":
		if len(call.Args) != 3 {
			return "", "", c.errf(call.Pos, "%s takes 3 arguments, found %d", name, len(call.Args))
		}
		return c.caseOf(call, []Expr{call.Args[0]}, []Expr{call.Args[1]}, call.Args[2], r)
	case "case":
		n := len(call.Args)
		if n < 3 || n%2 == 0 {
			return "", "", c.errf(call.Pos, "case takes pairs of predicate and value, then an else value")
		}
		var preds, vals []Expr
		for i := 0; i+1 < n; i += 2 {
			preds = append(preds, call.Args[i])
			vals = append(vals, call.Args[i+1])
		}
		return c.caseOf(call, preds, vals, call.Args[n-1], r)
	case "coalesce":
		a, err := c.args(call, r, 1, -1)
		if err != nil {
			return "", "", err
		}
		t, err := c.unify(call, a)
		if err != nil {
			return "", "", err
		}
		if t == TString && len(a) == 1 {
			return c.toStr(a[0].sql, a[0].t), TString, nil
		}
		if t == TString {
			// A string is "missing" when empty: the first non-empty one wins.
			var b strings.Builder
			b.WriteString("(CASE")
			for _, x := range a[:len(a)-1] {
				fmt.Fprintf(&b, " WHEN %s <> '' THEN %s", c.toStr(x.sql, x.t), c.toStr(x.sql, x.t))
			}
			fmt.Fprintf(&b, " ELSE %s END)", c.toStr(a[len(a)-1].sql, a[len(a)-1].t))
			return b.String(), TString, nil
		}
		var parts []string
		for _, x := range a {
			parts = append(parts, x.sql)
		}
		return "coalesce(" + strings.Join(parts, ", ") + ")", t, nil
	case "strcat":
		a, err := c.args(call, r, 1, 64)
		if err != nil {
			return "", "", err
		}
		var parts []string
		for _, x := range a {
			parts = append(parts, c.toStr(x.sql, x.t))
		}
		return "concat(" + strings.Join(parts, ", ") + ")", TString, nil
	case "strlen":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("CAST(length(%s) AS BIGINT)", c.toStr(a[0].sql, a[0].t)), TLong, nil
	case "tolower", "toupper":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%s(%s)", strings.TrimPrefix(name, "to"), c.toStr(a[0].sql, a[0].t)), TString, nil
	case "substring":
		a, err := c.args(call, r, 2, 3)
		if err != nil {
			return "", "", err
		}
		for _, x := range a[1:] {
			if !x.t.integer() {
				return "", "", c.errf(x.e.exprPos(), "substring() positions are whole numbers")
			}
		}
		// KQL counts from 0, SQL from 1.
		s := c.toStr(a[0].sql, a[0].t)
		if len(a) == 3 {
			return fmt.Sprintf("coalesce(substring(%s, greatest(%s, 0) + 1, greatest(%s, 0)), '')", s, a[1].sql, a[2].sql), TString, nil
		}
		return fmt.Sprintf("coalesce(substring(%s, greatest(%s, 0) + 1), '')", s, a[1].sql), TString, nil
	case "extract":
		if len(call.Args) == 4 {
			return "", "", c.errf(call.Pos, "unsupported: extract() with a type argument")
		}
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return "", "", err
		}
		re, err := c.constString(call.Args[0], "extract()'s regex")
		if err != nil {
			return "", "", err
		}
		if _, err := regexp.Compile(re); err != nil {
			return "", "", c.errf(call.Args[0].exprPos(), "bad regular expression: %v", err)
		}
		g, err := c.constLong(call.Args[1], "extract()'s group")
		if err != nil {
			return "", "", err
		}
		// No match gives "" (strings are never null).
		return fmt.Sprintf("coalesce(regexp_extract(%s, %s, %d), '')", c.toStr(a[2].sql, a[2].t), quoteStr(re), g), TString, nil
	case "split":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("to_json(string_split(%s, %s))", c.toStr(a[0].sql, a[0].t), c.toStr(a[1].sql, a[1].t)), TDynamic, nil
	case "extractjson", "extract_json":
		if len(call.Args) == 3 {
			return "", "", c.errf(call.Pos, "unsupported: %s() with a type argument", name)
		}
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return "", "", err
		}
		path, err := c.constString(call.Args[0], name+"()'s path")
		if err != nil {
			return "", "", err
		}
		if !strings.HasPrefix(path, "$") {
			return "", "", c.errf(call.Args[0].exprPos(), "a JSON path starts with $")
		}
		doc := a[1].sql
		switch a[1].t {
		case TString:
			// Text that is not JSON gives "", not an error.
			return fmt.Sprintf("coalesce(CASE WHEN json_valid(%[1]s) THEN json_extract_string(%[1]s, %[2]s) END, '')", doc, quoteStr(path)), TString, nil
		case TDynamic:
			return fmt.Sprintf("coalesce(json_extract_string(%s, %s), '')", doc, quoteStr(path)), TString, nil
		}
		return "", "", c.errf(call.Pos, "%s() reads a string or dynamic value, found %s", name, a[1].t)
	case "array_length":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		d := toDyn(a[0].sql, a[0].t)
		return fmt.Sprintf("(CASE WHEN json_type(%[1]s) = 'ARRAY' THEN CAST(json_array_length(%[1]s) AS BIGINT) END)", d), TLong, nil
	case "bag_keys":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		d := toDyn(a[0].sql, a[0].t)
		return fmt.Sprintf("(CASE WHEN json_type(%[1]s) = 'OBJECT' THEN to_json(json_keys(%[1]s)) END)", d), TDynamic, nil
	case "pack_array":
		a, err := c.args(call, r, 0, 64)
		if err != nil {
			return "", "", err
		}
		var parts []string
		for _, x := range a {
			parts = append(parts, toDyn(x.sql, x.t))
		}
		return "json_array(" + strings.Join(parts, ", ") + ")", TDynamic, nil
	}
	if s, t, ok, err := c.call2(call, r); ok {
		return s, t, err
	}
	if s, t, ok, err := c.call3(call, r); ok {
		return s, t, err
	}
	return "", "", c.errf(call.Pos, "unsupported function %q", name)
}

// datetimeParts maps KQL's period names to DuckDB's, for datetime_diff and
// datetime_add. Weeks are computed apart: KQL's start on Sunday, DuckDB's on Monday.
var datetimeParts = map[string]string{
	"week": "week", "year": "year", "quarter": "quarter", "month": "month", "day": "day", "hour": "hour",
	"minute": "minute", "second": "second", "millisecond": "millisecond", "microsecond": "microsecond",
}

// call2 holds the less common scalar functions; ok is false for unknown names.
func (c *compiler) call2(call *Call, r *relation) (string, Type, bool, error) {
	name := call.Name
	fail := func(err error) (string, Type, bool, error) { return "", "", true, err }
	switch name {
	case "replace_string":
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		return fmt.Sprintf("replace(%s, %s, %s)", c.toStr(a[0].sql, a[0].t), c.toStr(a[1].sql, a[1].t), c.toStr(a[2].sql, a[2].t)), TString, true, nil
	case "indexof":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return fail(err)
		}
		// 0-based; -1 when absent (strpos is 1-based and 0 when absent).
		return fmt.Sprintf("CAST(strpos(%s, %s) - 1 AS BIGINT)", c.toStr(a[0].sql, a[0].t), c.toStr(a[1].sql, a[1].t)), TLong, true, nil
	case "strcat_delim":
		a, err := c.args(call, r, 3, 64)
		if err != nil {
			return fail(err)
		}
		var parts []string
		for _, x := range a {
			parts = append(parts, c.toStr(x.sql, x.t))
		}
		return "concat_ws(" + strings.Join(parts, ", ") + ")", TString, true, nil
	case "hash_sha256":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return fmt.Sprintf("sha256(%s)", c.toStr(a[0].sql, a[0].t)), TString, true, nil
	case "abs", "round":
		a, err := c.args(call, r, 1, 2)
		if err != nil {
			return fail(err)
		}
		x, t := a[0].sql, a[0].t
		if t == TDynamic {
			x, t = c.toReal(x, t), TReal
		}
		if !t.numeric() || (name == "abs" && len(a) == 2) {
			return fail(c.errf(call.Pos, "%s() takes a number", name))
		}
		if name == "abs" {
			return fmt.Sprintf("abs(%s)", x), t, true, nil
		}
		digits := "0"
		if len(a) == 2 && !a[1].t.integer() {
			return fail(c.errf(call.Pos, "round() takes a whole number of digits"))
		}
		if len(a) == 2 {
			digits = "CAST(" + a[1].sql + " AS INTEGER)"
		}
		if t.integer() && len(a) == 1 {
			return x, t, true, nil
		}
		return fmt.Sprintf("round(CAST(%s AS DOUBLE), %s)", x, digits), TReal, true, nil
	case "hourofday":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDatetime {
			return fail(c.errf(call.Pos, "hourofday() takes a datetime"))
		}
		return fmt.Sprintf("CAST(hour(%s) AS INTEGER)", a[0].sql), TInt, true, nil
	case "dayofweek", "startofweek", "endofday":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDatetime {
			return fail(c.errf(call.Pos, "%s() takes a datetime", name))
		}
		x := a[0].sql
		switch name {
		case "dayofweek":
			// Days since the previous Sunday, as a timespan (DuckDB: Sunday = 0).
			return fmt.Sprintf("to_days(CAST(dayofweek(%s) AS INTEGER))", x), TTimespan, true, nil
		case "startofweek":
			return fmt.Sprintf("(date_trunc('day', %[1]s) - to_days(CAST(dayofweek(%[1]s) AS INTEGER)))", x), TDatetime, true, nil
		}
		// The last microsecond of the day (KQL: the last tick).
		return fmt.Sprintf("(date_trunc('day', %s) + INTERVAL '86399999999 microseconds')", x), TDatetime, true, nil
	case "datetime_diff", "datetime_add":
		if len(call.Args) != 3 {
			return fail(c.errf(call.Pos, "%s takes 3 arguments, found %d", name, len(call.Args)))
		}
		part, err := c.constString(call.Args[0], name+"()'s period")
		if err != nil {
			return fail(err)
		}
		dp, ok := datetimeParts[strings.ToLower(part)]
		if !ok {
			return fail(c.errf(call.Args[0].exprPos(), "unsupported %s period %q", name, part))
		}
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		if name == "datetime_diff" {
			if a[1].t != TDatetime || a[2].t != TDatetime {
				return fail(c.errf(call.Pos, "datetime_diff() takes two datetimes"))
			}
			if dp == "week" {
				// Sundays crossed: weeks counted from Sunday 1969-12-28.
				wk := func(x string) string {
					return fmt.Sprintf("CAST(floor(date_diff('day', TIMESTAMP '1969-12-28', %s) / 7) AS BIGINT)", x)
				}
				return fmt.Sprintf("(%s - %s)", wk(a[1].sql), wk(a[2].sql)), TLong, true, nil
			}
			// Period boundaries crossed from the second to the first.
			return fmt.Sprintf("date_diff('%s', %s, %s)", dp, a[2].sql, a[1].sql), TLong, true, nil
		}
		if !a[1].t.integer() || a[2].t != TDatetime {
			return fail(c.errf(call.Pos, "datetime_add() takes a period, a whole number and a datetime"))
		}
		n := a[1].sql
		if dp == "week" {
			dp, n = "day", "7 * "+n
		}
		if dp == "quarter" {
			dp, n = "month", "3 * "+n
		}
		return fmt.Sprintf("(%s + to_%ss(CAST(%s AS INTEGER)))", a[2].sql, dp, n), TDatetime, true, nil
	case "column_ifexists":
		if len(call.Args) != 2 {
			return fail(c.errf(call.Pos, "column_ifexists takes 2 arguments"))
		}
		col, err := c.constString(call.Args[0], "column_ifexists()'s name")
		if err != nil {
			return fail(err)
		}
		if _, ok := r.col(col); ok {
			s, t, err := c.expr(&Ident{Pos: call.Pos, Name: col}, r)
			return s, t, true, err
		}
		s, t, err := c.expr(call.Args[1], r)
		return s, t, true, err
	case "pack", "bag_pack":
		if len(call.Args)%2 != 0 {
			return fail(c.errf(call.Pos, "%s takes key and value pairs", name))
		}
		a, err := c.args(call, r, 0, 128)
		if err != nil {
			return fail(err)
		}
		var parts []string
		for i := 0; i < len(a); i += 2 {
			parts = append(parts, c.toStr(a[i].sql, a[i].t), toDyn(a[i+1].sql, a[i+1].t))
		}
		return "json_object(" + strings.Join(parts, ", ") + ")", TDynamic, true, nil
	case "set_has_element":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDynamic {
			return fail(c.errf(call.Pos, "set_has_element() takes a dynamic array"))
		}
		// Elements are compared by their JSON text.
		return fmt.Sprintf("coalesce(list_contains(CAST(CAST(%s AS JSON[]) AS VARCHAR[]), CAST(%s AS VARCHAR)), false)", a[0].sql, toDyn(a[1].sql, a[1].t)), TBool, true, nil
	case "bin_at":
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDatetime || a[1].t != TTimespan || a[2].t != TDatetime {
			return fail(c.errf(call.Pos, "bin_at() takes a datetime, a timespan and a datetime"))
		}
		return fmt.Sprintf("time_bucket(%s, %s, %s)", a[1].sql, a[0].sql, a[2].sql), TDatetime, true, nil
	case "trim", "trim_start", "trim_end":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return fail(err)
		}
		re, err := c.constString(call.Args[0], name+"()'s regex")
		if err != nil {
			return fail(err)
		}
		if _, err := regexp.Compile(re); err != nil {
			return fail(c.errf(call.Args[0].exprPos(), "bad regular expression: %v", err))
		}
		pat := map[string]string{"trim": "^(?:" + re + ")+|(?:" + re + ")+$", "trim_start": "^(?:" + re + ")+", "trim_end": "(?:" + re + ")+$"}[name]
		return fmt.Sprintf("regexp_replace(%s, %s, '', 'g')", c.toStr(a[1].sql, a[1].t), quoteStr(pat)), TString, true, nil
	case "array_concat", "set_union", "set_difference":
		a, err := c.args(call, r, 2, 64)
		if err != nil {
			return fail(err)
		}
		// A value that is not an array makes the result null, as in KQL.
		var lists []string
		for _, x := range a {
			if x.t != TDynamic {
				return fail(c.errf(x.e.exprPos(), "%s() takes dynamic arrays", name))
			}
			lists = append(lists, fmt.Sprintf("CAST(TRY_CAST(%s AS JSON[]) AS VARCHAR[])", x.sql))
		}
		var s string
		switch name {
		case "array_concat":
			s = lists[0]
			for _, l := range lists[1:] {
				s = fmt.Sprintf("list_concat(%s, %s)", s, l)
			}
		case "set_union":
			s = lists[0]
			for _, l := range lists[1:] {
				s = fmt.Sprintf("list_concat(%s, %s)", s, l)
			}
			s = fmt.Sprintf("list_sort(list_distinct(%s))", s)
		default:
			s = lists[0]
			for _, l := range lists[1:] {
				s = fmt.Sprintf("list_filter(%s, lambda x: NOT coalesce(list_contains(%s, x), false))", s, l)
			}
			s = fmt.Sprintf("list_sort(list_distinct(%s))", s)
		}
		var nulls []string
		for _, l := range lists {
			nulls = append(nulls, l+" IS NULL")
		}
		// Elements travel as JSON text and are compared as such; set results
		// are sorted. to_json writes the array compact, as KQL's tostring
		// shows it ([1,2]); a cast to JSON would write [1, 2].
		return fmt.Sprintf("(CASE WHEN %s THEN NULL ELSE to_json(CAST(%s AS JSON[])) END)", strings.Join(nulls, " OR "), s), TDynamic, true, nil
	case "ipv4_is_private", "ipv4_is_in_range":
		return c.ipv4(call, r)
	}
	return "", "", false, nil
}

// ipv4Num is the SQL for an IPv4 address as a number, null unless the text
// is four dotted decimals each at most 255.
func ipv4Num(x string) string {
	oct := func(i int) string { return fmt.Sprintf("CAST(split_part(%s, '.', %d) AS BIGINT)", x, i) }
	return fmt.Sprintf("(CASE WHEN regexp_full_match(%[1]s, '[0-9]{1,3}(\\.[0-9]{1,3}){3}') AND greatest(%[2]s, %[3]s, %[4]s, %[5]s) <= 255 THEN %[2]s * 16777216 + %[3]s * 65536 + %[4]s * 256 + %[5]s END)",
		x, oct(1), oct(2), oct(3), oct(4))
}

// ipv4 compiles ipv4_is_private(ip) (10/8, 172.16/12, 192.168/16) and
// ipv4_is_in_range(ip, "a.b.c.d/n" constant). Text that is not an IPv4 address gives null.
func (c *compiler) ipv4(call *Call, r *relation) (string, Type, bool, error) {
	fail := func(err error) (string, Type, bool, error) { return "", "", true, err }
	var ranges [][2]uint32
	n := 1
	if call.Name == "ipv4_is_private" {
		ranges = [][2]uint32{{10 << 24, 8}, {172<<24 | 16<<16, 12}, {192<<24 | 168<<16, 16}}
	} else {
		n = 2
		if len(call.Args) != 2 {
			return fail(c.errf(call.Pos, "ipv4_is_in_range takes 2 arguments"))
		}
		cidr, err := c.constString(call.Args[1], "ipv4_is_in_range()'s range")
		if err != nil {
			return fail(err)
		}
		base, bits, ok := parseCIDR(cidr)
		if !ok {
			return fail(c.errf(call.Args[1].exprPos(), "bad IPv4 range %q", cidr))
		}
		ranges = [][2]uint32{{base, bits}}
	}
	if len(call.Args) != n {
		return fail(c.errf(call.Pos, "%s takes %d argument(s)", call.Name, n))
	}
	ip, t, err := c.expr(call.Args[0], r)
	if err != nil {
		return fail(err)
	}
	num := ipv4Num(c.toStr(ip, t))
	var parts []string
	for _, rg := range ranges {
		size := uint64(1) << (32 - rg[1])
		lo := uint64(rg[0]) &^ (size - 1)
		parts = append(parts, fmt.Sprintf("(%s BETWEEN %d AND %d)", num, lo, lo+size-1))
	}
	return "(" + strings.Join(parts, " OR ") + ")", TBool, true, nil
}

func parseCIDR(s string) (uint32, uint32, bool) {
	addr, bitsText, found := strings.Cut(s, "/")
	bits := uint64(32)
	if found {
		b, err := strconv.ParseUint(bitsText, 10, 8)
		if err != nil || b > 32 {
			return 0, 0, false
		}
		bits = b
	}
	parts := strings.Split(addr, ".")
	if len(parts) != 4 {
		return 0, 0, false
	}
	var v uint32
	for _, p := range parts {
		o, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return 0, 0, false
		}
		v = v<<8 | uint32(o)
	}
	return v, uint32(bits), true
}

// unify finds the common type of values that must share one (iff, case,
// coalesce): equal types, numbers widen, null takes the other's type.
func (c *compiler) unify(call *Call, a []arg) (Type, error) {
	t := TNull
	for _, x := range a {
		switch {
		case x.t == TNull || x.t == t:
		case t == TNull:
			t = x.t
		case t.numeric() && x.t.numeric():
			if x.t == TReal || t == TReal {
				t = TReal
			} else {
				t = TLong
			}
		default:
			return "", c.errf(x.e.exprPos(), "%s: %s and %s cannot be mixed", call.Name, t, x.t)
		}
	}
	if t == TNull {
		t = TString
	}
	return t, nil
}

func (c *compiler) caseOf(call *Call, preds, vals []Expr, els Expr, r *relation) (string, Type, error) {
	var b strings.Builder
	b.WriteString("(CASE")
	var a []arg
	for _, v := range append(append([]Expr{}, vals...), els) {
		s, t, err := c.expr(v, r)
		if err != nil {
			return "", "", err
		}
		a = append(a, arg{s, t, v})
	}
	t, err := c.unify(call, a)
	if err != nil {
		return "", "", err
	}
	conv := func(x arg) string {
		if t == TString {
			return c.toStr(x.sql, x.t)
		}
		if x.t == TNull {
			return "CAST(NULL AS " + t.sqlType() + ")"
		}
		return x.sql
	}
	for i, p := range preds {
		ps, err := c.boolExpr(p, r)
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(&b, " WHEN %s THEN %s", ps, conv(a[i]))
	}
	fmt.Fprintf(&b, " ELSE %s END)", conv(a[len(a)-1]))
	return b.String(), t, nil
}

// aggregate compiles an aggregate call inside summarize.
func (c *compiler) aggregate(call *Call, r *relation) (string, Type, error) {
	name := call.Name
	pred := func(i int) (string, error) {
		if i >= len(call.Args) {
			return "", c.errf(call.Pos, "%s needs a predicate", name)
		}
		return c.boolExpr(call.Args[i], r)
	}
	switch name {
	case "count":
		if len(call.Args) > 1 || (len(call.Args) == 1 && !isStar(call.Args[0])) {
			return "", "", c.errf(call.Pos, "count() takes no arguments")
		}
		return "count(*)", TLong, nil
	case "countif":
		if len(call.Args) != 1 {
			return "", "", c.errf(call.Pos, "countif takes 1 argument")
		}
		p, err := pred(0)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("count(*) FILTER (WHERE %s)", p), TLong, nil
	case "dcount", "dcountif":
		max := 2
		if name == "dcountif" {
			max = 3
		}
		a, err := c.args(call, r, max-1, max)
		if err != nil {
			return "", "", err
		}
		// Exact distinct count (KQL's is an estimate; exact is within its error).
		x := a[0].sql
		if a[0].t == TDynamic {
			x = "CAST(" + x + " AS VARCHAR)"
		}
		s := fmt.Sprintf("count(DISTINCT %s)", x)
		if name == "dcountif" {
			p, err := pred(1)
			if err != nil {
				return "", "", err
			}
			s += " FILTER (WHERE " + p + ")"
		}
		return s, TLong, nil
	case "sum", "sumif", "avg", "avgif":
		n := 1
		if strings.HasSuffix(name, "if") {
			n = 2
		}
		a, err := c.args(call, r, n, n)
		if err != nil {
			return "", "", err
		}
		x, t := a[0].sql, a[0].t
		if t == TDynamic {
			x, t = c.toReal(x, t), TReal
		}
		if !t.numeric() {
			return "", "", c.errf(call.Pos, "%s needs numbers, found %s", name, t)
		}
		filter := ""
		if n == 2 {
			p, err := pred(1)
			if err != nil {
				return "", "", err
			}
			filter = " FILTER (WHERE " + p + ")"
		}
		if strings.HasPrefix(name, "avg") {
			return fmt.Sprintf("avg(%s)%s", x, filter), TReal, nil
		}
		if t.integer() {
			return fmt.Sprintf("CAST(sum(%s)%s AS BIGINT)", x, filter), TLong, nil
		}
		return fmt.Sprintf("sum(%s)%s", x, filter), TReal, nil
	case "min", "max":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		if a[0].t == TDynamic {
			return "", "", c.errf(call.Pos, "%s needs a value that orders, found dynamic", name)
		}
		if a[0].t == TString {
			// Over no rows SQL gives null; a KQL string is never null.
			return fmt.Sprintf("coalesce(%s(%s), '')", name, a[0].sql), TString, nil
		}
		return fmt.Sprintf("%s(%s)", name, a[0].sql), a[0].t, nil
	case "stdev", "variance":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		x, t := a[0].sql, a[0].t
		if t == TDynamic {
			x, t = c.toReal(x, t), TReal
		}
		if !t.numeric() {
			return "", "", c.errf(call.Pos, "%s needs numbers, found %s", name, t)
		}
		// Sample statistics, as KQL's; null for fewer than two values.
		fn := map[string]string{"stdev": "stddev_samp", "variance": "var_samp"}[name]
		return fmt.Sprintf("%s(%s)", fn, x), TReal, nil
	case "percentile":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return "", "", err
		}
		p, ok := constNumber(c.resolveLet(call.Args[1]))
		if !ok || p < 0 || p > 100 {
			return "", "", c.errf(call.Args[1].exprPos(), "percentile needs a constant between 0 and 100")
		}
		x, t := a[0].sql, a[0].t
		if !t.numeric() && t != TDatetime && t != TTimespan {
			return "", "", c.errf(call.Pos, "percentile needs numbers, datetimes or timespans, found %s", t)
		}
		// Exact nearest rank: the smallest value with at least p% of the
		// values at or below it (KQL estimates with a digest; this is within its error).
		return fmt.Sprintf("list_sort(list(%[1]s) FILTER (WHERE %[1]s IS NOT NULL))[greatest(1, CAST(ceil(%[2]s / 100.0 * count(%[1]s)) AS BIGINT))]", x, strconv.FormatFloat(p, 'g', -1, 64)), t, nil
	case "percentiles":
		return "", "", c.errf(call.Pos, "unsupported: percentiles() inside an expression; use it alone")
	case "make_bag", "make_bag_if":
		n := 1
		if name == "make_bag_if" {
			n = 2
		}
		a, err := c.args(call, r, n, n+1)
		if err != nil {
			return "", "", err
		}
		if a[0].t != TDynamic {
			return "", "", c.errf(call.Pos, "%s needs a dynamic property bag, found %s", name, a[0].t)
		}
		cond := "true"
		if n == 2 {
			if cond, err = pred(1); err != nil {
				return "", "", err
			}
		}
		s := mergeBags([]string{makeBagEntries(a[0].sql, cond)}, true)
		if len(a) == n+1 {
			max, err := c.constLong(call.Args[n], name+"'s size limit")
			if err != nil {
				return "", "", err
			}
			s = fmt.Sprintf("to_json(map_from_entries(list_slice(map_entries(CAST(%s AS MAP(VARCHAR, JSON))), 1, %d)))", s, max)
		}
		return s, TDynamic, nil
	case "take_any", "any":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return "", "", err
		}
		if a[0].t == TString {
			return fmt.Sprintf("coalesce(any_value(%s), '')", a[0].sql), TString, nil
		}
		return fmt.Sprintf("any_value(%s)", a[0].sql), a[0].t, nil
	case "make_set", "makeset", "make_list", "makelist", "make_set_if", "make_list_if":
		isIf := strings.HasSuffix(name, "_if")
		n := 1
		if isIf {
			n = 2
		}
		a, err := c.args(call, r, n, n+1)
		if err != nil {
			return "", "", err
		}
		set := strings.Contains(name, "set")
		x, t := a[0].sql, a[0].t
		cond := x + " IS NOT NULL"
		if t == TDynamic {
			cond = fmt.Sprintf("%[1]s IS NOT NULL AND json_type(%[1]s) <> 'NULL'", x)
		}
		if isIf {
			p, err := pred(1)
			if err != nil {
				return "", "", err
			}
			cond += " AND " + p
		}
		var list string
		switch {
		case t == TDynamic && set:
			// make_set flattens arrays; elements are compared by JSON text.
			list = fmt.Sprintf("list_sort(list_distinct(flatten(list(CASE WHEN json_type(%[1]s) = 'ARRAY' THEN CAST(CAST(%[1]s AS JSON[]) AS VARCHAR[]) ELSE [CAST(%[1]s AS VARCHAR)] END) FILTER (WHERE %[2]s))))", x, cond)
			list = fmt.Sprintf("CAST(%s AS JSON[])", list)
		case t == TDynamic:
			list = fmt.Sprintf("list(%s) FILTER (WHERE %s)", x, cond)
		case set:
			// Sorted so results are stable; KQL leaves the order unspecified.
			// Sorting the distinct list once per group is cheaper than an
			// ordered DISTINCT aggregate.
			list = fmt.Sprintf("list_sort(list_distinct(list(%[1]s) FILTER (WHERE %[2]s)), 'ASC')", x, cond)
		default:
			list = fmt.Sprintf("list(%s) FILTER (WHERE %s)", x, cond)
		}
		if len(a) == n+1 {
			max, err := c.constLong(call.Args[n], name+"'s size limit")
			if err != nil {
				return "", "", err
			}
			list = fmt.Sprintf("list_slice(%s, 1, %d)", list, max)
		}
		return fmt.Sprintf("coalesce(to_json(%s), '[]'::JSON)", list), TDynamic, nil
	}
	return "", "", c.errf(call.Pos, "unsupported aggregate %q", name)
}

func constNumber(e Expr) (float64, bool) {
	if l, ok := e.(*Lit); ok {
		switch v := l.Val.(type) {
		case int64:
			return float64(v), true
		case float64:
			return v, true
		}
	}
	return 0, false
}

func isStar(e Expr) bool { _, ok := e.(*Star); return ok }
