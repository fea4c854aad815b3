package kql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options tune compilation.
type Options struct {
	// Now is the value of now() and the reference of ago(); fixed once per
	// query so every row sees the same instant. Zero means time.Now().
	Now time.Time
}

// RenderHint is a trailing "| render kind", kept for dashboards.
type RenderHint struct {
	Kind string
}

// Compiled is a query translated to one DuckDB SQL statement.
type Compiled struct {
	SQL     string
	Columns []Column
	Render  *RenderHint
}

// Compile parses, types and translates a KQL query. Errors carry the line
// and column of the offending spot (*Error).
func Compile(query string, cat *Catalog, opts Options) (comp *Compiled, err error) {
	// A bug must not take the caller down with it: report it as an error.
	defer func() {
		if r := recover(); r != nil {
			comp, err = nil, fmt.Errorf("internal error compiling the query (please report it): %v", r)
		}
	}()
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	if cat == nil {
		cat = DefaultCatalog()
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &compiler{src: query, cat: cat, now: now.UTC(), lets: map[string]*Let{}, mats: map[*Let]*relation{}, names: map[string]*relation{}}
	if q, err = c.expandQuery(q); err != nil {
		return nil, err
	}
	c.lets = map[string]*Let{}
	for _, l := range q.Lets {
		c.lets[l.Name] = l
	}
	rel, err := c.pipeline(q.Body)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rel.cols))
	for i, col := range rel.cols {
		out[i] = quoteIdent(col.Name)
		if rel.raw[col.Name] {
			out[i] = rawCast(col.Name) + " AS " + out[i]
		}
	}
	c.pruneReads(strings.Join(out, ", ") + " " + strings.Join(quoteAll(rel.ord), ", "))
	var b strings.Builder
	b.WriteString("WITH\n")
	for i, cte := range c.ctes {
		if i > 0 {
			b.WriteString(",\n")
		}
		mat := ""
		if cte.mat {
			mat = "MATERIALIZED "
		}
		fmt.Fprintf(&b, "%s AS %s(%s)", cte.name, mat, renameLambdaParams(cte.sql))
	}
	b.WriteString("\nSELECT ")
	b.WriteString(strings.Join(out, ", "))
	fmt.Fprintf(&b, " FROM %s", rel.name)
	if len(rel.ord) > 0 {
		b.WriteString(" ORDER BY " + strings.Join(quoteAll(rel.ord), ", "))
	}
	return &Compiled{SQL: b.String(), Columns: rel.cols, Render: c.render}, nil
}

type cte struct {
	name, sql string
	mat       bool // AS MATERIALIZED: computed once however often it is read
}

// relation is the output of one operator: a CTE and its typed columns.
// ord names hidden columns that carry a sort order to the final SELECT,
// because SQL does not keep a CTE's ORDER BY.
type relation struct {
	name string
	cols []Column
	ord  []string
	// raw names dynamic columns whose SQL value is still the JSON text
	// (VARCHAR) of a catalogue JSONText column: reading a member needs no
	// cast, and the cast to JSON is made where a whole value is used
	// (expr), before operators that do not track raw columns (cook), and in
	// the final SELECT. The text is the same either way: DuckDB's cast to
	// JSON validates text without rewriting it.
	raw map[string]bool
}

// rawIn keeps the raw marks of in that name columns of cols.
func rawIn(in *relation, cols []Column) map[string]bool {
	if len(in.raw) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, col := range cols {
		if in.raw[col.Name] {
			out[col.Name] = true
		}
	}
	return out
}

// withRaw sets the raw columns of r and returns it.
func (r *relation) withRaw(raw map[string]bool) *relation {
	if len(raw) > 0 {
		r.raw = raw
	}
	return r
}

// rawCast is the JSON value of a raw column.
func rawCast(name string) string { return "CAST(" + quoteIdent(name) + " AS JSON)" }

// cook turns the raw columns of r into JSON, for operators that read
// columns by name rather than through expr.
func (c *compiler) cook(r *relation) *relation {
	if len(r.raw) == 0 {
		return r
	}
	var sel []string
	for _, col := range r.cols {
		if r.raw[col.Name] {
			sel = append(sel, rawCast(col.Name)+" AS "+quoteIdent(col.Name))
		} else {
			sel = append(sel, quoteIdent(col.Name))
		}
	}
	sel = append(sel, quoteAll(r.ord)...)
	return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), r.name), r.cols, r.ord)
}

