package kql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// expr compiles a scalar expression over the columns of r, returning SQL
// text and the KQL type of the value.
func (c *compiler) expr(e Expr, r *relation) (string, Type, error) {
	switch e := e.(type) {
	case *Lit:
		return c.lit(e)
	case *DynLit:
		return quoteStr(e.JSON) + "::JSON", TDynamic, nil
	case *sqlAgg:
		if !c.aggOK {
			return "", "", c.errf(e.Pos, "internal: an aggregate outside summarize")
		}
		c.aggSeen++
		return e.SQL, e.Type, nil
	case *Ident:
		if col, ok := r.col(e.Name); ok {
			if r.raw[e.Name] {
				// Raw JSON text: JSON where the whole value is used; path
				// and dynText read the text itself.
				x := rawCast(e.Name)
				if c.raws == nil {
					c.raws = map[string]string{}
				}
				c.raws[x] = quoteIdent(e.Name)
				return x, col.Type, nil
			}
			return quoteIdent(e.Name), col.Type, nil
		}
		if l, ok := c.lets[e.Name]; ok && l.Expr != nil {
			for _, b := range c.letBusy {
				if b == e.Name {
					return "", "", c.errf(e.Pos, "let %s refers to itself", e.Name)
				}
			}
			c.letBusy = append(c.letBusy, e.Name)
			defer func() { c.letBusy = c.letBusy[:len(c.letBusy)-1] }()
			return c.expr(l.Expr, r)
		}
		return "", "", c.errf(e.Pos, "unknown column or name %q", e.Name)
	case *Member, *Index:
		return c.path(e, r)
	case *Call:
		return c.call(e, r)
	case *Unary:
		x, t, err := c.expr(e.X, r)
		if err != nil {
			return "", "", err
		}
		if t == TDynamic {
			x, t = c.toReal(x, t), TReal
		}
		if !t.numeric() && t != TTimespan {
			return "", "", c.errf(e.Pos, "cannot negate a %s", t)
		}
		return "(-" + x + ")", t, nil
	case *Binary:
		return c.binary(e, r)
	case *InExpr:
		return c.in(e, r)
	case *Between:
		x, xt, err := c.expr(e.X, r)
		if err != nil {
			return "", "", err
		}
		lo, lt, err := c.expr(e.Lo, r)
		if err != nil {
			return "", "", err
		}
		hi, ht, err := c.expr(e.Hi, r)
		if err != nil {
			return "", "", err
		}
		if xt == TDatetime && lt == TDatetime && ht == TTimespan {
			hi, ht = fmt.Sprintf("(%s + %s)", lo, hi), TDatetime
		}
		if xt == TDynamic {
			x, xt = c.toReal(x, xt), TReal
		}
		if !(comparable(xt, lt) && comparable(xt, ht)) || xt == TString || xt == TBool {
			return "", "", c.errf(e.Pos, "between needs numbers, datetimes or timespans, found %s, %s, %s", xt, lt, ht)
		}
		s := fmt.Sprintf("(%s BETWEEN %s AND %s)", x, lo, hi)
		if e.Not {
			s = "(NOT " + s + ")"
		}
		return s, TBool, nil
	case *Star:
		return "", "", c.errf(e.Pos, "* is only allowed in count(), arg_max() and arg_min()")
	}
	return "", "", fmt.Errorf("unknown expression %T", e)
}

func comparable(a, b Type) bool {
	return a == b || a.numeric() && b.numeric() || a == TNull || b == TNull
}

func (c *compiler) lit(e *Lit) (string, Type, error) {
	if e.Val == nil {
		if e.Type == TNull {
			return "NULL", TNull, nil
		}
		if e.Type == TString {
			return "''", TString, nil // strings are never null
		}
		return "CAST(NULL AS " + e.Type.sqlType() + ")", e.Type, nil
	}
	switch v := e.Val.(type) {
	case string:
		if strings.ContainsRune(v, 0) {
			return "", "", c.errf(e.Pos, "string literals cannot hold a NUL character")
		}
		return quoteStr(v), TString, nil
	case int64:
		if e.Type == TInt {
			return "CAST(" + strconv.FormatInt(v, 10) + " AS INTEGER)", TInt, nil
		}
		return "CAST(" + strconv.FormatInt(v, 10) + " AS BIGINT)", TLong, nil
	case float64:
		return "CAST(" + strconv.FormatFloat(v, 'g', -1, 64) + " AS DOUBLE)", TReal, nil
	case bool:
		return strconv.FormatBool(v), TBool, nil
	case time.Time:
		return timestampLit(v), TDatetime, nil
	case time.Duration:
		return intervalLit(v), TTimespan, nil
	}
	return "", "", fmt.Errorf("unknown literal %T", e.Val)
}

