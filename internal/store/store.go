// Package store keeps aiwatch's tables in one DuckDB file per data directory:
// CopilotActivity, Quarantine, RecordConflict and source cursors. Every write
// is one transaction holding the rows and the cursor that covers them.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/aiwatch/aiwatch/internal/audit"
)

// FileName is the database file inside a data directory.
const FileName = "aiwatch.duckdb"

// catalog is the name the database file is attached as.
const catalog = "aiwatch"

// rowGroupSize is DuckDB's row-group size for our tables (DuckDB's default is 122,880).
const rowGroupSize = 16384

// Options tune the embedded database.
type Options struct {
	MemoryLimit string // DuckDB memory_limit, e.g. "256MB"; "" leaves DuckDB's default
	Threads     int    // 0 leaves DuckDB's default
	ReadOnly    bool
}

// Store is an open data directory.
type Store struct {
	dir  string
	db   *sql.DB
	conn *sql.Conn // the one writing connection; the appender needs a raw connection
	now  func() time.Time

	// open holds the IngestionTime of every transaction not yet finished,
	// so Watermark can tell which ingestion times are settled.
	mu    sync.Mutex
	open  map[*Tx]time.Time
	began int64 // transactions begun, so useIDFilter can tell none began while it read

	// ids, when set, holds every stored IdHash (see idFilter).
	ids *idFilter

	// memoryLimit is DuckDB's memory limit in bytes, 0 when not set; see Tx
	// for why a transaction with large records raises it for a moment.
	// groupBig counts the large strings committed since the table's row
	// count last crossed a row-group boundary (groups): a checkpoint
	// rewrites the table's last row group with all of them.
	memoryLimit int64
	groupBig    int64
	groups      int64

	// wal is the database's write-ahead log; raises holds the extra memory
	// each checkpoint in progress asked for (see raiseLimit).
	wal      string
	readOnly bool
	limMu    sync.Mutex
	raises   map[*int64]struct{}
}

// ErrLocked means another process holds the database file.
var ErrLocked = errors.New("the data directory is in use by another aiwatch process")

// ErrInvalidated means DuckDB refused further use of the open database after
// a checkpoint failed. Committed records are safe in the write-ahead log.
var ErrInvalidated = errors.New("the database stopped accepting writes after DuckDB failed to write its log into the file; every committed record is kept: run the command again (opening the data directory writes the log out), and if this recurs raise AIWATCH_MEMORY_LIMIT")

