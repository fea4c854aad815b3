package kql

import (
	"fmt"
	"strconv"
	"strings"
)

// aggPrefix is KQL's name prefix for an aggregate's unnamed result column:
// count() → count_, dcount(X) → dcount_X, make_set(X) → set_X …
var aggPrefix = map[string]string{
	"count": "count", "countif": "countif", "dcount": "dcount", "dcountif": "dcountif",
	"sum": "sum", "sumif": "sumif", "avg": "avg", "avgif": "avgif", "min": "min", "max": "max",
	"make_set": "set", "makeset": "set", "make_list": "list", "makelist": "list",
	"make_set_if": "set", "make_list_if": "list",
	"take_any": "any", "any": "any",
	"stdev": "stdev", "variance": "variance", "percentile": "percentile",
	"make_bag": "bag", "make_bag_if": "bag",
}

// summarize groups by the "by" expressions (positions in GROUP BY) and
// computes the aggregates. Without "by", SQL's aggregate over no rows
// yields one row, as KQL does.
func (c *compiler) summarize(in *relation, op *SummarizeOp) (*relation, error) {
	var cols []Column
	var sel []string
	names := map[string]bool{}
	taken := func(n string) bool { return names[n] }
	for _, a := range op.By {
		sqlx, t, err := c.expr(a.Expr, in)
		if err != nil {
			return nil, err
		}
		if t == TDynamic {
			// Group dynamic values by their JSON text; the value stays JSON.
			sqlx = fmt.Sprintf("CAST(CAST(%s AS VARCHAR) AS JSON)", sqlx)
		}
		name := a.Name
		if name == "" {
			name = c.autoName(a.Expr, taken)
		}
		if names[name] {
			return nil, c.errf(a.Pos, "column %q is named twice", name)
		}
		names[name] = true
		cols = append(cols, Column{name, t})
		sel = append(sel, fmt.Sprintf("%s AS %s", sqlx, quoteIdent(name)))
	}
	nBy := len(sel)
	// arg_max/arg_min keep a whole row in a struct, unpacked by a second step.
	type unpack struct {
		hidden string
		cols   []Column
	}
	var unpacks []unpack
	raw := map[string]bool{} // raw JSON text columns kept by arg_max(…, *)
	var final []string       // select list of the unpacking step
	for _, col := range cols {
		final = append(final, quoteIdent(col.Name))
	}
	var aggs []Assign
	for _, a := range op.Aggs {
		// percentiles(X, p1, p2…) is one percentile(X, p) column per p.
		call, ok := a.Expr.(*Call)
		if !ok || call.Name != "percentiles" {
			aggs = append(aggs, a)
			continue
		}
		if a.Name != "" {
			return nil, c.errf(a.Pos, "unsupported: naming the columns of percentiles()")
		}
		if len(call.Args) < 2 {
			return nil, c.errf(call.Pos, "percentiles needs a value and at least one percentage")
		}
		for _, p := range call.Args[1:] {
			aggs = append(aggs, Assign{Pos: a.Pos, Expr: &Call{Pos: call.Pos, Name: "percentile", Args: []Expr{call.Args[0], p}}})
		}
	}
	for i, a := range aggs {
		if call, ok := a.Expr.(*Call); ok && (call.Name == "arg_max" || call.Name == "arg_min") {
			hidden := fmt.Sprintf("__kql_arg%d", i)
			sqlx, acols, err := c.argMax(in, call, names, raw)
			if err != nil {
				return nil, err
			}
			if a.Name != "" && len(acols) > 0 {
				// "X = arg_max(A, …)" renames the first column.
				delete(names, acols[0].Name)
				if names[a.Name] {
					return nil, c.errf(a.Pos, "column %q is named twice", a.Name)
				}
				names[a.Name] = true
				acols[0].Name = a.Name
			}
			sel = append(sel, fmt.Sprintf("%s AS %s", sqlx, quoteIdent(hidden)))
			unpacks = append(unpacks, unpack{hidden, acols})
			for j, col := range acols {
				v := fmt.Sprintf("struct_extract(%s, %s)", quoteIdent(hidden), quoteStr(fmt.Sprintf("f%d", j)))
				if col.Type == TString {
					v = fmt.Sprintf("coalesce(%s, '')", v)
				}
				final = append(final, fmt.Sprintf("%s AS %s", v, quoteIdent(col.Name)))
			}
			cols = append(cols, acols...)
			continue
		}
		c.aggOK, c.aggSeen = true, 0
		sqlx, t, err := c.expr(a.Expr, in)
		c.aggOK = false
		if err != nil {
			return nil, err
		}
		if c.aggSeen == 0 {
			return nil, c.errf(a.Expr.exprPos(), "summarize needs an aggregate function here")
		}
		name := a.Name
		if name == "" {
			name = c.aggName(a.Expr, taken)
		}
		if names[name] {
			return nil, c.errf(a.Pos, "column %q is named twice", name)
		}
		names[name] = true
		cols = append(cols, Column{name, t})
		sel = append(sel, fmt.Sprintf("%s AS %s", sqlx, quoteIdent(name)))
		final = append(final, quoteIdent(name))
	}
	group := ""
	if nBy > 0 {
		pos := make([]string, nBy)
		for i := range pos {
			pos[i] = fmt.Sprint(i + 1)
		}
		group = " GROUP BY " + strings.Join(pos, ", ")
	}
	rel := c.add(fmt.Sprintf("SELECT %s FROM %s%s", strings.Join(sel, ", "), in.name, group), cols, nil)
	if len(unpacks) == 0 {
		return rel, nil
	}
	return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(final, ", "), rel.name), cols, nil).withRaw(raw), nil
}

