// Package backfill fetches past Copilot/AI audit records, up to 180 days
// back, through the Microsoft Graph audit log query API into the
// CopilotActivity table: exactly once (the store deduplicates on RecordId)
// and resumable after a crash.
//
// A range is cut into chunks (a day by default), oldest first, since the
// oldest records are the next to expire. Each chunk gets one audit query
// filtered on the AI record types. When Graph reports that a query hit its
// record cap, the interval is halved and each half queried again, down to
// MinSplit. A capped result is not stored: its records are a subset of the
// halves', so storing it would double the transfer and count each of them
// again as a duplicate. Only at MinSplit, where halving stops, is the capped
// result stored, and the interval recorded as a gap (status "capped").
//
// Every page of records is one transaction holding its records, its
// quarantined entries and the tenant's cursor (interval, query id, next page
// link, counts so far); the last page of an interval also records it in
// BackfillInterval. A crash resumes at the first page not committed. A page
// whose body breaks off is fetched again from the same link. When a saved
// query can no longer be read, its interval is queried again from the first
// page; dedup makes the repeat harmless. A re-run skips intervals already
// done unless Again is set.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// SourceSystem is the SourceSystem column of backfilled records.
const SourceSystem = "GraphAPI"

// Defaults of Job.
const (
	DefaultChunk        = 24 * time.Hour
	DefaultMinSplit     = time.Minute
	DefaultAhead        = 1
	DefaultPageAttempts = 5
)

// Job backfills one tenant.
type Job struct {
	Graph      *o365.Graph
	Store      *store.Store
	TenantID   string // the directory GUID: keys the cursor and BackfillInterval
	TenantName string // the configured name, for logs and BackfillInterval

	ChunkSize time.Duration // default DefaultChunk
	MinSplit  time.Duration // smallest interval a capped query is halved to; default DefaultMinSplit
	Poll      time.Duration // query status poll interval; default o365.DefaultQueryPoll
	// Ahead is how many chunks have their queries created and awaited at
	// once (Graph takes minutes per query); records are still stored one
	// page at a time, oldest chunk first. Default DefaultAhead.
	Ahead int
	// PageAttempts bounds the reads of one page whose body breaks off;
	// default DefaultPageAttempts.
	PageAttempts int
	// RecordTypes are the query's recordTypeFilters; default
	// RecordTypeFilters(Registry).
	RecordTypes []string

	stateKey string          // TenantID, with the record types when they are not all
	Registry *audit.Registry // default audit.NewRegistry(audit.Numbering371)
	// Again queries every interval, even those done by an earlier run, and
	// ignores a saved cursor.
	Again bool

	Now        func() time.Time // default time.Now
	Log        *slog.Logger     // default slog.Default()
	OnProgress func(Progress)   // after each stored page and each chunk
}

// Summary counts what a run did.
type Summary struct {
	ingest.Summary     // units read, stored, duplicates, conflicts, skipped (not Copilot), quarantined
	Chunks         int // chunks in the range
	ChunksDone     int // chunks finished (including those skipped)
	ChunksSkipped  int // chunks an earlier run had finished
	ChunksFailed   int // chunks with a query that failed or was cancelled
	Queries        int // audit queries created
	Splits         int // intervals halved because their query hit the record cap
	Gaps           int // intervals still capped at MinSplit: partly stored
	Pages          int // pages of records stored
	PageRetries    int // page reads repeated after the body broke off
}

func (s Summary) String() string {
	return fmt.Sprintf("read %d, stored %d, duplicates %d, conflicts %d, skipped (not Copilot) %d, quarantined %d; "+
		"chunks %d (skipped %d, failed %d), queries %d, splits %d, gaps %d, pages %d",
		s.Read, s.Stored, s.Duplicates, s.Conflicts, s.Skipped, s.Quarantined,
		s.Chunks, s.ChunksSkipped, s.ChunksFailed, s.Queries, s.Splits, s.Gaps, s.Pages)
}

// Progress is reported while a run goes.
type Progress struct {
	Chunk   Interval // the chunk being stored
	Summary Summary  // totals so far
}