// invalidated turns DuckDB's long, repeated invalidation message into
// ErrInvalidated with DuckDB's one-line reason.
func invalidated(err error) error {
	if err == nil || errors.Is(err, ErrInvalidated) || !strings.Contains(err.Error(), "has been invalidated") {
		return err
	}
	msg := err.Error()
	if i := strings.Index(msg, "Original error: "); i >= 0 {
		msg = msg[i+len("Original error: "):]
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return fmt.Errorf("%w (%s)", ErrInvalidated, strings.TrimSpace(msg))
}

// DuckDB checkpoints (writes the write-ahead log into the file) at a commit
// once the log passes its checkpoint_threshold, within the memory limit as
// it stands. A checkpoint rewrites the table's last row group as well as
// what the log holds, and under collect's 32MB that can fail to pin a block:
// DuckDB then invalidates the database, and every later open replays the
// same log into the same failing checkpoint. So a store with a memory limit
// checkpoints itself, with the limit raised for the checkpoint only: after a
// commit that leaves the log past checkpointAt, at Close, and at Open when
// a log was left behind (an interrupted or killed process). DuckDB's own
// threshold stays as a backstop for writes made outside Tx, far above ours.
const (
	checkpointAt   = 16 << 20
	autoCheckpoint = "256MB"
	// checkpointRoom is the least a checkpoint is given beyond the limit.
	checkpointRoom = 16 << 20
)

// walRoom is the extra memory for a checkpoint of a log of n bytes.
// Measured on two directories whose logs (16 and 18.5 MB) had failed a
// checkpoint at 32MB: both need 42MB in all and fail at 40MB. The room is
// a ceiling the buffer pool fills while the checkpoint runs, so it is what
// a checkpoint adds to peak RSS: enough to spare, not more.
func walRoom(n int64) int64 { return max(checkpointRoom, n+12<<20) }

// walSize is the size of the write-ahead log, 0 if there is none.
func (s *Store) walSize() int64 {
	fi, err := os.Stat(s.wal)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// raiseLimit lifts DuckDB's memory limit by n bytes until release is called.
// The limit is global to the instance and writers commit concurrently, so it
// stays at the largest raise still held.
func (s *Store) raiseLimit(ctx context.Context, conn *sql.Conn, n int64) (release func(), err error) {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET memory_limit = '%dB'", s.memoryLimit+max(n, s.maxRaise()))); err != nil {
		return nil, invalidated(fmt.Errorf("cannot raise the memory limit for a checkpoint: %w", err))
	}
	p := &n
	s.raises[p] = struct{}{}
	return func() {
		s.limMu.Lock()
		defer s.limMu.Unlock()
		delete(s.raises, p)
		// Best effort: a limit DuckDB cannot lower at once (blocks still
		// pinned elsewhere) is lowered by the next release.
		conn.ExecContext(context.Background(), fmt.Sprintf("SET memory_limit = '%dB'", s.memoryLimit+s.maxRaise()))
	}, nil
}

func (s *Store) maxRaise() int64 {
	var m int64
	for p := range s.raises {
		m = max(m, *p)
	}
	return m
}

// checkpoint writes the log into the file with room for it.
func (s *Store) checkpoint(ctx context.Context, conn *sql.Conn) error {
	release, err := s.raiseLimit(ctx, conn, walRoom(s.walSize()))
	if err != nil {
		return err
	}
	defer release()
	if _, err := conn.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return invalidated(fmt.Errorf("cannot checkpoint: %w", err))
	}
	return nil
}