func timestampLit(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000000") + "'"
}

// intervalLit keeps microseconds, DuckDB's resolution (KQL's ticks are 100ns).
func intervalLit(d time.Duration) string {
	return fmt.Sprintf("INTERVAL '%d microseconds'", d.Microseconds())
}

// path compiles a.b[0]["c"] on a dynamic value into one json_extract.
// A missing member is SQL NULL; a JSON null stays JSON null.
func (c *compiler) path(e Expr, r *relation) (string, Type, error) {
	var segs []string
	x := e
loop:
	for {
		switch v := x.(type) {
		case *Member:
			seg, err := c.keySeg(v.Name, v.Pos)
			if err != nil {
				return "", "", err
			}
			segs = append([]string{seg}, segs...)
			x = v.X
		case *Index:
			idx := c.resolveLet(v.I)
			lit, ok := idx.(*Lit)
			if !ok {
				return "", "", c.errf(v.I.exprPos(), "unsupported: computed index; use a constant")
			}
			switch k := lit.Val.(type) {
			case string:
				seg, err := c.keySeg(k, v.Pos)
				if err != nil {
					return "", "", err
				}
				segs = append([]string{seg}, segs...)
			case int64:
				if k < 0 {
					segs = append([]string{fmt.Sprintf("[#%d]", k)}, segs...)
				} else {
					segs = append([]string{fmt.Sprintf("[%d]", k)}, segs...)
				}
			default:
				return "", "", c.errf(v.I.exprPos(), "an index must be a whole number or a string")
			}
			x = v.X
		default:
			break loop
		}
	}
	root, t, err := c.expr(x, r)
	if err != nil {
		return "", "", err
	}
	if t != TDynamic {
		return "", "", c.errf(e.exprPos(), "%s is %s; only dynamic values have members", exprText(x), t)
	}
	p := "$" + strings.Join(segs, "")
	if text, ok := c.raws[root]; ok {
		// json_extract reads JSON text as it is; no cast needed.
		root = text
	}
	sqlx := fmt.Sprintf("json_extract(%s, %s)", root, quoteStr(p))
	if c.paths == nil {
		c.paths = map[string]jsonPath{}
	}
	c.paths[sqlx] = jsonPath{root, p}
	return sqlx, TDynamic, nil
}

func (c *compiler) keySeg(k string, pos int) (string, error) {
	if strings.ContainsAny(k, "\"\\") || strings.ContainsRune(k, 0) {
		return "", c.errf(pos, "unsupported: property names holding quotes or backslashes")
	}
	if k == "" || k == "*" {
		// DuckDB's JSON paths read "*" as every member and refuse "".
		return "", c.errf(pos, "unsupported: the property name %q", k)
	}
	return `."` + k + `"`, nil
}

func exprText(e Expr) string {
	if n := pathName(e); n != "" {
		return n
	}
	return "the value"
}

// Conversions between representations. Each returns SQL of the target type.

// jsonPath is a member access compiled by path(): json_extract(root, path).
type jsonPath struct{ root, path string }

// dynText is the text of a dynamic value as json_extract_string gives it:
// a JSON string without quotes, other values as JSON text, and SQL NULL
// for a missing value or JSON null. A member access is read in one call.
func (c *compiler) dynText(x string) string {
	if p, ok := c.paths[x]; ok {
		return fmt.Sprintf("json_extract_string(%s, %s)", p.root, quoteStr(p.path))
	}
	if text, ok := c.raws[x]; ok {
		// The text of an object or array (Table.JSONText) is its own
		// tostring(): no row is a JSON string or null.
		return text
	}
	// A whole document is read as its text, not re-serialised: DuckDB's
	// json_extract_string(x, '$') on large documents is slow and memory-hungry.
	return fmt.Sprintf("(CASE WHEN CAST(%[1]s AS VARCHAR) = 'null' THEN NULL WHEN starts_with(CAST(%[1]s AS VARCHAR), '\"') THEN json_extract_string(%[1]s, '$') ELSE CAST(%[1]s AS VARCHAR) END)", x)
}

