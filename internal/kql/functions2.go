package kql

import (
	"fmt"
	"regexp"
	"strings"
)

// call3 holds the second increment of scalar functions (dates, strings,
// bags, arrays, IPv4); ok is false for unknown names.
func (c *compiler) call3(call *Call, r *relation) (string, Type, bool, error) {
	name := call.Name
	fail := func(err error) (string, Type, bool, error) { return "", "", true, err }
	ok := func(s string, t Type) (string, Type, bool, error) { return s, t, true, nil }
	switch name {
	case "format_datetime", "format_timespan":
		a, err := c.args(call, r, 2, 2)
		if err != nil {
			return fail(err)
		}
		want := TDatetime
		if name == "format_timespan" {
			want = TTimespan
		}
		if a[0].t != want {
			return fail(c.errf(call.Pos, "%s() takes a %s and a format", name, want))
		}
		f, err := c.constString(call.Args[1], name+"()'s format")
		if err != nil {
			return fail(err)
		}
		s, err := formatSQL(a[0].sql, f, want == TTimespan)
		if err != nil {
			return fail(c.errf(call.Args[1].exprPos(), "%s(): %v", name, err))
		}
		return ok(s, TString)
	case "totimespan":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		switch a[0].t {
		case TTimespan:
			return ok(a[0].sql, TTimespan)
		case TString, TDynamic:
			return ok(timespanParse(c.toStr(a[0].sql, a[0].t)), TTimespan)
		}
		return fail(c.errf(call.Pos, "%s() cannot convert %s", name, a[0].t))
	case "dayofmonth", "dayofyear", "getmonth", "monthofyear", "getyear", "week_of_year":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDatetime {
			return fail(c.errf(call.Pos, "%s() takes a datetime", name))
		}
		// week_of_year is the ISO 8601 week, as DuckDB's weekofyear.
		fn := map[string]string{"dayofmonth": "day", "dayofyear": "dayofyear", "getmonth": "month", "monthofyear": "month", "getyear": "year", "week_of_year": "weekofyear"}[name]
		return ok(fmt.Sprintf("CAST(%s(%s) AS INTEGER)", fn, a[0].sql), TInt)
	case "endofweek", "endofmonth", "endofyear":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDatetime {
			return fail(c.errf(call.Pos, "%s() takes a datetime", name))
		}
		x := a[0].sql
		// The last microsecond of the period (KQL: the last tick).
		var start string
		switch name {
		case "endofweek":
			start = fmt.Sprintf("(date_trunc('day', %[1]s) - to_days(CAST(dayofweek(%[1]s) AS INTEGER)) + INTERVAL '7 days')", x)
		case "endofmonth":
			start = fmt.Sprintf("(date_trunc('month', %s) + INTERVAL '1 month')", x)
		default:
			start = fmt.Sprintf("(date_trunc('year', %s) + INTERVAL '1 year')", x)
		}
		return ok(fmt.Sprintf("(%s - INTERVAL '1 microsecond')", start), TDatetime)
	case "make_datetime":
		a, err := c.args(call, r, 3, 6)
		if err != nil {
			return fail(err)
		}
		if len(a) == 4 {
			return fail(c.errf(call.Pos, "make_datetime takes year, month, day, then optionally hour and minute, then second"))
		}
		var parts []string
		for i, x := range a {
			if !x.t.numeric() || i < 5 && !x.t.integer() {
				return fail(c.errf(x.e.exprPos(), "make_datetime() takes numbers (whole ones except the seconds)"))
			}
			parts = append(parts, x.sql)
		}
		for len(parts) < 6 {
			parts = append(parts, "0")
		}
		// An impossible date gives null, as in KQL.
		return ok(fmt.Sprintf("TRY(make_timestamp(CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS DOUBLE)))",
			parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]), TDatetime)
	case "base64_encode_tostring", "base64_encodestring":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return ok(fmt.Sprintf("to_base64(encode(%s))", c.toStr(a[0].sql, a[0].t)), TString)
	case "base64_decode_tostring", "base64_decodestring":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		// Text that is not base64, or bytes that are not UTF-8, give "".
		return ok(fmt.Sprintf("coalesce(TRY(decode(from_base64(%s))), '')", c.toStr(a[0].sql, a[0].t)), TString)
	case "url_decode":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		// As .NET's decoder: "+" is a space.
		return ok(fmt.Sprintf("coalesce(TRY(url_decode(replace(%s, '+', ' '))), '')", c.toStr(a[0].sql, a[0].t)), TString)
	case "reverse":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return ok(fmt.Sprintf("reverse(%s)", c.toStr(a[0].sql, a[0].t)), TString)
	case "replace_regex":
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		re, err := c.constRegex(call.Args[1], name)
		if err != nil {
			return fail(err)
		}
		// Both use RE2 and \1 for groups in the rewrite; every match is replaced.
		return ok(fmt.Sprintf("regexp_replace(%s, %s, %s, 'g')", c.toStr(a[0].sql, a[0].t), quoteStr(re), c.toStr(a[2].sql, a[2].t)), TString)
	case "countof":
		a, err := c.args(call, r, 2, 3)
		if err != nil {
			return fail(err)
		}
		kind := "normal"
		if len(a) == 3 {
			if kind, err = c.constString(call.Args[2], "countof()'s kind"); err != nil {
				return fail(err)
			}
		}
		text := c.toStr(a[0].sql, a[0].t)
		switch kind {
		case "normal":
			// Overlapping occurrences count, as in KQL ("aaaa" holds "aa" 3 times).
			search := c.toStr(a[1].sql, a[1].t)
			return ok(fmt.Sprintf("(CASE WHEN %[2]s = '' THEN CAST(0 AS BIGINT) ELSE CAST(len(list_filter(range(1, length(%[1]s) + 1), lambda i: substring(%[1]s, i, length(%[2]s)) = %[2]s)) AS BIGINT) END)", text, search), TLong)
		case "regex":
			re, err := c.constRegex(call.Args[1], name)
			if err != nil {
				return fail(err)
			}
			return ok(fmt.Sprintf("CAST(len(regexp_extract_all(%s, %s)) AS BIGINT)", text, quoteStr(re)), TLong)
		}
		return fail(c.errf(call.Args[2].exprPos(), "countof()'s kind is \"normal\" or \"regex\""))
	case "translate":
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		from, err := c.constString(call.Args[0], "translate()'s search list")
		if err != nil {
			return fail(err)
		}
		to, err := c.constString(call.Args[1], "translate()'s replacement list")
		if err != nil {
			return fail(err)
		}
		// KQL: a shorter replacement list repeats its last character; an
		// empty one removes every searched character (DuckDB's translate
		// removes the unmatched ones, so the list is padded here).
		fr, tr := []rune(from), []rune(to)
		if len(tr) > 0 && len(tr) < len(fr) {
			to += strings.Repeat(string(tr[len(tr)-1]), len(fr)-len(tr))
		}
		return ok(fmt.Sprintf("translate(%s, %s, %s)", c.toStr(a[2].sql, a[2].t), quoteStr(from), quoteStr(to)), TString)
	case "strrep":
		a, err := c.args(call, r, 2, 3)
		if err != nil {
			return fail(err)
		}
		if !a[1].t.integer() {
			return fail(c.errf(call.Args[1].exprPos(), "strrep()'s multiplier is a whole number"))
		}
		delim := "''"
		if len(a) == 3 {
			delim = c.toStr(a[2].sql, a[2].t)
		}
		// KQL caps the multiplier at 1024; below 1 gives "".
		return ok(let(fmt.Sprintf("{'s': %s, 'd': %s, 'n': least(%s, 1024)}", c.toStr(a[0].sql, a[0].t), delim, a[1].sql),
			"CASE WHEN v.n >= 1 THEN repeat(v.s || v.d, CAST(v.n - 1 AS BIGINT)) || v.s ELSE '' END"), TString)
	case "toscalar":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return ok(a[0].sql, a[0].t)
	case "extract_all", "extractall":
		return c.extractAll(call, r)
	case "array_slice":
		a, err := c.args(call, r, 3, 3)
		if err != nil {
			return fail(err)
		}
		if a[0].t != TDynamic || !a[1].t.integer() || !a[2].t.integer() {
			return fail(c.errf(call.Pos, "array_slice() takes a dynamic array and two whole numbers"))
		}
		// Inclusive 0-based bounds; negative ones count from the end. A
		// value that is not an array gives null.
		l := fmt.Sprintf("TRY_CAST(%s AS JSON[])", a[0].sql)
		bound := func(x string) string {
			return fmt.Sprintf("(CASE WHEN %[1]s < 0 THEN len(%[2]s) + %[1]s ELSE %[1]s END)", x, l)
		}
		// Both ends are clamped to 0 first: list_slice reads a negative end from the back.
		return ok(fmt.Sprintf("to_json(list_slice(%s, greatest(%s, 0) + 1, greatest(%s + 1, 0)))", l, bound(a[1].sql), bound(a[2].sql)), TDynamic)
	case "bag_merge":
		a, err := c.args(call, r, 2, 64)
		if err != nil {
			return fail(err)
		}
		var bags []string
		for _, x := range a {
			if x.t != TDynamic {
				return fail(c.errf(x.e.exprPos(), "bag_merge() takes dynamic property bags"))
			}
			bags = append(bags, x.sql)
		}
		return ok(mergeBags(bags, false), TDynamic)
	case "parse_url", "parseurl":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return ok(parseURL(c.toStr(a[0].sql, a[0].t)), TDynamic)
	case "ipv6_compare", "ipv6_is_match":
		a, err := c.args(call, r, 2, 3)
		if err != nil {
			return fail(err)
		}
		x, y := c.toStr(a[0].sql, a[0].t), c.toStr(a[1].sql, a[1].t)
		bits := leastOf(ipv6Bits(x), ipv6Bits(y))
		if len(a) == 3 {
			if !a[2].t.integer() {
				return fail(c.errf(call.Args[2].exprPos(), "%s()'s prefix is a whole number", name))
			}
			bits = fmt.Sprintf("(CASE WHEN %[1]s BETWEEN 0 AND 128 THEN least(%[2]s, %[1]s) END)", a[2].sql, bits)
		}
		// Words compare as lists, in order: the first different word decides.
		cmp := let(fmt.Sprintf("{'a': %s, 'b': %s}", ipv6Masked(ipv6Words(x), bits), ipv6Masked(ipv6Words(y), bits)),
			"CASE WHEN v.a IS NULL OR v.b IS NULL THEN NULL WHEN v.a < v.b THEN -1 WHEN v.a > v.b THEN 1 ELSE 0 END")
		if name == "ipv6_is_match" {
			return ok(fmt.Sprintf("(%s = 0)", cmp), TBool)
		}
		return ok(fmt.Sprintf("CAST(%s AS BIGINT)", cmp), TLong)
	case "parse_ipv4":
		a, err := c.args(call, r, 1, 1)
		if err != nil {
			return fail(err)
		}
		return ok(ipv4Masked(c.toStr(a[0].sql, a[0].t), ""), TLong)
	case "ipv4_compare", "ipv4_is_match":
		a, err := c.args(call, r, 2, 3)
		if err != nil {
			return fail(err)
		}
		prefix := ""
		if len(a) == 3 {
			if !a[2].t.integer() {
				return fail(c.errf(call.Args[2].exprPos(), "%s()'s prefix is a whole number", name))
			}
			prefix = a[2].sql
		}
		x, y := c.toStr(a[0].sql, a[0].t), c.toStr(a[1].sql, a[1].t)
		// The mask is the shortest of the prefixes in the texts and the argument.
		bits := leastOf(ipv4Bits(x), ipv4Bits(y))
		if prefix != "" {
			bits = fmt.Sprintf("(CASE WHEN %[1]s BETWEEN 0 AND 32 THEN least(%[2]s, %[1]s) END)", prefix, bits)
		}
		nx, ny := ipv4Masked(x, bits), ipv4Masked(y, bits)
		if name == "ipv4_is_match" {
			return ok(fmt.Sprintf("(%s = %s)", nx, ny), TBool)
		}
		return ok(fmt.Sprintf("CAST(sign(%s - %s) AS BIGINT)", nx, ny), TLong)
	}
	return "", "", false, nil
}

