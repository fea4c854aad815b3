package kql

import (
	"encoding/json"
	"strings"
)

// Parse parses a KQL query into its syntax tree.
func Parse(src string) (*Query, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	return p.query()
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int             // expression nesting, bounded so hostile input cannot exhaust the stack
	funcs map[string]bool // let functions so far: a call to one named like a type is no literal
}

const maxDepth = 200

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) isPunct(s string) bool { t := p.peek(); return t.kind == tPunct && t.text == s }
func (p *parser) isWord(s string) bool  { t := p.peek(); return t.kind == tIdent && t.text == s }

func (p *parser) errf(pos int, format string, args ...any) error {
	return errAt(p.src, pos, format, args...)
}

func (p *parser) expectPunct(s string) (token, error) {
	t := p.peek()
	if t.kind != tPunct || t.text != s {
		return t, p.errf(t.pos, "expected %q, found %s", s, describe(t))
	}
	return p.next(), nil
}

func (p *parser) expectWord(s string) error {
	t := p.peek()
	if t.kind != tIdent || t.text != s {
		return p.errf(t.pos, "expected %q, found %s", s, describe(t))
	}
	p.next()
	return nil
}

// bracketName reports whether a bracketed name, ['name'] or ["name"], starts
// at the next token (KQL's way to write any column name).
func (p *parser) bracketName() (string, bool) {
	t, s, e := p.peek(), p.peekAt(1), p.peekAt(2)
	if t.kind == tPunct && t.text == "[" && s.kind == tString && e.kind == tPunct && e.text == "]" {
		return s.text, true
	}
	return "", false
}

func (p *parser) ident() (token, error) {
	t := p.peek()
	if name, ok := p.bracketName(); ok {
		p.next()
		p.next()
		e := p.next()
		return token{kind: tIdent, text: name, pos: t.pos, end: e.end}, nil
	}
	if t.kind != tIdent || strings.HasPrefix(t.text, "!") {
		return t, p.errf(t.pos, "expected a name, found %s", describe(t))
	}
	return p.next(), nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "a string"
	case tLong, tReal, tTimespan, tDatetime:
		return t.text
	}
	return "\"" + t.text + "\""
}

func (p *parser) query() (*Query, error) {
	q := &Query{}
	for {
		for p.isPunct(";") {
			p.next()
		}
		if p.peek().kind == tEOF {
			break
		}
		if p.isWord("let") {
			l, err := p.let()
			if err != nil {
				return nil, err
			}
			q.Lets = append(q.Lets, l)
			continue
		}
		if q.Body != nil {
			return nil, p.errf(p.peek().pos, "only one tabular statement is supported; found a second one")
		}
		body, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		q.Body = body
		if t := p.peek(); t.kind != tEOF && !(t.kind == tPunct && t.text == ";") {
			return nil, p.errf(t.pos, "expected \"|\" or end of query, found %s", describe(t))
		}
	}
	if q.Body == nil {
		return nil, p.errf(len(p.src), "the query has no tabular statement")
	}
	return q, nil
}

func (p *parser) let() (*Let, error) {
	p.next() // let
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectPunct("="); err != nil {
		return nil, err
	}
	l := &Let{Name: name.text, Pos: name.pos}
	if p.isPunct("(") && p.looksLikeFunction() {
		if err := p.function(l); err != nil {
			return nil, err
		}
	} else if err := p.letValue(l); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF && !(t.kind == tPunct && t.text == ";") {
		return nil, p.errf(t.pos, "expected \";\" after let, found %s", describe(t))
	}
	return l, nil
}

// letValue reads the value of a let (or the last statement of a function
// body): a pipeline, materialize(pipeline), or an expression, which may
// turn out to name a table.
func (p *parser) letValue(l *Let) error {
	if p.isWord("view") || p.isWord("datatable") {
		t := p.peek()
		return p.errf(t.pos, "unsupported: %s", t.text)
	}
	if p.isWord("materialize") && p.peekAt(1).kind == tPunct && p.peekAt(1).text == "(" {
		p.next()
		p.next()
		pl, err := p.pipeline()
		if err != nil {
			return err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return err
		}
		l.Pipe, l.Materialize = pl, true
		return nil
	}
	if p.isWord("union") {
		pl, err := p.pipeline()
		if err != nil {
			return err
		}
		l.Pipe = pl
		return nil
	}
	start := p.peek()
	e, err := p.expr()
	if err != nil {
		return err
	}
	if !p.isPunct("|") {
		l.Expr = e
		return nil
	}
	pl := &Pipeline{}
	switch e := e.(type) {
	case *Ident:
		pl.Source = &TableRef{Name: e.Name, Pos: e.Pos}
	case *Call:
		pl.Source = &CallSrc{Name: e.Name, Pos: e.Pos, Args: e.Args}
	default:
		return p.errf(start.pos, "a pipeline must start with a table name")
	}
	if err := p.ops(pl); err != nil {
		return err
	}
	l.Pipe = pl
	return nil
}