// toStr is tostring(): never null. A dynamic string gives its text without
// quotes; other dynamic values give their JSON text; JSON null gives "".
func (c *compiler) toStr(x string, t Type) string {
	switch t {
	case TString:
		return x
	case TNull:
		return "''"
	case TDynamic:
		return fmt.Sprintf("coalesce(%s, '')", c.dynText(x))
	case TDatetime:
		// KQL's ISO 8601 form: seven fraction digits when there is a fraction.
		return fmt.Sprintf("coalesce(CASE WHEN epoch_us(%[1]s) %% 1000000 = 0 THEN strftime(%[1]s, '%%Y-%%m-%%dT%%H:%%M:%%SZ') ELSE strftime(%[1]s, '%%Y-%%m-%%dT%%H:%%M:%%S.%%f0Z') END, '')", x)
	}
	return fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", x)
}

// toBool is tobool(): JSON true/false and the strings "true"/"false" in any
// case; for dynamic values also numbers (non-zero is true); anything else is null.
func (c *compiler) toBool(x string, t Type) (string, bool) {
	switch t {
	case TBool:
		return x, true
	case TNull:
		return "CAST(NULL AS BOOLEAN)", true
	case TString:
		// The exact texts first: JSON booleans read as text are true and
		// false, and lower() on every value cost a tenth of the
		// jailbreak-on-any-message hunt over 10,000,000 rows.
		return fmt.Sprintf("(CASE %[1]s WHEN 'true' THEN true WHEN 'false' THEN false ELSE (CASE lower(%[1]s) WHEN 'true' THEN true WHEN 'false' THEN false END) END)", x), true
	case TLong, TInt, TReal:
		return fmt.Sprintf("(%s <> 0)", x), true
	case TDynamic:
		s := c.dynText(x)
		return fmt.Sprintf("(CASE %[1]s WHEN 'true' THEN true WHEN 'false' THEN false ELSE (CASE lower(%[1]s) WHEN 'true' THEN true WHEN 'false' THEN false ELSE TRY_CAST(%[1]s AS DOUBLE) <> 0 END) END)", s), true
	}
	return "", false
}

// toNum converts to BIGINT, INTEGER or DOUBLE; failures are null.
func (c *compiler) toNum(x string, t Type, sqlType string) string {
	switch t {
	case TNull:
		return "CAST(NULL AS " + sqlType + ")"
	case TString:
		return fmt.Sprintf("TRY_CAST(%s AS %s)", x, sqlType)
	case TDynamic:
		return fmt.Sprintf("TRY_CAST(%s AS %s)", c.dynText(x), sqlType)
	case TBool:
		return fmt.Sprintf("CAST(%s AS %s)", x, sqlType)
	case TReal:
		if sqlType != "DOUBLE" {
			// KQL truncates toward zero when making a whole number.
			return fmt.Sprintf("TRY_CAST(trunc(%s) AS %s)", x, sqlType)
		}
	case TDatetime, TTimespan:
		return fmt.Sprintf("CAST(NULL AS %s)", sqlType)
	}
	return fmt.Sprintf("CAST(%s AS %s)", x, sqlType)
}

func (c *compiler) toReal(x string, t Type) string { return c.toNum(x, t, "DOUBLE") }

// toDyn is todynamic()/parse_json(): text that is not JSON stays a string.
func toDyn(x string, t Type) string {
	switch t {
	case TDynamic:
		return x
	case TNull:
		return "CAST(NULL AS JSON)"
	case TString:
		return fmt.Sprintf("(CASE WHEN json_valid(%[1]s) THEN CAST(%[1]s AS JSON) ELSE to_json(%[1]s) END)", x)
	}
	return fmt.Sprintf("to_json(%s)", x)
}

// boolExpr compiles a predicate; a dynamic value counts as tobool() of it.
func (c *compiler) boolExpr(e Expr, r *relation) (string, error) {
	x, t, err := c.expr(e, r)
	if err != nil {
		return "", err
	}
	if t == TDynamic {
		b, _ := c.toBool(x, t)
		return b, nil
	}
	if t != TBool {
		return "", c.errf(e.exprPos(), "expected a bool, found %s", t)
	}
	return x, nil
}

