package kql

import "fmt"

// Functions defined by let are inlined before compilation: every call is
// replaced by the function's body with the parameters replaced by the
// argument expressions, so the emitter never sees a user function. This
// also turns table("name") into a table reference.

// maxExpansion bounds nested function calls; KQL refuses recursion.
// maxInlined bounds the expression nodes copied in for parameters, since a
// parameter used several times in nested calls multiplies the query's size.
const (
	maxExpansion = 64
	maxInlined   = 100000
)

type expander struct {
	c       *compiler
	funcs   map[string]*Let // functions defined so far
	calls   []string        // functions being expanded, to refuse recursion
	inlined int             // expression nodes substituted for parameters so far
}

// scope holds what names mean inside one function body (or at top level,
// where both maps are empty): parameters and local scalar lets bind to
// expressions, local tabular lets to pipelines.
type scope struct {
	vals map[string]Expr
	tabs map[string]*Pipeline
}

// expandQuery inlines function calls in the lets and the body of q. Function
// lets are removed from the result; a let holding a call to a tabular
// function becomes a tabular let.
func (c *compiler) expandQuery(q *Query) (*Query, error) {
	x := &expander{c: c, funcs: map[string]*Let{}}
	top := &scope{}
	out := &Query{}
	// Lets are visible from their definition on, as in KQL.
	c.lets = map[string]*Let{}
	for _, l := range q.Lets {
		if l.Func {
			x.funcs[l.Name] = l
			delete(c.lets, l.Name)
			continue
		}
		// A later non-function let hides a function of the same name.
		delete(x.funcs, l.Name)
		nl, err := x.let(l, top)
		if err != nil {
			return nil, err
		}
		c.lets[l.Name] = nl
		out.Lets = append(out.Lets, nl)
	}
	body, err := x.pipeline(q.Body, top)
	if err != nil {
		return nil, err
	}
	out.Body = body
	return out, nil
}

// let rewrites the value of a (non-function) let in scope s.
func (x *expander) let(l *Let, s *scope) (*Let, error) {
	nl := *l
	if l.Pipe != nil {
		pl, err := x.pipeline(l.Pipe, s)
		if err != nil {
			return nil, err
		}
		nl.Pipe = pl
		return &nl, nil
	}
	if pl, ok, err := x.tabularExpr(l.Expr, s); err != nil {
		return nil, err
	} else if ok {
		nl.Expr, nl.Pipe = nil, pl
		return &nl, nil
	}
	e, err := x.expr(l.Expr, s)
	if err != nil {
		return nil, err
	}
	nl.Expr = e
	return &nl, nil
}

// tabularExpr turns a let value that is a call to a tabular function or to
// table() into a pipeline; ok is false for anything else.
func (x *expander) tabularExpr(e Expr, s *scope) (*Pipeline, bool, error) {
	switch e := e.(type) {
	case *Call:
		if f, isFunc := x.funcs[e.Name]; (isFunc && x.isTabular(f)) || e.Name == "table" {
			src, err := x.source(&CallSrc{Name: e.Name, Pos: e.Pos, Args: e.Args}, s)
			if err != nil {
				return nil, false, err
			}
			return &Pipeline{Source: src}, true, nil
		}
	case *Ident:
		if _, bound := s.vals[e.Name]; bound {
			return nil, false, nil
		}
		if pl, ok := s.tabs[e.Name]; ok {
			return &Pipeline{Source: &SubSrc{Pos: e.Pos, Pipe: pl}}, true, nil
		}
		if f, ok := x.funcs[e.Name]; ok && x.isTabular(f) {
			src, err := x.source(&TableRef{Name: e.Name, Pos: e.Pos}, s)
			if err != nil {
				return nil, false, err
			}
			return &Pipeline{Source: src}, true, nil
		}
	}
	return nil, false, nil
}

// isTabular tells whether a function's body is a table.
func (x *expander) isTabular(f *Let) bool {
	if f.Pipe != nil {
		return true
	}
	switch e := f.Expr.(type) {
	case *Call:
		if e.Name == "table" {
			return true
		}
		if g, ok := x.funcs[e.Name]; ok && g != f {
			return x.isTabular(g)
		}
	case *Ident:
		for _, b := range f.Body {
			if b.Name == e.Name {
				return b.Pipe != nil || x.isTabularLocal(b, f)
			}
		}
		for _, p := range f.Params {
			if p.Name == e.Name {
				return false
			}
		}
		if _, ok := x.c.cat.Lookup(e.Name); ok {
			return true
		}
		if l, ok := x.c.lets[e.Name]; ok {
			return l.Pipe != nil || x.isTableName(l.Expr)
		}
		if g, ok := x.funcs[e.Name]; ok && g != f {
			return x.isTabular(g)
		}
	}
	return false
}

