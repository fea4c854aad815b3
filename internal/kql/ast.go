package kql

// Query is a parsed KQL query: let statements then one tabular expression.
type Query struct {
	Lets []*Let
	Body *Pipeline
}

// Let binds a name to a scalar expression or a tabular pipeline. Which one
// it is is decided when the name is resolved (a bare table name parses as an Ident).
type Let struct {
	Name string
	Pos  int
	Expr Expr      // scalar, or an Ident naming a table
	Pipe *Pipeline // set when the value has operators

	// Materialize marks "let x = materialize(pipeline)": computed once.
	Materialize bool
	// Func marks "let f = (params) { [let …;] body }"; the body's last
	// statement is Expr or Pipe and its lets are Body.
	Func   bool
	Params []Param
	Body   []*Let
}

// Param is a function parameter "name:type [= default]".
type Param struct {
	Name    string
	Pos     int
	Type    Type
	Default Expr // nil when the argument is required
}

// Pipeline is a source followed by "| operator" steps.
type Pipeline struct {
	Source Source
	Ops    []Op
}

// Source is where rows come from.
type Source interface{ srcPos() int }

// TableRef names a table or a tabular let.
type TableRef struct {
	Name string
	Pos  int
}

// UnionSrc is a leading "union A, B".
type UnionSrc struct {
	Tables []*Pipeline
	Pos    int
	Params UnionParams
}

// CallSrc is "f(args)" as a source: table("name") or a tabular function.
// Calls are expanded before compilation (letfunc.go).
type CallSrc struct {
	Name string
	Pos  int
	Args []Expr
}

// SubSrc is a pipeline used as a source (an expanded function body).
type SubSrc struct {
	Pos  int
	Pipe *Pipeline
}

// UnionParams are union's kind=, withsource= and isfuzzy=.
type UnionParams struct {
	Inner      bool   // kind=inner: only the columns every input has
	WithSource string // name of the column telling which input a row came from
	Fuzzy      bool   // isfuzzy=true: inputs naming no table are left out
}

// PrintSrc is "print a = 1, …": one row of scalars.
type PrintSrc struct {
	Pos   int
	Items []Assign
}

func (s *PrintSrc) srcPos() int { return s.Pos }
func (s *TableRef) srcPos() int { return s.Pos }
func (s *UnionSrc) srcPos() int { return s.Pos }
func (s *CallSrc) srcPos() int  { return s.Pos }
func (s *SubSrc) srcPos() int   { return s.Pos }

// Op is one pipeline operator.
type Op interface{ opPos() int }

// Assign is "Name = Expr" or a bare Expr (Name empty).
type Assign struct {
	Name string
	Pos  int
	Expr Expr
}

// SortKey is one "expr [asc|desc] [nulls first|last]".
type SortKey struct {
	Expr       Expr
	Desc       bool
	NullsFirst bool
}

type (
	WhereOp struct {
		Pos  int
		Pred Expr
	}
	ProjectOp struct {
		Pos   int
		Items []Assign
	}
	ExtendOp struct {
		Pos   int
		Items []Assign
	}
	ProjectAwayOp struct {
		Pos   int
		Names []Ident
	}
	ProjectRenameOp struct {
		Pos   int
		Pairs []Assign // Name = Ident
	}
	ProjectReorderOp struct {
		Pos   int
		Names []Ident
	}
	SummarizeOp struct {
		Pos  int
		Aggs []Assign
		By   []Assign
	}
	CountOp struct{ Pos int }
	TakeOp  struct {
		Pos int
		N   Expr
	}
	TopOp struct {
		Pos int
		N   Expr
		By  []SortKey
	}
	SortOp struct {
		Pos  int
		Keys []SortKey
	}
	DistinctOp struct {
		Pos   int
		Items []Assign // empty means *
	}
	MvExpandOp struct {
		Pos     int
		Items   []Assign // expanded together, zipped
		ToTypes []string // per item; "" when no "to typeof(…)"
		Limit   int64    // rows per input row; -1 when no limit
	}
	UnionOp struct {
		Pos    int
		Tables []*Pipeline
		Params UnionParams
	}
	// AsOp is "as Name": later references to Name read this result.
	AsOp struct {
		Pos  int
		Name string
	}
	// ParseOp is "parse [kind=simple|regex] X with parts".
	ParseOp struct {
		Pos   int
		Regex bool
		Flags string // kind=regex flags=…
		X     Expr
		Parts []ParsePart
	}
	// MvApplyOp is "mv-apply Name = X [to typeof(T)] on (sub-pipeline)".
	MvApplyOp struct {
		Pos    int
		Items  []Assign
		ToType []string
		Sub    *Pipeline // Source is nil: rows come from the expanded values
	}
	RenderOp struct {
		Pos  int
		Kind string
	}
	JoinOp struct {
		Pos    int
		Kind   string // innerunique when not given (leftouter for lookup)
		Lookup bool   // lookup: the right side's key columns are not repeated
		Right  *Pipeline
		Keys   []JoinKey
	}
)