var sqlCmp = map[string]string{"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (c *compiler) binary(e *Binary, r *relation) (string, Type, error) {
	if e.Op == "and" || e.Op == "or" {
		l, err := c.boolExpr(e.L, r)
		if err != nil {
			return "", "", err
		}
		rr, err := c.boolExpr(e.R, r)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("(%s %s %s)", l, strings.ToUpper(e.Op), rr), TBool, nil
	}
	if stringOps[e.Op] {
		return c.stringOp(e, r)
	}
	if e.Op == "matches regex" {
		// KQL and DuckDB both use RE2 syntax; the pattern must be constant.
		l, lt, err := c.expr(e.L, r)
		if err != nil {
			return "", "", err
		}
		re, err := c.constString(e.R, "matches regex")
		if err != nil {
			return "", "", err
		}
		if _, err := regexp.Compile(re); err != nil {
			return "", "", c.errf(e.R.exprPos(), "bad regular expression: %v", err)
		}
		return fmt.Sprintf("regexp_matches(%s, %s)", c.toStr(l, lt), quoteStr(re)), TBool, nil
	}
	l, lt, err := c.expr(e.L, r)
	if err != nil {
		return "", "", err
	}
	rr, rt, err := c.expr(e.R, r)
	if err != nil {
		return "", "", err
	}
	switch e.Op {
	case "==", "!=", "<", "<=", ">", ">=":
		if lt == TNull || rt == TNull {
			if e.Op != "==" && e.Op != "!=" {
				return "", "", c.errf(e.Pos, "cannot order by null")
			}
			x := l
			if lt == TNull {
				x = rr
			}
			if e.Op == "==" {
				return fmt.Sprintf("(%s IS NULL)", x), TBool, nil
			}
			return fmt.Sprintf("(%s IS NOT NULL)", x), TBool, nil
		}
		l, rr, err = c.coerceCmp(e, l, lt, rr, rt)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("(%s %s %s)", l, sqlCmp[e.Op], rr), TBool, nil
	case "=~", "!~":
		s := fmt.Sprintf("(lower(%s) = lower(%s))", c.toStr(l, lt), c.toStr(rr, rt))
		if e.Op == "!~" {
			s = "(NOT " + s + ")"
		}
		return s, TBool, nil
	case "+", "-", "*", "/", "%":
		return c.arith(e, l, lt, rr, rt)
	}
	return "", "", c.errf(e.Pos, "unsupported operator %q", e.Op)
}

// coerceCmp makes both sides of a comparison the same type. A dynamic side
// takes the other side's type: tostring() against a string (so JSON true
// equals "true"), tobool() against a bool, toreal() against a number.
func (c *compiler) coerceCmp(e *Binary, l string, lt Type, r string, rt Type) (string, string, error) {
	switch {
	case lt == rt && lt != TDynamic, lt.numeric() && rt.numeric():
		return l, r, nil
	case lt == TDynamic && rt == TDynamic:
		return fmt.Sprintf("CAST(%s AS VARCHAR)", l), fmt.Sprintf("CAST(%s AS VARCHAR)", r), nil
	case lt == TDynamic:
		if x, ok := c.dynAs(l, rt); ok {
			return x, r, nil
		}
	case rt == TDynamic:
		if x, ok := c.dynAs(r, lt); ok {
			return l, x, nil
		}
	}
	return "", "", c.errf(e.Pos, "cannot compare %s with %s", lt, rt)
}

func (c *compiler) dynAs(x string, t Type) (string, bool) {
	switch t {
	case TString:
		return c.toStr(x, TDynamic), true
	case TBool:
		return c.toBool(x, TDynamic)
	case TLong, TInt, TReal:
		return c.toReal(x, TDynamic), true
	case TDatetime:
		return fmt.Sprintf("TRY_CAST(%s AS TIMESTAMP)", c.dynText(x)), true
	}
	return "", false
}