// function reads "(name:type [= default], …) { [let …;]* value }".
func (p *parser) function(l *Let) error {
	l.Func = true
	if p.funcs == nil {
		p.funcs = map[string]bool{}
	}
	p.funcs[l.Name] = true
	p.next() // (
	seen := map[string]bool{}
	for !p.isPunct(")") {
		n, err := p.ident()
		if err != nil {
			return err
		}
		if _, err := p.expectPunct(":"); err != nil {
			return err
		}
		if p.isPunct("(") {
			return p.errf(p.peek().pos, "unsupported: tabular function parameters")
		}
		tt, err := p.ident()
		if err != nil {
			return err
		}
		typ, ok := typeNames[tt.text]
		if !ok {
			return p.errf(tt.pos, "unknown type %q", tt.text)
		}
		if seen[n.text] {
			return p.errf(n.pos, "parameter %s is declared twice", n.text)
		}
		seen[n.text] = true
		prm := Param{Name: n.text, Pos: n.pos, Type: typ}
		if p.isPunct("=") {
			p.next()
			if prm.Default, err = p.expr(); err != nil {
				return err
			}
		} else if len(l.Params) > 0 && l.Params[len(l.Params)-1].Default != nil {
			return p.errf(n.pos, "parameter %s without a default follows one with a default", n.text)
		}
		l.Params = append(l.Params, prm)
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return err
	}
	if _, err := p.expectPunct("{"); err != nil {
		return err
	}
	for {
		for p.isPunct(";") {
			p.next()
		}
		if p.isPunct("}") {
			return p.errf(p.peek().pos, "the body of function %s has no value", l.Name)
		}
		if p.isWord("let") {
			p.next()
			name, err := p.ident()
			if err != nil {
				return err
			}
			if _, err := p.expectPunct("="); err != nil {
				return err
			}
			inner := &Let{Name: name.text, Pos: name.pos}
			if p.isPunct("(") && p.looksLikeFunction() {
				return p.errf(name.pos, "unsupported: a function defined inside a function (%s)", name.text)
			}
			if err := p.letValue(inner); err != nil {
				return err
			}
			if _, err := p.expectPunct(";"); err != nil {
				return err
			}
			l.Body = append(l.Body, inner)
			continue
		}
		if err := p.letValue(l); err != nil {
			return err
		}
		for p.isPunct(";") {
			p.next()
		}
		_, err := p.expectPunct("}")
		return err
	}
}

// looksLikeFunction tells "(a:string) {…}" from a parenthesised expression.
func (p *parser) looksLikeFunction() bool {
	a, b := p.peekAt(1), p.peekAt(2)
	if a.kind == tPunct && a.text == ")" {
		return true
	}
	return a.kind == tIdent && b.kind == tPunct && b.text == ":"
}

func (p *parser) pipeline() (*Pipeline, error) {
	t := p.peek()
	pl := &Pipeline{}
	switch {
	case t.kind == tIdent && t.text == "union":
		p.next()
		tabs, err := p.unionTables()
		if err != nil {
			return nil, err
		}
		pl.Source = &UnionSrc{Tables: tabs.tables, Params: tabs.params, Pos: t.pos}
	case t.kind == tIdent && t.text == "print":
		p.next()
		items, err := p.assigns(false)
		if err != nil {
			return nil, err
		}
		pl.Source = &PrintSrc{Pos: t.pos, Items: items}
	case t.kind == tIdent && !strings.HasPrefix(t.text, "!"):
		if nt := p.peekAt(1); nt.kind == tPunct && nt.text == "(" {
			if unsupportedSources[t.text] {
				return nil, p.errf(t.pos, "unsupported tabular source %s(…)", t.text)
			}
			src, err := p.callSrc()
			if err != nil {
				return nil, err
			}
			pl.Source = src
			break
		}
		if unsupportedSources[t.text] {
			return nil, p.errf(t.pos, "unsupported tabular source %q", t.text)
		}
		p.next()
		pl.Source = &TableRef{Name: t.text, Pos: t.pos}
	case t.kind == tPunct && t.text == "(":
		return nil, p.errf(t.pos, "unsupported: a parenthesised tabular expression as a source")
	default:
		return nil, p.errf(t.pos, "expected a table name, found %s", describe(t))
	}
	return pl, p.ops(pl)
}

var unsupportedSources = map[string]bool{"datatable": true, "range": true, "search": true, "find": true, "externaldata": true, "evaluate": true, "materialize": true}

