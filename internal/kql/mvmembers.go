package kql

import (
	"encoding/json"
	"fmt"
	"strings"
)

// An mv-expand followed by filters and a summarize that read the element
// only as tostring(E.member) needs the members' text, not the elements:
// from_json parses an array once into the members asked for, where the
// plain expansion writes each element out as JSON and parses it again for
// every member read. The shortcut applies when the summarize names every
// column that reads the element (an unnamed one would be named after it)
// and takes no *; the element itself is then gone after the summarize.

// memberExpand compiles ops[0], an mv-expand, the where operators after it
// and the summarize that ends them when the pattern above holds; n is the
// number of operators it compiled (0 when it does not apply).
func (c *compiler) memberExpand(in *relation, ops []Op) (*relation, int, error) {
	op := ops[0].(*MvExpandOp)
	a, name, ok := c.plainExpand(op)
	if !ok {
		return nil, 0, nil
	}
	var members []string
	n := 1
	for ; n < len(ops); n++ {
		w, ok := ops[n].(*WhereOp)
		if !ok {
			break
		}
		if !c.textOnly(w.Pred, name, &members) {
			return nil, 0, nil
		}
	}
	if n == len(ops) {
		return nil, 0, nil
	}
	sum, ok := ops[n].(*SummarizeOp)
	if !ok {
		return nil, 0, nil
	}
	for _, list := range [][]Assign{sum.By, sum.Aggs} {
		for _, it := range list {
			if !c.textOnly(it.Expr, name, &members) || (it.Name == "" && c.mentions(it.Expr, name)) {
				return nil, 0, nil
			}
		}
	}
	if len(members) == 0 {
		return nil, 0, nil
	}
	// DuckDB's struct fields match case-insensitively.
	fold := map[string]bool{}
	segs := make([]string, len(members))
	for i, m := range members {
		seg, err := c.keySeg(m, op.Pos)
		if err != nil || fold[strings.ToLower(m)] {
			return nil, 0, nil
		}
		fold[strings.ToLower(m)] = true
		segs[i] = seg
	}
	x, t, err := c.expr(a.Expr, in)
	if err != nil || t != TDynamic {
		return nil, 0, nil // the plain mv-expand reports it
	}

	c.nOrd++
	hidden := make(map[string]string, len(members))
	var spec []string // from_json's structure, its fields in struct_pack's order
	var packs, cols []string
	newCols := append([]Column(nil), in.cols...)
	for i, m := range members {
		h := fmt.Sprintf("__kql_mvt%d_%d", c.nOrd, i)
		if _, clash := in.col(h); clash {
			return nil, 0, nil
		}
		hidden[m] = h
		key, _ := json.Marshal(m) // a string always encodes
		spec = append(spec, string(key)+`:"VARCHAR"`)
		packs = append(packs, fmt.Sprintf("%s := json_extract_string(e, %s)", quoteIdent(m), quoteStr("$"+segs[i])))
		cols = append(cols, fmt.Sprintf("coalesce(%s.%s, '') AS %s", quoteIdent(fmt.Sprintf("__kql_mvs%d", c.nOrd)), quoteIdent(m), quoteIdent(h)))
		newCols = append(newCols, Column{Name: h, Type: TString})
	}
	specJSON := "[{" + strings.Join(spec, ",") + "}]"
	// An array (empty or not) is read by from_json, which is null for
	// anything else; anything else gives the elements mv-expand gives it
	// (see mvExpand), each read by json_extract_string as tostring does.
	v := quoteIdent(fmt.Sprintf("__kql_mvv%d", c.nOrd))
	f := quoteIdent(fmt.Sprintf("__kql_mvf%d", c.nOrd))
	val := c.add(fmt.Sprintf("SELECT %s, %s AS %s FROM %s", strings.Join(keep(in), ", "), x, v, in.name), in.cols, in.ord).withRaw(in.raw)
	val = c.add(fmt.Sprintf("SELECT %s, %s, from_json(%s, %s) AS %s FROM %s", strings.Join(keep(in), ", "), v, v, quoteStr(specJSON), f, val.name), in.cols, in.ord).withRaw(in.raw)
	elems := "(CASE " + otherElems(v) + " END)"
	list := fmt.Sprintf("(CASE WHEN %[1]s IS NOT NULL THEN %[1]s ELSE list_transform(%[2]s, lambda e: struct_pack(%[3]s)) END)",
		f, elems, strings.Join(packs, ", "))
	s := quoteIdent(fmt.Sprintf("__kql_mvs%d", c.nOrd))
	src := c.add(fmt.Sprintf("SELECT %s, unnest(%s) AS %s FROM %s", strings.Join(keep(in), ", "), list, s, val.name), in.cols, in.ord).withRaw(in.raw)
	rel := c.add(fmt.Sprintf("SELECT %s, %s FROM %s", strings.Join(keep(in), ", "), strings.Join(cols, ", "), src.name), newCols, in.ord).withRaw(in.raw)

	for k := 1; k <= n; k++ {
		var next Op
		switch o := ops[k].(type) {
		case *WhereOp:
			next = &WhereOp{Pos: o.Pos, Pred: replaceText(o.Pred, name, hidden)}
		case *SummarizeOp:
			cp := *o
			cp.By = replaceAssigns(o.By, name, hidden)
			cp.Aggs = replaceAssigns(o.Aggs, name, hidden)
			next = &cp
		}
		if rel, err = c.op(rel, next, k == len(ops)-1); err != nil {
			return nil, 0, err
		}
	}
	return rel, n + 1, nil
}

// textOnly reports whether e reads name only as tostring(name.m) or
// tostring(name["m"]), adding each m to members.
func (c *compiler) textOnly(e Expr, name string, members *[]string) bool {
	if m, ok := textMember(e, name); ok {
		for _, have := range *members {
			if have == m {
				return true
			}
		}
		*members = append(*members, m)
		return true
	}
	switch e := e.(type) {
	case *Ident:
		return e.Name != name
	case *Star:
		return false
	case *Call:
		if _, user := c.lets[e.Name]; user || e.Name == "column_ifexists" {
			return false
		}
	}
	kids, known := children(e)
	if !known {
		return false
	}
	for _, k := range kids {
		if !c.textOnly(k, name, members) {
			return false
		}
	}
	return true
}

// textMember reads e as tostring(name.m).
func textMember(e Expr, name string) (string, bool) {
	call, ok := e.(*Call)
	if !ok || call.Name != "tostring" || len(call.Args) != 1 {
		return "", false
	}
	ch, ok := chainOf(call.Args[0], name)
	if !ok || len(ch) != 1 {
		return "", false
	}
	return ch[0], true
}

// replaceText returns e with every tostring(name.m) replaced by the column
// hidden[m].
func replaceText(e Expr, name string, hidden map[string]string) Expr {
	if m, ok := textMember(e, name); ok {
		return &Ident{Pos: e.exprPos(), Name: hidden[m]}
	}
	kids, _ := children(e)
	for i, k := range kids {
		kids[i] = replaceText(k, name, hidden)
	}
	return withChildren(e, kids)
}

func replaceAssigns(list []Assign, name string, hidden map[string]string) []Assign {
	out := make([]Assign, len(list))
	for i, a := range list {
		a.Expr = replaceText(a.Expr, name, hidden)
		out[i] = a
	}
	return out
}
