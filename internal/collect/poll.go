package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// itemRef is one listed blob.
type itemRef struct {
	id, uri string
	created time.Time
}

// job is a blob to fetch and the page that waits for it.
type job struct {
	item itemRef
	page *page
}

// pollRun is the state of one poll of one stream.
type pollRun struct {
	s      *stream
	tr     *tracker
	jobs   chan job     // lister → fetchers
	ready  chan fetched // fetchers → committer
	cancel context.CancelCauseFunc

	mu         sync.Mutex
	dispatched map[string]bool // content ids fetched or being fetched by this poll
	res        Result
}

// fail stops the poll's listing and fetching with err (the first wins).
func (r *pollRun) fail(err error) { r.cancel(err) }

// poll lists every window from the cursor up to now and stores every new
// blob. Errors end up in the Result and the stream's status.
func (s *stream) poll(ctx context.Context) Result {
	c := s.c
	started := c.opts.Now().UTC()
	s.t.cur.Store(s)
	res := Result{Tenant: s.t.cfg.Name, TenantID: s.t.cfg.TenantID, ContentType: s.ct}
	log := c.log.With("tenant", s.t.cfg.Name, "content_type", s.ct)

	var err error
	if s.t.setupErr != nil {
		err = s.t.setupErr
	} else {
		res, err = s.collect(ctx, started, res)
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down: not a failure of the tenant.
		log.Info("poll interrupted by shutdown", "err", err)
		res.Err = err
		s.finish(ctx, started, err, true)
		return res
	}
	if err != nil {
		res.Err = err
		if o365.IsNoSubscription(err) || o365.IsDisabled(err) {
			s.ensure.Store(true)
		}
		args := []any{"err", err}
		if o365.IsFatal(err) {
			args = append(args, "hint", "check the tenant id, the app's ActivityFeed.Read permission and that audit logging is on")
		}
		log.Error("poll failed; retrying at the next poll", args...)
	} else {
		log.Info("poll done", "blobs", res.Blobs, "stored", res.Summary.Stored, "duplicates", res.Summary.Duplicates,
			"skipped", res.Summary.Skipped, "gaps", res.Gaps)
	}
	s.finish(ctx, started, err, false)
	c.mu.Lock()
	res.Cursor = s.cursor.Start
	c.mu.Unlock()
	return res
}