// Open opens (creating if needed) the data directory's database and applies migrations.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("cannot create data directory %s: %w", dir, err)
		}
	}
	path := filepath.Join(dir, FileName)
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no aiwatch data in %s (import or collect first): %w", dir, err)
		}
	}
	// The file is attached to an in-memory instance rather than opened
	// directly so its row-group size can be set: small row groups let DuckDB
	// write imported rows out early and keep checkpoints small, which bounds
	// memory on long imports.
	limit, limited := parseBytes(opts.MemoryLimit)
	// A log left by a process that did not close the store is replayed when
	// the file is attached (within the limit: DuckDB spills what it replays)
	// and then checkpointed below, with room for it.
	var leftLog int64
	if fi, err := os.Stat(path + ".wal"); err == nil && fi.Size() > 0 && limited && !opts.ReadOnly {
		leftLog = walRoom(fi.Size())
	}
	var params []string
	if opts.MemoryLimit != "" {
		params = append(params, "memory_limit="+opts.MemoryLimit)
	}
	if limited && !opts.ReadOnly {
		params = append(params, "checkpoint_threshold="+autoCheckpoint)
	}
	if opts.Threads > 0 {
		params = append(params, fmt.Sprintf("threads=%d", opts.Threads))
	}
	if extra := os.Getenv("AIWATCH_DUCKDB_SETTINGS"); extra != "" {
		params = append(params, strings.Split(extra, "&")...)
	}
	dsn := ""
	if len(params) > 0 {
		dsn = "?" + strings.Join(params, "&")
	}
	attach := fmt.Sprintf("ATTACH IF NOT EXISTS '%s' AS %s (ROW_GROUP_SIZE %d", strings.ReplaceAll(path, "'", "''"), catalog, rowGroupSize)
	if opts.ReadOnly {
		attach += ", READ_ONLY"
	}
	attach += ")"
	var attached sync.Once
	var attachErr error
	connector, err := duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		bg := context.Background()
		// The instance is shared by all connections: attach once.
		attached.Do(func() {
			if _, attachErr = ex.ExecContext(bg, attach, nil); attachErr != nil {
				return
			}
			if opts.ReadOnly {
				// A reader (sql, stats, status, query) runs user SQL: no
				// files, no network, no attaching other databases, and no
				// setting can turn that back on.
				_, attachErr = ex.ExecContext(bg, "SET enable_external_access = false; SET lock_configuration = true", nil)
			}
		})
		if attachErr != nil {
			return attachErr
		}
		_, err := ex.ExecContext(bg, "USE "+catalog, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	s := &Store{dir: dir, db: db, now: time.Now, open: map[*Tx]time.Time{}, wal: path + ".wal", readOnly: opts.ReadOnly, raises: map[*int64]struct{}{}}
	if limited {
		s.memoryLimit = limit
	}
	if s.conn, err = db.Conn(ctx); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "lock") {
			return nil, fmt.Errorf("cannot open %s: %w (%v)", path, ErrLocked, err)
		}
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	if leftLog > 0 {
		if err := s.checkpoint(ctx, s.conn); err != nil {
			s.Close()
			return nil, fmt.Errorf("cannot write the log left in %s into the file within a memory limit of %s; nothing is lost: set AIWATCH_MEMORY_LIMIT higher for one run: %w",
				dir, fmtBytes(limit+leftLog), err)
		}
	}
	if !opts.ReadOnly {
		if err := s.migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// DuckDB keeps a string longer than about 4 KB in a block of its own, and
// holds those blocks in memory until a checkpoint writes the row group they
// belong to. A transaction counts such bytes: past partBytes it commits the
// rows so far, and a commit after which the table's last row group holds
// more than half the memory limit of them raises DuckDB's memory
// limit for as long as the commit and a checkpoint take (see Tx).
const (
	overflowBytes = 4000
	partBytes     = 32 << 20
)

// parseBytes reads a DuckDB memory size such as "80MB", "96MiB" or "4GB".
func parseBytes(s string) (int64, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	var n int64
	if _, err := fmt.Sscan(s[:i], &n); err != nil {
		return 0, false
	}
	unit := map[string]int64{"": 1, "B": 1, "KB": 1e3, "KIB": 1 << 10, "MB": 1e6, "MIB": 1 << 20, "GB": 1e9, "GIB": 1 << 30, "TB": 1e12, "TIB": 1 << 40}
	m, ok := unit[strings.TrimSpace(s[i:])]
	return n * m, ok
}

// SetClock replaces the clock used for IngestionTime (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Watermark is an ingestion time before which every record is either
// committed or never will be: the earliest IngestionTime of a transaction
// still open in this process, or now. A transaction stamps its rows when it
// begins but they become visible when it commits, so "IngestionTime < now"
// is not settled while one is open. DuckDB lets one process write the
// file, so the open transactions of this process are all there are.
func (s *Store) Watermark() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.now().UTC().Truncate(time.Microsecond)
	for _, t := range s.open {
		if t.Before(w) {
			w = t
		}
	}
	return w
}

// DB returns the database for queries.
func (s *Store) DB() *sql.DB { return s.db }

// Conn returns the store's own connection (the only one that sees its temp tables).
func (s *Store) Conn() *sql.Conn { return s.conn }

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the database. DuckDB checkpoints on closing, within the
// limit as it stands: a store with a limit checkpoints first, with room.
func (s *Store) Close() error {
	if s.conn != nil {
		if !s.readOnly && s.memoryLimit > 0 && s.walSize() > 0 {
			// Best effort: a log left behind is written out at the next Open.
			s.checkpoint(context.Background(), s.conn)
		}
		s.conn.Close()
	}
	return s.db.Close()
}