// RecordTypeFilters are the Graph recordTypeFilters for the registry's AI
// record types: the names with the first letter lower-cased
// (CopilotInteraction → copilotInteraction), sorted.
func RecordTypeFilters(reg *audit.Registry) []string {
	names := reg.AINames()
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		out = append(out, camel(n))
	}
	slices.Sort(out)
	return out
}

// camel turns a PascalCase enum name into Graph's camelCase: a leading run
// of capitals is lowered as a word (AIAppInteraction → aiAppInteraction).
func camel(n string) string {
	i := 0
	for i < len(n) && n[i] >= 'A' && n[i] <= 'Z' {
		i++
	}
	switch {
	case i == 0:
		return n
	case i == 1 || i == len(n):
		return strings.ToLower(n[:i]) + n[i:]
	default:
		// the last capital starts the next word
		return strings.ToLower(n[:i-1]) + n[i-1:]
	}
}

func (j *Job) defaults() error {
	if j.Graph == nil || j.Store == nil {
		return errors.New("backfill: Graph and Store are required")
	}
	if j.TenantID == "" {
		return errors.New("backfill: TenantID is required")
	}
	if j.TenantName == "" {
		j.TenantName = j.TenantID
	}
	if j.ChunkSize <= 0 {
		j.ChunkSize = DefaultChunk
	}
	if j.MinSplit <= 0 {
		j.MinSplit = DefaultMinSplit
	}
	if j.MinSplit < time.Second {
		return fmt.Errorf("backfill: the smallest split %s is under one second, the precision of Graph's filter", j.MinSplit)
	}
	if j.ChunkSize < j.MinSplit {
		return fmt.Errorf("backfill: the chunk size %s is smaller than the smallest split %s", j.ChunkSize, j.MinSplit)
	}
	if j.Poll <= 0 {
		j.Poll = o365.DefaultQueryPoll
	}
	if j.Ahead <= 0 {
		j.Ahead = DefaultAhead
	}
	if j.PageAttempts <= 0 {
		j.PageAttempts = DefaultPageAttempts
	}
	if j.Registry == nil {
		j.Registry = audit.NewRegistry(audit.Numbering371)
	}
	all := RecordTypeFilters(j.Registry)
	if len(j.RecordTypes) == 0 {
		j.RecordTypes = all
	}
	for _, t := range j.RecordTypes {
		if !slices.Contains(all, t) {
			return fmt.Errorf("unknown record type filter %q: use Graph's names of the Copilot/AI record types: %s", t, strings.Join(all, ", "))
		}
	}
	// Progress is kept per filter: a narrow run must not mark days done
	// for the full one.
	j.stateKey = j.TenantID
	if types := slices.Sorted(slices.Values(j.RecordTypes)); !slices.Equal(types, all) {
		j.stateKey += " " + strings.Join(slices.Compact(types), ",")
	}
	if j.Now == nil {
		j.Now = time.Now
	}
	if j.Log == nil {
		j.Log = slog.Default()
	}
	return nil
}

// run is one Run's working state. Only Run's goroutine touches sum and the
// store; the goroutines preparing chunks ahead read state, which does not
// change during the run.
type run struct {
	j     *Job
	log   *slog.Logger
	state state
	sum   Summary
	chunk Interval
}

// leaf is an interval whose query succeeded below the record cap (or at
// MinSplit), ready to be paged.
type leaf struct {
	iv      Interval
	query   string
	next    string // URL of the next page to store
	page    int    // its number, from 1
	counts  ingest.Summary
	capped  bool
	resumed bool  // taken from the saved cursor
	failed  error // the query ended failed or cancelled
}

// prepared is a chunk resolved into leaves.
type prepared struct {
	chunk   Interval
	skipped bool // done by an earlier run
	leaves  []leaf
	splits  []Interval
	queries int
	err     error
}

