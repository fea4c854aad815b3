package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
)

func rec(t *testing.T, id, apphost string) audit.Record {
	t.Helper()
	b := []byte(fmt.Sprintf(`{"Id":%q,"CreationTime":"2026-03-01T10:00:00","RecordType":261,"Workload":"Copilot","UserId":"u@contoso.example","OrganizationId":"org","CopilotEventData":{"AppHost":%q}}`, id, apphost))
	r, rej := audit.NewNormalizer(nil).Normalize(b, b)
	if rej != nil {
		t.Fatal(rej)
	}
	return r
}

func count(t *testing.T, s *Store, q string) int {
	t.Helper()
	var n int
	if err := s.Conn().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestCommitDedupAndConflicts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Commit(ctx, Batch{SourceSystem: "Import", Rows: []Row{
		{Record: rec(t, "a", "Word"), Source: "f1", Loc: "line 1"},
		{Record: rec(t, "b", "Word"), Source: "f1", Loc: "line 2"},
		{Record: rec(t, "a", "Word"), Source: "f1", Loc: "line 3"},  // in-batch duplicate
		{Record: rec(t, "b", "Excel"), Source: "f1", Loc: "line 4"}, // in-batch conflict
	}, Quarantine: []QuarantineRow{{Source: "f1", Loc: "line 5", Reason: "no Id", Raw: []byte("{}")}},
		Cursors: map[string]string{"file:f1": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Stored: 2, Duplicates: 1, Conflicts: 1, Quarantined: 1}); res != want {
		t.Fatalf("first commit %+v, want %+v", res, want)
	}
	res, err = s.Commit(ctx, Batch{SourceSystem: "Import", Rows: []Row{
		{Record: rec(t, "a", "Word"), Source: "f2", Loc: "line 1"},    // stored duplicate
		{Record: rec(t, "a", "Teams"), Source: "f2", Loc: "line 2"},   // in-batch conflict with the line above
		{Record: rec(t, "c", "Outlook"), Source: "f2", Loc: "line 3"}, // new
		{Record: rec(t, "b", "Teams"), Source: "f2", Loc: "line 4"},   // stored conflict
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Stored: 1, Duplicates: 1, Conflicts: 2}); res != want {
		t.Fatalf("second commit %+v, want %+v", res, want)
	}
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity`); n != 3 {
		t.Errorf("rows %d, want 3", n)
	}
	// The first copy is kept.
	var host, typ, tenant, srcsys string
	s.Conn().QueryRowContext(ctx, `SELECT AppHost, Type, TenantId, SourceSystem FROM CopilotActivity WHERE RecordId='b'`).Scan(&host, &typ, &tenant, &srcsys)
	if host != "Word" || typ != "CopilotActivity" || tenant != "org" || srcsys != "Import" {
		t.Errorf("b: %q %q %q %q", host, typ, tenant, srcsys)
	}
	if n := count(t, s, `SELECT count(*) FROM RecordConflict`); n != 3 {
		t.Errorf("conflicts %d, want 3", n)
	}
	if n := count(t, s, `SELECT count(*) FROM Quarantine WHERE Reason='no Id' AND SourceLocation='line 5'`); n != 1 {
		t.Errorf("quarantine %d", n)
	}
	if v, ok, _ := s.Cursor(ctx, "file:f1"); !ok || v != "5" {
		t.Errorf("cursor %q %v", v, ok)
	}
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity WHERE LLMEventData->>'$.AppHost' = 'Word'`); n != 2 {
		t.Errorf("LLMEventData is not queryable JSON: %d", n)
	}
	s.Close()

	// Reopen: data and cursor persist, migrations don't rerun.
	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity`); n != 3 {
		t.Errorf("after reopen rows %d", n)
	}
}

func TestFailedCommitLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Commit(cctx, Batch{Rows: []Row{{Record: rec(t, "a", "Word")}}, Cursors: map[string]string{"k": "v"}})
	if err == nil {
		t.Fatal("commit with a cancelled context succeeded")
	}
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity`); n != 0 {
		t.Errorf("half batch stored: %d rows", n)
	}
	if _, ok, _ := s.Cursor(ctx, "k"); ok {
		t.Error("cursor advanced without rows")
	}
	// The store still works afterwards.
	s.SetClock(func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) })
	if res, err := s.Commit(ctx, Batch{Rows: []Row{{Record: rec(t, "a", "Word")}}}); err != nil || res.Stored != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