// fmtBytes writes n as DuckDB memory size in MB, rounded up.
func fmtBytes(n int64) string { return fmt.Sprintf("%dMB", (n+999_999)/1_000_000) }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS SchemaVersion (Version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("cannot create SchemaVersion: %w", err)
	}
	var v int
	if err := s.conn.QueryRowContext(ctx, `SELECT coalesce(max(Version), 0) FROM SchemaVersion`).Scan(&v); err != nil {
		return fmt.Errorf("cannot read schema version: %w", err)
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d failed: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM SchemaVersion; INSERT INTO SchemaVersion VALUES (?)`, i+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: cannot record version: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := s.conn.ExecContext(ctx, stagingDDL); err != nil {
		return fmt.Errorf("cannot create staging table: %w", err)
	}
	return nil
}

// Row is a normalized record and where it came from.
type Row struct {
	Record audit.Record
	Source string // file path, or tenant/content id
	Loc    string // line, row, element
}

// QuarantineRow is a unit that could not be stored.
type QuarantineRow struct {
	Source, Loc, RecordID, Reason string
	Raw                           []byte
}

// Batch is one unit of durable progress: its rows, quarantined units and
// cursor positions are committed together or not at all.
type Batch struct {
	SourceSystem string // Sentinel's SourceSystem column: "RestAPI", "GraphAPI", "Import"
	Rows         []Row
	Quarantine   []QuarantineRow
	Cursors      map[string]string
}

// Result counts what a commit did.
type Result struct {
	Stored, Duplicates, Conflicts, Quarantined int
}

// Add sums results.
func (r *Result) Add(o Result) {
	r.Stored += o.Stored
	r.Duplicates += o.Duplicates
	r.Conflicts += o.Conflicts
	r.Quarantined += o.Quarantined
}

// Commit stores a batch in one transaction (see Tx for the rules).
func (s *Store) Commit(ctx context.Context, b Batch) (Result, error) {
	tx, err := s.Begin(ctx, b.SourceSystem)
	if err != nil {
		return Result{}, err
	}
	if err := tx.Add(ctx, b.Rows, b.Quarantine); err != nil {
		tx.Rollback()
		return Result{}, err
	}
	for name, value := range b.Cursors {
		if err := tx.SetCursor(ctx, name, value); err != nil {
			tx.Rollback()
			return Result{}, err
		}
	}
	return tx.Commit(ctx)
}

// Tx is an open write transaction. Rows are streamed into CopilotActivity
// through DuckDB's appender; large transactions let DuckDB write row groups
// straight to the file instead of through the WAL. Rows whose RecordId is
// already stored (or earlier in the transaction) are duplicates when their
// content hash matches, conflicts otherwise: the first copy is kept and
// conflicts are recorded in RecordConflict. Nothing is visible to others,
// and no cursor moves, until Commit.
//
// Large records (tens of kilobytes and more: hundreds of accessed
// resources) need care: DuckDB holds each such string in memory until a
// checkpoint writes it, and needs room for a copy at commit, so a
// transaction of many of them would fail to commit within a small memory
// limit. A transaction therefore commits its rows early each time it has
// stored partBytes of them, and every commit that holds any raises the
// limit by a few times their size until a checkpoint has written them. The
// cursor still moves only at Commit, after every row, so a crash in between
// re-reads rows that are then found stored: exactly once holds through the
// RecordId check.
type Tx struct {
	s        *Store
	conn     *sql.Conn
	raw      *duckdb.Conn
	app      *duckdb.Appender // CopilotActivity
	ids      *duckdb.Appender // staging_ids
	ingested time.Time
	system   string
	res      Result
	done     bool

	big       int64  // bytes of large strings in the DuckDB transaction's last row group
	bytes     int64  // bytes appended in the DuckDB transaction (a bound on its log)
	appended  int    // rows appended in the DuckDB transaction
	committed Result // what the parts committed early hold
}

// Begin opens a write transaction. SourceSystem fills Sentinel's SourceSystem column.
func (s *Store) Begin(ctx context.Context, sourceSystem string) (*Tx, error) {
	return s.begin(ctx, s.conn, sourceSystem)
}

// Writer is an extra connection with its own transactions, so several
// goroutines can write at once. Rows must be partitioned by RecordId
// (PartitionOf) across writers: duplicates are only found within one.
type Writer struct {
	s    *Store
	conn *sql.Conn
}

// NewWriter opens another write connection.
func (s *Store) NewWriter(ctx context.Context) (*Writer, error) {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot open a write connection: %w", err)
	}
	if _, err := c.ExecContext(ctx, stagingDDL); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot create staging table: %w", err)
	}
	if err := s.useIDFilter(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return &Writer{s: s, conn: c}, nil
}

// Begin opens a transaction on the writer's connection.
func (w *Writer) Begin(ctx context.Context, sourceSystem string) (*Tx, error) {
	return w.s.begin(ctx, w.conn, sourceSystem)
}

// Close releases the writer's connection.
func (w *Writer) Close() error { return w.conn.Close() }

// PartitionOf says which of n writers owns a RecordId.
func PartitionOf(id string, n int) int {
	return int(uint64(IDHash(id)) % uint64(n))
}

func (s *Store) begin(ctx context.Context, conn *sql.Conn, sourceSystem string) (*Tx, error) {
	tx := &Tx{s: s, conn: conn, system: sourceSystem}
	// Stamp and register under one lock, so Watermark never passes a
	// transaction that is about to stamp an earlier time.
	s.mu.Lock()
	tx.ingested = s.now().UTC().Truncate(time.Microsecond)
	s.open[tx] = tx.ingested
	s.began++
	s.mu.Unlock()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		s.finished(tx)
		return nil, invalidated(fmt.Errorf("cannot begin transaction: %w", err))
	}
	if err := tx.openAppenders(); err != nil {
		conn.ExecContext(context.Background(), `ROLLBACK`)
		s.finished(tx)
		return nil, invalidated(err)
	}
	return tx, nil
}

func (tx *Tx) openAppenders() error {
	return tx.conn.Raw(func(dc any) error {
		var ok bool
		if tx.raw, ok = dc.(*duckdb.Conn); !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		var err error
		if tx.app, err = duckdb.NewAppenderFromConn(tx.raw, "", "CopilotActivityData"); err != nil {
			return fmt.Errorf("cannot open appender on CopilotActivityData: %w", err)
		}
		if tx.ids, err = duckdb.NewAppender(tx.raw, "temp", "main", "staging_ids"); err != nil {
			tx.app.Close()
			tx.app = nil
			return fmt.Errorf("cannot open appender on staging_ids: %w", err)
		}
		return nil
	})
}

// commitPart commits the rows so far and goes on in a new DuckDB
// transaction (see Tx).
func (tx *Tx) commitPart(ctx context.Context) error {
	if err := tx.closeAppenders(); err != nil {
		return fmt.Errorf("cannot store records: %w", err)
	}
	if err := tx.commitDuckDB(ctx); err != nil {
		return err
	}
	if _, err := tx.conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("cannot begin transaction: %w", err)
	}
	tx.appended, tx.bytes = 0, 0
	tx.committed = tx.res
	return tx.openAppenders()
}

// commitDuckDB commits the DuckDB transaction. When it holds large strings,
// DuckDB's memory limit is raised by four times their size for the commit
// and a checkpoint that writes them out, then set back. When the log may
// pass checkpointAt with this commit, the commit and a checkpoint get room
// for the log too (see checkpointAt).
func (tx *Tx) commitDuckDB(ctx context.Context) error {
	s := tx.s
	s.mu.Lock()
	if tx.big > 0 {
		s.groupBig += tx.big
	}
	need := s.groupBig
	s.mu.Unlock()
	// A few large strings fit in the limit as it is.
	big := tx.big > 0 && s.memoryLimit > 0 && need >= s.memoryLimit/2
	// tx.bytes bounds what the commit adds to the log; checking the file
	// costs a stat per commit.
	wal := int64(0)
	if s.memoryLimit > 0 {
		wal = s.walSize() + tx.bytes
	}
	full := wal >= checkpointAt
	tx.big, tx.bytes = 0, 0
	var room int64
	if big {
		room += 4 * need
	}
	if full {
		room += walRoom(wal)
	}
	if room == 0 {
		if _, err := tx.conn.ExecContext(ctx, `COMMIT`); err != nil {
			return invalidated(fmt.Errorf("cannot commit: %w", err))
		}
		return nil
	}
	release, err := s.raiseLimit(ctx, tx.conn, room)
	if err != nil {
		return err
	}
	defer release()
	if _, err := tx.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return invalidated(fmt.Errorf("cannot commit: %w", err))
	}
	if !big && s.walSize() < checkpointAt {
		return nil
	}
	if _, err := tx.conn.ExecContext(ctx, `CHECKPOINT`); err != nil {
		// The rows are committed; only a failure that closed the
		// database matters (another refused now is retried at a later
		// commit).
		if err := invalidated(err); errors.Is(err, ErrInvalidated) {
			return err
		}
		return nil
	}
	if big {
		// Large strings stop counting once their row group is full
		// and written for good.
		var rows int64
		if tx.conn.QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData`).Scan(&rows) == nil {
			s.mu.Lock()
			if g := rows / rowGroupSize; g != s.groups {
				s.groups, s.groupBig = g, 0
			}
			s.mu.Unlock()
		}
	}
	return nil
}