// arith: integer division truncates toward zero (DuckDB's // on integers);
// datetime - datetime is a timespan; datetime ± timespan is a datetime.
func (c *compiler) arith(e *Binary, l string, lt Type, r string, rt Type) (string, Type, error) {
	if lt == TDynamic {
		l, lt = c.toReal(l, lt), TReal
	}
	if rt == TDynamic {
		r, rt = c.toReal(r, rt), TReal
	}
	op := e.Op
	switch {
	case lt.numeric() && rt.numeric():
		t := TReal
		if lt.integer() && rt.integer() {
			t = TLong
			if lt == TInt && rt == TInt {
				t = TInt
			}
			if op == "/" {
				return fmt.Sprintf("(%s // %s)", l, r), t, nil
			}
		} else if op == "/" {
			return fmt.Sprintf("(CAST(%s AS DOUBLE) / %s)", l, r), TReal, nil
		}
		return fmt.Sprintf("(%s %s %s)", l, op, r), t, nil
	case lt == TDatetime && rt == TDatetime && op == "-":
		return fmt.Sprintf("(%s - %s)", l, r), TTimespan, nil
	case lt == TDatetime && rt == TTimespan && (op == "+" || op == "-"):
		return fmt.Sprintf("(%s %s %s)", l, op, r), TDatetime, nil
	case lt == TTimespan && rt == TDatetime && op == "+":
		return fmt.Sprintf("(%s + %s)", r, l), TDatetime, nil
	case lt == TTimespan && rt == TTimespan && (op == "+" || op == "-"):
		return fmt.Sprintf("(%s %s %s)", l, op, r), TTimespan, nil
	case lt == TTimespan && rt == TTimespan && op == "/":
		return fmt.Sprintf("(epoch(%s) / epoch(%s))", l, r), TReal, nil
	case lt == TTimespan && rt.numeric() && (op == "*" || op == "/"):
		return fmt.Sprintf("to_microseconds(CAST(epoch_us(TIMESTAMP '1970-01-01' + %s) %s %s AS BIGINT))", l, op, r), TTimespan, nil
	case lt.numeric() && rt == TTimespan && op == "*":
		return fmt.Sprintf("to_microseconds(CAST(epoch_us(TIMESTAMP '1970-01-01' + %s) * %s AS BIGINT))", r, l), TTimespan, nil
	}
	return "", "", c.errf(e.Pos, "cannot apply %s to %s and %s", op, lt, rt)
}

const termChars = "[0-9A-Za-z]"

// termRegex matches a KQL term: terms are maximal runs of ASCII letters and
// digits, so the term must not touch a letter or digit on a side where it
// itself ends in one ("foo_bar" has "bar"; "KustoExplorer" does not have
// "Explorer"). Word boundaries (\b) would be wrong: "_" is a word character.
func termRegex(term string, cs, needStart, needEnd bool) string {
	re := termPattern(term, cs)
	start, end := termEdges(term, needStart, needEnd)
	if start {
		re = "(^|[^0-9A-Za-z])" + re
	}
	if end {
		re += "($|[^0-9A-Za-z])"
	}
	return re
}

// termEdges reports on which sides the term must not touch a letter or
// digit: a side asked for where the term itself ends in one.
func termEdges(term string, needStart, needEnd bool) (start, end bool) {
	return needStart && isTermChar(rune(term[0])), needEnd && isTermChar(rune(term[len(term)-1]))
}

// termPattern matches the term itself. Case is ignored letter by letter
// ([aA]) rather than with (?i), which would also take ſ (U+017F) for s and
// the Kelvin sign for k: terms are runs of ASCII letters and digits, so
// those two are separators like any other non-ASCII character. A
// non-ASCII letter of the term itself is matched in any case.
func termPattern(term string, cs bool) string {
	if cs {
		return regexp.QuoteMeta(term)
	}
	var b strings.Builder
	for _, r := range term {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			b.WriteString("[" + string(r|0x20) + string(r&^0x20) + "]")
		case r < 0x80:
			b.WriteString(regexp.QuoteMeta(string(r)))
		default:
			b.WriteString("(?i:" + regexp.QuoteMeta(string(r)) + ")")
		}
	}
	return b.String()
}

// constString reads a constant string operand (a literal or a let).
func (c *compiler) constString(e Expr, what string) (string, error) {
	if l, ok := c.resolveLet(e).(*Lit); ok {
		if s, ok := l.Val.(string); ok {
			return s, nil
		}
	}
	return "", c.errf(e.exprPos(), "%s needs a constant string", what)
}

// maxTermLen bounds a has term: its regex must compile in DuckDB (about
// 150,000 characters failed), and terms are words or short phrases.
const maxTermLen = 4096

