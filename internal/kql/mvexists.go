package kql

import (
	"fmt"
	"slices"
	"strings"
)

// An mv-expand whose rows are only filtered and then collapsed by an
// operator blind to duplicates (distinct, or summarize with dcount,
// make_set, min, max, take_any) keeps an input row exactly when some
// element passes the filters, and what follows never sees the element.
// When the filters read the element only through one member path
// (M.JailbreakDetected), nothing needs expanding: the member of every
// element is read with one json_extract(…, '$.Messages[*].JailbreakDetected')
// and tested in a lambda. Expanding would write each element out as JSON
// and parse it again, on rows as wide as the table.

// elemVar is the lambda parameter that stands for the element's member.
const elemVar = "__kql_elem"

// elemTextVar stands for the member's text where only its text is read.
const elemTextVar = "__kql_elem_text"

// dupBlindAggs give the same answer when rows are repeated.
var dupBlindAggs = map[string]bool{
	"dcount": true, "dcountif": true, "make_set": true, "make_set_if": true, "makeset": true,
	"min": true, "max": true, "minif": true, "maxif": true, "take_any": true, "any": true,
}

// existsExpand compiles ops[0], an mv-expand, and the where operators right
// after it as one filter when the pattern above holds; n is the number of
// operators it compiled (0 when it does not apply).
func (c *compiler) existsExpand(in *relation, ops []Op) (*relation, int, error) {
	op := ops[0].(*MvExpandOp)
	a, name, ok := c.plainExpand(op)
	if !ok || name == elemVar {
		return nil, 0, nil
	}
	var preds []Expr
	n := 1
	for ; n < len(ops); n++ {
		w, ok := ops[n].(*WhereOp)
		if !ok {
			break
		}
		preds = append(preds, w.Pred)
	}
	if len(preds) == 0 || n == len(ops) || !c.dupBlind(ops[n], name) {
		return nil, 0, nil
	}
	var chain []string
	seen := false
	for _, p := range preds {
		if !c.onlyChain(p, name, &chain, &seen) {
			return nil, 0, nil
		}
	}
	if !seen {
		return nil, 0, nil
	}
	seg := ""
	for _, k := range chain {
		s, err := c.keySeg(k, op.Pos)
		if err != nil {
			return nil, 0, nil
		}
		seg += s
	}
	x, t, err := c.expr(a.Expr, in)
	if err != nil || t != TDynamic {
		return nil, 0, nil // the plain mv-expand reports it
	}
	root, path := x, "$"
	if p, ok := c.paths[x]; ok {
		root, path = p.root, p.path
	} else if text, ok := c.raws[x]; ok {
		root = text
	}

	var pred Expr
	for _, p := range preds {
		p = replaceChain(p, name)
		if pred == nil {
			pred = p
		} else {
			pred = &Binary{Pos: p.exprPos(), Op: "and", L: pred, R: p}
		}
	}
	cols := append(append([]Column(nil), in.cols...), Column{Name: elemVar, Type: TDynamic})
	// Inside the lambda elemVar is its parameter; other columns are the row's.
	p, err := c.boolExpr(pred, &relation{name: in.name, cols: cols, ord: in.ord, raw: in.raw})
	if err != nil {
		return nil, 0, err
	}
	anyOf := func(list, param, p string) string {
		return fmt.Sprintf("coalesce(list_bool_or(list_transform(%s, lambda %s: %s)), false)", list, quoteIdent(param), p)
	}
	// When the filters read the member only as text (tobool, tostring,
	// comparisons with strings), the members are extracted as text in the
	// first place: json_extract_string gives each the text dynText would,
	// without a JSON value per element to convert.
	extract, fastParam, fastP, null := "json_extract", elemVar, p, "[NULL::JSON]"
	if text := strings.ReplaceAll(p, c.dynText(quoteIdent(elemVar)), quoteIdent(elemTextVar)); !strings.Contains(text, quoteIdent(elemVar)) &&
		!slices.ContainsFunc(in.cols, func(col Column) bool { return col.Name == elemTextVar }) {
		extract, fastParam, fastP, null = "json_extract_string", elemTextVar, text, "[NULL::VARCHAR]"
	}
	c.nOrd++
	vals := quoteIdent(fmt.Sprintf("__kql_mv%d", c.nOrd))
	src := c.add(fmt.Sprintf("SELECT %s, %s(%s, %s) AS %s FROM %s",
		strings.Join(keep(in), ", "), extract, root, quoteStr(path+"[*]"+seg), vals, in.name), in.cols, in.ord).withRaw(in.raw)
	// An array some of whose elements have the member: they are tested,
	// and the others (the member missing, or not an object) are tested
	// as null.
	fast := fmt.Sprintf("(%s OR (%s AND json_array_length(%s, %s) > len(%s)))", anyOf(vals, fastParam, fastP), anyOf(null, fastParam, fastP), root, quoteStr(path), vals)
	// Anything else is expanded as mv-expand does (see mvExpand), here
	// in a lambda, and only for the rows that need it.
	elems := fmt.Sprintf("(CASE WHEN len(json_extract(%[1]s, %[2]s)) > 0 THEN json_extract(%[1]s, %[2]s) %[3]s END)",
		root, quoteStr(path+"[*]"), otherElems(x))
	members := fmt.Sprintf("list_transform(%s, lambda e: json_extract(CASE WHEN CAST(e AS VARCHAR) = 'null' THEN NULL ELSE e END, %s))", elems, quoteStr("$"+seg))
	filter := fmt.Sprintf("(CASE WHEN len(%s) > 0 THEN %s ELSE %s END)", vals, fast, anyOf(members, elemVar, p))
	rel := c.add(fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(keep(in), ", "), src.name, filter), in.cols, in.ord).withRaw(in.raw)
	return rel, n, nil
}