// callSrc reads "name(args)" used as a tabular source.
func (p *parser) callSrc() (*CallSrc, error) {
	t := p.next()
	list, err := p.parenList()
	if err != nil {
		return nil, err
	}
	return &CallSrc{Name: t.text, Pos: t.pos, Args: list}, nil
}

// hintName reads nothing but tells whether the next tokens are
// "hint.name", returning "hint.name".
func (p *parser) hintName() (string, bool) {
	t, d, n := p.peek(), p.peekAt(1), p.peekAt(2)
	if t.kind == tIdent && t.text == "hint" && d.kind == tPunct && d.text == "." && n.kind == tIdent {
		return "hint." + n.text, true
	}
	return "", false
}

type unionArgs struct {
	tables []*Pipeline
	params UnionParams
}

func (p *parser) unionTables() (unionArgs, error) {
	var u unionArgs
	for {
		t, n := p.peek(), p.peekAt(1)
		if t.kind != tIdent || n.kind != tPunct || n.text != "=" {
			break
		}
		switch t.text {
		case "kind", "withsource", "isfuzzy":
		default:
			return u, p.errf(t.pos, "unsupported: union parameter %s", t.text)
		}
		p.next()
		p.next()
		v, err := p.ident()
		if err != nil {
			return u, err
		}
		switch {
		case t.text == "kind" && (v.text == "inner" || v.text == "outer"):
			u.params.Inner = v.text == "inner"
		case t.text == "isfuzzy" && (v.text == "true" || v.text == "false"):
			u.params.Fuzzy = v.text == "true"
		case t.text == "withsource":
			u.params.WithSource = v.text
		default:
			return u, p.errf(v.pos, "bad value %q for union parameter %s", v.text, t.text)
		}
	}
	if name, ok := p.hintName(); ok {
		return u, p.errf(p.peek().pos, "unsupported: union parameter %s", name)
	}
	for {
		if p.isPunct("(") {
			p.next()
			pl, err := p.pipeline()
			if err != nil {
				return u, err
			}
			if _, err := p.expectPunct(")"); err != nil {
				return u, err
			}
			u.tables = append(u.tables, pl)
		} else {
			t, err := p.ident()
			if err != nil {
				return u, err
			}
			if p.isPunct("*") && p.peek().pos == t.end {
				return u, p.errf(t.pos, "unsupported: table wildcards")
			}
			if nt := p.peek(); nt.kind == tPunct && nt.text == "(" {
				p.i--
				src, err := p.callSrc()
				if err != nil {
					return u, err
				}
				u.tables = append(u.tables, &Pipeline{Source: src})
			} else {
				u.tables = append(u.tables, &Pipeline{Source: &TableRef{Name: t.text, Pos: t.pos}})
			}
		}
		if !p.isPunct(",") {
			return u, nil
		}
		p.next()
	}
}

// opName reads an operator name, joining hyphenated names such as mv-expand.
func (p *parser) opName() (token, error) {
	t, err := p.ident()
	if err != nil {
		return t, err
	}
	for {
		d, n := p.peek(), p.peekAt(1)
		if d.kind == tPunct && d.text == "-" && d.pos == t.end && n.kind == tIdent && n.pos == d.end {
			p.next()
			p.next()
			t.text += "-" + n.text
			t.end = n.end
			continue
		}
		return t, nil
	}
}

func (p *parser) ops(pl *Pipeline) error {
	for p.isPunct("|") {
		p.next()
		op, err := p.op()
		if err != nil {
			return err
		}
		pl.Ops = append(pl.Ops, op)
	}
	return nil
}