// Run backfills the range [from, to): CheckRange validates it against Now
// (to is clamped to now). It returns what was done, and an error when the
// run stopped early (cancelled, an API or store failure: committed pages
// stay and a re-run resumes) or when chunks failed (a re-run retries them).
func (j *Job) Run(ctx context.Context, from, to time.Time) (Summary, error) {
	if err := j.defaults(); err != nil {
		return Summary{}, err
	}
	rng, err := CheckRange(from, to, j.Now())
	if err != nil {
		return Summary{}, err
	}
	r := &run{j: j, log: j.Log.With("tenant", j.TenantName)}
	if !j.Again {
		if r.state, err = loadState(ctx, j.Store, j.stateKey); err != nil {
			return Summary{}, err
		}
	}
	chunks := Chunks(rng, j.ChunkSize)
	r.sum.Chunks = len(chunks)
	r.log.Info("graph backfill starting", "from", rng.Start, "to", rng.End, "chunks", len(chunks),
		"chunk_size", j.ChunkSize, "again", j.Again, "resume", r.state.cursor != nil)

	// Queries of the next chunks run ahead while this goroutine stores the
	// current one; they stop when the run ends.
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	results := make([]chan prepared, len(chunks))
	started := 0
	var failed []error
	for i, c := range chunks {
		for ; started < len(chunks) && started < i+j.Ahead; started++ {
			ch := make(chan prepared, 1)
			results[started] = ch
			iv := chunks[started]
			wg.Go(func() { ch <- r.prepare(pctx, iv, !j.Again) })
		}
		p := <-results[i]
		r.chunk = c
		chunkErr, err := r.storeChunk(ctx, p)
		if err != nil {
			r.sum.ChunksFailed++ // the summary printed with the error says so
			return r.sum, fmt.Errorf("graph backfill of tenant %s stopped in chunk %s: %w", j.TenantName, c, err)
		}
		if chunkErr != nil {
			r.sum.ChunksFailed++
			failed = append(failed, chunkErr)
		}
		r.sum.ChunksDone++
		r.progress()
	}
	r.log.Info("graph backfill finished", "summary", r.sum.String())
	if len(failed) > 0 {
		return r.sum, fmt.Errorf("graph backfill of tenant %s: %d chunk(s) failed; run again to retry them: %w",
			j.TenantName, len(failed), errors.Join(failed...))
	}
	return r.sum, nil
}

func (r *run) progress() {
	if r.j.OnProgress != nil {
		r.j.OnProgress(Progress{Chunk: r.chunk, Summary: r.sum})
	}
}

// prepare resolves a chunk into leaves: skipped when done, else queried
// and split as the record cap requires. useState false ignores earlier runs.
func (r *run) prepare(ctx context.Context, iv Interval, useState bool) prepared {
	p := prepared{chunk: iv}
	if useState && r.state.done.covers(iv) {
		p.skipped = true
		return p
	}
	p.err = r.resolve(ctx, iv, useState, &p)
	return p
}

func (r *run) canSplit(iv Interval) bool { return iv.Len() >= 2*r.j.MinSplit }

func (r *run) resolve(ctx context.Context, iv Interval, useState bool, p *prepared) error {
	if useState {
		if r.state.done.covers(iv) {
			return nil
		}
		if c := r.state.cursor; c != nil && c.interval().key() == iv.key() {
			p.leaves = append(p.leaves, leaf{iv: iv, query: c.Query, next: c.Next, page: c.Page,
				counts: c.Counts, capped: c.Capped, resumed: true})
			return nil
		}
		if r.state.split[iv.key()] && r.canSplit(iv) {
			a, b := iv.halves()
			if err := r.resolve(ctx, a, useState, p); err != nil {
				return err
			}
			return r.resolve(ctx, b, useState, p)
		}
	}
	g := r.j.Graph
	q, err := g.CreateQuery(ctx, "aiwatch backfill "+r.j.TenantName+" "+iv.String(), iv.Start, iv.End, r.j.RecordTypes)
	if err != nil {
		return fmt.Errorf("interval %s: %w", iv, err)
	}
	p.queries++
	r.log.Debug("audit query created", "interval", iv, "query", q.ID)
	q, err = g.WaitQuery(ctx, q.ID, r.j.Poll)
	if err != nil {
		if q.Status == "failed" || q.Status == "cancelled" {
			r.log.Warn("audit query did not succeed", "interval", iv, "query", q.ID, "status", q.Status)
			what := "audit query " + q.ID
			if iv.key() != p.chunk.key() {
				what += " for interval " + iv.String()
			}
			p.leaves = append(p.leaves, leaf{iv: iv, query: q.ID,
				failed: fmt.Errorf("chunk %s: %s ended with status %s", p.chunk, what, q.Status)})
			return nil
		}
		return fmt.Errorf("interval %s: %w", iv, err)
	}
	capped := q.RecordCountLimitExceeded
	if capped && r.canSplit(iv) {
		a, b := iv.halves()
		r.log.Info("audit query hit the record cap; splitting", "interval", iv, "query", q.ID, "halves", []string{a.String(), b.String()})
		p.splits = append(p.splits, iv)
		if err := r.resolve(ctx, a, useState, p); err != nil {
			return err
		}
		return r.resolve(ctx, b, useState, p)
	}
	if capped {
		r.log.Warn("audit query hit the record cap at the smallest split; storing what it returned, the rest is a gap",
			"interval", iv, "query", q.ID, "min_split", r.j.MinSplit)
	}
	p.leaves = append(p.leaves, leaf{iv: iv, query: q.ID, next: g.RecordsURL(q.ID), page: 1, capped: capped})
	return nil
}