func (r *relation) col(name string) (Column, bool) {
	for _, c := range r.cols {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

type compiler struct {
	src     string
	cat     *Catalog
	now     time.Time
	lets    map[string]*Let
	ctes    []cte
	render  *RenderHint
	aggOK   bool                // aggregate functions are allowed (inside summarize)
	aggSeen int                 // aggregates met in the current summarize item
	paths   map[string]jsonPath // SQL of member accesses, to read them in one call
	raws    map[string]string   // SQL of raw JSON text columns read as JSON → the text column
	inAgg   bool                // inside an aggregate's arguments, where another is refused
	letBusy []string            // lets being expanded, to refuse recursion
	nOrd    int
	mats    map[*Let]*relation   // materialized lets already compiled
	names   map[string]*relation // results named by "as"
	reads   []tableRead          // the CTEs that read catalogue tables
}

func (c *compiler) errf(pos int, format string, args ...any) error {
	return errAt(c.src, pos, format, args...)
}

func (c *compiler) add(sql string, cols []Column, ord []string) *relation {
	name := fmt.Sprintf("q%d", len(c.ctes)+1)
	c.ctes = append(c.ctes, cte{name: name, sql: sql})
	return &relation{name: name, cols: cols, ord: ord}
}

// quoteIdent makes a DuckDB identifier of any name.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteStr makes a DuckDB string literal; standard SQL strings take no
// backslash escapes, so doubling the quote is the only escape needed.
func quoteStr(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteIdent(n)
	}
	return out
}

func colList(cols []Column) string {
	parts := make([]string, len(cols))
	for i, col := range cols {
		parts[i] = quoteIdent(col.Name)
	}
	return strings.Join(parts, ", ")
}

// keep lists the columns of r plus its hidden order columns.
func keep(r *relation) []string {
	var out []string
	for _, col := range r.cols {
		out = append(out, quoteIdent(col.Name))
	}
	return append(out, quoteAll(r.ord)...)
}

func (c *compiler) pipeline(pl *Pipeline) (*relation, error) {
	rel, err := c.source(pl.Source)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(pl.Ops); i++ {
		op := pl.Ops[i]
		if c.render != nil {
			return nil, c.errf(op.opPos(), "render must be the last operator")
		}
		// Shortcuts compile an operator together with some that follow it;
		// n is how many they took (0: none applies).
		var shortcuts []func(*relation, []Op) (*relation, int, error)
		switch op.(type) {
		case *MvExpandOp:
			shortcuts = append(shortcuts, c.existsExpand, c.memberExpand)
		case *SummarizeOp:
			shortcuts = append(shortcuts, c.setHas)
		}
		took := 0
		for _, shortcut := range shortcuts {
			r, n, err := shortcut(rel, pl.Ops[i:])
			if err != nil {
				return nil, err
			}
			if n > 0 {
				rel, took = r, n
				break
			}
		}
		if took > 0 {
			i += took - 1
			if err := c.caseClash(rel, op.opPos()); err != nil {
				return nil, err
			}
			continue
		}
		if rel, err = c.op(rel, op, i == len(pl.Ops)-1); err != nil {
			return nil, err
		}
		if err := c.caseClash(rel, op.opPos()); err != nil {
			return nil, err
		}
	}
	return rel, nil
}

// caseClash refuses two columns whose names differ only in case: KQL tells
// them apart, DuckDB does not (quoted identifiers match case-insensitively),
// so one would silently read the other.
func (c *compiler) caseClash(r *relation, pos int) error {
	seen := make(map[string]string, len(r.cols))
	for _, col := range r.cols {
		k := strings.ToLower(col.Name)
		if prev, ok := seen[k]; ok && prev != col.Name {
			return c.errf(pos, "unsupported: columns %q and %q differ only in case", prev, col.Name)
		}
		seen[k] = col.Name
	}
	return nil
}

func (c *compiler) source(s Source) (*relation, error) {
	switch s := s.(type) {
	case *TableRef:
		return c.table(s.Name, s.Pos)
	case *UnionSrc:
		return c.union(nil, s.Tables, s.Params, s.Pos)
	case *SubSrc:
		return c.pipeline(s.Pipe)
	case *CallSrc:
		// expandQuery replaces every call; one left here is a bug.
		return nil, c.errf(s.Pos, "unknown tabular function %s()", s.Name)
	case *PrintSrc:
		// Unnamed print columns are print_0, print_1, … as in KQL.
		var cols []Column
		var sel []string
		seen := map[string]bool{}
		empty := &relation{}
		for i, a := range s.Items {
			x, t, err := c.expr(a.Expr, empty)
			if err != nil {
				return nil, err
			}
			if t == TNull {
				x, t = "''", TString
			}
			name := a.Name
			if name == "" {
				name = fmt.Sprintf("print_%d", i)
			}
			if seen[name] {
				return nil, c.errf(a.Pos, "column %q is named twice", name)
			}
			seen[name] = true
			cols = append(cols, Column{name, t})
			sel = append(sel, x+" AS "+quoteIdent(name))
		}
		return c.add("SELECT "+strings.Join(sel, ", "), cols, nil), nil
	}
	return nil, fmt.Errorf("unknown source %T", s)
}

// table starts a pipeline from a catalogue table or a tabular let.
func (c *compiler) table(name string, pos int) (*relation, error) {
	if l, ok := c.lets[name]; ok {
		for _, b := range c.letBusy {
			if b == name {
				return nil, c.errf(pos, "let %s refers to itself", name)
			}
		}
		c.letBusy = append(c.letBusy, name)
		defer func() { c.letBusy = c.letBusy[:len(c.letBusy)-1] }()
		if l.Pipe != nil && l.Materialize {
			if r, ok := c.mats[l]; ok {
				return r, nil
			}
			r, err := c.pipeline(l.Pipe)
			if err != nil {
				return nil, err
			}
			// The CTE holding the let's result is the one later readers share.
			for i := range c.ctes {
				if c.ctes[i].name == r.name {
					c.ctes[i].mat = true
				}
			}
			c.mats[l] = r
			return r, nil
		}
		if l.Pipe != nil {
			return c.pipeline(l.Pipe)
		}
		if id, ok := l.Expr.(*Ident); ok {
			return c.table(id.Name, id.Pos)
		}
		return nil, c.errf(pos, "%s is a scalar, not a table", name)
	}
	if r, ok := c.names[name]; ok {
		return r, nil
	}
	t, ok := c.cat.Lookup(name)
	if !ok {
		return nil, c.errf(pos, "unknown table %q (known: %s)", name, strings.Join(c.cat.Names(), ", "))
	}
	// Strings are never null in KQL, and dynamic columns are JSON: both are
	// settled once here so every later operator can rely on them.
	var sel []string
	raw := map[string]bool{}
	for _, n := range t.JSONText {
		raw[n] = true
	}
	for _, col := range t.Columns {
		q := quoteIdent(col.Name)
		switch {
		case col.Type == TString && slices.Contains(t.NotNull, col.Name):
			sel = append(sel, q)
		case col.Type == TString:
			sel = append(sel, fmt.Sprintf("coalesce(%s, '') AS %s", q, q))
		case raw[col.Name]:
			sel = append(sel, q)
		case col.Type == TDynamic:
			sel = append(sel, fmt.Sprintf("TRY_CAST(%s AS JSON) AS %s", q, q))
		default:
			sel = append(sel, q)
		}
	}
	from := quoteIdent(t.Name)
	if t.From != "" {
		from = "(" + t.From + ") AS " + quoteIdent(t.Name)
	}
	rel := c.add("", append([]Column(nil), t.Columns...), nil).withRaw(raw)
	c.reads = append(c.reads, tableRead{cte: len(c.ctes) - 1, sels: sel, cols: t.Columns, from: from})
	return rel, nil
}

// tableRead is the CTE that reads a catalogue table, written last by
// pruneReads.
type tableRead struct {
	cte  int
	sels []string // one select item per column
	cols []Column
	from string
}

// pruneReads writes each table read with only the columns the rest of the
// query names (every column reference is emitted as quoteIdent(name)), so
// DuckDB binds and plans a narrow read rather than every column through
// every CTE: on short queries planning is most of the time. final is the
// text of the final SELECT's columns.
func (c *compiler) pruneReads(final string) {
	for _, r := range c.reads {
		var rest strings.Builder
		for i, t := range c.ctes {
			if i != r.cte {
				rest.WriteString(t.sql)
				rest.WriteByte('\n')
			}
		}
		rest.WriteString(final)
		text := rest.String()
		var sel []string
		for i, col := range r.cols {
			if strings.Contains(text, quoteIdent(col.Name)) {
				sel = append(sel, r.sels[i])
			}
		}
		if len(sel) == 0 {
			sel = r.sels[:1] // count and the like need rows, not columns
		}
		c.ctes[r.cte].sql = fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), r.from)
	}
}