func (p *parser) op() (Op, error) {
	name, err := p.opName()
	if err != nil {
		return nil, err
	}
	pos := name.pos
	switch name.text {
	case "where", "filter":
		e, err := p.expr()
		return &WhereOp{Pos: pos, Pred: e}, err
	case "project":
		items, err := p.assigns(false)
		return &ProjectOp{Pos: pos, Items: items}, err
	case "extend":
		items, err := p.assigns(false)
		return &ExtendOp{Pos: pos, Items: items}, err
	case "project-away":
		names, err := p.names()
		return &ProjectAwayOp{Pos: pos, Names: names}, err
	case "project-reorder":
		names, err := p.names()
		return &ProjectReorderOp{Pos: pos, Names: names}, err
	case "project-rename":
		items, err := p.assigns(false)
		if err != nil {
			return nil, err
		}
		for _, a := range items {
			if _, ok := a.Expr.(*Ident); !ok || a.Name == "" {
				return nil, p.errf(a.Expr.exprPos(), "project-rename needs NewName = ExistingName")
			}
		}
		return &ProjectRenameOp{Pos: pos, Pairs: items}, nil
	case "summarize":
		if t := p.peek(); t.kind == tIdent && strings.HasPrefix(t.text, "hint") {
			return nil, p.errf(t.pos, "unsupported: summarize hints")
		}
		op := &SummarizeOp{Pos: pos}
		if !p.isWord("by") {
			if op.Aggs, err = p.assigns(true); err != nil {
				return nil, err
			}
		}
		if p.isWord("by") {
			p.next()
			if op.By, err = p.assigns(false); err != nil {
				return nil, err
			}
		}
		if len(op.Aggs) == 0 && len(op.By) == 0 {
			return nil, p.errf(pos, "summarize needs an aggregate or a by clause")
		}
		return op, nil
	case "count":
		return &CountOp{Pos: pos}, nil
	case "take", "limit":
		e, err := p.expr()
		return &TakeOp{Pos: pos, N: e}, err
	case "top":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		return &TopOp{Pos: pos, N: n, By: keys}, err
	case "sort", "order":
		if err := p.expectWord("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		return &SortOp{Pos: pos, Keys: keys}, err
	case "distinct":
		if p.isPunct("*") {
			p.next()
			return &DistinctOp{Pos: pos}, nil
		}
		items, err := p.assigns(false)
		return &DistinctOp{Pos: pos, Items: items}, err
	case "mv-expand", "mvexpand":
		if t := p.peek(); t.kind == tIdent && (t.text == "bagexpansion" || t.text == "with_itemindex" || t.text == "kind") {
			return nil, p.errf(t.pos, "unsupported: mv-expand parameter %s", t.text)
		}
		op := &MvExpandOp{Pos: pos, Limit: -1}
		var err error
		if op.Items, op.ToTypes, err = p.expandItems(); err != nil {
			return nil, err
		}
		if p.isWord("limit") {
			p.next()
			t := p.next()
			if t.kind != tLong {
				return nil, p.errf(t.pos, "mv-expand limit needs a whole number")
			}
			op.Limit = t.i
		}
		return op, nil
	case "union":
		u, err := p.unionTables()
		return &UnionOp{Pos: pos, Tables: u.tables, Params: u.params}, err
	case "as":
		if name, ok := p.hintName(); ok {
			return nil, p.errf(p.peek().pos, "unsupported: as parameter %s", name)
		}
		if t, n := p.peek(), p.peekAt(1); t.kind == tIdent && n.kind == tPunct && n.text == "=" {
			return nil, p.errf(t.pos, "unsupported: as parameter %s", t.text)
		}
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		return &AsOp{Pos: pos, Name: n.text}, nil
	case "parse":
		return p.parseOp(pos)
	case "mv-apply", "mvapply":
		return p.mvApply(pos)
	case "join":
		return p.join(pos, false)
	case "lookup":
		return p.join(pos, true)
	case "render":
		k, err := p.ident()
		if err != nil {
			return nil, err
		}
		// "with (…)" properties are dashboard styling: skipped, balanced.
		if p.isWord("with") {
			p.next()
			if _, err := p.expectPunct("("); err != nil {
				return nil, err
			}
			depth := 1
			for depth > 0 {
				t := p.next()
				switch {
				case t.kind == tEOF:
					return nil, p.errf(t.pos, "render with ( not closed")
				case t.kind == tPunct && t.text == "(":
					depth++
				case t.kind == tPunct && t.text == ")":
					depth--
				}
			}
		}
		return &RenderOp{Pos: pos, Kind: k.text}, nil
	}
	return nil, p.errf(pos, "unsupported operator %q", name.text)
}

func (p *parser) names() ([]Ident, error) {
	var out []Ident
	for {
		t, err := p.ident()
		if err != nil {
			return nil, err
		}
		if p.isPunct("*") {
			return nil, p.errf(t.pos, "unsupported: column wildcards")
		}
		out = append(out, Ident{Pos: t.pos, Name: t.text})
		if !p.isPunct(",") {
			return out, nil
		}
		p.next()
	}
}

// assigns reads "[Name =] expr, …" up to "by" (in summarize) or the next operator.
func (p *parser) assigns(stopAtBy bool, one ...bool) ([]Assign, error) {
	var out []Assign
	for {
		t, n := p.peek(), p.peekAt(1)
		a := Assign{Pos: t.pos}
		if t.kind == tPunct && t.text == "(" {
			return nil, p.errf(t.pos, "unsupported: tuple assignment")
		}
		if t.kind == tIdent && !strings.HasPrefix(t.text, "!") && n.kind == tPunct && n.text == "=" {
			a.Name = t.text
			p.next()
			p.next()
		} else if name, ok := p.bracketName(); ok && p.peekAt(3).kind == tPunct && p.peekAt(3).text == "=" {
			a.Name = name
			for range 4 {
				p.next()
			}
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		a.Expr = e
		out = append(out, a)
		if len(one) > 0 && one[0] || !p.isPunct(",") {
			return out, nil
		}
		p.next()
		if stopAtBy && p.isWord("by") {
			return out, nil
		}
	}
}

func (p *parser) sortKeys() ([]SortKey, error) {
	var keys []SortKey
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := SortKey{Expr: e, Desc: true}
		if p.isWord("asc") {
			p.next()
			k.Desc = false
		} else if p.isWord("desc") {
			p.next()
		}
		// KQL sorts nulls as the smallest value: first ascending, last descending.
		k.NullsFirst = !k.Desc
		if p.isWord("nulls") {
			p.next()
			switch {
			case p.isWord("first"):
				k.NullsFirst = true
			case p.isWord("last"):
				k.NullsFirst = false
			default:
				t := p.peek()
				return nil, p.errf(t.pos, "expected first or last after nulls, found %s", describe(t))
			}
			p.next()
		}
		keys = append(keys, k)
		if !p.isPunct(",") {
			return keys, nil
		}
		p.next()
	}
}

// Expressions, loosest binding first: or, and, comparisons, + -, * / %, unary, postfix.

func (p *parser) expr() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf(p.peek().pos, "expression nested too deeply")
	}
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		t := p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.cmp()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		t := p.next()
		r, err := p.cmp()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: "and", L: l, R: r}
	}
	return l, nil
}