func (s *Store) finished(tx *Tx) {
	s.mu.Lock()
	delete(s.open, tx)
	s.mu.Unlock()
}

// IDHash is the hash kept in CopilotActivity.IdHash.
func IDHash(id string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int64(h)
}

// Add stores rows (deduplicated) and quarantined units in the transaction.
func (tx *Tx) Add(ctx context.Context, rows []Row, quar []QuarantineRow) error {
	if err := tx.add(ctx, rows, quar); err != nil {
		tx.Rollback()
		return invalidated(err)
	}
	return nil
}

func (tx *Tx) add(ctx context.Context, rows []Row, quar []QuarantineRow) error {
	if tx.done {
		return errors.New("transaction already finished")
	}
	// Settle duplicates inside rows first; the database settles the rest.
	first := make(map[string]int, len(rows))
	keep := make([]bool, len(rows))
	hashes := make([]int64, len(rows))
	for i := range rows {
		r := &rows[i].Record
		if j, ok := first[r.RecordId]; ok {
			tx.duplicate(ctx, &rows[i], rows[j].Record.ContentHash)
			continue
		}
		first[r.RecordId] = i
		keep[i] = true
		hashes[i] = IDHash(r.RecordId)
	}
	// Only ids the filter may hold are looked up in the database.
	stage := keep
	tx.s.mu.Lock()
	f := tx.s.ids
	tx.s.mu.Unlock()
	if f != nil {
		f.mu.Lock()
		if !f.off {
			stage = make([]bool, len(rows))
			for i := range rows {
				stage[i] = keep[i] && f.mayHave(hashes[i])
			}
		}
		f.mu.Unlock()
	}
	staged := 0
	for i := range rows {
		if stage[i] {
			if err := tx.ids.AppendRow(int32(i), hashes[i]); err != nil {
				return fmt.Errorf("cannot stage record %s: %w", rows[i].Record.RecordId, err)
			}
			staged++
		}
	}
	// Rows appended earlier in this transaction must be visible to the
	// check; flushing every group also keeps the appender's buffer small.
	if err := tx.app.Flush(); err != nil {
		return fmt.Errorf("cannot store records: %w", err)
	}
	found := map[string]uint64{}
	if staged > 0 {
		if err := tx.ids.Flush(); err != nil {
			return fmt.Errorf("cannot stage records: %w", err)
		}
		var err error
		if found, err = tx.existing(ctx); err != nil {
			return err
		}
	}
	// New rows go in event-time order: a batch's rows of one hour then sit
	// together in the file, so a query over a time window (every detection
	// rule's) reads few vectors of the wide RawRecord column.
	order := make([]int, 0, len(rows))
	for i := range rows {
		if !keep[i] {
			continue
		}
		row := &rows[i]
		if stored, ok := found[row.Record.RecordId]; ok {
			if err := tx.duplicate(ctx, row, stored); err != nil {
				return err
			}
			continue
		}
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return rows[a].Record.TimeGenerated.Compare(rows[b].Record.TimeGenerated) })
	if f != nil {
		// Before appending: a part committed early stays stored even if a
		// later row fails.
		f.mu.Lock()
		for _, i := range order {
			if !f.add(hashes[i]) {
				break
			}
		}
		f.mu.Unlock()
	}
	for _, i := range order {
		row := &rows[i]
		r := &row.Record
		var llm, off, length any = r.LLMEventData, nil, nil
		if r.LLMSpan.Length > 0 {
			llm, off, length = nil, int32(r.LLMSpan.Offset), int32(r.LLMSpan.Length)
		}
		if err := tx.app.AppendRow(r.TimeGenerated, r.RecordId, r.RecordType, r.ActorName,
			r.ActorUserId, r.ActorUserType, r.OrganizationId, r.SrcIpAddr, r.ClientRegion, r.Workload,
			r.Version, r.AppHost, r.AppIdentity, llm, off, length, r.AIModelName, r.AIModelVersion,
			r.LogVersion, r.AgentName, r.AgentId, tx.system,
			r.Operation, int32(r.RecordTypeNumber), tx.ingested, row.Source, row.Loc, r.ClientIP,
			int64(r.ContentHash), r.Raw, hashes[i]); err != nil {
			return fmt.Errorf("cannot store record %s (%s %s): %w", r.RecordId, row.Source, row.Loc, err)
		}
		tx.res.Stored++
		// Fixed-width columns and the short strings: a generous bound.
		tx.bytes += int64(len(r.Raw)+len(r.LLMEventData)) + 512
		for _, n := range [2]int{len(r.Raw), len(r.LLMEventData)} {
			if n >= overflowBytes {
				tx.big += int64(n)
			}
		}
		if tx.appended++; tx.appended%rowGroupSize == 0 {
			// A full row group of the transaction is written out as it is.
			tx.big = 0
		}
		if tx.big >= partBytes {
			if err := tx.commitPart(ctx); err != nil {
				return err
			}
		}
	}
	for _, q := range quar {
		// The same unit quarantined again (a re-run import) is not stored twice.
		if _, err := tx.conn.ExecContext(ctx, `INSERT INTO Quarantine SELECT $1, $2, $3, $4, $5, $6
			WHERE NOT EXISTS (SELECT 1 FROM Quarantine WHERE SourceName = $2 AND SourceLocation = $3 AND RawText = $6)`,
			tx.ingested, validText(q.Source), validText(q.Loc), validText(q.RecordID), validText(q.Reason), q.Raw); err != nil {
			return fmt.Errorf("cannot quarantine %s %s: %w", q.Source, q.Loc, err)
		}
		tx.res.Quarantined++
	}
	return nil
}