// The watermark stays at the IngestionTime of the oldest open transaction
// until it finishes, then follows the clock.
func TestWatermark(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	if got := s.Watermark(); !got.Equal(now) {
		t.Fatalf("idle watermark %v, want %v", got, now)
	}
	tx, err := s.Begin(ctx, "Import")
	if err != nil {
		t.Fatal(err)
	}
	began := now
	now = now.Add(time.Hour)
	if got := s.Watermark(); !got.Equal(began) {
		t.Fatalf("watermark with an open transaction %v, want %v", got, began)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Watermark(); !got.Equal(now) {
		t.Fatalf("watermark after commit %v, want %v", got, now)
	}
	tx, err = s.Begin(ctx, "Import")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	tx.Rollback()
	if got := s.Watermark(); !got.Equal(now) {
		t.Fatalf("watermark after rollback %v, want %v", got, now)
	}
}

// A store written before schema version 18 may hold rows with null strings
// (rows written by hand): opening it turns them into ” and from then on the
// table refuses nulls, which is what lets KQL read the columns bare.
func TestStringsBecomeNotNull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("duckdb", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE SchemaVersion (Version INTEGER NOT NULL); INSERT INTO SchemaVersion VALUES (16)`); err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:16] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO CopilotActivityData (TimeGenerated, RecordId, RecordType, ActorName, IngestionTime)
		VALUES (TIMESTAMP '2026-03-01 10:00:00', 'old', 'CopilotInteraction', NULL, TIMESTAMP '2026-03-01 10:05:00')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s, `SELECT count(*) FROM CopilotActivity WHERE RecordId = 'old' AND ActorName = '' AND AppHost = '' AND ClientIP = '' AND RecordType = 'CopilotInteraction'`); n != 1 {
		t.Errorf("the old row's null strings did not become '': %d rows match", n)
	}
	_, err = s.Conn().ExecContext(ctx, `INSERT INTO CopilotActivityData (TimeGenerated, RecordId, AppHost, IngestionTime)
		VALUES (TIMESTAMP '2026-03-01 10:00:00', 'new', NULL, TIMESTAMP '2026-03-01 10:05:00')`)
	if err == nil || !strings.Contains(err.Error(), "NOT NULL") {
		t.Errorf("a null AppHost was accepted: %v", err)
	}
}

// A quarantined unit whose reason, location or Id holds invalid UTF-8 (an
// excerpt cut inside a character, a Latin-1 file name) is stored with the
// bad bytes replaced, and the good records of its batch land with it.
func TestQuarantineInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := []byte("xx\xc3\xa9\xc3")
	res, err := s.Commit(ctx, Batch{Rows: []Row{{Record: rec(t, "good", "Word"), Source: "f", Loc: "line 1"}},
		Quarantine: []QuarantineRow{{Source: "caf\xe9.jsonl", Loc: "line 2", RecordID: "id\xff", Reason: "not JSON: \"xx\xc3\xa9\xc3", Raw: raw}}})
	if err != nil {
		t.Fatalf("commit failed: %v", err)
	}
	if res.Stored != 1 || res.Quarantined != 1 {
		t.Fatalf("stored %d, quarantined %d; want 1 and 1", res.Stored, res.Quarantined)
	}
	var src, id, reason string
	var got []byte
	if err := s.Conn().QueryRowContext(ctx, `SELECT SourceName, RecordId, Reason, RawText FROM Quarantine`).Scan(&src, &id, &reason, &got); err != nil {
		t.Fatal(err)
	}
	if src != "caf\uFFFD.jsonl" || id != "id\uFFFD" || reason != "not JSON: \"xxé\uFFFD" || string(got) != string(raw) {
		t.Errorf("quarantine row: %q %q %q %q", src, id, reason, got)
	}
}
