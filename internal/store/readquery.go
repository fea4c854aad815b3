package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// ErrNotAQuery is returned for user SQL that is not one SELECT statement.
var ErrNotAQuery = errors.New("only one SELECT statement is allowed")

// Query runs one user-written SELECT statement. Anything else (several
// statements, USE, ATTACH, SET, COPY, writes) is refused before it runs:
// DuckDB's driver executes all but the last of several statements while
// preparing them, so they are counted first.
func (s *Store) Query(ctx context.Context, query string) (*sql.Rows, error) {
	if n := countStatements(query); n != 1 {
		return nil, fmt.Errorf("%w (found %d)", ErrNotAQuery, n)
	}
	err := s.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := pc.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("unexpected driver statement %T", st)
		}
		t, err := ds.StatementType()
		if err != nil {
			return err
		}
		if t != duckdb.STATEMENT_TYPE_SELECT {
			return ErrNotAQuery
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.conn.QueryContext(ctx, query)
}

// countStatements counts the non-empty statements in SQL text, skipping
// string literals, quoted identifiers, dollar-quoted strings and comments.
func countStatements(q string) int {
	n := 0
	content := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == ';':
			if content {
				n++
			}
			content = false
		case c == '\'' || c == '"':
			content = true
			for i++; i < len(q); i++ {
				if q[i] == c {
					if i+1 < len(q) && q[i+1] == c { // doubled quote
						i++
						continue
					}
					break
				}
			}
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i += 2
			for i+1 < len(q) && !(q[i] == '*' && q[i+1] == '/') {
				i++
			}
			i++
		case c == '$' && i+1 < len(q) && q[i+1] == '$':
			content = true
			end := strings.Index(q[i+2:], "$$")
			if end < 0 {
				i = len(q)
			} else {
				i += 2 + end + 1
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			content = true
		}
	}
	if content {
		n++
	}
	return n
}