// finish saves the poll's outcome. It runs even while shutting down (the
// state write is short); an interrupted poll is neither a success nor a
// failure.
func (s *stream) finish(ctx context.Context, started time.Time, pollErr error, interrupted bool) {
	c := s.c
	ctx = context.WithoutCancel(ctx)
	end := c.opts.Now().UTC()
	if interrupted {
		pollErr = nil
	} else {
		c.opts.Metrics.poll(s.t.cfg.Name, s.ct, pollErr != nil)
	}
	err := c.w.do(ctx, func() error {
		c.mu.Lock()
		st := s.status
		c.mu.Unlock()
		st.LastAttempt = started
		switch {
		case interrupted:
		case pollErr != nil:
			st.LastError, st.LastErrorAt = pollErr.Error(), end
			st.Errors++
		default:
			st.LastSuccess = end
		}
		tx, err := c.st.Begin(ctx, sourceSystem)
		if err != nil {
			return err
		}
		if err := saveState(ctx, tx, st, end); err != nil {
			return err
		}
		if pollErr == nil && !interrupted {
			// Blobs older than any window can list need no dedup row.
			horizon := end.Add(-maxAge - 24*time.Hour)
			if err := tx.Exec(ctx, `DELETE FROM FetchedContent WHERE TenantId = $1 AND ContentType = $2 AND ContentCreated < $3`,
				s.t.cfg.TenantID, s.ct, horizon); err != nil {
				return fmt.Errorf("cannot prune FetchedContent: %w", err)
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		s.status.LastAttempt = st.LastAttempt
		switch {
		case interrupted:
		case pollErr != nil:
			s.status.LastError, s.status.LastErrorAt = st.LastError, st.LastErrorAt
			s.status.Errors++
		default:
			s.status.LastSuccess = st.LastSuccess
		}
		c.mu.Unlock()
		return nil
	})
	if err != nil {
		c.log.Error("cannot save collector state", "tenant", s.t.cfg.Name, "content_type", s.ct, "err", err)
	}
}

// collect is the poll proper.
func (s *stream) collect(ctx context.Context, started time.Time, res Result) (Result, error) {
	c, t := s.c, s.t
	if s.ensure.Load() {
		if _, err := t.client.EnsureSubscription(ctx, s.ct); err != nil {
			return res, err
		}
		s.ensure.Store(false)
	}
	now := started.Truncate(time.Second)
	lower := now.Add(-maxAge)
	c.mu.Lock()
	cur, has := s.cursor, s.hasCursor
	c.mu.Unlock()
	p := planPoll(cur, has, now, lower, t.set.Backfill.D(), t.set.Overlap.D())
	if !has || !p.cursor.equal(cur) || len(p.gaps) > 0 {
		gaps := make([]Gap, len(p.gaps))
		for i, g := range p.gaps {
			gaps[i] = s.gap(g.kind, "", g.start, g.end, g.detail, started)
			c.log.Warn("gap: content skipped", "tenant", t.cfg.Name, "content_type", s.ct, "kind", g.kind,
				"from", g.start, "to", g.end)
		}
		if err := s.commitMeta(ctx, p.cursor, gaps); err != nil {
			return res, err
		}
		res.Gaps += len(gaps)
	}

	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conc := max(t.set.Concurrency, 1)
	r := &pollRun{s: s, tr: newTracker(p.cursor), jobs: make(chan job), ready: make(chan fetched, conc),
		cancel: cancel, dispatched: map[string]bool{}, res: res}
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		r.committer(ctx)
	}()
	var fetchers sync.WaitGroup
	for range conc {
		fetchers.Add(1)
		go func() {
			defer fetchers.Done()
			r.fetcher(pctx, ctx)
		}()
	}
	listErr := r.list(pctx, p, now)
	close(r.jobs)
	fetchers.Wait()
	close(r.ready)
	<-committed

	// Pages whose blobs were all known already moved the cursor in memory.
	if cur, ok := r.tr.unsaved(); ok {
		if err := s.commitMeta(context.WithoutCancel(ctx), cur, nil); err != nil {
			r.fail(err)
		} else {
			r.tr.markSaved(cur)
		}
	}
	var err error
	if pctx.Err() != nil {
		err = context.Cause(pctx)
	} else {
		err = listErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, err
}

func (s *stream) gap(kind, contentID string, start, end time.Time, detail string, at time.Time) Gap {
	return Gap{RecordedAt: at, Tenant: s.t.cfg.Name, TenantID: s.t.cfg.TenantID, ContentType: s.ct, Kind: kind,
		ContentID: contentID, WindowStart: start, WindowEnd: end, Detail: detail}
}

// commitMeta saves a cursor and gaps (no records) in one transaction.
func (s *stream) commitMeta(ctx context.Context, cur Cursor, gaps []Gap) error {
	c := s.c
	return c.w.do(ctx, func() error {
		now := c.opts.Now().UTC()
		c.mu.Lock()
		st := s.status
		c.mu.Unlock()
		st.Cursor = cur.Start
		st.Gaps += int64(len(gaps))
		tx, err := c.st.Begin(ctx, sourceSystem)
		if err != nil {
			return err
		}
		if err := tx.SetCursor(ctx, s.cursorName, cur.encode()); err != nil {
			return err
		}
		for _, g := range gaps {
			if err := saveGap(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := saveState(ctx, tx, st, now); err != nil {
			return err
		}
		if _, err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("cannot save cursor of tenant %s %s: %w", s.t.cfg.Name, s.ct, err)
		}
		c.mu.Lock()
		s.cursor, s.hasCursor = cur, true
		s.status.Cursor = cur.Start
		s.status.Gaps += int64(len(gaps))
		c.mu.Unlock()
		for _, g := range gaps {
			c.opts.Metrics.gap(g.Tenant, g.ContentType, g.Kind)
		}
		c.addGaps(gaps)
		return nil
	})
}

// list walks the windows of the plan, handing every new blob to the
// fetchers.
func (r *pollRun) list(ctx context.Context, p plan, now time.Time) error {
	if p.resume {
		if err := r.listWindow(ctx, p.cursor.WindowStart, p.cursor.WindowEnd, p.cursor.Next); err != nil {
			return err
		}
	}
	for ws := p.listFrom; ; {
		we, ok := nextWindow(ws, now)
		if !ok {
			return nil
		}
		if err := r.listWindow(ctx, ws, we, ""); err != nil {
			return err
		}
		ws = we
	}
}

// listWindow lists [ws, we), from the link next when given, and recovers
// from what the reference says to recover from: an invalid or stale link
// (list the window again without it), a window the service finds too old
// (clamp it, recording the gap), a missing or disabled subscription (start
// it, once).
func (r *pollRun) listWindow(ctx context.Context, ws, we time.Time, next string) error {
	s := r.s
	c, t := s.c, s.t
	log := c.log.With("tenant", t.cfg.Name, "content_type", s.ct)
	relisted, clamped, ensured, reauths := false, false, false, 0
	for {
		var err error
		on := r.onPage(ctx, ws, we)
		onPage := func(pg o365.Page) error {
			if err := on(pg); err != nil {
				return err
			}
			if pg.NextPage != "" {
				next = pg.NextPage // where a retry continues
			}
			return nil
		}
		if next != "" {
			err = t.client.ResumeContent(ctx, s.ct, next, onPage)
		} else {
			err = t.client.ListContent(ctx, s.ct, ws, we, onPage)
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		switch {
		case isUnauthorized(err) && reauths < maxReauths:
			// The client re-authenticates once per request; a token revoked
			// again right after is retried here, from the last page.
			reauths++
			t.retried("list_content", http.StatusUnauthorized, 0)
			continue
		case next != "" && (o365.IsBadNextPage(err) || o365.IsBadWindow(err)) && !relisted:
			log.Warn("saved next-page link refused; listing its window again", "err", err)
			next, relisted = "", true
			continue
		case o365.IsBadWindow(err) && !clamped:
			// Time passed since the poll was planned, or the clocks differ: the
			// window start is too old now. Clamp it with a wider margin.
			fresh := c.opts.Now().UTC().Truncate(time.Second).Add(-maxAge + time.Hour)
			if !ws.Before(fresh) {
				// Not a matter of age: never skip a window the service refuses.
				return fmt.Errorf("cannot list content %s for tenant %s, window %s to %s: %w", s.ct, t.cfg.Name,
					ws.Format(time.RFC3339), we.Format(time.RFC3339), err)
			}
			end := fresh
			if we.Before(end) {
				end = we
			}
			g := s.gap(GapWindowExpired, "", ws, end, "the service refused the window as older than 7 days", c.opts.Now().UTC())
			if gerr := r.recordGaps(ctx, g); gerr != nil {
				return gerr
			}
			log.Warn("window refused as too old; clamped", "from", ws, "to", end, "err", err)
			if !end.Before(we) {
				// The whole window is gone: an empty last page completes it.
				r.tr.add(&page{ws: ws, we: we})
				return nil
			}
			ws, next, clamped = fresh, "", true
			continue
		case (o365.IsNoSubscription(err) || o365.IsDisabled(err)) && !ensured:
			log.Warn("subscription missing or disabled; starting it", "err", err)
			if _, serr := t.client.EnsureSubscription(ctx, s.ct); serr != nil {
				return serr
			}
			ensured = true
			continue
		}
		return err
	}
}

// maxReauths bounds the extra tries of a request answered 401 although
// the client had just fetched a fresh token.
const maxReauths = 3

func isUnauthorized(err error) bool {
	var ae *o365.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

// recordGaps commits gaps found mid-poll (no cursor change).
func (r *pollRun) recordGaps(ctx context.Context, gaps ...Gap) error {
	s := r.s
	c := s.c
	err := c.w.do(ctx, func() error {
		c.mu.Lock()
		st := s.status
		c.mu.Unlock()
		st.Gaps += int64(len(gaps))
		tx, err := c.st.Begin(ctx, sourceSystem)
		if err != nil {
			return err
		}
		for _, g := range gaps {
			if err := saveGap(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := saveState(ctx, tx, st, c.opts.Now()); err != nil {
			return err
		}
		if _, err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("cannot record gap: %w", err)
		}
		c.mu.Lock()
		s.status.Gaps += int64(len(gaps))
		c.mu.Unlock()
		for _, g := range gaps {
			c.opts.Metrics.gap(g.Tenant, g.ContentType, g.Kind)
		}
		c.addGaps(gaps)
		return nil
	})
	if err == nil {
		r.mu.Lock()
		r.res.Gaps += len(gaps)
		r.mu.Unlock()
	}
	return err
}

// onPage registers a listed page with the tracker and dispatches its new
// blobs.
func (r *pollRun) onPage(ctx context.Context, ws, we time.Time) func(o365.Page) error {
	s := r.s
	return func(pg o365.Page) error {
		var ids []string
		r.mu.Lock()
		seen := map[string]bool{}
		for _, it := range pg.Items {
			if it.ContentID == "" || r.dispatched[it.ContentID] || seen[it.ContentID] {
				continue
			}
			seen[it.ContentID] = true
			ids = append(ids, it.ContentID)
		}
		r.mu.Unlock()
		var known map[string]bool
		err := s.c.w.do(ctx, func() error {
			var err error
			known, err = knownContent(ctx, s.c.st.Conn(), s.t.cfg.TenantID, s.ct, ids)
			return err
		})
		if err != nil {
			return err
		}
		var todo []itemRef
		r.mu.Lock()
		for _, it := range pg.Items {
			if it.ContentID == "" || r.dispatched[it.ContentID] || known[it.ContentID] {
				continue
			}
			r.dispatched[it.ContentID] = true
			todo = append(todo, itemRef{id: it.ContentID, uri: it.ContentURI, created: it.ContentCreated})
		}
		r.mu.Unlock()
		p := &page{ws: ws, we: we, next: pg.NextPage, pending: len(todo)}
		r.tr.add(p)
		for _, it := range todo {
			select {
			case r.jobs <- job{item: it, page: p}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	}
}

// fetched is a downloaded blob (or one found gone) waiting to be stored.
type fetched struct {
	job
	sp   *spool
	gone error
}

// Limits of one store transaction: small blobs are stored together, so a
// commit's fixed cost is shared; a big blob goes alone.
const (
	maxBatchBlobs = 256
	maxBatchBytes = 32 << 20
)

// checkSize is how many records of a blob are handed to the store at once
// (one duplicate check). They are held three times meanwhile (Go rows, the
// appender's C buffer, DuckDB's transaction), so a big blob's peak memory
// follows it: 8192 (ingest's default) costs a 300 MB blob 70-90 MB more
// peak RSS than 1024, which in turn costs that blob about a sixth more CPU
// (more checks). A blob of up to 1024 records, the usual size, is still
// one check.
const checkSize = 1024

// fetcher downloads blobs and queues them for the committer. pctx stops
// with the poll; ctx (the run) bounds the queueing, so blobs already
// downloaded are stored even when another blob failed the poll.
func (r *pollRun) fetcher(pctx, ctx context.Context) {
	s := r.s
	for j := range r.jobs {
		if pctx.Err() != nil {
			continue // drain
		}
		sp, err := s.fetch(pctx, j.item)
		if err != nil {
			if pctx.Err() != nil {
				continue
			}
			if o365.IsContentGone(err) {
				r.queue(ctx, fetched{job: j, gone: err})
				continue
			}
			if o365.IsNoSubscription(err) || o365.IsDisabled(err) {
				s.ensure.Store(true)
			}
			r.fail(fmt.Errorf("cannot fetch content %s for tenant %s: %w", j.item.id, s.t.cfg.Name, err))
			continue
		}
		r.queue(ctx, fetched{job: j, sp: sp})
	}
}

func (r *pollRun) queue(ctx context.Context, f fetched) {
	select {
	case r.ready <- f:
	case <-ctx.Done():
		if f.sp != nil {
			f.sp.Close()
		}
	}
}

// committer stores what the fetchers queued, taking whatever is ready at
// once into one transaction on the writer.
func (r *pollRun) committer(ctx context.Context) {
	for f := range r.ready {
		batch := []fetched{f}
		size := f.size()
	more:
		for len(batch) < maxBatchBlobs && size < maxBatchBytes {
			select {
			case g, ok := <-r.ready:
				if !ok {
					break more
				}
				batch = append(batch, g)
				size += g.size()
			default:
				break more
			}
		}
		err := r.s.c.w.do(ctx, func() error { return r.commitBatch(ctx, batch) })
		for _, f := range batch {
			if f.sp != nil {
				f.sp.Close()
			}
		}
		if err != nil {
			r.fail(err)
		}
	}
}

func (f fetched) size() int64 {
	if f.sp == nil {
		return 0
	}
	return f.sp.size
}

// commitBatch stores blobs in one transaction. If that fails and the
// batch holds several, each is tried alone, so one unreadable blob does
// not hold back the others; not when the database itself refused, which
// every blob would meet again. It runs on the writer.
func (r *pollRun) commitBatch(ctx context.Context, batch []fetched) error {
	err := r.commit(ctx, batch)
	if err == nil || len(batch) == 1 || ctx.Err() != nil || errors.Is(err, store.ErrInvalidated) {
		return err
	}
	var errs []error
	for _, f := range batch {
		if err := r.commit(ctx, []fetched{f}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// commit stores blobs (or their gaps) with the cursor they allow, in one
// transaction.
func (r *pollRun) commit(ctx context.Context, batch []fetched) error {
	s := r.s
	c, t := s.c, s.t
	if err := ctx.Err(); err != nil {
		return err
	}
	now := c.opts.Now().UTC()
	tx, err := c.st.Begin(ctx, sourceSystem)
	if err != nil {
		return fmt.Errorf("cannot store content for tenant %s: %w", t.cfg.Name, err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	var d delta
	var sum ingest.Summary
	var gaps []Gap
	pages := make([]*page, 0, len(batch))
	rows := make([]fetchedRow, 0, len(batch))
	for _, f := range batch {
		pages = append(pages, f.page)
		status := "fetched"
		var one ingest.Summary
		if f.gone != nil {
			status = "gone"
			g := s.gap(GapContentGone, f.item.id, f.item.created, time.Time{}, f.gone.Error(), now)
			if err := saveGap(ctx, tx, g); err != nil {
				return err
			}
			gaps = append(gaps, g)
		} else {
			rd, err := reader.Open(f.sp.Reader(), reader.FormatJSON)
			if err != nil {
				return fmt.Errorf("cannot read content %s for tenant %s: %w", f.item.id, t.cfg.Name, err)
			}
			source := "o365:" + t.cfg.Name + "/" + s.ct + "/" + f.item.id
			one, err = ingest.Into(ctx, tx, source, rd, ingest.Options{SourceSystem: sourceSystem, Registry: c.opts.Registry,
				CheckSize: checkSize})
			if err != nil && ctx.Err() == nil && errors.Is(err, io.ErrUnexpectedEOF) {
				// The whole response arrived (the download checks the HTTP
				// framing) but the array in it stops early: keep what was
				// read, and record the rest as a gap rather than stall here.
				status = "incomplete"
				g := s.gap(GapContentIncomplete, f.item.id, f.item.created, time.Time{}, err.Error(), now)
				if err := saveGap(ctx, tx, g); err != nil {
					return err
				}
				gaps = append(gaps, g)
			} else if err != nil {
				return fmt.Errorf("cannot store content %s for tenant %s: %w", f.item.id, t.cfg.Name, err)
			}
			d.blobs++
			sum.Add(one)
		}
		rows = append(rows, fetchedRow{id: f.item.id, created: f.item.created, status: status, records: one.Read, stored: one.Stored})
	}
	if err := saveFetched(ctx, tx, t.cfg.TenantID, s.ct, rows, now); err != nil {
		return err
	}
	d.read, d.stored, d.duplicates = int64(sum.Read), int64(sum.Stored), int64(sum.Duplicates)
	d.conflicts, d.skipped, d.quarantined = int64(sum.Conflicts), int64(sum.Skipped), int64(sum.Quarantined)
	d.gaps = int64(len(gaps))
	cur, moved := r.tr.ifDone(pages)
	if moved {
		if err := tx.SetCursor(ctx, s.cursorName, cur.encode()); err != nil {
			return err
		}
	}
	c.mu.Lock()
	st := s.status
	c.mu.Unlock()
	st.apply(d)
	if moved {
		st.Cursor = cur.Start
	}
	if err := saveState(ctx, tx, st, now); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cannot store content for tenant %s: %w", t.cfg.Name, err)
	}
	committed = true
	if moved {
		r.tr.done(pages, &cur)
	} else {
		r.tr.done(pages, nil)
	}
	c.mu.Lock()
	s.status.apply(d)
	if moved {
		s.cursor, s.hasCursor = cur, true
		s.status.Cursor = cur.Start
	}
	c.mu.Unlock()
	c.opts.Metrics.committed(t.cfg.Name, s.ct, int(d.blobs), d)
	for _, g := range gaps {
		c.opts.Metrics.gap(g.Tenant, g.ContentType, g.Kind)
		c.log.Warn("gap: content not collected", "tenant", t.cfg.Name, "content_type", s.ct, "kind", g.Kind,
			"content_id", g.ContentID, "err", g.Detail)
	}
	c.addGaps(gaps)
	r.mu.Lock()
	r.res.Blobs += int(d.blobs)
	r.res.Summary.Add(sum)
	r.res.Gaps += len(gaps)
	r.mu.Unlock()
	return nil
}