func (x *expander) isTabularLocal(b *Let, f *Let) bool {
	if c, ok := b.Expr.(*Call); ok {
		if c.Name == "table" {
			return true
		}
		if g, ok := x.funcs[c.Name]; ok && g != f {
			return x.isTabular(g)
		}
	}
	return x.isTableName(b.Expr)
}

// isTableName tells whether e is a bare name of a catalogue table or of a
// tabular global let.
func (x *expander) isTableName(e Expr) bool {
	for i := 0; i < 100; i++ {
		id, ok := e.(*Ident)
		if !ok {
			return false
		}
		if _, ok := x.c.cat.Lookup(id.Name); ok {
			return true
		}
		l, ok := x.c.lets[id.Name]
		if !ok {
			return false
		}
		if l.Pipe != nil {
			return true
		}
		e = l.Expr
	}
	return false
}

// call expands function f called with args (already rewritten in the
// caller's scope). It returns the body as an expression (scalar functions)
// or a pipeline (tabular functions).
func (x *expander) call(f *Let, args []Expr, pos int) (Expr, *Pipeline, error) {
	for _, n := range x.calls {
		if n == f.Name {
			return nil, nil, x.c.errf(pos, "function %s calls itself", f.Name)
		}
	}
	if len(x.calls) >= maxExpansion {
		return nil, nil, x.c.errf(pos, "functions nested too deeply")
	}
	if len(args) > len(f.Params) {
		return nil, nil, x.c.errf(pos, "function %s takes %d arguments, found %d", f.Name, len(f.Params), len(args))
	}
	s := &scope{vals: map[string]Expr{}, tabs: map[string]*Pipeline{}}
	for i, prm := range f.Params {
		var a Expr
		switch {
		case i < len(args):
			a = args[i]
		case prm.Default != nil:
			// Defaults are evaluated where the function is defined: globals only.
			d, err := x.expr(prm.Default, &scope{})
			if err != nil {
				return nil, nil, err
			}
			a = d
		default:
			return nil, nil, x.c.errf(pos, "function %s needs argument %s", f.Name, prm.Name)
		}
		if err := x.checkArg(f, prm, a); err != nil {
			return nil, nil, err
		}
		s.vals[prm.Name] = a
	}
	x.calls = append(x.calls, f.Name)
	defer func() { x.calls = x.calls[:len(x.calls)-1] }()
	for _, b := range f.Body {
		nb, err := x.let(b, s)
		if err != nil {
			return nil, nil, err
		}
		// A local let hides a parameter or an earlier local of the same name.
		delete(s.vals, b.Name)
		delete(s.tabs, b.Name)
		if nb.Pipe != nil {
			s.tabs[b.Name] = nb.Pipe
		} else if x.isTableName(nb.Expr) {
			s.tabs[b.Name] = &Pipeline{Source: &TableRef{Name: nb.Expr.(*Ident).Name, Pos: nb.Pos}}
		} else {
			s.vals[b.Name] = nb.Expr
		}
	}
	last := &Let{Name: f.Name, Pos: f.Pos, Expr: f.Expr, Pipe: f.Pipe}
	nl, err := x.let(last, s)
	if err != nil {
		return nil, nil, err
	}
	if nl.Pipe != nil {
		return nil, nl.Pipe, nil
	}
	if x.isTableName(nl.Expr) {
		id := nl.Expr.(*Ident)
		return nil, &Pipeline{Source: &TableRef{Name: id.Name, Pos: id.Pos}}, nil
	}
	return nl.Expr, nil, nil
}

// checkArg refuses a literal argument whose type cannot be the parameter's.
func (x *expander) checkArg(f *Let, prm Param, a Expr) error {
	lit, ok := a.(*Lit)
	if !ok || lit.Val == nil || prm.Type == TDynamic {
		return nil
	}
	t := lit.Type
	if t == prm.Type || t.numeric() && prm.Type.numeric() {
		return nil
	}
	return x.c.errf(a.exprPos(), "argument %s of %s must be %s, found %s", prm.Name, f.Name, prm.Type, t)
}