// storeChunk stores a prepared chunk's leaves. chunkErr reports a failed
// query (the run goes on); err stops the run.
func (r *run) storeChunk(ctx context.Context, p prepared) (chunkErr, err error) {
	if p.skipped {
		r.sum.ChunksSkipped++
		r.log.Info("chunk already backfilled; skipping", "chunk", p.chunk)
		return nil, nil
	}
	before := r.sum
	chunkErr, err = r.storeLeaves(ctx, p)
	if err != nil {
		return nil, err
	}
	d := r.sum
	msg, level := "chunk backfilled", slog.LevelInfo
	if chunkErr != nil {
		msg, level = "chunk backfilled in part: a query failed; a re-run retries it", slog.LevelWarn
	}
	r.log.Log(ctx, level, msg, "chunk", p.chunk, "queries", d.Queries-before.Queries, "pages", d.Pages-before.Pages,
		"read", d.Read-before.Read, "stored", d.Stored-before.Stored, "duplicates", d.Duplicates-before.Duplicates,
		"skipped", d.Skipped-before.Skipped, "quarantined", d.Quarantined-before.Quarantined,
		"splits", d.Splits-before.Splits, "gaps", d.Gaps-before.Gaps)
	return chunkErr, nil
}

func (r *run) storeLeaves(ctx context.Context, p prepared) (chunkErr, err error) {
	r.sum.Queries += p.queries
	if p.err != nil {
		return nil, p.err
	}
	if err := r.saveSplits(ctx, p.splits); err != nil {
		return nil, err
	}
	var failed []error
	for _, l := range p.leaves {
		if l.failed != nil {
			failed = append(failed, l.failed)
			continue
		}
		ce, err := r.storeLeaf(ctx, l)
		if err != nil {
			return nil, err
		}
		if ce != nil {
			failed = append(failed, ce)
		}
	}
	return errors.Join(failed...), nil
}