func (c *compiler) constRegex(e Expr, fn string) (string, error) {
	re, err := c.constString(e, fn+"()'s regex")
	if err != nil {
		return "", err
	}
	if _, err := regexp.Compile(re); err != nil {
		return "", c.errf(e.exprPos(), "bad regular expression: %v", err)
	}
	return re, nil
}

// leastOf is the smaller of two values, null if either is (DuckDB's least
// skips nulls, which would hide a malformed prefix).
func leastOf(a, b string) string {
	return let(fmt.Sprintf("{'a': %s, 'b': %s}", a, b), "CASE WHEN v.a IS NOT NULL AND v.b IS NOT NULL THEN least(v.a, v.b) END")
}

// ipv4Bits is the prefix length written after "/" in an address text, 32
// without one; null when it is not 0 to 32.
func ipv4Bits(x string) string {
	return fmt.Sprintf("(CASE WHEN NOT contains(%[1]s, '/') THEN 32 WHEN TRY_CAST(split_part(%[1]s, '/', 2) AS INTEGER) BETWEEN 0 AND 32 THEN TRY_CAST(split_part(%[1]s, '/', 2) AS INTEGER) END)", x)
}

// ipv4Masked is the address in x (an optional "/n" suffix masks it) as a
// number, masked further to bits when given; null for malformed text.
func ipv4Masked(x, bits string) string {
	if bits == "" {
		bits = ipv4Bits(x)
	}
	num := ipv4Num("split_part(" + x + ", '/', 1)")
	// The high bits of the address: integer division by 2^(32-bits).
	return fmt.Sprintf("(%s // CAST(pow(2, 32 - %s) AS BIGINT) * CAST(pow(2, 32 - %s) AS BIGINT))", num, bits, bits)
}