// source rewrites a pipeline source.
func (x *expander) source(src Source, s *scope) (Source, error) {
	switch src := src.(type) {
	case *TableRef:
		if e, ok := s.vals[src.Name]; ok {
			if id, ok := e.(*Ident); ok {
				return x.source(&TableRef{Name: id.Name, Pos: src.Pos}, &scope{})
			}
			return nil, x.c.errf(src.Pos, "%s is a scalar, not a table", src.Name)
		}
		if pl, ok := s.tabs[src.Name]; ok {
			return &SubSrc{Pos: src.Pos, Pipe: pl}, nil
		}
		if _, ok := x.funcs[src.Name]; ok {
			// A function without parameters may be named without parentheses.
			return x.source(&CallSrc{Name: src.Name, Pos: src.Pos}, s)
		}
		return src, nil
	case *CallSrc:
		var args []Expr
		for _, a := range src.Args {
			na, err := x.expr(a, s)
			if err != nil {
				return nil, err
			}
			args = append(args, na)
		}
		if src.Name == "table" {
			if len(args) != 1 {
				return nil, x.c.errf(src.Pos, "table() takes one argument, the table's name")
			}
			name, ok := x.constString(args[0])
			if !ok {
				return nil, x.c.errf(args[0].exprPos(), "table() needs a constant string")
			}
			if _, isFunc := x.funcs[name]; isFunc {
				return nil, x.c.errf(args[0].exprPos(), "table() names a function (%s), not a table", name)
			}
			return &TableRef{Name: name, Pos: src.Pos}, nil
		}
		f, ok := x.funcs[src.Name]
		if !ok {
			return nil, x.c.errf(src.Pos, "unknown tabular function %s()", src.Name)
		}
		_, pl, err := x.call(f, args, src.Pos)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			return nil, x.c.errf(src.Pos, "function %s returns a scalar, not a table", src.Name)
		}
		return &SubSrc{Pos: src.Pos, Pipe: pl}, nil
	case *UnionSrc:
		tabs, err := x.pipelines(src.Tables, s)
		if err != nil {
			return nil, err
		}
		return &UnionSrc{Tables: tabs, Pos: src.Pos, Params: src.Params}, nil
	case *PrintSrc:
		items, err := x.assigns(src.Items, s)
		if err != nil {
			return nil, err
		}
		return &PrintSrc{Pos: src.Pos, Items: items}, nil
	case *SubSrc:
		pl, err := x.pipeline(src.Pipe, s)
		if err != nil {
			return nil, err
		}
		return &SubSrc{Pos: src.Pos, Pipe: pl}, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown source %T", src)
}

// constString reads a constant string: a literal or a chain of scalar lets
// ending in one.
func (x *expander) constString(e Expr) (string, bool) {
	e = x.c.resolveLet(e)
	if l, ok := e.(*Lit); ok {
		if s, ok := l.Val.(string); ok {
			return s, true
		}
	}
	return "", false
}

