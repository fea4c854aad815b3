package collect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status is the health of one tenant and content type: what `aiwatch
// status` prints and /status serves.
type Status struct {
	Tenant      string `json:"tenant"`
	TenantID    string `json:"tenant_id"`
	ContentType string `json:"content_type"`
	// Cursor is the start of the oldest listing window not fully stored;
	// zero before the first poll.
	Cursor      time.Time `json:"cursor,omitzero"`
	LagSeconds  float64   `json:"lag_seconds"` // now - Cursor, when the report was made
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`

	Blobs         int64 `json:"blobs"`
	RecordsRead   int64 `json:"records_read"`
	RecordsStored int64 `json:"records_stored"`
	Duplicates    int64 `json:"duplicates"`
	Conflicts     int64 `json:"conflicts"`
	Skipped       int64 `json:"skipped"`
	Quarantined   int64 `json:"quarantined"`
	Retries       int64 `json:"retries"`
	Gaps          int64 `json:"gaps"`
	Errors        int64 `json:"errors"`
}

// Healthy reports whether the last poll succeeded (or none failed yet).
func (s Status) Healthy() bool {
	return s.LastErrorAt.IsZero() || s.LastSuccess.After(s.LastErrorAt)
}

// Gap is one recorded span or blob that could not be collected.
type Gap struct {
	RecordedAt  time.Time `json:"recorded_at"`
	Tenant      string    `json:"tenant"`
	TenantID    string    `json:"tenant_id"`
	ContentType string    `json:"content_type"`
	Kind        string    `json:"kind"`
	ContentID   string    `json:"content_id,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	Detail      string    `json:"detail,omitempty"`
}

// Report is the collector's health: one Status per tenant and content type,
// and the most recent gaps.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	Source      string    `json:"source"`             // "collector" (live) or "database"
	DataDir     string    `json:"data_dir,omitempty"` // where the collector stores, so a reader can tell it asked the right one
	Tenants     []Status  `json:"tenants"`
	Gaps        []Gap     `json:"gaps"`
}

// recentGaps is how many gaps a report carries.
const recentGaps = 20

// Queryer is what ReadReport needs: *sql.DB, *sql.Conn.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ErrNoState means the database holds no collector tables yet.
var ErrNoState = errors.New("no collector state in this database yet (run aiwatch collect)")

const stateColumns = `TenantId, ContentType, TenantName, CursorStart, LastSuccess, LastAttempt,
	coalesce(LastError, ''), LastErrorAt, Blobs, RecordsRead, RecordsStored, Duplicates, Conflicts,
	Skipped, Quarantined, Retries, Gaps, Errors`

func scanStatus(rs *sql.Rows) (Status, error) {
	var s Status
	var cursor, success, attempt, errAt sql.NullTime
	err := rs.Scan(&s.TenantID, &s.ContentType, &s.Tenant, &cursor, &success, &attempt, &s.LastError, &errAt,
		&s.Blobs, &s.RecordsRead, &s.RecordsStored, &s.Duplicates, &s.Conflicts, &s.Skipped, &s.Quarantined,
		&s.Retries, &s.Gaps, &s.Errors)
	s.Cursor, s.LastSuccess, s.LastAttempt, s.LastErrorAt = nt(cursor), nt(success), nt(attempt), nt(errAt)
	return s, err
}

func nt(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// ReadReport reads the persisted state (another process may be the
// collector; this one opened the store read-only). Lag is measured at now.
func ReadReport(ctx context.Context, db Queryer, now time.Time) (Report, error) {
	rep := Report{GeneratedAt: now.UTC(), Source: "database", Tenants: []Status{}, Gaps: []Gap{}}
	rs, err := db.QueryContext(ctx, `SELECT `+stateColumns+` FROM CollectorState ORDER BY TenantName, ContentType`)
	if err != nil {
		if isMissingTable(err) {
			return rep, ErrNoState
		}
		return rep, fmt.Errorf("cannot read collector state: %w", err)
	}
	for rs.Next() {
		s, err := scanStatus(rs)
		if err != nil {
			rs.Close()
			return rep, fmt.Errorf("cannot read collector state: %w", err)
		}
		s.LagSeconds = lag(s.Cursor, now)
		rep.Tenants = append(rep.Tenants, s)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return rep, fmt.Errorf("cannot read collector state: %w", err)
	}
	rep.Gaps, err = readGaps(ctx, db, recentGaps)
	return rep, err
}

func readGaps(ctx context.Context, db Queryer, limit int) ([]Gap, error) {
	rs, err := db.QueryContext(ctx, `SELECT RecordedAt, TenantId, coalesce(TenantName, ''), ContentType, Kind,
		coalesce(ContentId, ''), WindowStart, WindowEnd, coalesce(Detail, '')
		FROM CollectorGap ORDER BY RecordedAt DESC, TenantName LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("cannot read collector gaps: %w", err)
	}
	defer rs.Close()
	gaps := []Gap{}
	for rs.Next() {
		var g Gap
		var ws, we sql.NullTime
		if err := rs.Scan(&g.RecordedAt, &g.TenantID, &g.Tenant, &g.ContentType, &g.Kind, &g.ContentID, &ws, &we, &g.Detail); err != nil {
			return nil, fmt.Errorf("cannot read collector gaps: %w", err)
		}
		g.RecordedAt = g.RecordedAt.UTC()
		g.WindowStart, g.WindowEnd = nt(ws), nt(we)
		gaps = append(gaps, g)
	}
	return gaps, rs.Err()
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "does not exist") && strings.Contains(msg, "Table")
}

func lag(cursor, now time.Time) float64 {
	if cursor.IsZero() {
		return 0
	}
	return max(now.Sub(cursor).Seconds(), 0)
}