func (c *compiler) op(in *relation, op Op, last bool) (*relation, error) {
	switch op.(type) {
	case *WhereOp, *ProjectOp, *ExtendOp, *ProjectAwayOp, *ProjectRenameOp, *ProjectReorderOp, *SummarizeOp,
		*CountOp, *TakeOp, *SortOp, *TopOp, *DistinctOp, *MvExpandOp, *AsOp, *RenderOp:
		// These keep raw JSON text columns raw (or read them through expr).
	default:
		in = c.cook(in)
	}
	switch op := op.(type) {
	case *WhereOp:
		pred, err := c.boolExpr(op.Pred, in)
		if err != nil {
			return nil, err
		}
		return c.add(fmt.Sprintf("SELECT * FROM %s WHERE %s", in.name, pred), in.cols, in.ord).withRaw(in.raw), nil
	case *ProjectOp:
		return c.project(in, op.Items, false)
	case *ExtendOp:
		return c.project(in, op.Items, true)
	case *ProjectAwayOp:
		drop := map[string]bool{}
		for _, n := range op.Names {
			if _, ok := in.col(n.Name); !ok {
				return nil, c.errf(n.Pos, "unknown column %q", n.Name)
			}
			drop[n.Name] = true
		}
		var cols []Column
		for _, col := range in.cols {
			if !drop[col.Name] {
				cols = append(cols, col)
			}
		}
		r := &relation{cols: cols, ord: in.ord}
		return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(keep(r), ", "), in.name), cols, in.ord).withRaw(rawIn(in, cols)), nil
	case *ProjectRenameOp:
		ren := map[string]string{}
		for _, a := range op.Pairs {
			old := a.Expr.(*Ident)
			if _, ok := in.col(old.Name); !ok {
				return nil, c.errf(old.Pos, "unknown column %q", old.Name)
			}
			ren[old.Name] = a.Name
		}
		var cols []Column
		var sel []string
		seen := map[string]bool{}
		raw := map[string]bool{}
		for _, col := range in.cols {
			name := col.Name
			if n, ok := ren[name]; ok {
				name = n
			}
			if seen[name] {
				return nil, c.errf(op.Pos, "project-rename makes two columns named %q", name)
			}
			seen[name] = true
			if in.raw[col.Name] {
				raw[name] = true
			}
			cols = append(cols, Column{Name: name, Type: col.Type})
			sel = append(sel, fmt.Sprintf("%s AS %s", quoteIdent(col.Name), quoteIdent(name)))
		}
		sel = append(sel, quoteAll(in.ord)...)
		return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), in.name), cols, in.ord).withRaw(raw), nil
	case *ProjectReorderOp:
		var cols []Column
		first := map[string]bool{}
		for _, n := range op.Names {
			col, ok := in.col(n.Name)
			if !ok {
				return nil, c.errf(n.Pos, "unknown column %q", n.Name)
			}
			if !first[n.Name] {
				cols = append(cols, col)
			}
			first[n.Name] = true
		}
		for _, col := range in.cols {
			if !first[col.Name] {
				cols = append(cols, col)
			}
		}
		r := &relation{cols: cols, ord: in.ord}
		return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(keep(r), ", "), in.name), cols, in.ord).withRaw(in.raw), nil
	case *SummarizeOp:
		return c.summarize(in, op)
	case *CountOp:
		return c.add(fmt.Sprintf("SELECT count(*) AS \"Count\" FROM %s", in.name), []Column{{"Count", TLong}}, nil), nil
	case *TakeOp:
		n, err := c.constLong(op.N, "take")
		if err != nil {
			return nil, err
		}
		order := ""
		if len(in.ord) > 0 {
			order = " ORDER BY " + strings.Join(quoteAll(in.ord), ", ")
		}
		return c.add(fmt.Sprintf("SELECT * FROM %s%s LIMIT %d", in.name, order, n), in.cols, in.ord).withRaw(in.raw), nil
	case *SortOp:
		return c.sort(in, op.Keys, -1)
	case *TopOp:
		n, err := c.constLong(op.N, "top")
		if err != nil {
			return nil, err
		}
		return c.sort(in, op.By, n)
	case *DistinctOp:
		// Raw JSON text is the JSON value's text, so DISTINCT sees the same rows.
		if len(op.Items) == 0 {
			return c.add(fmt.Sprintf("SELECT DISTINCT %s FROM %s", colList(in.cols), in.name), in.cols, nil).withRaw(in.raw), nil
		}
		p, err := c.project(&relation{name: in.name, cols: in.cols, raw: in.raw}, op.Items, false)
		if err != nil {
			return nil, err
		}
		return c.add(fmt.Sprintf("SELECT DISTINCT %s FROM %s", colList(p.cols), p.name), p.cols, nil).withRaw(p.raw), nil
	case *MvExpandOp:
		return c.mvExpand(in, op)
	case *UnionOp:
		return c.union(in, op.Tables, op.Params, op.Pos)
	case *JoinOp:
		return c.join(in, op)
	case *AsOp:
		if _, ok := c.names[op.Name]; ok {
			return nil, c.errf(op.Pos, "as %s: the name is used twice", op.Name)
		}
		c.names[op.Name] = in
		return in, nil
	case *ParseOp:
		return c.parse(in, op)
	case *MvApplyOp:
		return c.mvApply(in, op)
	case *RenderOp:
		if !last {
			return nil, c.errf(op.Pos, "render must be the last operator")
		}
		c.render = &RenderHint{Kind: op.Kind}
		return in, nil
	}
	return nil, c.errf(op.opPos(), "unsupported operator %T", op)
}