// plainExpand returns the one item of an mv-expand the shortcuts can take
// (no limit, no "to typeof") and the name of the column it makes, when that
// name is not a let's.
func (c *compiler) plainExpand(op *MvExpandOp) (Assign, string, bool) {
	if len(op.Items) != 1 || op.Limit >= 0 || (len(op.ToTypes) > 0 && op.ToTypes[0] != "") {
		return Assign{}, "", false
	}
	a := op.Items[0]
	name := a.Name
	if name == "" {
		id, ok := a.Expr.(*Ident)
		if !ok {
			return Assign{}, "", false
		}
		name = id.Name
	}
	if _, ok := c.lets[name]; ok {
		return Assign{}, "", false
	}
	return a, name, true
}

// dupBlind reports whether op gives the same rows when its input rows are
// repeated, and never reads the column name.
func (c *compiler) dupBlind(op Op, name string) bool {
	switch op := op.(type) {
	case *DistinctOp:
		if len(op.Items) == 0 {
			return false
		}
		for _, it := range op.Items {
			if c.mentions(it.Expr, name) {
				return false
			}
		}
		return true
	case *SummarizeOp:
		for _, it := range op.By {
			if c.mentions(it.Expr, name) {
				return false
			}
		}
		for _, it := range op.Aggs {
			call, ok := it.Expr.(*Call)
			if !ok || !dupBlindAggs[strings.ToLower(call.Name)] {
				return false
			}
			for _, arg := range call.Args {
				if _, star := arg.(*Star); star || c.mentions(arg, name) {
					return false
				}
			}
		}
		return true
	}
	return false
}

// mentions reports whether e may read the column name (a call of a
// user-defined function may, unseen).
func (c *compiler) mentions(e Expr, name string) bool {
	if e == nil {
		return false
	}
	switch e := e.(type) {
	case *Ident:
		return e.Name == name
	case *Call:
		if _, user := c.lets[e.Name]; user || e.Name == "column_ifexists" {
			return true
		}
	case *Star:
		return true
	}
	kids, known := children(e)
	if !known {
		return true
	}
	for _, k := range kids {
		if c.mentions(k, name) {
			return true
		}
	}
	return false
}

// onlyChain reports whether e reads name only as name.a.b… with the same
// members everywhere (kept in chain); seen tells whether it reads it at all.
func (c *compiler) onlyChain(e Expr, name string, chain *[]string, seen *bool) bool {
	if ch, ok := chainOf(e, name); ok {
		if len(ch) == 0 || (*seen && strings.Join(ch, "\x00") != strings.Join(*chain, "\x00")) {
			return false
		}
		*chain, *seen = ch, true
		return true
	}
	if id, ok := e.(*Ident); ok {
		return id.Name != name
	}
	if call, ok := e.(*Call); ok {
		if _, user := c.lets[call.Name]; user || call.Name == "column_ifexists" {
			return false
		}
	}
	kids, known := children(e)
	if !known {
		return false
	}
	for _, k := range kids {
		if !c.onlyChain(k, name, chain, seen) {
			return false
		}
	}
	return true
}

// chainOf reads e as name followed by member names (.a or ["a"]).
func chainOf(e Expr, name string) ([]string, bool) {
	switch e := e.(type) {
	case *Ident:
		if e.Name == name {
			return []string{}, true
		}
	case *Member:
		if ch, ok := chainOf(e.X, name); ok {
			return append(ch, e.Name), true
		}
	case *Index:
		if l, ok := e.I.(*Lit); ok {
			if s, ok := l.Val.(string); ok {
				if ch, ok := chainOf(e.X, name); ok {
					return append(ch, s), true
				}
			}
		}
	}
	return nil, false
}

// replaceChain returns e with every name.a.b… replaced by elemVar.
func replaceChain(e Expr, name string) Expr {
	if ch, ok := chainOf(e, name); ok && len(ch) > 0 {
		return &Ident{Pos: e.exprPos(), Name: elemVar}
	}
	kids, _ := children(e)
	for i, k := range kids {
		kids[i] = replaceChain(k, name)
	}
	return withChildren(e, kids)
}

// children lists the expressions directly inside e, in a fixed order;
// known is false for an expression type it does not know.
func children(e Expr) (kids []Expr, known bool) {
	switch e := e.(type) {
	case *Lit, *DynLit, *Ident, *Star:
		return nil, true
	case *Member:
		return []Expr{e.X}, true
	case *Index:
		return []Expr{e.X, e.I}, true
	case *Call:
		return append([]Expr(nil), e.Args...), true
	case *Binary:
		return []Expr{e.L, e.R}, true
	case *Unary:
		return []Expr{e.X}, true
	case *InExpr:
		return append([]Expr{e.X}, e.List...), true
	case *Between:
		return []Expr{e.X, e.Lo, e.Hi}, true
	}
	return nil, false
}

// withChildren is a copy of e holding kids, in the order children gives.
func withChildren(e Expr, kids []Expr) Expr {
	switch e := e.(type) {
	case *Member:
		cp := *e
		cp.X = kids[0]
		return &cp
	case *Index:
		cp := *e
		cp.X, cp.I = kids[0], kids[1]
		return &cp
	case *Call:
		cp := *e
		cp.Args = kids
		return &cp
	case *Binary:
		cp := *e
		cp.L, cp.R = kids[0], kids[1]
		return &cp
	case *Unary:
		cp := *e
		cp.X = kids[0]
		return &cp
	case *InExpr:
		cp := *e
		cp.X, cp.List = kids[0], kids[1:]
		return &cp
	case *Between:
		cp := *e
		cp.X, cp.Lo, cp.Hi = kids[0], kids[1], kids[2]
		return &cp
	}
	return e
}
