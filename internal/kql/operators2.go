package kql

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// parse extracts columns from a string by a pattern. Both kinds build one
// regular expression matched against the whole value: string constants
// (escaped for kind=simple, taken as regex for kind=regex), "*" as .*?,
// a string column as (.*?), a long or int column as (-?\d+), a real column
// as a decimal number, other types as (.*?) converted afterwards. kind=simple
// lets "." match newlines. A value that does not match, or whose typed parts
// do not convert, gives null columns ("" for strings) and keeps its row.
func (c *compiler) parse(in *relation, op *ParseOp) (*relation, error) {
	x, t, err := c.expr(op.X, in)
	if err != nil {
		return nil, err
	}
	if t != TString {
		x = c.toStr(x, t)
	}
	var re strings.Builder
	if op.Regex {
		if op.Flags != "" {
			re.WriteString("(?" + op.Flags + ")")
		}
	} else {
		re.WriteString("(?s)")
	}
	re.WriteString(`\A`)
	type capture struct {
		part  ParsePart
		group int
	}
	var caps []capture
	group := 0
	seen := map[string]bool{}
	for i, p := range op.Parts {
		switch {
		case p.Star:
			// KQL forbids it: the string column would have no end.
			if i > 0 && op.Parts[i-1].Name != "" && op.Parts[i-1].Type == TString {
				return nil, c.errf(p.Pos, "parse: * cannot follow a string column (%s)", op.Parts[i-1].Name)
			}
			re.WriteString(".*?")
		case p.Name == "":
			if !op.Regex {
				re.WriteString(regexp.QuoteMeta(p.Lit))
				continue
			}
			tree, err := syntax.Parse(p.Lit, syntax.Perl)
			if err != nil {
				return nil, c.errf(p.Pos, "bad regular expression in parse: %v", err)
			}
			group += tree.MaxCap()
			re.WriteString("(?:" + p.Lit + ")")
		default:
			if seen[p.Name] {
				return nil, c.errf(p.Pos, "column %q is named twice in the parse pattern", p.Name)
			}
			seen[p.Name] = true
			group++
			caps = append(caps, capture{p, group})
			switch p.Type {
			case TLong, TInt:
				re.WriteString(`(-?\d+)`)
			case TReal:
				re.WriteString(`(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)`)
			default:
				re.WriteString("(.*?)")
			}
		}
	}
	re.WriteString(`\z`)
	pattern := re.String()
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, c.errf(op.Pos, "bad regular expression in parse: %v", err)
	}
	if len(caps) == 0 {
		return nil, c.errf(op.Pos, "parse needs at least one column in its pattern")
	}
	// Step 1: the raw captures, null when the value does not match.
	pre := keep(in)
	stepCols := append([]Column(nil), in.cols...)
	hidden := make([]string, len(caps))
	for i, cp := range caps {
		c.nOrd++
		hidden[i] = fmt.Sprintf("__kql_parse%d", c.nOrd)
		pre = append(pre, fmt.Sprintf("(CASE WHEN regexp_matches(%[1]s, %[2]s) THEN regexp_extract(%[1]s, %[2]s, %[3]d) END) AS %[4]s",
			x, quoteStr(pattern), cp.group, quoteIdent(hidden[i])))
		stepCols = append(stepCols, Column{Name: hidden[i], Type: TString})
	}
	step := c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(pre, ", "), in.name), stepCols, in.ord)
	// Step 2: typed values; all of them null unless every one converts.
	conv := map[Type]string{TLong: "tolong", TInt: "toint", TReal: "toreal", TBool: "tobool",
		TDatetime: "todatetime", TTimespan: "totimespan", TDynamic: "todynamic"}
	vals := make([]string, len(caps))
	var oks []string
	for i, cp := range caps {
		h := quoteIdent(hidden[i])
		oks = append(oks, h+" IS NOT NULL")
		if cp.part.Type == TString {
			vals[i] = h
			continue
		}
		fn := conv[cp.part.Type]
		if fn == "" {
			return nil, c.errf(cp.part.Pos, "unsupported: parse into %s", cp.part.Type)
		}
		v, vt, err := c.expr(&Call{Pos: cp.part.Pos, Name: fn, Args: []Expr{&Ident{Pos: cp.part.Pos, Name: hidden[i]}}}, step)
		if err != nil {
			return nil, err
		}
		if vt != cp.part.Type {
			v = fmt.Sprintf("CAST(%s AS %s)", v, cp.part.Type.sqlType())
		}
		vals[i] = v
		oks = append(oks, v+" IS NOT NULL")
	}
	ok := strings.Join(oks, " AND ")
	var cols []Column
	var sel []string
	index := map[string]int{}
	for _, col := range in.cols {
		index[col.Name] = len(cols)
		cols = append(cols, col)
		sel = append(sel, quoteIdent(col.Name))
	}
	for i, cp := range caps {
		miss := "NULL"
		if cp.part.Type == TString {
			miss = "''"
		}
		item := fmt.Sprintf("(CASE WHEN %s THEN %s ELSE %s END) AS %s", ok, vals[i], miss, quoteIdent(cp.part.Name))
		col := Column{Name: cp.part.Name, Type: cp.part.Type}
		if j, exists := index[cp.part.Name]; exists {
			cols[j], sel[j] = col, item
			continue
		}
		index[cp.part.Name] = len(cols)
		cols = append(cols, col)
		sel = append(sel, item)
	}
	sel = append(sel, quoteAll(in.ord)...)
	return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), step.name), cols, in.ord), nil
}