// constLong reads a constant row count for take and top.
func (c *compiler) constLong(e Expr, what string) (int64, error) {
	e = c.resolveLet(e)
	if l, ok := e.(*Lit); ok {
		if n, ok := l.Val.(int64); ok && n >= 0 {
			return n, nil
		}
	}
	return 0, c.errf(e.exprPos(), "%s needs a constant, non-negative whole number", what)
}

// resolveLet follows an identifier bound by a scalar let.
func (c *compiler) resolveLet(e Expr) Expr {
	for i := 0; i < 100; i++ {
		id, ok := e.(*Ident)
		if !ok {
			return e
		}
		l, ok := c.lets[id.Name]
		if !ok || l.Expr == nil {
			return e
		}
		e = l.Expr
	}
	return e
}

// project handles project (extend=false) and extend (extend=true).
func (c *compiler) project(in *relation, items []Assign, extend bool) (*relation, error) {
	var cols []Column
	var sel []string
	index := map[string]int{}
	raw := map[string]bool{}
	if extend {
		for _, col := range in.cols {
			index[col.Name] = len(cols)
			cols = append(cols, col)
			sel = append(sel, quoteIdent(col.Name))
			if in.raw[col.Name] {
				raw[col.Name] = true
			}
		}
	}
	taken := func(n string) bool { _, ok := index[n]; _, ok2 := in.col(n); return ok || ok2 }
	for _, a := range items {
		if _, ok := a.Expr.(*Star); ok {
			return nil, c.errf(a.Expr.exprPos(), "unsupported: * in project")
		}
		sqlx, t, err := c.expr(a.Expr, in)
		if err != nil {
			return nil, err
		}
		if t == TNull {
			t = TString
			sqlx = "''"
		}
		name := a.Name
		if name == "" {
			name = c.autoName(a.Expr, taken)
		}
		// A raw column passed on as it is stays raw text.
		isRaw := false
		if id, ok := a.Expr.(*Ident); ok && in.raw[id.Name] {
			if _, ok := in.col(id.Name); ok {
				sqlx, isRaw = quoteIdent(id.Name), true
			}
		}
		item := fmt.Sprintf("%s AS %s", sqlx, quoteIdent(name))
		if i, ok := index[name]; ok {
			if !extend {
				return nil, c.errf(a.Pos, "column %q is named twice", name)
			}
			cols[i] = Column{Name: name, Type: t}
			sel[i] = item
			raw[name] = isRaw
			continue
		}
		index[name] = len(cols)
		cols = append(cols, Column{Name: name, Type: t})
		sel = append(sel, item)
		raw[name] = isRaw
	}
	sel = append(sel, quoteAll(in.ord)...)
	for n, ok := range raw {
		if !ok {
			delete(raw, n)
		}
	}
	return c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), in.name), cols, in.ord).withRaw(raw), nil
}