// timespanParse reads KQL's timespan text [-][d.]hh:mm[:ss[.fffffff]];
// anything else is null.
func timespanParse(s string) string {
	const re = `^(-?)(?:([0-9]+)\.)?([0-9]{1,2}):([0-5]?[0-9])(?::([0-5]?[0-9])(?:\.([0-9]{1,7}))?)?$`
	g := fmt.Sprintf("regexp_extract(%s, %s, ['neg', 'd', 'h', 'm', 's', 'f'])", s, quoteStr(re))
	num := func(f string) string { return fmt.Sprintf("coalesce(TRY_CAST(nullif(%s.%s, '') AS BIGINT), 0)", g, f) }
	// Fraction digits are read to microseconds (the 7th digit is dropped).
	frac := fmt.Sprintf("coalesce(TRY_CAST(nullif(rpad(left(%s.f, 6), 6, '0'), '000000') AS BIGINT), 0)", g)
	us := fmt.Sprintf("(((%s * 24 + %s) * 60 + %s) * 60 + %s) * 1000000 + %s", num("d"), num("h"), num("m"), num("s"), frac)
	return fmt.Sprintf("(CASE WHEN regexp_full_match(%[1]s, %[2]s) THEN to_microseconds(CASE WHEN %[3]s.neg = '-' THEN -1 ELSE 1 END * (%[4]s)) END)", s, quoteStr(re), g, us)
}

