// Package collect pulls Copilot audit records from the Office 365
// Management Activity API into the store: per tenant and content type, it
// starts the subscription when missing or disabled, lists content windows,
// fetches the blobs with bounded concurrency, and stores their Copilot
// records together with its progress.
//
// # Cursor scheme
//
// Each tenant and content type has one cursor (SourceCursor, JSON):
//
//   - Start: every blob listed with contentCreated before Start has been
//     committed, or recorded as a gap.
//   - WindowStart, WindowEnd, Next (optional): the listing of window
//     [WindowStart, WindowEnd) is in progress and every page before the
//     NextPageUri Next is committed.
//
// A poll lists from Start minus the overlap (late blobs become visible
// with an older contentCreated) up to now, in windows of at most 24 hours,
// never starting more than 7 days minus a margin back; a saved Next is
// resumed first. The clamps record what they skip as gaps: a cursor or a
// saved link older than that limit (the link would fail with AF20055
// forever) is moved up, never silently.
//
// Every page is followed in order. Its blobs not yet in FetchedContent are
// fetched by Concurrency workers into spools (memory, or a file past a few
// MB, so a blob of hundreds of MB costs no heap) and retried when a body is
// cut or stalls; requests themselves are retried by the o365 client. One
// writer goroutine, the only user of the DuckDB connection, stores the
// downloaded blobs, those ready together (up to 256 blobs or 32 MB) in one
// transaction: their records (deduplicated on RecordId by the store),
// their FetchedContent rows, the collector's counters and, when they
// complete the oldest unfinished pages, the cursor moved past those pages:
// to the last one's Next, or, after a window's last page, Start = the
// window's end. A window's end thus becomes Start only after every blob
// listed in it is committed. A blob the API no longer serves (AF20050,
// AF20051) is committed as a gap, which completes it.
//
// A crash at any point loses nothing: an uncommitted blob is not in
// FetchedContent and its page is not behind the cursor, so the next run
// lists it again; blobs committed ahead of the cursor are skipped by their
// FetchedContent row; a record repeated in several blobs is dropped by the
// store. At most the pages after the cursor are listed again.
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/store"
)

// Limits of the listing windows.
const (
	maxAge    = config.MaxBackfill // how far back a window may start: 7 days minus a margin
	maxWindow = o365.MaxWindow     // 24 hours
)

// Defaults of Options.
const (
	DefaultSpoolMemory = 4 << 20
	DefaultIdleTimeout = 2 * time.Minute
	sourceSystem       = "RestAPI"
)

// Options configure a Collector.
type Options struct {
	Store    *store.Store
	Tenants  []config.Tenant
	Settings config.Collector // per tenant through Settings.ForTenant
	// HTTP is the base client; nil builds one with sane timeouts. Its
	// transport is wrapped to count requests.
	HTTP *http.Client
	Now  func() time.Time
	// Sleep waits between retries; default a timer. Tests pass one that
	// returns at once (or advances a fake clock).
	Sleep    func(ctx context.Context, d time.Duration) error
	Retry    o365.RetryPolicy
	Metrics  *Metrics // nil: no metrics
	Log      *slog.Logger
	Registry *audit.Registry // record type numbering; default 371
	// SpoolDir holds blobs larger than SpoolMemory while they wait for the
	// writer; default <data dir>/spool.
	SpoolDir    string
	SpoolMemory int64
	// IdleTimeout abandons (and retries) a blob body that sends nothing for
	// this long; default 2 minutes.
	IdleTimeout time.Duration
}

// Collector collects every configured tenant. Create it with New, run Once
// or Run, then Close.
type Collector struct {
	opts     Options
	log      *slog.Logger
	st       *store.Store
	spoolDir string
	w        *writer
	tenants  []*tenant

	mu   sync.Mutex // guards every stream's status and cursor, and gaps
	gaps []Gap      // newest last
}

// tenant is one configured tenant: its client and its content types.
type tenant struct {
	c        *Collector
	cfg      config.Tenant
	set      config.Collector
	client   *o365.Client
	setupErr error // credentials or endpoints that cannot work: every poll reports it
	streams  []*stream
	cur      atomic.Pointer[stream] // the stream polling now, for retry counts
}

// stream is one tenant and content type.
type stream struct {
	c          *Collector
	t          *tenant
	ct         string
	cursorName string
	ensure     atomic.Bool // check the subscription before the next listing

	// guarded by c.mu
	status    Status
	cursor    Cursor
	hasCursor bool
}

// CursorName is the SourceCursor name of a tenant's content type.
func CursorName(tenantID, contentType string) string {
	return "o365:" + tenantID + ":" + contentType
}