// hasTerm reads the constant term of has and its kin.
func (c *compiler) hasTerm(e Expr, what string) (string, error) {
	term, err := c.constString(e, what)
	if err == nil && len(term) > maxTermLen {
		err = c.errf(e.exprPos(), "%s: a term of %d bytes is longer than supported (at most %d)", what, len(term), maxTermLen)
	}
	return term, err
}

func (c *compiler) stringOp(e *Binary, r *relation) (string, Type, error) {
	l, lt, err := c.expr(e.L, r)
	if err != nil {
		return "", "", err
	}
	l = c.toStr(l, lt)
	op := strings.TrimPrefix(e.Op, "!")
	neg := strings.HasPrefix(e.Op, "!")
	var s string
	switch op {
	case "has", "has_cs", "hasprefix", "hassuffix":
		term, err := c.hasTerm(e.R, e.Op)
		if err != nil {
			return "", "", err
		}
		s = hasSQL(l, term, op, lt == TDynamic)
	default:
		rr, rt, err := c.expr(e.R, r)
		if err != nil {
			return "", "", err
		}
		rr = c.toStr(rr, rt)
		cs := strings.HasSuffix(op, "_cs")
		// A constant without cased letters ("10.", "192.168") needs no
		// lower() on every row: case can't change the answer.
		if k, err := c.constString(e.R, e.Op); err == nil && !hasCasedLetter(k) {
			cs = true
		}
		if !cs {
			l, rr = "lower("+l+")", "lower("+rr+")"
		}
		fn := map[string]string{"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}[strings.TrimSuffix(op, "_cs")]
		s = fmt.Sprintf("%s(%s, %s)", fn, l, rr)
	}
	if neg {
		s = "(NOT " + s + ")"
	}
	return s, TBool, nil
}

// hasSQL is the term match of has, has_cs, hasprefix and hassuffix on the
// text l; json tells that l is the text of a dynamic value.
func hasSQL(l, term, op string, json bool) string {
	if term == "" {
		return "true"
	}
	needStart, needEnd := op != "hassuffix", op != "hasprefix"
	if !json {
		return hasText(l, term, op == "has_cs", needStart, needEnd)
	}
	re := termRegex(term, op == "has_cs", needStart, needEnd)
	match := fmt.Sprintf("regexp_matches(%s, %s)", l, quoteStr(re))
	if !isASCII(term) {
		return match
	}
	// A substring test first: it is implied by the term match and far
	// cheaper, so the term regex (slow: it cannot skip ahead to a literal)
	// runs only on the rows that contain the term. Measured over 1,000,000
	// rows: contains 0.6 s, a case-insensitive literal regex 1.3 s, the
	// term regex 4 s on 1 KB JSON texts.
	pre := fmt.Sprintf("regexp_matches(%s, %s)", l, quoteStr("(?i)"+regexp.QuoteMeta(term)))
	if op == "has_cs" {
		pre = fmt.Sprintf("contains(%s, %s)", l, quoteStr(term))
	}
	// JSON text quotes its strings and keys: the term between double
	// quotes, as written, is a match found without the regex. DuckDB's
	// substring search jumps to the needle's first byte, and JSON text is
	// full of quotes, so the search is for the term and its closing quote,
	// and the opening quote is looked for before the first one found: the
	// text before it (split_part) ends with a quote. Over 10,000,000 rows
	// that took 3.6 s where contains with the quote first took 5.6 s. When
	// the term is not there, split_part gives the whole text, so a text
	// ending with a quote (a string's own text) is left to the regex.
	var quick string
	switch {
	case needStart && needEnd:
		quick = fmt.Sprintf(`(ends_with(split_part(%[1]s, %[2]s, 1), '"') AND NOT ends_with(%[1]s, '"'))`, l, quoteStr(term+`"`))
	case needStart:
		quick = fmt.Sprintf(`(ends_with(split_part(%[1]s, %[2]s, 1), '"') AND NOT ends_with(%[1]s, '"'))`, l, quoteStr(term))
	default:
		quick = fmt.Sprintf("contains(%s, %s)", l, quoteStr(term+`"`))
	}
	return fmt.Sprintf("(%s OR (%s AND %s))", quick, pre, match)
}

// hasText is the term match on a string other than JSON text: the term
// regex written as a whole-text match.
// DuckDB runs regexp_full_match once per distinct value of a
// dictionary-compressed column, in the scan or above it, and not
// regexp_matches with a pattern; short text columns (RecordType, AppHost,
// ActorName, …) are stored that way. Measured over 10,000,000 rows: two
// has tests ORed cost 1.06x two ILIKE substring tests, where a substring
// test confirmed by GLOBs cost 1.4-1.9x and regexp_matches 20x; on a column
// of 430,000 distinct addresses the full match cost 1.1-1.4x ILIKE.
func hasText(l, term string, cs, needStart, needEnd bool) string {
	before, after := ".*", ".*"
	start, end := termEdges(term, needStart, needEnd)
	if start {
		before = "(|.*[^0-9A-Za-z])"
	}
	if end {
		after = "(|[^0-9A-Za-z].*)"
	}
	return fmt.Sprintf("regexp_full_match(%s, %s)", l, quoteStr("(?s)"+before+termPattern(term, cs)+after))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasCasedLetter reports whether lower-casing could change s.
func hasCasedLetter(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) {
			return true
		}
	}
	return false
}