// autoName is KQL's name for an unnamed expression: a column keeps its
// name, a dynamic path joins its parts with "_", bin(x, …) is named after x,
// anything else is Column1, Column2, … (the first free one).
func (c *compiler) autoName(e Expr, taken func(string) bool) string {
	if n := pathName(e); n != "" {
		return n
	}
	for i := 1; ; i++ {
		n := "Column" + strconv.Itoa(i)
		if !taken(n) {
			return n
		}
	}
}

func pathName(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Member:
		if b := pathName(e.X); b != "" {
			return b + "_" + e.Name
		}
	case *Index:
		b := pathName(e.X)
		if b == "" {
			return ""
		}
		if l, ok := e.I.(*Lit); ok {
			switch v := l.Val.(type) {
			case string:
				return b + "_" + v
			case int64:
				return b + "_" + strconv.FormatInt(v, 10)
			}
		}
	case *Call:
		if (e.Name == "bin" || e.Name == "bin_at" || e.Name == "floor") && len(e.Args) >= 1 {
			return pathName(e.Args[0])
		}
	}
	return ""
}

// sort adds a hidden order column computed by a window over the keys.
// With limit ≥ 0 (top), only the first limit rows are kept: an ORDER BY …
// LIMIT, which DuckDB runs as a top-n heap, rather than numbering every row.
func (c *compiler) sort(in *relation, keys []SortKey, limit int64) (*relation, error) {
	var parts []string
	for _, k := range keys {
		sqlx, t, err := c.expr(k.Expr, in)
		if err != nil {
			return nil, err
		}
		if t == TDynamic {
			// JSON has no useful order in DuckDB; sort by its text.
			sqlx = fmt.Sprintf("CAST(%s AS VARCHAR)", sqlx)
		}
		dir, nulls := "ASC", "NULLS LAST"
		if k.Desc {
			dir = "DESC"
		}
		if k.NullsFirst {
			nulls = "NULLS FIRST"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", sqlx, dir, nulls))
	}
	c.nOrd++
	ord := fmt.Sprintf("__kql_ord%d", c.nOrd)
	cols := in.cols
	from := in.name
	if limit >= 0 {
		from = fmt.Sprintf("(SELECT * FROM %s ORDER BY %s LIMIT %d)", in.name, strings.Join(parts, ", "), limit)
	}
	return c.add(fmt.Sprintf("SELECT %s, row_number() OVER (ORDER BY %s) AS %s FROM %s", colList(cols), strings.Join(parts, ", "), quoteIdent(ord), from), cols, []string{ord}).withRaw(in.raw), nil
}

// mvExpand turns each element of a dynamic array into a row. An empty array
// gives no row; a missing or null value gives one row holding null; a
// property bag gives one row per property, each a bag {key: value}; any
// other value gives one row holding it. After a sort, the element index
// becomes a further hidden order column so elements keep their order.
func (c *compiler) mvExpand(in *relation, op *MvExpandOp) (*relation, error) {
	// Several columns expand in lockstep (DuckDB unnests lists of one SELECT
	// together), the shorter padded with null, as KQL zips them.
	type target struct {
		name, elems string
	}
	var targets []target
	// The values to expand are computed once, in hidden columns of two
	// first steps. The elements of a non-empty array come from one
	// json_extract with [*], straight from the document (a JSON null element
	// is made SQL null after the unnest, as a cast to JSON[] gives; no other
	// way of expanding yields JSON null). Only the rows where that
	// finds nothing (an empty array, a missing value, null, a bag, a scalar)
	// compute the value itself, in a CASE branch, which DuckDB evaluates
	// only for the rows that take it; the value's own JSON is then small.
	pre := keep(in)
	pre2 := keep(in)
	for _, a := range op.Items {
		name := a.Name
		if name == "" {
			id, ok := a.Expr.(*Ident)
			if !ok {
				return nil, c.errf(a.Expr.exprPos(), "mv-expand needs a column or Name = expression")
			}
			name = id.Name
		}
		for _, t := range targets {
			if t.name == name {
				return nil, c.errf(a.Pos, "column %q is expanded twice", name)
			}
		}
		x, t, err := c.expr(a.Expr, in)
		if err != nil {
			return nil, err
		}
		if t != TDynamic {
			return nil, c.errf(a.Expr.exprPos(), "mv-expand needs a dynamic value, found %s", t)
		}
		c.nOrd++
		h := quoteIdent(fmt.Sprintf("__kql_mv%d", c.nOrd))
		v := quoteIdent(fmt.Sprintf("__kql_mv%d_value", c.nOrd))
		root, path := x, "$"
		if p, ok := c.paths[x]; ok {
			root, path = p.root, p.path
		} else if text, ok := c.raws[x]; ok {
			root = text
		}
		pre = append(pre, fmt.Sprintf("json_extract(%s, %s) AS %s", root, quoteStr(path+"[*]"), h))
		// x reads input columns, which the first step passes on.
		pre2 = append(pre2, h, fmt.Sprintf("(CASE WHEN len(%s) > 0 THEN NULL ELSE %s END) AS %s", h, x, v))
		elems := fmt.Sprintf("(CASE WHEN len(%[1]s) > 0 THEN %[1]s %[2]s END)", h, otherElems(v))
		if op.Limit >= 0 {
			elems = fmt.Sprintf("list_slice(%s, 1, %d)", elems, op.Limit)
		}
		targets = append(targets, target{name, elems})
	}
	src := c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(pre, ", "), in.name), in.cols, in.ord).withRaw(in.raw)
	src = c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(pre2, ", "), src.name), in.cols, in.ord).withRaw(in.raw)
	var cols []Column
	var sel []string
	done := map[string]bool{}
	raw := map[string]bool{}
	for _, col := range in.cols {
		replaced := false
		for _, t := range targets {
			if t.name == col.Name {
				cols = append(cols, Column{Name: t.name, Type: TDynamic})
				sel = append(sel, "unnest("+t.elems+") AS "+quoteIdent(t.name))
				done[t.name] = true
				replaced = true
			}
		}
		if !replaced {
			cols = append(cols, col)
			sel = append(sel, quoteIdent(col.Name))
			if in.raw[col.Name] {
				raw[col.Name] = true
			}
		}
	}
	var lens []string
	for _, t := range targets {
		if !done[t.name] {
			cols = append(cols, Column{Name: t.name, Type: TDynamic})
			sel = append(sel, "unnest("+t.elems+") AS "+quoteIdent(t.name))
		}
		lens = append(lens, "len("+t.elems+")")
	}
	sel = append(sel, quoteAll(in.ord)...)
	ord := in.ord
	if len(ord) > 0 {
		c.nOrd++
		o := fmt.Sprintf("__kql_ord%d", c.nOrd)
		n := lens[0]
		if len(lens) > 1 {
			n = "greatest(" + strings.Join(lens, ", ") + ")"
		}
		sel = append(sel, fmt.Sprintf("unnest(range(1, %s + 1)) AS %s", n, quoteIdent(o)))
		ord = append(append([]string(nil), ord...), o)
	}
	rel := c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), src.name), cols, ord).withRaw(raw)
	var fix []string
	for _, col := range cols {
		q := quoteIdent(col.Name)
		for _, t := range targets {
			if t.name == col.Name {
				q = fmt.Sprintf("(CASE WHEN CAST(%[1]s AS VARCHAR) = 'null' THEN NULL ELSE %[1]s END) AS %[1]s", q)
			}
		}
		fix = append(fix, q)
	}
	fix = append(fix, quoteAll(ord)...)
	rel = c.add(fmt.Sprintf("SELECT %s FROM %s", strings.Join(fix, ", "), rel.name), cols, ord).withRaw(raw)
	var convs []Assign
	for i, tt := range op.ToTypes {
		if tt == "" || typeNames[tt] == TDynamic {
			continue
		}
		conv := map[Type]string{TString: "tostring", TLong: "tolong", TInt: "toint", TReal: "toreal", TBool: "tobool", TDatetime: "todatetime"}[typeNames[tt]]
		if conv == "" {
			return nil, c.errf(op.Pos, "unsupported: mv-expand to typeof(%s)", tt)
		}
		name := targets[i].name
		convs = append(convs, Assign{Name: name, Pos: op.Pos, Expr: &Call{Pos: op.Pos, Name: conv, Args: []Expr{&Ident{Pos: op.Pos, Name: name}}}})
	}
	if len(convs) == 0 {
		return rel, nil
	}
	return c.project(rel, convs, true)
}