// formatSQL builds format_datetime / format_timespan from KQL's format
// specifiers. Letters that are not specifiers are refused; other
// characters are kept as they are.
func formatSQL(x, f string, span bool) (string, error) {
	var parts []string
	lit := func(s string) {
		if n := len(parts); n > 0 && strings.HasPrefix(parts[n-1], "'") {
			parts[n-1] = quoteStr(strings.Trim(parts[n-1], "'") + s)
			return
		}
		parts = append(parts, quoteStr(s))
	}
	strf := func(spec string) string { return fmt.Sprintf("strftime(%s, '%s')", x, spec) }
	// A timespan's parts, from its microseconds.
	us := fmt.Sprintf("epoch_us(TIMESTAMP '1970-01-01' + %s)", x)
	abs := "abs(" + us + ")"
	pad := func(v string, n int) string { return fmt.Sprintf("lpad(CAST(%s AS VARCHAR), %d, '0')", v, n) }
	for i := 0; i < len(f); {
		ch := f[i]
		j := i
		for j < len(f) && f[j] == ch {
			j++
		}
		n := j - i
		switch {
		case ch == '\\' && i+1 < len(f):
			lit(f[i+1 : i+2])
			i += 2
			continue
		case ch == '"' || ch == '\'':
			end := strings.IndexByte(f[i+1:], ch)
			if end < 0 {
				return "", fmt.Errorf("unterminated quoted text")
			}
			lit(f[i+1 : i+1+end])
			i += end + 2
			continue
		case ch == 'f' || ch == 'F':
			if n > 7 {
				return "", fmt.Errorf("at most 7 fraction digits")
			}
			if ch == 'F' {
				return "", fmt.Errorf("unsupported specifier %q", f[i:j])
			}
			// Seven digits of which DuckDB keeps six; the seventh is 0.
			src := fmt.Sprintf("(((epoch_us(%s) %% 1000000) + 1000000) %% 1000000)", x)
			if span {
				src = fmt.Sprintf("(%s %% 1000000)", abs)
			}
			parts = append(parts, fmt.Sprintf("left(%s || '0', %d)", pad(src, 6), n))
		case span && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'):
			var v string
			switch {
			case ch == 'd' && n <= 8:
				v = pad(fmt.Sprintf("(%s // 86400000000)", abs), n)
			case (ch == 'h' || ch == 'H') && n <= 2:
				v = pad(fmt.Sprintf("(%s // 3600000000 %% 24)", abs), n)
			case ch == 'm' && n <= 2:
				v = pad(fmt.Sprintf("(%s // 60000000 %% 60)", abs), n)
			case ch == 's' && n <= 2:
				v = pad(fmt.Sprintf("(%s // 1000000 %% 60)", abs), n)
			default:
				return "", fmt.Errorf("unsupported specifier %q", f[i:j])
			}
			parts = append(parts, v)
		case ch == 'y' && n == 1:
			parts = append(parts, fmt.Sprintf("CAST(year(%s) %% 100 AS VARCHAR)", x))
		case ch == 'y' && (n == 2 || n == 4):
			parts = append(parts, strf(map[int]string{2: "%y", 4: "%Y"}[n]))
		case ch == 't' && n == 2:
			parts = append(parts, strf("%p"))
		case n <= 2 && strings.IndexByte("MdHhms", ch) >= 0:
			spec := map[byte]string{'M': "m", 'd': "d", 'H': "H", 'h': "I", 'm': "M", 's': "S"}[ch]
			if n == 1 {
				spec = "-" + spec
			}
			parts = append(parts, strf("%"+spec))
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			return "", fmt.Errorf("unsupported specifier %q", f[i:j])
		default:
			lit(f[i:j])
		}
		i = j
	}
	if len(parts) == 0 {
		return "''", nil
	}
	s := "concat(" + strings.Join(parts, ", ") + ")"
	if span {
		// A negative timespan is written with a leading "-".
		s = fmt.Sprintf("(CASE WHEN %s < 0 THEN '-' ELSE '' END || %s)", us, s)
	}
	// A null datetime or timespan gives "" (strings are never null).
	return fmt.Sprintf("coalesce(CASE WHEN %s IS NOT NULL THEN %s END, '')", x, s), nil
}