var cmpPuncts = map[string]bool{"==": true, "!=": true, "=~": true, "!~": true, "<": true, "<=": true, ">": true, ">=": true, "<>": true}

// stringOps are the word operators we compile; knownStringOps are KQL's
// others, refused by name rather than read as column names.
var stringOps = map[string]bool{
	"has": true, "!has": true, "has_cs": true, "!has_cs": true,
	"contains": true, "!contains": true, "contains_cs": true, "!contains_cs": true,
	"startswith": true, "!startswith": true, "startswith_cs": true, "!startswith_cs": true,
	"endswith": true, "!endswith": true, "endswith_cs": true, "!endswith_cs": true,
	"hasprefix": true, "!hasprefix": true, "hassuffix": true, "!hassuffix": true,
}
var listOps = map[string]bool{"in": true, "!in": true, "in~": true, "!in~": true, "has_any": true, "has_all": true}
var knownStringOps = map[string]bool{"hasprefix_cs": true, "!hasprefix_cs": true, "hassuffix_cs": true, "!hassuffix_cs": true, "has_any_cs": true}

func (p *parser) cmp() (Expr, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tPunct && cmpPuncts[t.text]:
			p.next()
			r, err := p.add()
			if err != nil {
				return nil, err
			}
			op := t.text
			if op == "<>" {
				op = "!="
			}
			l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
		case t.kind == tIdent && stringOps[t.text]:
			p.next()
			r, err := p.add()
			if err != nil {
				return nil, err
			}
			l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
		case t.kind == tIdent && listOps[t.text]:
			p.next()
			list, err := p.parenList()
			if err != nil {
				return nil, err
			}
			l = &InExpr{Pos: t.pos, Op: t.text, X: l, List: list}
		case t.kind == tIdent && t.text == "matches":
			p.next()
			if err := p.expectWord("regex"); err != nil {
				return nil, err
			}
			r, err := p.add()
			if err != nil {
				return nil, err
			}
			l = &Binary{Pos: t.pos, Op: "matches regex", L: l, R: r}
		case t.kind == tIdent && (t.text == "between" || t.text == "!between"):
			p.next()
			if _, err := p.expectPunct("("); err != nil {
				return nil, err
			}
			lo, err := p.add()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct(".."); err != nil {
				return nil, err
			}
			hi, err := p.add()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			l = &Between{Pos: t.pos, Not: t.text == "!between", X: l, Lo: lo, Hi: hi}
		case t.kind == tIdent && (knownStringOps[t.text] || strings.HasPrefix(t.text, "!")):
			return nil, p.errf(t.pos, "unsupported operator %q", t.text)
		default:
			return l, nil
		}
	}
}

func (p *parser) parenList() ([]Expr, error) {
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var list []Expr
	for !p.isPunct(")") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return list, nil
}

