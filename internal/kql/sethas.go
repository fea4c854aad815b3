package kql

import (
	"fmt"
	"strings"
)

// A summarize that collects strings into a set or list, followed by where
// operators asking whether that collection has a term, is Sentinel's usual
// way to find groups that did two things:
//
//	summarize Operations = make_set(RecordType) … by ActorName
//	| where Operations has "EnableCopilotPlugin" and Operations has "DisableCopilotPlugin"
//
// The collection's JSON text has an alphanumeric term exactly when the JSON
// text of one of its elements does (elements are kept apart by quotes and
// commas, which end a term), so each question becomes a hidden aggregate
// asked of every row, count(*) FILTER (WHERE to_json(x) has term) > 0, and
// the filter reads a boolean. When nothing else reads the collection,
// DuckDB no longer builds it at all.

// sqlAgg is an aggregate the compiler writes itself; it is never parsed.
type sqlAgg struct {
	Pos  int
	SQL  string
	Type Type
}

func (e *sqlAgg) exprPos() int { return e.Pos }

// collectAggs build a collection whose elements are the argument's values.
var collectAggs = map[string]bool{
	"make_set": true, "makeset": true, "make_list": true, "makelist": true,
	"make_set_if": true, "make_list_if": true,
}

// setHas compiles ops[0], a summarize, and the where operators right after
// it, when some of their predicates ask a collection for a term; n is the
// number of operators it compiled (0 when it does not apply).
func (c *compiler) setHas(in *relation, ops []Op) (*relation, int, error) {
	sum := ops[0].(*SummarizeOp)
	n := 1
	for n < len(ops) {
		if _, ok := ops[n].(*WhereOp); !ok {
			break
		}
		n++
	}
	if n == 1 {
		return nil, 0, nil
	}
	sets := map[string]*Call{}
	for _, a := range sum.Aggs {
		call, ok := a.Expr.(*Call)
		if !ok || a.Name == "" || !collectAggs[call.Name] {
			continue
		}
		// A size limit may leave the element with the term out.
		if want := 1 + strings.Count(call.Name, "_if"); len(call.Args) == want {
			sets[a.Name] = call
		}
	}
	for _, b := range sum.By {
		delete(sets, b.Name)
	}
	if len(sets) == 0 {
		return nil, 0, nil
	}
	var hidden []Assign
	var wheres []Op
	for _, op := range ops[1:n] {
		w := op.(*WhereOp)
		p, ok := c.replaceSetHas(w.Pred, in, sets, &hidden)
		if !ok {
			return nil, 0, nil
		}
		wheres = append(wheres, &WhereOp{Pos: w.Pos, Pred: p})
	}
	if len(hidden) == 0 {
		return nil, 0, nil
	}
	s := *sum
	s.Aggs = append(append([]Assign(nil), sum.Aggs...), hidden...)
	rel, err := c.op(in, &s, false)
	if err != nil {
		return nil, 0, err
	}
	for _, w := range wheres {
		if rel, err = c.op(rel, w, false); err != nil {
			return nil, 0, err
		}
	}
	away := &ProjectAwayOp{Pos: sum.Pos}
	for _, h := range hidden {
		away.Names = append(away.Names, Ident{Pos: sum.Pos, Name: h.Name})
	}
	if rel, err = c.op(rel, away, n == len(ops)); err != nil {
		return nil, 0, err
	}
	return rel, n, nil
}

// replaceSetHas returns e with each "S has term" on a collection of strings
// replaced by a hidden boolean column, appended to hidden; ok is false when
// e holds an expression it cannot walk.
func (c *compiler) replaceSetHas(e Expr, in *relation, sets map[string]*Call, hidden *[]Assign) (Expr, bool) {
	if b, ok := e.(*Binary); ok && b.Op == "has" {
		if agg := c.setHasAgg(b, in, sets); agg != "" {
			name := fmt.Sprintf("__kql_sethas%d", len(*hidden)+1)
			*hidden = append(*hidden, Assign{Pos: b.Pos, Name: name, Expr: &sqlAgg{Pos: b.Pos, SQL: agg, Type: TBool}})
			return &Ident{Pos: b.Pos, Name: name}, true
		}
	}
	kids, known := children(e)
	if !known {
		return nil, false
	}
	if len(kids) == 0 {
		return e, true
	}
	for i, k := range kids {
		r, ok := c.replaceSetHas(k, in, sets, hidden)
		if !ok {
			return nil, false
		}
		kids[i] = r
	}
	return withChildren(e, kids), true
}

// setHasAgg is the SQL of the aggregate that answers b, or "" when b is not
// an alphanumeric term asked of a collection of strings.
func (c *compiler) setHasAgg(b *Binary, in *relation, sets map[string]*Call) string {
	id, ok := b.L.(*Ident)
	if !ok {
		return ""
	}
	call, ok := sets[id.Name]
	if !ok {
		return ""
	}
	lit, ok := b.R.(*Lit)
	if !ok {
		return ""
	}
	term, ok := lit.Val.(string)
	if !ok || term == "" || len(term) > maxTermLen || strings.IndexFunc(term, func(r rune) bool { return !isTermChar(r) }) >= 0 {
		return ""
	}
	x, t, err := c.expr(call.Args[0], in)
	if err != nil || t != TString {
		return ""
	}
	// The element as the collection's JSON text holds it.
	cond := hasSQL(fmt.Sprintf("CAST(to_json(%s) AS VARCHAR)", x), term, "has", false)
	if len(call.Args) == 2 {
		p, err := c.boolExpr(call.Args[1], in)
		if err != nil {
			return ""
		}
		cond = fmt.Sprintf("(%s) AND %s", p, cond)
	}
	return fmt.Sprintf("(count(*) FILTER (WHERE %s) > 0)", cond)
}

// isTermChar reports whether r is part of a has term: ASCII letters and
// digits.
func isTermChar(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}