// aggName names an unnamed aggregate column: prefix_X where X is the
// argument's column (or path) name, count_ and countif_ for counts.
func (c *compiler) aggName(e Expr, taken func(string) bool) string {
	call, ok := e.(*Call)
	if !ok {
		return c.autoName(e, taken)
	}
	p, ok := aggPrefix[call.Name]
	if !ok {
		return c.autoName(e, taken)
	}
	name := p + "_"
	if call.Name != "count" && call.Name != "countif" && len(call.Args) > 0 {
		name += pathName(call.Args[0])
	}
	if call.Name == "percentile" && len(call.Args) == 2 {
		if p, ok := constNumber(c.resolveLet(call.Args[1])); ok {
			name += "_" + strings.ReplaceAll(strconv.FormatFloat(p, 'g', -1, 64), ".", "_")
		}
	}
	base, n := name, 0
	for taken(name) {
		n++
		name = fmt.Sprintf("%s%d", base, n)
	}
	return name
}

// argMax compiles arg_max(X, cols…) / arg_min: the row with the largest
// (smallest) X, its columns keeping their names; "*" means every column not
// already a "by" column. Rows whose X is null are ignored.
func (c *compiler) argMax(in *relation, call *Call, names, raw map[string]bool) (string, []Column, error) {
	if len(call.Args) < 2 {
		return "", nil, c.errf(call.Pos, "%s needs an expression and the columns to keep", call.Name)
	}
	x, xt, err := c.expr(call.Args[0], in)
	if err != nil {
		return "", nil, err
	}
	xname := pathName(call.Args[0])
	if xname == "" {
		xname = strings.TrimPrefix(call.Name, "arg_") + "_"
	}
	var cols []Column
	var fields []string
	addCol := func(name, sqlx string, t Type, pos int) error {
		if names[name] {
			return c.errf(pos, "column %q is named twice", name)
		}
		names[name] = true
		fields = append(fields, fmt.Sprintf("%s: %s", quoteStr(fmt.Sprintf("f%d", len(cols))), sqlx))
		cols = append(cols, Column{name, t})
		return nil
	}
	if err := addCol(xname, x, xt, call.Args[0].exprPos()); err != nil {
		return "", nil, err
	}
	for _, a := range call.Args[1:] {
		if _, ok := a.(*Star); ok {
			for _, col := range in.cols {
				if names[col.Name] {
					continue
				}
				if err := addCol(col.Name, quoteIdent(col.Name), col.Type, a.exprPos()); err != nil {
					return "", nil, err
				}
				if in.raw[col.Name] {
					raw[col.Name] = true
				}
			}
			continue
		}
		sqlx, t, err := c.expr(a, in)
		if err != nil {
			return "", nil, err
		}
		name := pathName(a)
		if name == "" {
			return "", nil, c.errf(a.exprPos(), "unsupported: unnamed expression in %s", call.Name)
		}
		if err := addCol(name, sqlx, t, a.exprPos()); err != nil {
			return "", nil, err
		}
	}
	if xt == TDynamic {
		return "", nil, c.errf(call.Args[0].exprPos(), "%s needs a value that orders, found dynamic", call.Name)
	}
	return fmt.Sprintf("%s({%s}, %s)", call.Name, strings.Join(fields, ", "), x), cols, nil
}