// mvApply runs a sub-pipeline on each row's expanded values. Each input row
// gets a hidden row id; the values are expanded as mv-expand does (so an
// empty array gives an empty sub-table), the sub-pipeline runs on all rows'
// values at once with every operator partitioned by the row id, and the
// result is joined back to the row's other columns. The sub-table holds only
// the expanded columns, as in KQL; an expanded column named like an input
// column replaces it. Output: the input's other columns, then the
// sub-pipeline's. summarize without by gives one row per input row, its
// empty-input value (count 0) when the sub-table is empty.
func (c *compiler) mvApply(in *relation, op *MvApplyOp) (*relation, error) {
	c.nOrd++
	rowid := fmt.Sprintf("__kql_row%d", c.nOrd)
	over := ""
	if len(in.ord) > 0 {
		over = "ORDER BY " + strings.Join(quoteAll(in.ord), ", ")
	}
	base := c.add(fmt.Sprintf("SELECT %s, row_number() OVER (%s) AS %s FROM %s", strings.Join(keep(in), ", "), over, quoteIdent(rowid), in.name), in.cols, in.ord)
	// The row id is read twice (expansion, join back): materialized so both
	// reads see the same numbering, which row_number() OVER () does not promise.
	c.ctes[len(c.ctes)-1].mat = true
	exp, err := c.mvExpand(&relation{name: base.name, cols: in.cols, ord: []string{rowid}},
		&MvExpandOp{Pos: op.Pos, Items: op.Items, ToTypes: op.ToType, Limit: -1})
	if err != nil {
		return nil, err
	}
	// The sub-table: only the expanded columns (and the hidden order).
	var names []string
	replaced := map[string]bool{}
	var subCols []Column
	for _, a := range op.Items {
		name := a.Name
		if name == "" {
			name = a.Expr.(*Ident).Name // mvExpand refused anything else
		}
		if id, ok := a.Expr.(*Ident); ok {
			replaced[id.Name] = true
		}
		replaced[name] = true
		names = append(names, quoteIdent(name))
		col, _ := exp.col(name)
		subCols = append(subCols, col)
	}
	sub := c.add(fmt.Sprintf("SELECT %s, %s FROM %s", strings.Join(names, ", "), strings.Join(quoteAll(exp.ord), ", "), exp.name), subCols, exp.ord)
	for _, o := range op.Sub.Ops {
		if sub, err = c.applyOp(sub, o, base, rowid); err != nil {
			return nil, err
		}
	}
	var cols []Column
	var sel []string
	outNames := map[string]bool{}
	for _, col := range sub.cols {
		outNames[col.Name] = true
	}
	for _, col := range in.cols {
		if replaced[col.Name] {
			continue
		}
		if outNames[col.Name] {
			return nil, c.errf(op.Pos, "mv-apply: the sub-query makes a column %q the input has already", col.Name)
		}
		cols = append(cols, col)
		sel = append(sel, "b."+quoteIdent(col.Name))
	}
	for _, col := range sub.cols {
		cols = append(cols, col)
		sel = append(sel, "s."+quoteIdent(col.Name))
	}
	var ord []string
	if len(in.ord) > 0 {
		ord = sub.ord
		for _, o := range ord {
			sel = append(sel, "s."+quoteIdent(o))
		}
	}
	return c.add(fmt.Sprintf("SELECT %s FROM %s AS s JOIN %s AS b ON s.%s = b.%s", strings.Join(sel, ", "), sub.name, base.name, quoteIdent(rowid), quoteIdent(rowid)), cols, ord), nil
}