// New prepares the collector: clients for every tenant, and the saved
// cursors and counters from the store.
func New(ctx context.Context, opts Options) (*Collector, error) {
	if opts.Store == nil {
		return nil, errors.New("collect: no store")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = audit.NewRegistry(audit.Numbering371)
	}
	if opts.SpoolMemory <= 0 {
		opts.SpoolMemory = DefaultSpoolMemory
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.HTTP == nil {
		opts.HTTP = defaultHTTP()
	}
	c := &Collector{opts: opts, log: opts.Log, st: opts.Store, spoolDir: opts.SpoolDir}
	if c.spoolDir == "" {
		c.spoolDir = filepath.Join(opts.Store.Dir(), "spool")
	}
	// This process holds the store, so spool files there are leftovers.
	cleanSpool(c.spoolDir)
	for _, tc := range opts.Tenants {
		t := &tenant{c: c, cfg: tc, set: opts.Settings.ForTenant(tc)}
		t.setupErr = t.setup()
		for _, ct := range t.set.ContentTypes {
			s := &stream{c: c, t: t, ct: ct, cursorName: CursorName(tc.TenantID, ct),
				status: Status{Tenant: tc.Name, TenantID: tc.TenantID, ContentType: ct}}
			s.ensure.Store(true)
			if err := loadStream(ctx, opts.Store, s); err != nil {
				return nil, fmt.Errorf("cannot load collector state of tenant %s: %w", tc.Name, err)
			}
			t.streams = append(t.streams, s)
		}
		c.tenants = append(c.tenants, t)
	}
	gaps, err := readGaps(ctx, opts.Store.Conn(), recentGaps)
	if err != nil {
		return nil, err
	}
	slices.Reverse(gaps)
	c.gaps = gaps
	c.w = startWriter()
	opts.Metrics.bind(c.Report)
	return c, nil
}

func defaultHTTP() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.MaxIdleConnsPerHost = config.MaxConcurrency
	return &http.Client{Transport: tr}
}

// setup builds the tenant's API client.
func (t *tenant) setup() error {
	c := t.c
	ep, err := t.cfg.ResolveEndpoints()
	if err != nil {
		return fmt.Errorf("tenant %s: %w", t.cfg.Name, err)
	}
	cred, err := t.cfg.Credentials()
	if err != nil {
		return fmt.Errorf("tenant %s: %w", t.cfg.Name, err)
	}
	// The token's audience is the cloud's API, whichever host serves it.
	_, resource, err := o365.Endpoints(o365.Cloud(t.cfg.Cloud))
	if err != nil {
		return fmt.Errorf("tenant %s: %w", t.cfg.Name, err)
	}
	hc := *c.opts.HTTP
	if c.opts.Metrics != nil {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = &countingTransport{next: next, m: c.opts.Metrics, tenant: t.cfg.Name}
	}
	log := c.log.With("tenant", t.cfg.Name)
	ts := o365.NewTokenSource(&hc, ep.Login, t.cfg.TenantID, resource, cred, c.opts.Now)
	ts.Log = log
	t.client = &o365.Client{
		HTTP:      &hc,
		ManageURL: ep.Management,
		TenantID:  t.cfg.TenantID,
		Publisher: t.cfg.Publisher,
		Tokens:    ts,
		Now:       c.opts.Now,
		Sleep:     c.opts.Sleep,
		Retry:     c.opts.Retry,
		OnRetry: func(op string, status int, code string, wait time.Duration) {
			t.retried(op, status, wait)
		},
		Log: c.log, // the client adds the tenant id
	}
	return nil
}

// retried counts one retry against the stream polling now.
func (t *tenant) retried(op string, status int, wait time.Duration) {
	t.c.opts.Metrics.retry(t.cfg.Name, status)
	if s := t.cur.Load(); s != nil {
		t.c.mu.Lock()
		s.status.Retries++
		t.c.mu.Unlock()
	}
}

func (c *Collector) sleep(ctx context.Context, d time.Duration) error {
	if c.opts.Sleep != nil {
		return c.opts.Sleep(ctx, d)
	}
	return o365.Sleep(ctx, d)
}

// Result is what one poll of a tenant's content type did.
type Result struct {
	Tenant      string
	TenantID    string
	ContentType string
	Blobs       int
	Summary     ingest.Summary // records read, stored, duplicates… by this poll
	Gaps        int
	Cursor      time.Time // Start of the cursor after the poll
	Err         error
}

// Once polls every tenant once, each over all windows up to now, the
// tenants in parallel. A tenant's failure is in its Result; the others
// carry on.
func (c *Collector) Once(ctx context.Context) []Result {
	out := make([][]Result, len(c.tenants))
	var wg sync.WaitGroup
	for i, t := range c.tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = t.pollAll(ctx)
		}()
	}
	wg.Wait()
	var res []Result
	for _, r := range out {
		res = append(res, r...)
	}
	return res
}

// Run polls every tenant every poll interval until ctx is cancelled. A
// failed poll is logged, counted and tried again at the next interval.
func (c *Collector) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range c.tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t.pollAll(ctx)
				if o365.Sleep(ctx, t.set.PollInterval.D()) != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Close stops the writer. The store stays open (the caller owns it).
func (c *Collector) Close() {
	c.w.stop()
}

func (t *tenant) pollAll(ctx context.Context) []Result {
	var res []Result
	for _, s := range t.streams {
		if ctx.Err() != nil {
			break
		}
		r := s.poll(ctx)
		res = append(res, r)
	}
	return res
}

// Report returns the live status of every tenant and content type.
func (c *Collector) Report() Report {
	now := c.opts.Now().UTC()
	rep := Report{GeneratedAt: now, Source: "collector", DataDir: c.opts.Store.Dir(), Tenants: []Status{}, Gaps: []Gap{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tenants {
		for _, s := range t.streams {
			st := s.status
			st.LagSeconds = lag(st.Cursor, now)
			rep.Tenants = append(rep.Tenants, st)
		}
	}
	for i := len(c.gaps) - 1; i >= 0 && len(rep.Gaps) < recentGaps; i-- {
		rep.Gaps = append(rep.Gaps, c.gaps[i])
	}
	return rep
}

func (c *Collector) addGaps(gs []Gap) {
	c.mu.Lock()
	c.gaps = append(c.gaps, gs...)
	if len(c.gaps) > 4*recentGaps {
		c.gaps = slices.Clone(c.gaps[len(c.gaps)-recentGaps:])
	}
	c.mu.Unlock()
}