// existing returns the content hash of every staged RecordId already stored,
// and empties the staging table. The first query reads only the IdHash
// column; RecordIds are compared only when a hash matched.
func (tx *Tx) existing(ctx context.Context) (map[string]uint64, error) {
	defer tx.conn.ExecContext(ctx, `DELETE FROM staging_ids`)
	var hits int
	// The staged hashes (small) are the build side; the table is only scanned.
	if err := tx.conn.QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData c
		WHERE c.IdHash IN (SELECT IdHash FROM staging_ids)`).Scan(&hits); err != nil {
		return nil, fmt.Errorf("cannot check for stored duplicates: %w", err)
	}
	found := map[string]uint64{}
	if hits == 0 {
		return found, nil
	}
	rs, err := tx.conn.QueryContext(ctx, `SELECT c.RecordId, c.ContentHash FROM CopilotActivityData c
		WHERE c.IdHash IN (SELECT IdHash FROM staging_ids)`)
	if err != nil {
		return nil, fmt.Errorf("cannot read stored duplicates: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var h int64
		if err := rs.Scan(&id, &h); err != nil {
			return nil, err
		}
		if _, ok := found[id]; !ok {
			found[id] = uint64(h)
		}
	}
	return found, rs.Err()
}

// duplicate counts a row whose RecordId is already kept with content hash stored.
func (tx *Tx) duplicate(ctx context.Context, row *Row, stored uint64) error {
	if row.Record.ContentHash == stored {
		tx.res.Duplicates++
		return nil
	}
	tx.res.Conflicts++
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO RecordConflict VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tx.ingested, row.Record.RecordId, row.Source, row.Loc, int64(row.Record.ContentHash), int64(stored), row.Record.Raw); err != nil {
		return fmt.Errorf("cannot record conflict for %s: %w", row.Record.RecordId, err)
	}
	return nil
}

// SetCursor saves a source position in the transaction.
func (tx *Tx) SetCursor(ctx context.Context, name, value string) error {
	if _, err := tx.conn.ExecContext(ctx, `INSERT INTO SourceCursor VALUES ($1, $2, $3)
		ON CONFLICT (Name) DO UPDATE SET Value = excluded.Value, UpdatedAt = excluded.UpdatedAt`,
		name, value, tx.ingested); err != nil {
		tx.Rollback()
		return fmt.Errorf("cannot save cursor %s: %w", name, err)
	}
	return nil
}

// Exec runs a statement inside the transaction (a source's own bookkeeping
// tables, written atomically with its records).
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) error {
	if _, err := tx.conn.ExecContext(ctx, query, args...); err != nil {
		tx.Rollback()
		return err
	}
	return nil
}

// QueryRow runs a query inside the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.conn.QueryRowContext(ctx, query, args...)
}

// Result is what the transaction did so far.
func (tx *Tx) Result() Result { return tx.res }

// Commit makes the transaction durable and returns its counts.
func (tx *Tx) Commit(ctx context.Context) (Result, error) {
	if tx.done {
		return Result{}, errors.New("transaction already finished")
	}
	err := tx.closeAppenders()
	if err != nil {
		err = fmt.Errorf("cannot commit: %w", err)
	} else {
		err = tx.commitDuckDB(ctx)
	}
	if err != nil {
		tx.Rollback()
		return Result{}, invalidated(err)
	}
	tx.done = true
	tx.s.finished(tx)
	return tx.res, nil
}

// Rollback abandons the transaction; safe to call more than once.
func (tx *Tx) Rollback() {
	if tx.done {
		return
	}
	tx.done = true
	if tx.app != nil {
		tx.app.Clear()
	}
	if tx.ids != nil {
		tx.ids.Clear()
	}
	tx.closeAppenders()
	tx.conn.ExecContext(context.Background(), `ROLLBACK`)
	tx.res = tx.committed
	tx.s.finished(tx)
}

func (tx *Tx) closeAppenders() error {
	var err1, err2 error
	if tx.app != nil {
		err1 = tx.app.Close()
	}
	if tx.ids != nil {
		err2 = tx.ids.Close()
	}
	tx.app, tx.ids = nil, nil
	return errors.Join(err1, err2)
}

// Cursor reads a saved source position.
func (s *Store) Cursor(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := s.conn.QueryRowContext(ctx, `SELECT Value FROM SourceCursor WHERE Name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("cannot read cursor %s: %w", name, err)
	}
	return v, true, nil
}

// validText is s with any invalid UTF-8 replaced: DuckDB refuses such
// VARCHARs, and one refused quarantine row would fail the batch of good
// records it came with. The raw bytes are kept as they came, in RawText.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