func (p *parser) add() (Expr, error) {
	l, err := p.mul()
	if err != nil {
		return nil, err
	}
	for p.isPunct("+") || p.isPunct("-") {
		t := p.next()
		r, err := p.mul()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) mul() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isPunct("*") || p.isPunct("/") || p.isPunct("%") {
		t := p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	if p.isPunct("-") || p.isPunct("+") {
		t := p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, p.errf(t.pos, "expression nested too deeply")
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		// Fold the sign into numeric literals so -1 stays a constant.
		if lit, ok := x.(*Lit); ok && t.text == "-" {
			switch v := lit.Val.(type) {
			case int64:
				return &Lit{Pos: t.pos, Type: lit.Type, Val: -v}, nil
			case float64:
				return &Lit{Pos: t.pos, Type: lit.Type, Val: -v}, nil
			}
		}
		if t.text == "+" {
			return x, nil
		}
		return &Unary{Pos: t.pos, Op: "-", X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isPunct("."):
			d := p.next()
			t := p.peek()
			if t.kind != tIdent || strings.HasPrefix(t.text, "!") {
				return nil, p.errf(t.pos, "expected a property name after \".\", found %s", describe(t))
			}
			p.next()
			x = &Member{Pos: d.pos, X: x, Name: t.text}
		case p.isPunct("["):
			b := p.next()
			i, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			x = &Index{Pos: b.pos, X: x, I: i}
		default:
			return x, nil
		}
	}
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return &Lit{Pos: t.pos, Type: TString, Val: t.text}, nil
	case tLong:
		p.next()
		return &Lit{Pos: t.pos, Type: TLong, Val: t.i}, nil
	case tReal:
		p.next()
		return &Lit{Pos: t.pos, Type: TReal, Val: t.f}, nil
	case tTimespan:
		p.next()
		return &Lit{Pos: t.pos, Type: TTimespan, Val: t.dur}, nil
	case tDatetime:
		p.next()
		if t.text == "null" {
			return &Lit{Pos: t.pos, Type: TDatetime, Val: nil}, nil
		}
		v, ok := parseDatetime(t.text)
		if !ok {
			return nil, p.errf(t.pos, "bad datetime literal %q", t.text)
		}
		return &Lit{Pos: t.pos, Type: TDatetime, Val: v}, nil
	case tPunct:
		if t.text == "(" {
			p.next()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			_, err = p.expectPunct(")")
			return e, err
		}
		if t.text == "*" {
			p.next()
			return &Star{Pos: t.pos}, nil
		}
		if name, ok := p.bracketName(); ok {
			p.next()
			p.next()
			p.next()
			return &Ident{Pos: t.pos, Name: name}, nil
		}
	case tIdent:
		if strings.HasPrefix(t.text, "!") {
			break
		}
		p.next()
		switch t.text {
		case "true":
			return &Lit{Pos: t.pos, Type: TBool, Val: true}, nil
		case "false":
			return &Lit{Pos: t.pos, Type: TBool, Val: false}, nil
		case "null":
			return &Lit{Pos: t.pos, Type: TNull, Val: nil}, nil
		}
		if !p.isPunct("(") {
			return &Ident{Pos: t.pos, Name: t.text}, nil
		}
		if t.text == "dynamic" {
			return p.dynamic(t.pos)
		}
		if typ, ok := typeNames[t.text]; ok && typ != TDynamic && !p.funcs[t.text] {
			return p.typedLiteral(t, typ)
		}
		p.next() // (
		c := &Call{Pos: t.pos, Name: t.text}
		for !p.isPunct(")") {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, e)
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, p.errf(t.pos, "expected an expression, found %s", describe(t))
}

// typedLiteral reads bool(…), long(…), real(…), int(…), string(…), timespan(…).
func (p *parser) typedLiteral(name token, typ Type) (Expr, error) {
	p.next() // (
	t := p.next()
	var lit *Lit
	switch {
	case t.kind == tIdent && t.text == "null":
		lit = &Lit{Pos: name.pos, Type: typ, Val: nil}
	case typ == TBool && t.kind == tIdent && (t.text == "true" || t.text == "false"):
		lit = &Lit{Pos: name.pos, Type: typ, Val: t.text == "true"}
	case (typ == TLong || typ == TInt) && t.kind == tLong:
		lit = &Lit{Pos: name.pos, Type: typ, Val: t.i}
	case typ == TReal && (t.kind == tReal || t.kind == tLong):
		lit = &Lit{Pos: name.pos, Type: typ, Val: t.f + float64(t.i)}
	case typ == TString && t.kind == tString:
		lit = &Lit{Pos: name.pos, Type: typ, Val: t.text}
	case typ == TTimespan && t.kind == tTimespan:
		lit = &Lit{Pos: name.pos, Type: typ, Val: t.dur}
	default:
		return nil, p.errf(t.pos, "bad %s literal", name.text)
	}
	_, err := p.expectPunct(")")
	return lit, err
}

// dynamic reads dynamic(…) holding a JSON-like value.
func (p *parser) dynamic(pos int) (Expr, error) {
	p.next() // (
	v, err := p.dynValue()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, p.errf(pos, "bad dynamic literal: %v", err)
	}
	return &DynLit{Pos: pos, JSON: string(b), Val: v}, nil
}