// extractAll compiles extract_all(regex, [groups,] text): a dynamic array
// of the matches; with one capture group, of that group's text; with
// several, of arrays of the groups' texts. No match gives null.
func (c *compiler) extractAll(call *Call, r *relation) (string, Type, bool, error) {
	fail := func(err error) (string, Type, bool, error) { return "", "", true, err }
	a, err := c.args(call, r, 2, 3)
	if err != nil {
		return fail(err)
	}
	re, err := c.constRegex(call.Args[0], "extract_all")
	if err != nil {
		return fail(err)
	}
	n := regexp.MustCompile(re).NumSubexp()
	var groups []int
	for g := 1; g <= n; g++ {
		groups = append(groups, g)
	}
	if len(a) == 3 {
		// The groups to keep: a constant array of group numbers.
		d, isDyn := c.resolveLet(call.Args[1]).(*DynLit)
		vals, isArr := []any(nil), false
		if isDyn {
			vals, isArr = d.Val.([]any)
		}
		if !isArr || len(vals) == 0 {
			return fail(c.errf(call.Args[1].exprPos(), "extract_all()'s groups are a constant array of group numbers"))
		}
		groups = nil
		for _, v := range vals {
			g, isNum := v.(int64)
			if !isNum || g < 1 || int(g) > n {
				return fail(c.errf(call.Args[1].exprPos(), "extract_all()'s groups are numbers from 1 to %d (named groups are unsupported)", n))
			}
			groups = append(groups, int(g))
		}
	}
	text := c.toStr(a[len(a)-1].sql, a[len(a)-1].t)
	// A group that took no part in a match gives "" (as .NET's groups do).
	all := func(g int) string {
		return fmt.Sprintf("list_transform(regexp_extract_all(%s, %s, %d), lambda s: coalesce(s, ''))", text, quoteStr(re), g)
	}
	var list string
	switch len(groups) {
	case 0:
		list = all(0)
	case 1:
		list = all(groups[0])
	default:
		var lists, elems []string
		for i, g := range groups {
			lists = append(lists, all(g))
			elems = append(elems, fmt.Sprintf("z[%d]", i+1))
		}
		list = fmt.Sprintf("list_transform(list_zip(%s), lambda z: [%s])", strings.Join(lists, ", "), strings.Join(elems, ", "))
	}
	return "(CASE WHEN regexp_matches(" + text + ", " + quoteStr(re) + ") THEN to_json(" + list + ") END)", TDynamic, true, nil
}