// applyOp runs one operator of an mv-apply sub-pipeline, per input row.
// rel.ord starts with the row id.
func (c *compiler) applyOp(rel *relation, op Op, base *relation, rowid string) (*relation, error) {
	part := "PARTITION BY " + quoteIdent(rowid)
	switch op := op.(type) {
	case *WhereOp, *ExtendOp, *ProjectOp, *ProjectAwayOp, *ProjectRenameOp, *ProjectReorderOp:
		return c.op(rel, op, false)
	case *TakeOp:
		n, err := c.constLong(op.N, "take")
		if err != nil {
			return nil, err
		}
		return c.add(fmt.Sprintf("SELECT * FROM %s QUALIFY row_number() OVER (%s ORDER BY %s) <= %d", rel.name, part, strings.Join(quoteAll(rel.ord), ", "), n), rel.cols, rel.ord), nil
	case *TopOp, *SortOp:
		var keys []SortKey
		limit := int64(-1)
		if t, ok := op.(*TopOp); ok {
			n, err := c.constLong(t.N, "top")
			if err != nil {
				return nil, err
			}
			keys, limit = t.By, n
		} else {
			keys = op.(*SortOp).Keys
		}
		var parts []string
		for _, k := range keys {
			x, t, err := c.expr(k.Expr, rel)
			if err != nil {
				return nil, err
			}
			if t == TDynamic {
				x = fmt.Sprintf("CAST(%s AS VARCHAR)", x)
			}
			dir, nulls := "ASC", "NULLS LAST"
			if k.Desc {
				dir = "DESC"
			}
			if k.NullsFirst {
				nulls = "NULLS FIRST"
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", x, dir, nulls))
		}
		// Ties keep the earlier order.
		parts = append(parts, quoteAll(rel.ord)...)
		c.nOrd++
		o := fmt.Sprintf("__kql_ord%d", c.nOrd)
		ord := []string{rowid, o}
		inner := fmt.Sprintf("SELECT %s, %s, row_number() OVER (%s ORDER BY %s) AS %s FROM %s", colList(rel.cols), quoteIdent(rowid), part, strings.Join(parts, ", "), quoteIdent(o), rel.name)
		if limit < 0 {
			return c.add(inner, rel.cols, ord), nil
		}
		return c.add(fmt.Sprintf("SELECT * FROM (%s) WHERE %s <= %d", inner, quoteIdent(o), limit), rel.cols, ord), nil
	case *SummarizeOp:
		if len(op.By) > 0 {
			return nil, c.errf(op.Pos, "unsupported in mv-apply: summarize with by")
		}
		// Group by the row id, exposed as a column for the moment.
		exposed := &relation{name: rel.name, cols: append(append([]Column(nil), rel.cols...), Column{Name: rowid, Type: TLong})}
		byRow := *op
		byRow.By = []Assign{{Pos: op.Pos, Expr: &Ident{Pos: op.Pos, Name: rowid}}}
		res, err := c.summarize(exposed, &byRow)
		if err != nil {
			return nil, err
		}
		// The same aggregates over no rows, for rows whose sub-table is empty.
		none := c.add(fmt.Sprintf("SELECT * FROM %s WHERE false", rel.name), rel.cols, nil)
		empty, err := c.summarize(&relation{name: none.name, cols: rel.cols}, op)
		if err != nil {
			return nil, err
		}
		var cols []Column
		for _, col := range res.cols {
			if col.Name != rowid {
				cols = append(cols, col)
			}
		}
		var eSel []string
		for _, col := range cols {
			eSel = append(eSel, "e."+quoteIdent(col.Name))
		}
		r := quoteIdent(rowid)
		sql := fmt.Sprintf("SELECT %[1]s, %[2]s FROM %[3]s UNION ALL SELECT %[4]s, b.%[2]s FROM %[5]s AS b CROSS JOIN %[6]s AS e WHERE NOT EXISTS (SELECT 1 FROM %[3]s AS s WHERE s.%[2]s = b.%[2]s)",
			colList(cols), r, res.name, strings.Join(eSel, ", "), base.name, empty.name)
		return c.add(sql, cols, []string{rowid}), nil
	}
	return nil, c.errf(op.opPos(), "unsupported in mv-apply: %s", opName(op))
}

// opName is the KQL name of an operator, for messages.
func opName(op Op) string {
	switch op.(type) {
	case *CountOp:
		return "count"
	case *DistinctOp:
		return "distinct"
	case *MvExpandOp:
		return "mv-expand"
	case *UnionOp:
		return "union"
	case *RenderOp:
		return "render"
	case *JoinOp:
		return "join or lookup"
	case *AsOp:
		return "as"
	case *ParseOp:
		return "parse"
	case *MvApplyOp:
		return "mv-apply"
	case *SummarizeOp:
		return "summarize"
	}
	return fmt.Sprintf("%T", op)
}
