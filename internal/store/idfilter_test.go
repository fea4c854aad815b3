package store

import (
	"context"
	"fmt"
	"testing"
)

// The filter never forgets an id, across segment growth, and says no to
// almost every id it was not given.
func TestIDFilter(t *testing.T) {
	f := &idFilter{segs: []idSegment{newSegment(minFilterIDs)}}
	const n = 3 * minFilterIDs
	for i := 0; i < n; i++ {
		if !f.add(IDHash(fmt.Sprint("id", i))) {
			t.Fatalf("filter full after %d ids", i)
		}
	}
	for i := 0; i < n; i++ {
		if !f.mayHave(IDHash(fmt.Sprint("id", i))) {
			t.Fatalf("id%d added but not found", i)
		}
	}
	hits := 0
	for i := 0; i < n; i++ {
		if f.mayHave(IDHash(fmt.Sprint("other", i))) {
			hits++
		}
	}
	if hits > n/10000 {
		t.Errorf("%d false positives in %d lookups", hits, n)
	}
	// Past its capacity the filter is dropped rather than grown.
	for i := 0; f.add(int64(i)); i++ {
	}
	if !f.off || f.segs != nil {
		t.Error("a full filter is not dropped")
	}
}

// A writer's filter is seeded with the rows stored before it, including
// those of transactions that are not a writer's (collect), and rows stored
// after it are found as well.
func TestWriterFindsStoredDuplicates(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Commit(ctx, Batch{SourceSystem: "RestAPI", Rows: []Row{{Record: rec(t, "a", "Word")}}}); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if s.ids == nil {
		t.Fatal("no id filter after NewWriter")
	}
	add := func(rows ...Row) Result {
		t.Helper()
		tx, err := w.Begin(ctx, "Import")
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Add(ctx, rows, nil); err != nil {
			t.Fatal(err)
		}
		res, err := tx.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got, want := add(Row{Record: rec(t, "a", "Word")}, Row{Record: rec(t, "b", "Word")}), (Result{Stored: 1, Duplicates: 1}); got != want {
		t.Errorf("first import: %+v, want %+v", got, want)
	}
	if got, want := add(Row{Record: rec(t, "b", "Teams")}, Row{Record: rec(t, "c", "Word")}), (Result{Stored: 1, Conflicts: 1}); got != want {
		t.Errorf("second import: %+v, want %+v", got, want)
	}
	// Rows committed outside a writer once the filter exists are added too.
	if _, err := s.Commit(ctx, Batch{SourceSystem: "RestAPI", Rows: []Row{{Record: rec(t, "d", "Word")}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := add(Row{Record: rec(t, "d", "Word")}), (Result{Duplicates: 1}); got != want {
		t.Errorf("third import: %+v, want %+v", got, want)
	}
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity`); n != 4 {
		t.Errorf("%d rows stored, want 4", n)
	}
}