// mergeBags merges property bags (values that are not bags are skipped).
// On a repeated key bag_merge keeps the leftmost bag's value; the make_bag
// aggregate (agg true, bags is one list expression) keeps the value whose
// JSON text sorts first, so the result does not depend on row order.
func mergeBags(bags []string, agg bool) string {
	entries := func(b string) string {
		return fmt.Sprintf("CASE WHEN json_type(%[1]s) = 'OBJECT' THEN map_entries(CAST(%[1]s AS MAP(VARCHAR, JSON))) END", b)
	}
	var all string
	if agg {
		all = bags[0]
	} else {
		var ls []string
		for i, b := range bags {
			ls = append(ls, fmt.Sprintf("list_transform(coalesce(%s, []), lambda e: {'k': e.key, 'o': %d, 'v': CAST(e.value AS VARCHAR)})", entries(b), i))
		}
		all = "flatten([" + strings.Join(ls, ", ") + "])"
	}
	// Sorted by key then rank; the first entry of each key wins.
	sorted := fmt.Sprintf("list_sort(%s)", all)
	kept := fmt.Sprintf("list_filter(%[1]s, lambda e, i: i = 1 OR %[1]s[i - 1].k <> e.k)", sorted)
	return fmt.Sprintf("coalesce(to_json(map_from_entries(list_transform(%s, lambda e: {'key': e.k, 'value': CAST(e.v AS JSON)}))), '{}'::JSON)", kept)
}

// makeBagEntries is the aggregate list of the entries of every bag in x
// over the rows where cond holds, ranked by value text.
func makeBagEntries(x, cond string) string {
	// The CASE keeps the cast away from rows holding other values.
	return fmt.Sprintf("flatten(list(list_transform(map_entries(CAST(CASE WHEN json_type(%[1]s) = 'OBJECT' THEN %[1]s END AS MAP(VARCHAR, JSON))), lambda e: {'k': e.key, 'o': 0, 'v': CAST(e.value AS VARCHAR)})) FILTER (WHERE json_type(%[1]s) = 'OBJECT' AND %[2]s))", x, cond)
}

// let binds an SQL value once for body (which refers to it as v), so a
// long expression is not repeated: list_transform([x], lambda v: body)[1].
func let(x, body string) string {
	return fmt.Sprintf("list_transform([%s], lambda v: %s)[1]", x, body)
}

// urlRegex splits an absolute URL: scheme, user, password, host, port,
// path, query, fragment.
const urlRegex = `^([A-Za-z][A-Za-z0-9+.-]*)://(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::([0-9]*))?(/[^?#]*)?(?:\?([^#]*))?(?:#(.*))?$`

// parseURL is parse_url(): a bag of the URL's parts as strings ("" when
// absent) and its query parameters as a bag of decoded values (the first
// of a repeated name wins). Text that is not an absolute URL gives a bag
// of empty parts.
func parseURL(s string) string {
	g := fmt.Sprintf("regexp_extract(v, %s, ['s', 'u', 'p', 'h', 'port', 'path', 'q', 'f'])", quoteStr(urlRegex))
	dec := func(x string) string {
		return fmt.Sprintf("coalesce(TRY(url_decode(replace(%s, '+', ' '))), %s)", x, x)
	}
	// Query pairs "k=v" (a bare "k" has value ""), kept once per name.
	pairs := "list_filter(string_split(g.q, '&'), lambda p: p <> '')"
	entries := fmt.Sprintf("list_transform(%s, lambda p: {'key': %s, 'value': to_json(CASE WHEN contains(p, '=') THEN %s ELSE '' END)})",
		pairs, dec("split_part(p, '=', 1)"), dec("substr(p, strpos(p, '=') + 1)"))
	uniq := fmt.Sprintf("list_filter(%[1]s, lambda e, i: list_position(list_transform(%[1]s, lambda x: x.key), e.key) = i)", entries)
	obj := fmt.Sprintf("CASE WHEN g.q = '' THEN '{}'::JSON ELSE to_json(map_from_entries(%s)) END", uniq)
	bag := fmt.Sprintf("json_object('Scheme', g.s, 'Host', g.h, 'Port', g.port, 'Path', g.path, 'Username', g.u, 'Password', g.p, 'Query Parameters', %s, 'Fragment', g.f)", obj)
	return let(s, fmt.Sprintf("list_transform([%s], lambda g: %s)[1]", g, bag))
}

