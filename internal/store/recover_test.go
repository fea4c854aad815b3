package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/simulate"
)

// collectLimit is collect's default DuckDB memory limit (cmd/aiwatch).
const collectLimit = "32MB"

// bulk is a deterministic stream of realistic Copilot records (1-1.5 KB
// each, unique Ids), the same in the child and the test.
func bulk(t *testing.T, n int) []audit.Record {
	t.Helper()
	norm := audit.NewNormalizer(nil)
	recs := make([]audit.Record, 0, n)
	err := simulate.Bulk(7, n, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), func(ev simulate.Event) error {
		r, rej := norm.Normalize(ev.Record, ev.Record)
		if rej != nil {
			return fmt.Errorf("%s: %v", ev.ID, rej)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func rowsOf(recs []audit.Record) []Row {
	rows := make([]Row, len(recs))
	for i, r := range recs {
		rows[i] = Row{Record: r, Source: "test", Loc: strconv.Itoa(i)}
	}
	return rows
}

// maxRecords bounds what the child writes; its log passes 20 MB well before.
const maxRecords = 40000

// TestKilledWriterChild is the process TestOpenAfterKilledWriter kills: it
// commits rows until the write-ahead log is large, with DuckDB's automatic
// checkpoint off (as when the one at a commit failed), and waits.
func TestKilledWriterChild(t *testing.T) {
	dir := os.Getenv("AIWATCH_TEST_KILLED_WRITER")
	if dir == "" {
		t.Skip("run by TestOpenAfterKilledWriter")
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A persisted, partly filled last row group, as a collect leaves it.
	recs := bulk(t, maxRecords)
	if _, err := s.Commit(ctx, Batch{SourceSystem: "RestAPI", Rows: rowsOf(recs[:5000])}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conn().ExecContext(ctx, `CHECKPOINT; SET checkpoint_threshold = '1GB'; SET memory_limit = '32MB'`); err != nil {
		t.Fatal(err)
	}
	n := 5000
	for s.walSize() < 20<<20 && n+200 <= len(recs) {
		if _, err := s.Commit(ctx, Batch{SourceSystem: "RestAPI", Rows: rowsOf(recs[n : n+200]),
			Cursors: map[string]string{"test": strconv.Itoa(n + 200)}}); err != nil {
			t.Fatal(err)
		}
		n += 200
		fmt.Printf("committed %d\n", n)
	}
	fmt.Printf("ready %d\n", s.walSize())
	time.Sleep(time.Minute)
}

// A writer killed with a large write-ahead log leaves a directory whose
// first checkpoint may need more than collect's memory limit (the ones the
// bug report left needed 42MB); when it failed, DuckDB invalidated the
// database on every run. Open now writes the log out with room for it.
func TestOpenAfterKilledWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30 MB")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledWriterChild$", "-test.v")
	cmd.Env = append(os.Environ(), "AIWATCH_TEST_KILLED_WRITER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed, ready := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "committed "); ok {
			committed, _ = strconv.Atoi(v)
		}
		if strings.HasPrefix(line, "ready ") {
			ready = true
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !ready {
		t.Fatalf("the child stopped before its log was large (committed %d)", committed)
	}
	wal, err := os.Stat(filepath.Join(dir, FileName+".wal"))
	if err != nil || wal.Size() < 20<<20 {
		t.Fatalf("the killed writer left no large log: %v %v", wal, err)
	}
	t.Logf("killed after committing %d rows; log %d bytes", committed, wal.Size())

	recs := bulk(t, maxRecords)
	s, err := Open(ctx, dir, Options{MemoryLimit: collectLimit, Threads: 1})
	if err != nil {
		t.Fatalf("open after the kill: %v", err)
	}
	if fi, err := os.Stat(s.wal); err == nil && fi.Size() > 1<<20 {
		t.Errorf("the log is still %d bytes after opening", fi.Size())
	}
	check := func(want int) {
		t.Helper()
		if got := count(t, s, `SELECT count(*) FROM CopilotActivityData`); got != want {
			t.Errorf("%d rows, want %d", got, want)
		}
		if got := count(t, s, `SELECT count(DISTINCT RecordId) FROM CopilotActivityData`); got != want {
			t.Errorf("%d distinct RecordIds, want %d", got, want)
		}
		// The stored Ids are the first want of the stream.
		var sum, wantSum big.Int
		for _, r := range recs[:want] {
			wantSum.Add(&wantSum, big.NewInt(IDHash(r.RecordId)))
		}
		var got string
		if err := s.Conn().QueryRowContext(ctx, `SELECT sum(IdHash::HUGEINT)::VARCHAR FROM CopilotActivityData`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		sum.SetString(got, 10)
		if sum.Cmp(&wantSum) != 0 {
			t.Errorf("the stored Ids are not the %d committed", want)
		}
	}
	check(committed)
	if v, ok, err := s.Cursor(ctx, "test"); err != nil || !ok || v != strconv.Itoa(committed) {
		t.Errorf("cursor %q %v %v, want %d", v, ok, err, committed)
	}
	// New rows, after 1,000 already stored (a re-read after the kill).
	res, err := s.Commit(ctx, Batch{SourceSystem: "RestAPI", Rows: rowsOf(recs[committed-1000 : committed+3000])})
	if err != nil {
		t.Fatalf("commit after recovery: %v", err)
	}
	if want := (Result{Stored: 3000, Duplicates: 1000}); res != want {
		t.Errorf("commit after recovery %+v, want %+v", res, want)
	}
	check(committed + 3000)
	var limit string
	if err := s.Conn().QueryRowContext(ctx, `SELECT current_setting('memory_limit')`).Scan(&limit); err != nil || limit != "30.5 MiB" {
		t.Errorf("memory limit after recovery %q (%v), want collect's 32MB (30.5 MiB)", limit, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, dir, Options{MemoryLimit: collectLimit, Threads: 1}); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	check(committed + 3000)
}

func TestInvalidatedIsOneLine(t *testing.T) {
	duck := errors.New("cannot open appender on CopilotActivityData: database/sql/driver: could not create appender: Database \"aiwatch\" has been invalidated because checkpointing failed. Detach and reattach it before using it again. Original error: failed to pin block of size 256.0 KiB (30.2 MiB/30.5 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)\n")
	err := invalidated(fmt.Errorf("cannot store: %w", duck))
	if !errors.Is(err, ErrInvalidated) {
		t.Fatalf("%v is not ErrInvalidated", err)
	}
	want := ErrInvalidated.Error() + " (failed to pin block of size 256.0 KiB (30.2 MiB/30.5 MiB used))"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if again := invalidated(fmt.Errorf("tenant: %w", err)); again.Error() != "tenant: "+want {
		t.Errorf("wrapped twice: %q", again)
	}
	if other := errors.New("constraint violated"); invalidated(other) != other {
		t.Errorf("other errors change")
	}
}