// JoinKey is "col" (Left == Right) or "$left.a == $right.b".
type JoinKey struct {
	Pos         int
	Left, Right string
}

func (o *WhereOp) opPos() int          { return o.Pos }
func (o *ProjectOp) opPos() int        { return o.Pos }
func (o *ExtendOp) opPos() int         { return o.Pos }
func (o *ProjectAwayOp) opPos() int    { return o.Pos }
func (o *ProjectRenameOp) opPos() int  { return o.Pos }
func (o *ProjectReorderOp) opPos() int { return o.Pos }
func (o *SummarizeOp) opPos() int      { return o.Pos }
func (o *CountOp) opPos() int          { return o.Pos }
func (o *TakeOp) opPos() int           { return o.Pos }
func (o *TopOp) opPos() int            { return o.Pos }
func (o *SortOp) opPos() int           { return o.Pos }
func (o *DistinctOp) opPos() int       { return o.Pos }
func (o *MvExpandOp) opPos() int       { return o.Pos }
func (o *UnionOp) opPos() int          { return o.Pos }
func (o *RenderOp) opPos() int         { return o.Pos }
func (o *JoinOp) opPos() int           { return o.Pos }
func (o *AsOp) opPos() int             { return o.Pos }
func (o *ParseOp) opPos() int          { return o.Pos }
func (o *MvApplyOp) opPos() int        { return o.Pos }

// ParsePart is one element of a parse pattern: a string constant (Lit), a
// column to extract (Name, Type) or "*" (Star).
type ParsePart struct {
	Pos  int
	Lit  string
	Name string
	Type Type
	Star bool
}

// Expr is a scalar expression.
type Expr interface{ exprPos() int }

type (
	// Lit is a literal; Val is string, int64, float64, bool, time.Time,
	// time.Duration, or nil (null).
	Lit struct {
		Pos  int
		Type Type
		Val  any
	}
	// DynLit is dynamic(…) holding JSON text; Val is the decoded value.
	DynLit struct {
		Pos  int
		JSON string
		Val  any
	}
	Ident struct {
		Pos  int
		Name string
	}
	Member struct {
		Pos  int
		X    Expr
		Name string
	}
	Index struct {
		Pos int
		X   Expr
		I   Expr
	}
	Call struct {
		Pos  int
		Name string
		Args []Expr
	}
	Binary struct {
		Pos  int
		Op   string
		L, R Expr
	}
	Unary struct {
		Pos int
		Op  string
		X   Expr
	}
	// InExpr is "X in (…)" and its !in, in~, !in~, has_any, has_all forms.
	InExpr struct {
		Pos  int
		Op   string
		X    Expr
		List []Expr
	}
	Between struct {
		Pos       int
		Not       bool
		X, Lo, Hi Expr
	}
	Star struct{ Pos int }
)

func (e *Lit) exprPos() int     { return e.Pos }
func (e *DynLit) exprPos() int  { return e.Pos }
func (e *Ident) exprPos() int   { return e.Pos }
func (e *Member) exprPos() int  { return e.Pos }
func (e *Index) exprPos() int   { return e.Pos }
func (e *Call) exprPos() int    { return e.Pos }
func (e *Binary) exprPos() int  { return e.Pos }
func (e *Unary) exprPos() int   { return e.Pos }
func (e *InExpr) exprPos() int  { return e.Pos }
func (e *Between) exprPos() int { return e.Pos }
func (e *Star) exprPos() int    { return e.Pos }
