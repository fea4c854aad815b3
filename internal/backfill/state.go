package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/store"
)

// Interval statuses in the BackfillInterval table.
const (
	StatusDone   = "done"   // every page stored
	StatusSplit  = "split"  // over the record cap: its halves were queried instead
	StatusCapped = "capped" // over the record cap at MinSplit: what the query returned is stored, the rest is a gap
)

// CursorName is the SourceCursor name of a tenant's backfill.
func CursorName(tenantID string) string {
	return "graph-backfill:" + strings.ToLower(tenantID)
}

// cursor is the SourceCursor value (JSON): the interval being paged, its
// query, the next page to read and what the stored pages held. It is written
// in the transaction of each page, so a crash resumes at the first page not
// committed.
type cursor struct {
	Start  time.Time      `json:"start"`
	End    time.Time      `json:"end"`
	Query  string         `json:"query"`
	Page   int            `json:"page"`           // number of the next page, from 1
	Next   string         `json:"next,omitempty"` // its URL; "" once the interval is finished
	Capped bool           `json:"capped,omitempty"`
	Counts ingest.Summary `json:"counts"`
}

func (c cursor) interval() Interval { return Interval{c.Start.UTC(), c.End.UTC()} }

// state is what earlier runs left for a tenant.
type state struct {
	done   coverage     // intervals done or capped
	split  map[key]bool // intervals known to exceed the record cap
	cursor *cursor      // an interval left part-way, or nil
}

func loadState(ctx context.Context, st *store.Store, tenantID string) (state, error) {
	s := state{split: map[key]bool{}}
	rows, err := st.DB().QueryContext(ctx, `SELECT IntervalStart, IntervalEnd, Status FROM BackfillInterval WHERE TenantId = $1`,
		strings.ToLower(tenantID))
	if err != nil {
		return s, fmt.Errorf("cannot read backfill progress of tenant %s: %w", tenantID, err)
	}
	defer rows.Close()
	var done []Interval
	for rows.Next() {
		var iv Interval
		var status string
		if err := rows.Scan(&iv.Start, &iv.End, &status); err != nil {
			return s, fmt.Errorf("cannot read backfill progress of tenant %s: %w", tenantID, err)
		}
		iv = Interval{iv.Start.UTC(), iv.End.UTC()}
		switch status {
		case StatusDone, StatusCapped:
			done = append(done, iv)
		case StatusSplit:
			s.split[iv.key()] = true
		}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("cannot read backfill progress of tenant %s: %w", tenantID, err)
	}
	s.done = newCoverage(done)

	v, ok, err := st.Cursor(ctx, CursorName(tenantID))
	if err != nil {
		return s, err
	}
	if ok {
		var c cursor
		// A cursor that cannot be read only costs a repeated query: the
		// interval starts over and dedup absorbs what was stored.
		if json.Unmarshal([]byte(v), &c) == nil && c.Next != "" && c.Query != "" && c.Page > 0 {
			s.cursor = &c
		}
	}
	return s, nil
}

// saveCursor writes the cursor in the page's transaction.
func saveCursor(ctx context.Context, tx *store.Tx, tenantID string, c cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("cannot encode backfill cursor: %w", err)
	}
	return tx.SetCursor(ctx, CursorName(tenantID), string(b))
}

// saveInterval records an interval's outcome in the transaction.
func saveInterval(ctx context.Context, tx *store.Tx, tenantID, tenantName string, iv Interval, status, query string,
	pages int, c ingest.Summary, now time.Time) error {
	err := tx.Exec(ctx, `INSERT INTO BackfillInterval VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (TenantId, IntervalStart, IntervalEnd) DO UPDATE SET Status = excluded.Status,
		QueryId = excluded.QueryId, Pages = excluded.Pages, RecordsRead = excluded.RecordsRead,
		RecordsStored = excluded.RecordsStored, Duplicates = excluded.Duplicates, Conflicts = excluded.Conflicts,
		Skipped = excluded.Skipped, Quarantined = excluded.Quarantined, UpdatedAt = excluded.UpdatedAt`,
		strings.ToLower(tenantID), tenantName, iv.Start.UTC(), iv.End.UTC(), status, query, pages,
		c.Read, c.Stored, c.Duplicates, c.Conflicts, c.Skipped, c.Quarantined, now.UTC())
	if err != nil {
		return fmt.Errorf("cannot record backfill interval %s: %w", iv, err)
	}
	return nil
}