func (x *expander) pipelines(pls []*Pipeline, s *scope) ([]*Pipeline, error) {
	var out []*Pipeline
	for _, pl := range pls {
		n, err := x.pipeline(pl, s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// pipeline rewrites every source, expression and nested pipeline of pl.
func (x *expander) pipeline(pl *Pipeline, s *scope) (*Pipeline, error) {
	src, err := x.source(pl.Source, s)
	if err != nil {
		return nil, err
	}
	out := &Pipeline{Source: src}
	for _, op := range pl.Ops {
		nop, err := x.op(op, s)
		if err != nil {
			return nil, err
		}
		out.Ops = append(out.Ops, nop)
	}
	return out, nil
}

func (x *expander) assigns(items []Assign, s *scope) ([]Assign, error) {
	out := make([]Assign, len(items))
	for i, a := range items {
		e, err := x.expr(a.Expr, s)
		if err != nil {
			return nil, err
		}
		out[i] = Assign{Name: a.Name, Pos: a.Pos, Expr: e}
	}
	return out, nil
}

func (x *expander) sortKeys(keys []SortKey, s *scope) ([]SortKey, error) {
	out := make([]SortKey, len(keys))
	for i, k := range keys {
		e, err := x.expr(k.Expr, s)
		if err != nil {
			return nil, err
		}
		out[i] = SortKey{Expr: e, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	return out, nil
}

func (x *expander) op(op Op, s *scope) (Op, error) {
	var err error
	switch o := op.(type) {
	case *WhereOp:
		n := *o
		n.Pred, err = x.expr(o.Pred, s)
		return &n, err
	case *ProjectOp:
		n := *o
		n.Items, err = x.assigns(o.Items, s)
		return &n, err
	case *ExtendOp:
		n := *o
		n.Items, err = x.assigns(o.Items, s)
		return &n, err
	case *SummarizeOp:
		n := *o
		if n.Aggs, err = x.assigns(o.Aggs, s); err != nil {
			return nil, err
		}
		n.By, err = x.assigns(o.By, s)
		return &n, err
	case *TakeOp:
		n := *o
		n.N, err = x.expr(o.N, s)
		return &n, err
	case *TopOp:
		n := *o
		if n.N, err = x.expr(o.N, s); err != nil {
			return nil, err
		}
		n.By, err = x.sortKeys(o.By, s)
		return &n, err
	case *SortOp:
		n := *o
		n.Keys, err = x.sortKeys(o.Keys, s)
		return &n, err
	case *DistinctOp:
		n := *o
		n.Items, err = x.assigns(o.Items, s)
		return &n, err
	case *MvExpandOp:
		n := *o
		n.Items, err = x.assigns(o.Items, s)
		return &n, err
	case *UnionOp:
		n := *o
		n.Tables, err = x.pipelines(o.Tables, s)
		return &n, err
	case *JoinOp:
		n := *o
		n.Right, err = x.pipeline(o.Right, s)
		return &n, err
	case *ParseOp:
		n := *o
		n.X, err = x.expr(o.X, s)
		return &n, err
	case *MvApplyOp:
		n := *o
		if n.Items, err = x.assigns(o.Items, s); err != nil {
			return nil, err
		}
		n.Sub, err = x.pipeline(o.Sub, s)
		return &n, err
	}
	// The rest hold names only (project-away, project-rename, …).
	return op, nil
}

// expr rewrites an expression: parameters become their arguments and calls
// to functions become their bodies.
func (x *expander) expr(e Expr, s *scope) (Expr, error) {
	switch e := e.(type) {
	case nil:
		return nil, nil
	case *Ident:
		if v, ok := s.vals[e.Name]; ok {
			x.inlined += exprSize(v, maxInlined-x.inlined+1)
			if x.inlined > maxInlined {
				return nil, x.c.errf(e.Pos, "functions expand to too large a query")
			}
			return v, nil
		}
		if f, ok := x.funcs[e.Name]; ok {
			return nil, x.c.errf(e.Pos, "%s is a function: call it as %s(…)", f.Name, f.Name)
		}
		return e, nil
	case *Member:
		n := *e
		var err error
		n.X, err = x.expr(e.X, s)
		return &n, err
	case *Index:
		n := *e
		var err error
		if n.X, err = x.expr(e.X, s); err != nil {
			return nil, err
		}
		n.I, err = x.expr(e.I, s)
		return &n, err
	case *Call:
		var args []Expr
		for _, a := range e.Args {
			na, err := x.expr(a, s)
			if err != nil {
				return nil, err
			}
			args = append(args, na)
		}
		f, ok := x.funcs[e.Name]
		if !ok {
			return &Call{Pos: e.Pos, Name: e.Name, Args: args}, nil
		}
		v, pl, err := x.call(f, args, e.Pos)
		if err != nil {
			return nil, err
		}
		if pl != nil {
			return nil, x.c.errf(e.Pos, "function %s returns a table, not a scalar", e.Name)
		}
		return v, nil
	case *Binary:
		n := *e
		var err error
		if n.L, err = x.expr(e.L, s); err != nil {
			return nil, err
		}
		n.R, err = x.expr(e.R, s)
		return &n, err
	case *Unary:
		n := *e
		var err error
		n.X, err = x.expr(e.X, s)
		return &n, err
	case *InExpr:
		n := *e
		var err error
		if n.X, err = x.expr(e.X, s); err != nil {
			return nil, err
		}
		n.List = nil
		for _, a := range e.List {
			na, err := x.expr(a, s)
			if err != nil {
				return nil, err
			}
			n.List = append(n.List, na)
		}
		return &n, nil
	case *Between:
		n := *e
		var err error
		if n.X, err = x.expr(e.X, s); err != nil {
			return nil, err
		}
		if n.Lo, err = x.expr(e.Lo, s); err != nil {
			return nil, err
		}
		n.Hi, err = x.expr(e.Hi, s)
		return &n, err
	}
	// Literals and *.
	return e, nil
}

// exprSize counts the nodes of e, stopping once past limit.
func exprSize(e Expr, limit int) int {
	n := 0
	var walk func(e Expr)
	walk = func(e Expr) {
		if e == nil || n > limit {
			return
		}
		n++
		switch e := e.(type) {
		case *Member:
			walk(e.X)
		case *Index:
			walk(e.X)
			walk(e.I)
		case *Call:
			for _, a := range e.Args {
				walk(a)
			}
		case *Binary:
			walk(e.L)
			walk(e.R)
		case *Unary:
			walk(e.X)
		case *InExpr:
			walk(e.X)
			for _, a := range e.List {
				walk(a)
			}
		case *Between:
			walk(e.X)
			walk(e.Lo)
			walk(e.Hi)
		}
	}
	walk(e)
	return n
}