// saveSplits records capped intervals, so a resumed run halves them
// without asking again.
func (r *run) saveSplits(ctx context.Context, splits []Interval) error {
	if len(splits) == 0 {
		return nil
	}
	r.sum.Splits += len(splits)
	tx, err := r.j.Store.Begin(ctx, SourceSystem)
	if err != nil {
		return err
	}
	for _, iv := range splits {
		if err := saveInterval(ctx, tx, r.j.stateKey, r.j.TenantName, iv, StatusSplit, "", 0, ingest.Summary{}, r.j.Now()); err != nil {
			tx.Rollback()
			return err
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cannot record split intervals: %w", err)
	}
	return nil
}

// openError marks a page that could not be opened (the client already
// retried what is transient).
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

// storeLeaf pages through a leaf's records, one transaction per page.
func (r *run) storeLeaf(ctx context.Context, l leaf) (chunkErr, err error) {
	for l.next != "" {
		err := r.storePage(ctx, &l)
		if err == nil {
			l.resumed = false
			continue
		}
		var oe *openError
		if l.resumed && errors.As(err, &oe) && ctx.Err() == nil && !o365.IsRetryable(err) {
			// The saved query expired, or the link points elsewhere now (a
			// changed Graph endpoint): start the interval over.
			r.log.Warn("saved audit query cannot be read any more; querying its interval again",
				"interval", l.iv, "query", l.query, "page", l.page, "err", err)
			return r.storeLeaves(ctx, r.prepare(ctx, l.iv, false))
		}
		return nil, err
	}
	return nil, nil
}

// storePage reads the leaf's next page into one transaction with the
// cursor, re-reading it when its body breaks off, and advances the leaf.
func (r *run) storePage(ctx context.Context, l *leaf) error {
	for attempt := 1; ; attempt++ {
		retry, err := r.tryPage(ctx, l)
		if err == nil {
			return nil
		}
		if !retry || attempt >= r.j.PageAttempts || ctx.Err() != nil {
			if retry {
				return fmt.Errorf("giving up after %d reads: %w", attempt, err)
			}
			return err
		}
		r.sum.PageRetries++
		wait := r.j.Graph.Retry.Wait(attempt, 0)
		r.log.Warn("page of audit records broke off; reading it again", "interval", l.iv, "query", l.query,
			"page", l.page, "attempt", attempt, "wait", wait, "err", err)
		if err := r.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (r *run) sleep(ctx context.Context, d time.Duration) error {
	if s := r.j.Graph.Sleep; s != nil {
		return s(ctx, d)
	}
	return o365.Sleep(ctx, d)
}

// trackedBody remembers whether the response body failed or was empty.
type trackedBody struct {
	r   io.Reader
	n   int64
	err error
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// pageReader remembers whether the page itself could not be read (as
// opposed to the store failing).
type pageReader struct {
	reader.PageReader
	err error
}

func (p *pageReader) Next() (reader.Unit, error) {
	u, err := p.PageReader.Next()
	if err != nil && !errors.Is(err, io.EOF) && p.err == nil {
		p.err = err
	}
	return u, err
}

// tryPage makes one attempt at the leaf's next page. retry reports a page
// that broke off, came empty or malformed: the same link may work next time.
func (r *run) tryPage(ctx context.Context, l *leaf) (retry bool, err error) {
	body, err := r.j.Graph.OpenRecordsPage(ctx, l.next)
	if err != nil {
		return false, &openError{err}
	}
	defer body.Close()
	source := fmt.Sprintf("graph:%s page %d", l.query, l.page)
	tb := &trackedBody{r: body}
	rd, err := reader.Open(tb, reader.FormatGraph)
	if err != nil {
		return tb.err != nil, fmt.Errorf("cannot read %s: %w", source, err)
	}
	inner, ok := rd.(reader.PageReader)
	if !ok {
		return false, fmt.Errorf("cannot read %s: the Graph reader does not report next links", source)
	}
	pr := &pageReader{PageReader: inner}
	tx, err := r.j.Store.Begin(ctx, SourceSystem)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // no-op after Commit
	sum, err := ingest.Into(ctx, tx, source, pr, ingest.Options{SourceSystem: SourceSystem, Registry: r.j.Registry})
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case tb.err != nil:
		// The reader may report the break as an error or not at all.
		return true, fmt.Errorf("cannot read %s: %w", source, tb.err)
	case pr.err != nil:
		// A malformed page envelope: a fresh copy of the page may be whole.
		return true, err
	case err != nil:
		return false, err
	case tb.n == 0:
		return true, fmt.Errorf("cannot read %s: the response body is empty", source)
	}
	next := pr.NextLink()
	if next == l.next {
		return false, fmt.Errorf("cannot page %s: its @odata.nextLink is the page itself", source)
	}
	counts := l.counts
	counts.Add(sum)
	c := cursor{Start: l.iv.Start, End: l.iv.End, Query: l.query, Page: l.page + 1, Next: next, Capped: l.capped, Counts: counts}
	if err := saveCursor(ctx, tx, r.j.stateKey, c); err != nil {
		return false, err
	}
	if next == "" {
		status := StatusDone
		if l.capped {
			status = StatusCapped
		}
		if err := saveInterval(ctx, tx, r.j.stateKey, r.j.TenantName, l.iv, status, l.query, l.page, counts, r.j.Now()); err != nil {
			return false, err
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("cannot store %s: %w", source, err)
	}
	r.log.Debug("page stored", "interval", l.iv, "query", l.query, "page", l.page, "read", sum.Read, "stored", sum.Stored)
	l.counts, l.next = counts, next
	l.page++
	r.sum.Add(sum)
	r.sum.Pages++
	if next == "" && l.capped {
		r.sum.Gaps++
	}
	r.progress()
	return false, nil
}
