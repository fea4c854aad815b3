package collect

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/reader"
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
	s       *stream
	tr      *tracker
	jobs    chan job
	cancel  context.CancelCauseFunc
	commits sync.WaitGroup // blobs handed to the writer, not yet finished

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
		hint := ""
		if o365.IsFatal(err) {
			hint = "check the tenant id, the app's ActivityFeed.Read permission and that audit logging is on"
		}
		log.Error("poll failed; retrying at the next poll", "err", err, "hint", hint)
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
	r := &pollRun{s: s, tr: newTracker(p.cursor), jobs: make(chan job), cancel: cancel,
		dispatched: map[string]bool{}, res: res}
	conc := max(t.set.Concurrency, 1)
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
	r.commits.Wait()

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
	relisted, ensured := false, false
	for {
		var err error
		if next != "" {
			err = t.client.ResumeContent(ctx, s.ct, next, r.onPage(ctx, ws, we))
		} else {
			err = t.client.ListContent(ctx, s.ct, ws, we, r.onPage(ctx, ws, we))
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		switch {
		case next != "" && (o365.IsBadNextPage(err) || o365.IsBadWindow(err)) && !relisted:
			log.Warn("saved next-page link refused; listing its window again", "err", err)
			next, relisted = "", true
			continue
		case o365.IsBadWindow(err) && !relisted:
			// Time passed since the poll was planned, or the clocks differ: the
			// window start is too old now. Clamp it with a wider margin.
			fresh := c.opts.Now().UTC().Truncate(time.Second).Add(-maxAge + time.Hour)
			if !ws.Before(fresh) || !fresh.Before(we) {
				return fmt.Errorf("cannot list content %s for tenant %s, window %s to %s: %w", s.ct, t.cfg.Name,
					ws.Format(time.RFC3339), we.Format(time.RFC3339), err)
			}
			g := s.gap(GapWindowExpired, "", ws, fresh, "the service refused the window as older than 7 days", c.opts.Now().UTC())
			if gerr := r.recordGaps(ctx, g); gerr != nil {
				return gerr
			}
			log.Warn("window refused as too old; clamped", "from", ws, "to", fresh, "err", err)
			ws, relisted = fresh, true
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

// fetcher downloads blobs and hands them to the writer. pctx stops with
// the poll; ctx (the run) bounds the commits, so blobs already downloaded
// are stored even when another blob failed the poll.
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
				r.submit(ctx, j, nil, err)
				continue
			}
			if o365.IsNoSubscription(err) || o365.IsDisabled(err) {
				s.ensure.Store(true)
			}
			r.fail(fmt.Errorf("cannot fetch content %s for tenant %s: %w", j.item.id, s.t.cfg.Name, err))
			continue
		}
		r.submit(ctx, j, sp, nil)
	}
}

// submit queues the blob's transaction on the writer.
func (r *pollRun) submit(ctx context.Context, j job, sp *spool, gone error) {
	r.commits.Add(1)
	err := r.s.c.w.submit(ctx, func() {
		defer r.commits.Done()
		if sp != nil {
			defer sp.Close()
		}
		if err := r.commitBlob(ctx, j, sp, gone); err != nil {
			r.fail(err)
		}
	})
	if err != nil {
		r.commits.Done()
		if sp != nil {
			sp.Close()
		}
		r.fail(err)
	}
}

// commitBlob stores one blob (or its gap) with the cursor it allows, in
// one transaction. It runs on the writer.
func (r *pollRun) commitBlob(ctx context.Context, j job, sp *spool, gone error) error {
	s := r.s
	c, t := s.c, s.t
	if err := ctx.Err(); err != nil {
		return err
	}
	now := c.opts.Now().UTC()
	tx, err := c.st.Begin(ctx, sourceSystem)
	if err != nil {
		return fmt.Errorf("cannot store content %s for tenant %s: %w", j.item.id, t.cfg.Name, err)
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
	status := "fetched"
	if gone != nil {
		status = "gone"
		gaps = append(gaps, s.gap(GapContentGone, j.item.id, j.item.created, time.Time{}, gone.Error(), now))
		d.gaps = 1
		if err := saveGap(ctx, tx, gaps[0]); err != nil {
			return err
		}
	} else {
		rd, err := reader.Open(sp.Reader(), reader.FormatJSON)
		if err != nil {
			return fmt.Errorf("cannot read content %s for tenant %s: %w", j.item.id, t.cfg.Name, err)
		}
		source := "o365:" + t.cfg.Name + "/" + s.ct + "/" + j.item.id
		sum, err = ingest.Into(ctx, tx, source, rd, ingest.Options{SourceSystem: sourceSystem, Registry: c.opts.Registry})
		if err != nil {
			return fmt.Errorf("cannot store content %s for tenant %s: %w", j.item.id, t.cfg.Name, err)
		}
		d = delta{blobs: 1, read: int64(sum.Read), stored: int64(sum.Stored), duplicates: int64(sum.Duplicates),
			conflicts: int64(sum.Conflicts), skipped: int64(sum.Skipped), quarantined: int64(sum.Quarantined)}
	}
	if err := saveFetched(ctx, tx, t.cfg.TenantID, s.ct, j.item.id, j.item.created, status, sum.Read, sum.Stored, now); err != nil {
		return err
	}
	cur, moved := r.tr.ifDone(j.page)
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
		return fmt.Errorf("cannot store content %s for tenant %s: %w", j.item.id, t.cfg.Name, err)
	}
	committed = true
	if moved {
		r.tr.done(j.page, &cur)
	} else {
		r.tr.done(j.page, nil)
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
		c.log.Warn("gap: content gone", "tenant", t.cfg.Name, "content_type", s.ct, "content_id", j.item.id, "err", gone)
	}
	c.addGaps(gaps)
	r.mu.Lock()
	r.res.Blobs += int(d.blobs)
	r.res.Summary.Add(sum)
	r.res.Gaps += len(gaps)
	r.mu.Unlock()
	return nil
}