// otherElems is the rest of a CASE giving the elements mv-expand takes
// from the dynamic value v when it is not a non-empty array: none from an
// empty array, one null from a missing value or null, a {key: value} bag
// per property of a bag, and the value itself otherwise.
func otherElems(v string) string {
	return fmt.Sprintf("WHEN %[1]s IS NULL OR json_type(%[1]s) = 'NULL' THEN [NULL::JSON] WHEN json_type(%[1]s) = 'ARRAY' THEN []::JSON[] "+
		"WHEN json_type(%[1]s) = 'OBJECT' THEN list_transform(map_entries(CAST(%[1]s AS MAP(VARCHAR, JSON))), lambda e: json_object(e.key, e.value)) ELSE [%[1]s]", v)
}

// union stacks tables by column name; a column missing on one side is null
// there (empty for strings). kind=inner keeps only the columns every input
// has; withsource adds a first column naming each row's input: the table or
// let name for a bare name, union_argN (N counting inputs from 0, the piped
// input first) for anything else. isfuzzy=true leaves out inputs whose
// source names no table, let or "as" result.
func (c *compiler) union(first *relation, tabs []*Pipeline, prm UnionParams, pos int) (*relation, error) {
	var rels []*relation
	var srcNames []string
	if first != nil {
		rels = append(rels, &relation{name: first.name, cols: first.cols})
		srcNames = append(srcNames, "union_arg0")
	}
	for _, t := range tabs {
		arg := fmt.Sprintf("union_arg%d", len(srcNames))
		if ref, ok := t.Source.(*TableRef); ok {
			if prm.Fuzzy && !c.tableExists(ref.Name) {
				continue
			}
			if len(t.Ops) == 0 {
				arg = ref.Name
			}
		}
		r, err := c.pipeline(t)
		if err != nil {
			return nil, err
		}
		rels = append(rels, c.cook(r))
		srcNames = append(srcNames, arg)
	}
	if len(rels) == 0 {
		return nil, c.errf(pos, "union: none of its tables exists")
	}
	var cols []Column
	for _, r := range rels {
		for _, col := range r.cols {
			found := false
			for _, have := range cols {
				if have.Name == col.Name {
					found = true
					if have.Type != col.Type {
						return nil, c.errf(pos, "unsupported: union of column %q with types %s and %s", col.Name, have.Type, col.Type)
					}
				}
			}
			if !found {
				cols = append(cols, col)
			}
		}
	}
	if prm.Inner {
		var common []Column
		for _, col := range cols {
			all := true
			for _, r := range rels {
				if _, ok := r.col(col.Name); !ok {
					all = false
				}
			}
			if all {
				common = append(common, col)
			}
		}
		cols = common
		if len(cols) == 0 && prm.WithSource == "" {
			return nil, c.errf(pos, "union kind=inner: the tables have no column in common")
		}
	}
	if prm.WithSource != "" {
		for _, col := range cols {
			if col.Name == prm.WithSource {
				return nil, c.errf(pos, "union withsource=%s: a column of that name exists already", prm.WithSource)
			}
		}
		cols = append([]Column{{Name: prm.WithSource, Type: TString}}, cols...)
	}
	var parts []string
	for i, r := range rels {
		var sel []string
		for _, col := range cols {
			if prm.WithSource != "" && col.Name == prm.WithSource {
				sel = append(sel, quoteStr(srcNames[i])+" AS "+quoteIdent(col.Name))
			} else if _, ok := r.col(col.Name); ok {
				sel = append(sel, quoteIdent(col.Name))
			} else if col.Type == TString {
				sel = append(sel, "'' AS "+quoteIdent(col.Name))
			} else {
				sel = append(sel, fmt.Sprintf("CAST(NULL AS %s) AS %s", col.Type.sqlType(), quoteIdent(col.Name)))
			}
		}
		parts = append(parts, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), r.name))
	}
	return c.add(strings.Join(parts, " UNION ALL "), cols, nil), nil
}