// in compiles in, !in, in~, !in~, has_any and has_all. A dynamic array in
// the list (a literal or a let) contributes its elements.
func (c *compiler) in(e *InExpr, r *relation) (string, Type, error) {
	var items []Expr
	for _, it := range e.List {
		it2 := c.resolveLet(it)
		if d, ok := it2.(*DynLit); ok {
			arr, ok := d.Val.([]any)
			if !ok {
				return "", "", c.errf(it.exprPos(), "expected a dynamic array")
			}
			for _, v := range arr {
				lit, err := c.jsonLit(v, it.exprPos())
				if err != nil {
					return "", "", err
				}
				items = append(items, lit)
			}
			continue
		}
		items = append(items, it)
	}
	l, lt, err := c.expr(e.X, r)
	if err != nil {
		return "", "", err
	}
	if e.Op == "has_any" || e.Op == "has_all" {
		if len(items) == 0 {
			return strconv.FormatBool(e.Op == "has_all"), TBool, nil
		}
		var parts []string
		for _, it := range items {
			term, err := c.hasTerm(it, e.Op)
			if err != nil {
				return "", "", err
			}
			parts = append(parts, hasSQL(c.toStr(l, lt), term, "has", lt == TDynamic))
		}
		join := " OR "
		if e.Op == "has_all" {
			join = " AND "
		}
		return "(" + strings.Join(parts, join) + ")", TBool, nil
	}
	neg := strings.HasPrefix(e.Op, "!")
	ci := strings.HasSuffix(e.Op, "~")
	if len(items) == 0 {
		return strconv.FormatBool(neg), TBool, nil
	}
	var vals []string
	var first Type
	for i, it := range items {
		v, t, err := c.expr(it, r)
		if err != nil {
			return "", "", err
		}
		if i == 0 {
			first = t
		}
		if ci || t == TString || t == TDynamic {
			v = c.toStr(v, t)
			if ci {
				v = "lower(" + v + ")"
			}
		}
		vals = append(vals, v)
	}
	switch {
	case ci || first == TString:
		l = c.toStr(l, lt)
		if ci {
			l = "lower(" + l + ")"
		}
	case lt == TDynamic:
		if x, ok := c.dynAs(l, first); ok {
			l = x
		}
	}
	s := fmt.Sprintf("(%s IN (%s))", l, strings.Join(vals, ", "))
	if neg {
		s = "(NOT " + s + ")"
	}
	return s, TBool, nil
}

// jsonLit turns an element of a dynamic literal into a scalar literal.
func (c *compiler) jsonLit(v any, pos int) (Expr, error) {
	switch v := v.(type) {
	case string:
		return &Lit{Pos: pos, Type: TString, Val: v}, nil
	case int64:
		return &Lit{Pos: pos, Type: TLong, Val: v}, nil
	case float64:
		return &Lit{Pos: pos, Type: TReal, Val: v}, nil
	case bool:
		return &Lit{Pos: pos, Type: TBool, Val: v}, nil
	}
	return nil, c.errf(pos, "unsupported: nested or null values in an in list")
}

// likeEscape makes s a literal part of a LIKE pattern whose escape
// character is a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