func (p *parser) dynValue() (any, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf(p.peek().pos, "dynamic literal nested too deeply")
	}
	t := p.next()
	switch t.kind {
	case tString:
		return t.text, nil
	case tLong:
		return t.i, nil
	case tReal:
		return t.f, nil
	case tIdent:
		switch t.text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
	case tPunct:
		switch t.text {
		case "-":
			n := p.next()
			if n.kind == tLong {
				return -n.i, nil
			}
			if n.kind == tReal {
				return -n.f, nil
			}
		case "[":
			arr := []any{}
			for !p.isPunct("]") {
				v, err := p.dynValue()
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
				if !p.isPunct(",") {
					break
				}
				p.next()
			}
			_, err := p.expectPunct("]")
			return arr, err
		case "{":
			obj := map[string]any{}
			for !p.isPunct("}") {
				k := p.next()
				if k.kind != tString && k.kind != tIdent {
					return nil, p.errf(k.pos, "expected a property name in dynamic literal, found %s", describe(k))
				}
				if _, err := p.expectPunct(":"); err != nil {
					return nil, err
				}
				v, err := p.dynValue()
				if err != nil {
					return nil, err
				}
				obj[k.text] = v
				if !p.isPunct(",") {
					break
				}
				p.next()
			}
			_, err := p.expectPunct("}")
			return obj, err
		}
	}
	return nil, p.errf(t.pos, "unsupported value in dynamic literal: %s", describe(t))
}

var joinKinds = map[string]bool{"innerunique": true, "inner": true, "leftouter": true, "rightouter": true, "fullouter": true,
	"leftanti": true, "rightanti": true, "leftsemi": true, "rightsemi": true, "leftantisemi": true, "rightantisemi": true}

// join reads "join [kind=K] (pipeline) on keys" or "join [kind=K] Table on keys".
func (p *parser) join(pos int, lookup bool) (Op, error) {
	op := &JoinOp{Pos: pos, Kind: "innerunique", Lookup: lookup}
	if lookup {
		op.Kind = "leftouter"
	}
	for p.peek().kind == tIdent && !p.isWord("on") {
		t := p.peek()
		if t.text != "kind" {
			if n := p.peekAt(1); n.kind == tPunct && (n.text == "=" || n.text == ".") {
				return nil, p.errf(t.pos, "unsupported: join parameter %s", t.text)
			}
			break
		}
		p.next()
		if _, err := p.expectPunct("="); err != nil {
			return nil, err
		}
		k, err := p.ident()
		if err != nil {
			return nil, err
		}
		if !joinKinds[k.text] || (lookup && k.text != "leftouter" && k.text != "inner") {
			return nil, p.errf(k.pos, "unsupported join kind %q", k.text)
		}
		op.Kind = strings.Replace(k.text, "antisemi", "anti", 1)
	}
	if p.isPunct("(") {
		p.next()
		right, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		op.Right = right
	} else if t, n := p.peek(), p.peekAt(1); t.kind == tIdent && n.kind == tPunct && n.text == "(" {
		src, err := p.callSrc()
		if err != nil {
			return nil, err
		}
		op.Right = &Pipeline{Source: src}
	} else {
		t, err := p.ident()
		if err != nil {
			return nil, err
		}
		op.Right = &Pipeline{Source: &TableRef{Name: t.text, Pos: t.pos}}
	}
	if err := p.expectWord("on"); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		k := JoinKey{Pos: t.pos}
		if p.isPunct("$") {
			a, err := p.sideCol()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct("=="); err != nil {
				return nil, err
			}
			b, err := p.sideCol()
			if err != nil {
				return nil, err
			}
			if a[0] == b[0] {
				return nil, p.errf(t.pos, "a join condition compares $left with $right")
			}
			if a[0] == "right" {
				a, b = b, a
			}
			k.Left, k.Right = a[1], b[1]
		} else {
			id, err := p.ident()
			if err != nil {
				return nil, err
			}
			if p.isPunct("==") {
				return nil, p.errf(p.peek().pos, "unsupported: join condition without $left and $right")
			}
			k.Left, k.Right = id.text, id.text
		}
		op.Keys = append(op.Keys, k)
		if !p.isPunct(",") {
			return op, nil
		}
		p.next()
	}
}

