package store

import (
	"context"
	"errors"
	"testing"
)

func TestCountStatements(t *testing.T) {
	cases := map[string]int{
		"SELECT 1":                       1,
		"SELECT 1;":                      1,
		"SELECT 1; SELECT 2":             2,
		"SELECT ';' AS a":                1,
		`SELECT "a;b" FROM t`:            1,
		"SELECT 1 -- ; DROP\n":           1,
		"SELECT 1 /* ; */":               1,
		"SELECT $$;$$":                   1,
		"USE memory; DETACH aiwatch":     2,
		"  ;  ; ":                        0,
		"SELECT 'it''s; fine'; DELETE x": 2,
	}
	for q, want := range cases {
		if got := countStatements(q); got != want {
			t.Errorf("countStatements(%q) = %d, want %d", q, got, want)
		}
	}
}

func TestQueryRefusesAllButOneSelect(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, Batch{Rows: []Row{{Record: rec(t, "a", "Word")}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	r, err := Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, q := range []string{
		"USE memory; DETACH aiwatch; ATTACH '" + dir + "/aiwatch.duckdb' AS w; DELETE FROM w.CopilotActivityData",
		"DETACH aiwatch",
		"DELETE FROM CopilotActivityData",
		"COPY (SELECT 1) TO '" + dir + "/out.csv'",
		"SET enable_external_access = true",
	} {
		if rs, err := r.Query(ctx, q); err == nil {
			rs.Close()
			t.Errorf("%q was allowed", q)
		}
	}
	if _, err := r.Query(ctx, "SELECT * FROM read_text('/etc/hostname')"); err == nil {
		t.Error("reading a file was allowed")
	}
	if _, err := r.Query(ctx, "SELECT 1; SELECT 2"); !errors.Is(err, ErrNotAQuery) {
		t.Errorf("two statements: %v", err)
	}
	rs, err := r.Query(ctx, "SELECT count(*) FROM CopilotActivity")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var n int
	for rs.Next() {
		rs.Scan(&n)
	}
	if n != 1 {
		t.Errorf("rows %d after the attempts, want 1", n)
	}
}