// ipv6Words is the SQL for an address text as a list of eight 16-bit
// numbers, null when malformed. An IPv4 address (alone, or as the tail of
// an IPv6 one) becomes its IPv4-mapped form ::ffff:a.b.c.d. A "/n" suffix
// is ignored here (ipv6Bits reads it).
func ipv6Words(x string) string {
	v4hex := func(a string) string {
		return let(ipv4Num(a), "printf('%x:%x', v // 65536, v % 65536)")
	}
	text := let("split_part("+x+", '/', 1)", fmt.Sprintf(
		"CASE WHEN NOT contains(v, '.') THEN v WHEN NOT contains(v, ':') THEN '::ffff:' || %s ELSE regexp_replace(v, '[0-9.]+$', '') || %s END",
		v4hex("v"), v4hex("regexp_extract(v, '[0-9.]+$')")))
	groups := func(s string) string {
		return fmt.Sprintf("CASE WHEN %[1]s = '' THEN []::VARCHAR[] ELSE string_split(%[1]s, ':') END", s)
	}
	// "::" stands for one or more zero groups; it may appear once.
	words := fmt.Sprintf("CASE WHEN v IS NULL THEN NULL WHEN contains(v, '::') THEN (CASE WHEN NOT contains(substr(v, strpos(v, '::') + 2), '::') THEN %s END) ELSE %s END",
		let(fmt.Sprintf("[%s, %s]", groups("split_part(v, '::', 1)"), groups("substr(v, strpos(v, '::') + 2)")),
			"CASE WHEN len(v[1]) + len(v[2]) < 8 THEN list_concat(v[1], list_transform(range(8 - len(v[1]) - len(v[2])), lambda i: '0'), v[2]) END"),
		groups("v"))
	check := "CASE WHEN len(v) = 8 AND list_bool_and(list_transform(v, lambda h: regexp_full_match(h, '[0-9A-Fa-f]{1,4}'))) THEN list_transform(v, lambda h: CAST('0x' || h AS INTEGER)) END"
	return let(let(text, words), check)
}

// ipv6Bits is the prefix length in an address text: "/n" (0 to 128, or 0
// to 32 after an IPv4 address, which counts from bit 96), 128 without one;
// null when invalid.
func ipv6Bits(x string) string {
	return let(x, "CASE WHEN NOT contains(v, '/') THEN 128 "+
		"WHEN NOT contains(split_part(v, '/', 1), ':') THEN (CASE WHEN TRY_CAST(split_part(v, '/', 2) AS INTEGER) BETWEEN 0 AND 32 THEN 96 + TRY_CAST(split_part(v, '/', 2) AS INTEGER) END) "+
		"WHEN TRY_CAST(split_part(v, '/', 2) AS INTEGER) BETWEEN 0 AND 128 THEN TRY_CAST(split_part(v, '/', 2) AS INTEGER) END")
}

// ipv6Masked keeps the first bits of the eight words (the rest zero).
func ipv6Masked(words, bits string) string {
	return let(fmt.Sprintf("{'w': %s, 'b': %s}", words, bits),
		"CASE WHEN v.w IS NOT NULL AND v.b IS NOT NULL THEN list_transform(v.w, lambda h, i: CAST(h // CAST(pow(2, 16 - least(greatest(v.b - 16 * (i - 1), 0), 16)) AS INTEGER) * CAST(pow(2, 16 - least(greatest(v.b - 16 * (i - 1), 0), 16)) AS INTEGER) AS INTEGER)) END")
}