// tableExists tells whether a name resolves to a let, an "as" result or a
// catalogue table.
func (c *compiler) tableExists(name string) bool {
	if _, ok := c.lets[name]; ok {
		return true
	}
	if _, ok := c.names[name]; ok {
		return true
	}
	_, ok := c.cat.Lookup(name)
	return ok
}

// join (and lookup, which is a leftouter or inner join that does not repeat
// the right side's key columns): innerunique (KQL's default) keeps one left row per key before an
// inner join; inner, leftouter, rightouter and fullouter are SQL's joins;
// the anti and semi kinds keep one side's columns. A right-hand column
// whose name is taken on the left gets "1" appended (RecordId1). On the
// side an outer join can miss, strings are "" rather than null.
func (c *compiler) join(in *relation, op *JoinOp) (*relation, error) {
	right, err := c.pipeline(op.Right)
	if err != nil {
		return nil, err
	}
	right = c.cook(right)
	left := in
	var conds, lkeys []string
	for _, k := range op.Keys {
		lc, ok := left.col(k.Left)
		if !ok {
			return nil, c.errf(k.Pos, "unknown column %q on the left side of the join", k.Left)
		}
		rc, ok := right.col(k.Right)
		if !ok {
			return nil, c.errf(k.Pos, "unknown column %q on the right side of the join", k.Right)
		}
		if lc.Type != rc.Type && !(lc.Type.numeric() && rc.Type.numeric()) {
			return nil, c.errf(k.Pos, "join keys %s (%s) and %s (%s) differ in type", k.Left, lc.Type, k.Right, rc.Type)
		}
		l, r := "l."+quoteIdent(k.Left), "r."+quoteIdent(k.Right)
		if lc.Type == TDynamic {
			l, r = "CAST("+l+" AS VARCHAR)", "CAST("+r+" AS VARCHAR)"
		}
		conds = append(conds, fmt.Sprintf("%s = %s", l, r))
		lkeys = append(lkeys, quoteIdent(k.Left))
	}
	on := strings.Join(conds, " AND ")
	if op.Kind == "innerunique" {
		left = c.add(fmt.Sprintf("SELECT %[1]s FROM (SELECT %[1]s, row_number() OVER (PARTITION BY %[2]s) AS \"__kql_rn\" FROM %[3]s) WHERE \"__kql_rn\" = 1",
			colList(in.cols), strings.Join(lkeys, ", "), in.name), in.cols, nil)
	}
	switch op.Kind {
	case "leftanti", "leftsemi", "rightanti", "rightsemi":
		keepSide, other, alias, word := left, right, "l", "SEMI"
		if strings.HasPrefix(op.Kind, "right") {
			keepSide, other, alias = right, left, "r"
		}
		if strings.HasSuffix(op.Kind, "anti") {
			word = "ANTI"
		}
		otherAlias := map[string]string{"l": "r", "r": "l"}[alias]
		var sel []string
		for _, col := range keepSide.cols {
			sel = append(sel, alias+"."+quoteIdent(col.Name))
		}
		return c.add(fmt.Sprintf("SELECT %s FROM %s AS %s %s JOIN %s AS %s ON %s", strings.Join(sel, ", "), keepSide.name, alias, word, other.name, otherAlias, on), keepSide.cols, nil), nil
	}
	sqlJoin := map[string]string{"innerunique": "JOIN", "inner": "JOIN", "leftouter": "LEFT JOIN", "rightouter": "RIGHT JOIN", "fullouter": "FULL JOIN"}[op.Kind]
	leftMissable := op.Kind == "rightouter" || op.Kind == "fullouter"
	rightMissable := op.Kind == "leftouter" || op.Kind == "fullouter"
	var cols []Column
	var sel []string
	taken := map[string]bool{}
	pick := func(alias string, col Column, name string, missable bool) {
		v := alias + "." + quoteIdent(col.Name)
		if missable && col.Type == TString {
			v = "coalesce(" + v + ", '')"
		}
		sel = append(sel, v+" AS "+quoteIdent(name))
		cols = append(cols, Column{Name: name, Type: col.Type})
		taken[name] = true
	}
	for _, col := range left.cols {
		pick("l", col, col.Name, leftMissable)
	}
	rightKeys := map[string]bool{}
	if op.Lookup {
		for _, k := range op.Keys {
			rightKeys[k.Right] = true
		}
	}
	for _, col := range right.cols {
		if rightKeys[col.Name] {
			continue
		}
		name := col.Name
		for n := 1; taken[name]; n++ {
			name = fmt.Sprintf("%s%d", col.Name, n)
		}
		pick("r", col, name, rightMissable)
	}
	return c.add(fmt.Sprintf("SELECT %s FROM %s AS l %s %s AS r ON %s", strings.Join(sel, ", "), left.name, sqlJoin, right.name, on), cols, nil), nil
}