// sideCol reads "$left.name" or "$right.name".
func (p *parser) sideCol() ([2]string, error) {
	if _, err := p.expectPunct("$"); err != nil {
		return [2]string{}, err
	}
	side, err := p.ident()
	if err != nil {
		return [2]string{}, err
	}
	if side.text != "left" && side.text != "right" {
		return [2]string{}, p.errf(side.pos, "expected $left or $right")
	}
	if _, err := p.expectPunct("."); err != nil {
		return [2]string{}, err
	}
	col, err := p.ident()
	if err != nil {
		return [2]string{}, err
	}
	return [2]string{side.text, col.text}, nil
}

// parseOp reads "parse [kind=simple|regex [flags=F]] X with parts".
func (p *parser) parseOp(pos int) (Op, error) {
	op := &ParseOp{Pos: pos}
	if t, n := p.peek(), p.peekAt(1); t.kind == tIdent && t.text == "kind" && n.kind == tPunct && n.text == "=" {
		p.next()
		p.next()
		k, err := p.ident()
		if err != nil {
			return nil, err
		}
		switch k.text {
		case "simple":
		case "regex":
			op.Regex = true
		default:
			return nil, p.errf(k.pos, "unsupported: parse kind=%s", k.text)
		}
		if t, n := p.peek(), p.peekAt(1); op.Regex && t.kind == tIdent && t.text == "flags" && n.kind == tPunct && n.text == "=" {
			p.next()
			p.next()
			f, err := p.ident()
			if err != nil {
				return nil, err
			}
			for _, r := range f.text {
				if !strings.ContainsRune("Umsi", r) {
					return nil, p.errf(f.pos, "unsupported regex flag %q", string(r))
				}
			}
			op.Flags = f.text
		}
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	op.X = x
	if err := p.expectWord("with"); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tString:
			p.next()
			op.Parts = append(op.Parts, ParsePart{Pos: t.pos, Lit: t.text})
		case t.kind == tPunct && t.text == "*":
			p.next()
			op.Parts = append(op.Parts, ParsePart{Pos: t.pos, Star: true})
		case t.kind == tPunct && t.text == ",":
			p.next()
		case t.kind == tIdent && !strings.HasPrefix(t.text, "!"):
			p.next()
			part := ParsePart{Pos: t.pos, Name: t.text, Type: TString}
			if p.isPunct(":") {
				p.next()
				tt, err := p.ident()
				if err != nil {
					return nil, err
				}
				typ, ok := typeNames[tt.text]
				if !ok {
					return nil, p.errf(tt.pos, "unknown type %q", tt.text)
				}
				part.Type = typ
			}
			op.Parts = append(op.Parts, part)
		default:
			if len(op.Parts) == 0 {
				return nil, p.errf(t.pos, "parse needs a pattern after with, found %s", describe(t))
			}
			return op, nil
		}
	}
}

// expandItems reads the "Name = X [to typeof(T)], …" list shared by
// mv-expand and mv-apply; a missing type is "".
func (p *parser) expandItems() ([]Assign, []string, error) {
	var items []Assign
	var types []string
	for {
		as, err := p.assigns(false, true)
		if err != nil {
			return nil, nil, err
		}
		toType := ""
		if p.isWord("to") {
			p.next()
			if err := p.expectWord("typeof"); err != nil {
				return nil, nil, err
			}
			if _, err := p.expectPunct("("); err != nil {
				return nil, nil, err
			}
			t, err := p.ident()
			if err != nil {
				return nil, nil, err
			}
			if _, ok := typeNames[t.text]; !ok {
				return nil, nil, p.errf(t.pos, "unknown type %q", t.text)
			}
			toType = t.text
			if _, err := p.expectPunct(")"); err != nil {
				return nil, nil, err
			}
		}
		items = append(items, as[0])
		types = append(types, toType)
		if !p.isPunct(",") {
			return items, types, nil
		}
		p.next()
	}
}

// mvApply reads "mv-apply Name = X [to typeof(T)], … on (operators)".
func (p *parser) mvApply(pos int) (Op, error) {
	if t := p.peek(); t.kind == tIdent && (t.text == "with_itemindex" || t.text == "limit" || t.text == "kind") {
		return nil, p.errf(t.pos, "unsupported: mv-apply parameter %s", t.text)
	}
	op := &MvApplyOp{Pos: pos}
	var err error
	if op.Items, op.ToType, err = p.expandItems(); err != nil {
		return nil, err
	}
	if p.isWord("limit") {
		return nil, p.errf(p.peek().pos, "unsupported: mv-apply parameter limit")
	}
	if err := p.expectWord("on"); err != nil {
		return nil, err
	}
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	op.Sub = &Pipeline{}
	for {
		o, err := p.op()
		if err != nil {
			return nil, err
		}
		op.Sub.Ops = append(op.Sub.Ops, o)
		if !p.isPunct("|") {
			break
		}
		p.next()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return op, nil
}
