package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/store"
)

const (
	tenantA = "424b1fee-9709-4315-85d9-5954058b4714"
	tenantB = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
	clientA = "11111111-2222-4333-8444-555555555555"
	clientB = "66666666-7777-4888-9999-aaaaaaaaaaaa"
	general = "Audit.General"
)

// t0 is the tests' "now" when they start.
var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is the fake API on loopback, a data directory and the settings
// a collector is built from.
type harness struct {
	t       testing.TB
	clk     *clock
	fake    *o365fake.Server
	base    string
	dir     string
	st      *store.Store
	tenants []config.Tenant
	set     config.Collector
	// Transport wraps the collector's HTTP (nil: plain).
	wrap func(http.RoundTripper) http.RoundTripper

	mu    sync.Mutex
	waits []time.Duration // what the collector slept for
	// advance makes Sleep move the shared clock (retry-after waits pass).
	advance bool
}

func newHarness(t testing.TB, fo o365fake.Options) *harness {
	t.Helper()
	h := &harness{t: t, clk: &clock{t: t0}, dir: t.TempDir()}
	fo.Now = h.clk.Now
	fo.Logger = slog.New(slog.DiscardHandler)
	h.fake = o365fake.New(fo)
	t.Setenv("AIWATCH_TEST_SECRET_A", "secret-a")
	t.Setenv("AIWATCH_TEST_SECRET_B", "secret-b")
	h.fake.AddTenant(o365fake.Tenant{ID: tenantA, ClientID: clientA, ClientSecret: "secret-a"})
	h.fake.AddTenant(o365fake.Tenant{ID: tenantB, ClientID: clientB, ClientSecret: "secret-b"})
	base, err := h.fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.base = base
	t.Cleanup(func() { h.fake.Close() })
	h.tenants = []config.Tenant{h.tenant("contoso", tenantA, clientA, "AIWATCH_TEST_SECRET_A")}
	h.set = config.Default().Collector
	h.set.Backfill = config.Duration(48 * time.Hour)
	h.set.Overlap = config.Duration(time.Hour)
	h.set.Concurrency = 4
	h.openStore()
	return h
}

func (h *harness) tenant(name, id, client, env string) config.Tenant {
	return config.Tenant{Name: name, TenantID: id, ClientID: client, ClientSecretEnv: env,
		Endpoints: config.Endpoints{Login: h.base, Management: h.base}}
}

func (h *harness) openStore() {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.dir, store.Options{MemoryLimit: "96MB"}) // as the CLI
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	h.t.Cleanup(func() { st.Close() })
}

func (h *harness) reopenStore() {
	h.t.Helper()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.openStore()
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.waits = append(h.waits, d)
	adv := h.advance
	h.mu.Unlock()
	if adv {
		h.clk.Add(d)
	}
	return ctx.Err()
}

func (h *harness) sleeps() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.waits)
}

func (h *harness) options(m *Metrics) Options {
	var tr http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: 16}
	if h.wrap != nil {
		tr = h.wrap(tr)
	}
	return Options{
		Store:    h.st,
		Tenants:  h.tenants,
		Settings: h.set,
		HTTP:     &http.Client{Transport: tr},
		Now:      h.clk.Now,
		Sleep:    h.sleep,
		Retry:    o365.RetryPolicy{MaxAttempts: 20, Jitter: func(d time.Duration) time.Duration { return d }},
		Metrics:  m,
		Log:      slog.New(slog.DiscardHandler),
	}
}

func (h *harness) collector(m *Metrics) *Collector {
	h.t.Helper()
	c, err := New(context.Background(), h.options(m))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(c.Close)
	return c
}

// once runs a fresh collector once and closes it.
func (h *harness) once() []Result {
	h.t.Helper()
	c, err := New(context.Background(), h.options(nil))
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	return c.Once(context.Background())
}

func mustOK(t *testing.T, res []Result) {
	t.Helper()
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("tenant %s %s failed: %v", r.Tenant, r.ContentType, r.Err)
		}
	}
}

func (h *harness) storedIDs() []string {
	h.t.Helper()
	rs, err := h.st.Conn().QueryContext(context.Background(), `SELECT RecordId FROM CopilotActivity`)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			h.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (h *harness) count(q string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.st.Conn().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// assertStored checks the exact set of RecordIds: nothing lost, nothing doubled.
func (h *harness) assertStored(want *dataset) {
	h.t.Helper()
	got := h.storedIDs()
	exp := want.ids()
	if slices.Equal(got, exp) {
		return
	}
	gotSet := map[string]int{}
	for _, id := range got {
		gotSet[id]++
	}
	var missing, extra, doubled []string
	for _, id := range exp {
		if gotSet[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range gotSet {
		if !want.want[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			doubled = append(doubled, id)
		}
	}
	h.t.Fatalf("stored %d RecordIds, want %d: missing %d %v, extra %v, doubled %v", len(got), len(exp),
		len(missing), head(missing), head(extra), head(doubled))
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// Records.

const org = "424b1fee-9709-4315-85d9-5954058b4714"

func copilotRecord(id string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":"CopilotInteraction","OrganizationId":%q,`+
		`"RecordType":261,"UserKey":"10032001","UserType":0,"Version":1,"Workload":"Copilot","UserId":"user1@contoso.example",`+
		`"CopilotEventData":{"AppHost":"Word","Contexts":[],"Messages":[{"Id":"1","isPrompt":true}]}}`,
		at.UTC().Format("2006-01-02T15:04:05"), id, org))
}

func noiseRecord(id string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":"UserLoggedIn","OrganizationId":%q,`+
		`"RecordType":15,"UserType":0,"Version":1,"Workload":"AzureActiveDirectory","UserId":"user2@contoso.example"}`,
		at.UTC().Format("2006-01-02T15:04:05"), id, org))
}

// dataset is what was published and what must be stored.
type dataset struct {
	want       map[string]bool
	blobs      int
	records    int // elements published
	duplicates int // Copilot elements repeating a stored Id
	noise      int
}

func newDataset() *dataset { return &dataset{want: map[string]bool{}} }

func (d *dataset) ids() []string {
	out := make([]string, 0, len(d.want))
	for id := range d.want {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// publish puts blobs of per records on the fake for tenant, contentCreated
// spread evenly from first to last. Every 5th element is noise; every blob
// after the first repeats the first Copilot record of the blob before.
func (d *dataset) publish(f *o365fake.Server, tenant, prefix string, blobs, per int, first, last time.Time) []string {
	var ids []string
	var prevFirst []byte
	step := time.Duration(0)
	if blobs > 1 {
		step = last.Sub(first) / time.Duration(blobs-1)
	}
	for b := range blobs {
		created := first.Add(time.Duration(b) * step)
		var recs [][]byte
		var firstRec []byte
		for i := range per {
			id := fmt.Sprintf("%s-%03d-%04d", prefix, b, i)
			at := created.Add(-time.Duration(i) * time.Second)
			if i%5 == 4 {
				recs = append(recs, noiseRecord(id, at))
				d.noise++
				continue
			}
			r := copilotRecord(id, at)
			if firstRec == nil {
				firstRec = r
			}
			recs = append(recs, r)
			d.want[id] = true
		}
		if prevFirst != nil {
			recs = append(recs, prevFirst)
			d.duplicates++
		}
		prevFirst = firstRec
		d.records += len(recs)
		d.blobs++
		ids = append(ids, f.Publish(tenant, general, recs, created, time.Time{}))
	}
	return ids
}

func (h *harness) status(tenant, ct string, c *Collector) Status {
	h.t.Helper()
	var rep Report
	if c != nil {
		rep = c.Report()
	} else {
		var err error
		rep, err = ReadReport(context.Background(), h.st.Conn(), h.clk.Now())
		if err != nil {
			h.t.Fatal(err)
		}
	}
	for _, s := range rep.Tenants {
		if s.Tenant == tenant && s.ContentType == ct {
			return s
		}
	}
	h.t.Fatalf("no status for %s %s in %+v", tenant, ct, rep)
	return Status{}
}

// TestOnceStoresExactlyTheCopilotRecords publishes 2 days of blobs with
// noise and cross-blob duplicates, listed over several pages, and checks
// every count.
func TestOnceStoresExactlyTheCopilotRecords(t *testing.T) {
	h := newHarness(t, o365fake.Options{PageSize: 4})
	d := newDataset()
	d.publish(h.fake, tenantA, "r", 30, 20, t0.Add(-40*time.Hour), t0.Add(-time.Minute))
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)

	// 30 blobs of 20: 16 Copilot + 4 noise each, 29 repeats.
	if d.records != 629 || len(d.want) != 480 || d.duplicates != 29 || d.noise != 120 {
		t.Fatalf("dataset: %+v", d)
	}
	r := res[0]
	if r.Blobs != 30 || r.Summary.Read != 629 || r.Summary.Stored != 480 || r.Summary.Duplicates != 29 || r.Summary.Skipped != 120 || r.Gaps != 0 {
		t.Fatalf("result %+v", r)
	}
	st := h.fake.Stats(tenantA)
	if n := st.Count(o365fake.EndpointBlob); n != 30 {
		t.Errorf("blob requests = %d, want 30", n)
	}
	if st.SubscriptionStarts != 1 {
		t.Errorf("subscription starts = %d, want 1", st.SubscriptionStarts)
	}
	// 48 hours of backfill: two 24-hour windows; 30 blobs at 4 per page: the
	// window holding all of them takes 8 pages.
	if n := st.Count(o365fake.EndpointContent); n < 8 {
		t.Errorf("listing requests = %d, want at least 8 (paging)", n)
	}
	s := h.status("contoso", general, nil)
	if s.Blobs != 30 || s.RecordsStored != 480 || s.Duplicates != 29 || s.Skipped != 120 || s.RecordsRead != 629 ||
		s.Errors != 0 || s.LastSuccess.IsZero() || !s.Cursor.Equal(t0) {
		t.Fatalf("persisted status %+v", s)
	}
	if n := h.count(`SELECT count(*) FROM FetchedContent WHERE Status = 'fetched'`); n != 30 {
		t.Errorf("FetchedContent rows = %d", n)
	}
	if n := h.count(`SELECT count(*) FROM CopilotActivity WHERE SourceSystem <> 'RestAPI'`); n != 0 {
		t.Errorf("%d rows with another SourceSystem", n)
	}

	// A second run now finds nothing new, fetches nothing and starts nothing.
	res = h.once()
	mustOK(t, res)
	h.assertStored(d)
	st2 := h.fake.Stats(tenantA)
	if st2.Count(o365fake.EndpointBlob) != 30 || st2.Count(o365fake.EndpointStart) != st.Count(o365fake.EndpointStart) {
		t.Errorf("second run: blob requests %d, starts %d", st2.Count(o365fake.EndpointBlob), st2.Count(o365fake.EndpointStart))
	}
}

// TestFixtureBlobs collects the two fixture blobs; the expected Ids come
// from the fixtures' ids.json and README (blob 1: 6 stored, 1 duplicate,
// 3 skipped; blob 2 then: 2 stored, 1 duplicate).
func TestFixtureBlobs(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	dir := filepath.Join("..", "..", "testdata", "fixtures")
	var ids map[string]map[string]string
	raw, err := os.ReadFile(filepath.Join(dir, "ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ids); err != nil {
		// ids.json mixes objects and strings; decode only the blob entries.
		var loose map[string]json.RawMessage
		if err := json.Unmarshal(raw, &loose); err != nil {
			t.Fatal(err)
		}
		ids = map[string]map[string]string{}
		for _, k := range []string{"management-api-blob.json", "management-api-blob-2.json"} {
			m := map[string]string{}
			if err := json.Unmarshal(loose[k], &m); err != nil {
				t.Fatal(err)
			}
			ids[k] = m
		}
	}
	d := newDataset()
	for i, name := range []string{"management-api-blob.json", "management-api-blob-2.json"} {
		var elems []json.RawMessage
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &elems); err != nil {
			t.Fatal(err)
		}
		recs := make([][]byte, len(elems))
		for j, e := range elems {
			recs[j] = e
		}
		h.fake.Publish(tenantA, general, recs, t0.Add(-time.Duration(3-i)*time.Hour), time.Time{})
		for _, id := range ids[name] {
			d.want[id] = true
		}
	}
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	if s := res[0].Summary; s.Read != 13 || s.Stored != 8 || s.Duplicates != 2 || s.Skipped != 3 || s.Quarantined != 0 {
		t.Fatalf("summary %+v", s)
	}
}

// TestFaults runs the same collection through every fault knob of the fake.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults o365fake.Faults
		kind   string // fault counted in Stats, each causing exactly one retry
		conc   int
	}{
		{name: "throttle 403", faults: o365fake.Faults{Throttle403Every: 4}, kind: o365fake.FaultThrottle403, conc: 4},
		{name: "throttle 429 with Retry-After", faults: o365fake.Faults{Throttle429Every: 3, RetryAfter: 7 * time.Second},
			kind: o365fake.FaultThrottle429, conc: 4},
		{name: "throttle 429 without Retry-After", faults: o365fake.Faults{Throttle429Every: 3}, kind: o365fake.FaultThrottle429, conc: 1},
		{name: "5xx", faults: o365fake.Faults{Fail5xxEvery: 3}, kind: o365fake.Fault5xx, conc: 4},
		{name: "cut bodies", faults: o365fake.Faults{CutBodyEvery: 2}, kind: o365fake.FaultCutBody, conc: 1},
		{name: "cut bodies concurrent", faults: o365fake.Faults{CutBodyEvery: 3}, kind: o365fake.FaultCutBody, conc: 4},
		{name: "slow bodies", faults: o365fake.Faults{SlowBody: 20 * time.Millisecond}, conc: 4},
		{name: "token revoked", faults: o365fake.Faults{TokenExpireEvery: 5}, conc: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, o365fake.Options{PageSize: 5})
			h.set.Concurrency = tt.conc
			d := newDataset()
			d.publish(h.fake, tenantA, "f", 12, 10, t0.Add(-30*time.Hour), t0.Add(-time.Minute))
			h.fake.SetFaults(tenantA, tt.faults)
			res := h.once()
			mustOK(t, res)
			h.assertStored(d)
			st := h.fake.Stats(tenantA)
			s := h.status("contoso", general, nil)
			if tt.kind != "" {
				n := st.Faults[tt.kind]
				if n == 0 {
					t.Fatalf("no %s fault was injected: %+v", tt.kind, st.Faults)
				}
				if s.Retries != int64(n) {
					t.Errorf("retries = %d, want %d (one per %s)", s.Retries, n, tt.kind)
				}
			}
			for _, w := range h.sleeps() {
				if tt.faults.RetryAfter != 0 && w != tt.faults.RetryAfter || tt.faults.RetryAfter == 0 && !isBackoff(w) {
					t.Errorf("waited %s (all waits: %v)", w, h.sleeps())
					break
				}
			}
			switch tt.name {
			case "token revoked":
				if st.Faults[o365fake.FaultTokenExpire] == 0 || st.TokensIssued < 2 {
					t.Errorf("token faults %d, tokens issued %d", st.Faults[o365fake.FaultTokenExpire], st.TokensIssued)
				}
			case "slow bodies":
				if st.Faults[o365fake.FaultSlowBody] != 12 {
					t.Errorf("slow bodies = %d, want 12", st.Faults[o365fake.FaultSlowBody])
				}
			}
		})
	}
}

// TestStalledBodyIsRetried: a body that sends nothing for the idle
// timeout is abandoned and fetched again.
func TestStalledBodyIsRetried(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	d := newDataset()
	d.publish(h.fake, tenantA, "s", 2, 5, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	h.fake.SetFaults(tenantA, o365fake.Faults{SlowBody: 300 * time.Millisecond})
	opts := h.options(nil)
	opts.IdleTimeout = 50 * time.Millisecond
	opts.Retry.MaxAttempts = 2
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res := c.Once(context.Background())
	c.Close()
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "stalled") {
		t.Fatalf("want a stalled-body error, got %v", res[0].Err)
	}
	if got := h.storedIDs(); len(got) != 0 {
		t.Fatalf("stored %d records from stalled bodies", len(got))
	}
	h.fake.SetFaults(tenantA, o365fake.Faults{})
	mustOK(t, h.once())
	h.assertStored(d)
}

// TestTokenExpiresMidRun: tokens live 2 minutes and the clock moves a
// minute per blob, so the collector must refresh them while it runs.
func TestTokenExpiresMidRun(t *testing.T) {
	h := newHarness(t, o365fake.Options{TokenTTL: 2 * time.Minute, PageSize: 3})
	h.wrap = func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(r.URL.Path, "/activity/feed/audit/") {
				h.clk.Add(time.Minute)
			}
			return next.RoundTrip(r)
		})
	}
	d := newDataset()
	d.publish(h.fake, tenantA, "k", 10, 5, t0.Add(-20*time.Hour), t0.Add(-time.Hour))
	mustOK(t, h.once())
	h.assertStored(d)
	if n := h.fake.Stats(tenantA).TokensIssued; n < 4 {
		t.Fatalf("tokens issued = %d, want several (refreshed mid-run)", n)
	}
}

// isBackoff: the exponential backoff of the test policy (no jitter, base
// 1s, cap 1m) waits 1s, 2s, 4s … 32s, 1m.
func isBackoff(d time.Duration) bool {
	for w := time.Second; w < time.Minute; w *= 2 {
		if d == w {
			return true
		}
	}
	return d == time.Minute
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLateBlobCaughtByOverlap: a blob that becomes visible after its
// window was listed is collected on a later poll thanks to the overlap.
func TestLateBlobCaughtByOverlap(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	d := newDataset()
	d.publish(h.fake, tenantA, "on-time", 3, 5, t0.Add(-5*time.Hour), t0.Add(-time.Hour))
	late := [][]byte{copilotRecord("late-1", t0.Add(-40*time.Minute)), copilotRecord("late-2", t0.Add(-35*time.Minute))}
	h.fake.Publish(tenantA, general, late, t0.Add(-30*time.Minute), t0.Add(10*time.Minute))

	c := h.collector(nil)
	mustOK(t, c.Once(context.Background()))
	h.assertStored(d) // the late blob is not visible yet

	h.clk.Add(20 * time.Minute)
	res := c.Once(context.Background())
	mustOK(t, res)
	d.want["late-1"], d.want["late-2"] = true, true
	h.assertStored(d)
	if res[0].Blobs != 1 {
		t.Fatalf("second poll fetched %d blobs, want only the late one", res[0].Blobs)
	}
	if n := h.fake.Stats(tenantA).Count(o365fake.EndpointBlob); n != 4 {
		t.Fatalf("blob requests = %d, want 4", n)
	}
}

// TestTenantsAreIndependent: one tenant's API failing leaves the other
// collecting, in one process.
func TestTenantsAreIndependent(t *testing.T) {
	tests := []struct {
		name        string
		breakTenant func(h *harness)
		code        string
	}{
		{"auditing off", func(h *harness) {
			h.fake.AddTenant(o365fake.Tenant{ID: tenantB, ClientID: clientB, ClientSecret: "secret-b", AuditingOff: true})
		}, "AF20012"},
		{"constant 5xx", func(h *harness) { h.fake.SetFaults(tenantB, o365fake.Faults{Fail5xxEvery: 1}) }, "HTTP 50"},
		{"wrong secret", func(h *harness) { h.t.Setenv("AIWATCH_TEST_SECRET_B", "wrong") }, "token request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, o365fake.Options{})
			h.tenants = append(h.tenants, h.tenant("fabrikam", tenantB, clientB, "AIWATCH_TEST_SECRET_B"))
			d := newDataset()
			d.publish(h.fake, tenantA, "a", 8, 10, t0.Add(-20*time.Hour), t0.Add(-time.Hour))
			newDataset().publish(h.fake, tenantB, "b", 4, 10, t0.Add(-20*time.Hour), t0.Add(-time.Hour))
			tt.breakTenant(h)
			res := h.once()
			byTenant := map[string]Result{}
			for _, r := range res {
				byTenant[r.Tenant] = r
			}
			if err := byTenant["contoso"].Err; err != nil {
				t.Fatalf("healthy tenant failed: %v", err)
			}
			if err := byTenant["fabrikam"].Err; err == nil || !strings.Contains(err.Error(), tt.code) {
				t.Fatalf("broken tenant: err %v, want %s", err, tt.code)
			}
			h.assertStored(d)
			sb := h.status("fabrikam", general, nil)
			if sb.Errors != 1 || !strings.Contains(sb.LastError, tt.code) || sb.LastErrorAt.IsZero() || sb.Healthy() {
				t.Fatalf("broken tenant status %+v", sb)
			}
			if sa := h.status("contoso", general, nil); sa.Errors != 0 || !sa.Healthy() || sa.RecordsStored != int64(len(d.want)) {
				t.Fatalf("healthy tenant status %+v", sa)
			}
		})
	}
}

// TestSubscriptionStartedOnlyWhenNeeded: missing → started once; enabled →
// not started again; disabled by an admin → started again, waiting out the
// 15-minute start throttle (Retry-After) when it comes too soon.
func TestSubscriptionStartedOnlyWhenNeeded(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	h.advance = true // retry waits move the clock
	d := newDataset()
	d.publish(h.fake, tenantA, "s1", 3, 5, t0.Add(-3*time.Hour), t0.Add(-time.Hour))
	c := h.collector(nil)
	mustOK(t, c.Once(context.Background()))
	h.assertStored(d)
	st := h.fake.Stats(tenantA)
	if st.SubscriptionStarts != 1 || st.Count(o365fake.EndpointStart) != 1 {
		t.Fatalf("starts %d (requests %d), want 1", st.SubscriptionStarts, st.Count(o365fake.EndpointStart))
	}

	h.clk.Add(time.Minute)
	d.publish(h.fake, tenantA, "s2", 2, 5, t0.Add(-30*time.Second), t0.Add(-20*time.Second))
	mustOK(t, c.Once(context.Background()))
	h.assertStored(d)
	if n := h.fake.Stats(tenantA).Count(o365fake.EndpointStart); n != 1 {
		t.Fatalf("enabled subscription started again: %d start requests", n)
	}

	// Disabled 10 minutes after the start: the restart is throttled for 5
	// more minutes, which the client's backoff waits out.
	h.clk.Add(9 * time.Minute)
	h.fake.DisableSubscription(tenantA, general)
	d.publish(h.fake, tenantA, "s3", 2, 5, h.clk.Now().Add(-10*time.Second), h.clk.Now().Add(-5*time.Second))
	res := c.Once(context.Background())
	mustOK(t, res)
	h.assertStored(d)
	st = h.fake.Stats(tenantA)
	if st.SubscriptionStarts != 2 {
		t.Fatalf("subscription starts = %d, want 2", st.SubscriptionStarts)
	}
	if st.Requests[o365fake.RequestKey{Endpoint: o365fake.EndpointStart, Status: 429}] == 0 {
		t.Fatalf("want throttled starts, got %v", st.Requests)
	}
	if h.clk.Now().Before(t0.Add(15 * time.Minute)) {
		t.Fatalf("restarted at %s, inside the 15-minute throttle", h.clk.Now())
	}
}

// TestContentGoneRecordsGap: a blob that expires between listing and
// fetching is a gap; the rest is stored and the gap is not retried.
func TestContentGoneRecordsGap(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	h.set.Backfill = config.Duration(config.MaxBackfill)
	h.set.Concurrency = 1
	lower := t0.Add(-config.MaxBackfill)
	d := newDataset()
	d.publish(h.fake, tenantA, "ok", 3, 5, t0.Add(-5*time.Hour), t0.Add(-time.Hour))
	doomed := h.fake.Publish(tenantA, general, [][]byte{copilotRecord("expired-1", lower)}, lower.Add(time.Minute), time.Time{})
	var once sync.Once
	h.wrap = func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/audit/"+doomed) {
				// Listing took long: by now the blob is over 7 days old.
				once.Do(func() { h.clk.Add(2 * time.Hour) })
			}
			return next.RoundTrip(r)
		})
	}
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	if res[0].Gaps != 1 {
		t.Fatalf("gaps = %d, want 1", res[0].Gaps)
	}
	rep, err := ReadReport(context.Background(), h.st.Conn(), h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Gaps) != 1 || rep.Gaps[0].Kind != GapContentGone || rep.Gaps[0].ContentID != doomed ||
		!strings.Contains(rep.Gaps[0].Detail, "AF20051") || rep.Tenants[0].Gaps != 1 {
		t.Fatalf("report %+v", rep)
	}
	before := h.fake.Stats(tenantA).Count(o365fake.EndpointBlob)
	mustOK(t, h.once())
	if after := h.fake.Stats(tenantA).Count(o365fake.EndpointBlob); after != before {
		t.Fatalf("gone blob fetched again: %d → %d requests", before, after)
	}
	if n := h.count(`SELECT count(*) FROM CollectorGap`); n != 1 {
		t.Fatalf("gap rows = %d, want 1", n)
	}
}

// TestIncompleteBlobRecordsGap: a blob whose JSON array stops early keeps
// what was read, records a gap, and does not hold back the other blobs.
func TestIncompleteBlobRecordsGap(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	d := newDataset()
	d.publish(h.fake, tenantA, "good", 6, 10, t0.Add(-6*time.Hour), t0.Add(-time.Hour))
	// The body is [inc-1,[inc-2]: the second element is an array (quarantined),
	// then the input ends before the outer ']'.
	bad := [][]byte{copilotRecord("inc-1", t0.Add(-4*time.Hour)), append([]byte("["), copilotRecord("inc-2", t0.Add(-4*time.Hour))...)}
	id := h.fake.Publish(tenantA, general, bad, t0.Add(-3*time.Hour), time.Time{})
	d.want["inc-1"] = true
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	if res[0].Gaps != 1 || res[0].Summary.Quarantined != 1 {
		t.Fatalf("result %+v", res[0])
	}
	if n := h.count(`SELECT count(*) FROM CollectorGap WHERE Kind = 'content_incomplete' AND ContentId = $1`, id); n != 1 {
		t.Fatalf("incomplete gaps = %d", n)
	}
	if n := h.count(`SELECT count(*) FROM FetchedContent WHERE Status = 'incomplete' AND ContentId = $1`, id); n != 1 {
		t.Fatalf("FetchedContent incomplete rows = %d", n)
	}
}

// TestStaleCursorRecordsGap: after 8 days down, the cursor is older than
// the API keeps; the skipped span is a gap, and new content is collected.
func TestStaleCursorRecordsGap(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	d := newDataset()
	d.publish(h.fake, tenantA, "before", 2, 5, t0.Add(-3*time.Hour), t0.Add(-time.Hour))
	mustOK(t, h.once())
	h.clk.Add(8 * 24 * time.Hour)
	now := h.clk.Now()
	d.publish(h.fake, tenantA, "after", 3, 5, now.Add(-20*time.Hour), now.Add(-time.Hour))
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	rep, err := ReadReport(context.Background(), h.st.Conn(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := Gap{Kind: GapWindowExpired, WindowStart: t0, WindowEnd: now.Add(-config.MaxBackfill)}
	if len(rep.Gaps) != 1 || rep.Gaps[0].Kind != want.Kind || !rep.Gaps[0].WindowStart.Equal(want.WindowStart) ||
		!rep.Gaps[0].WindowEnd.Equal(want.WindowEnd) {
		t.Fatalf("gaps %+v, want %+v", rep.Gaps, want)
	}
	if n := h.fake.Stats(tenantA).Requests[o365fake.RequestKey{Endpoint: o365fake.EndpointContent, Status: 400}]; n != 0 {
		t.Fatalf("%d listings refused", n)
	}
}

// TestWindowRefusedAsTooOld: time passes between planning and listing (the
// clock jumps 90 minutes), so the service refuses the oldest window
// (AF20055); it is clamped, the skipped span recorded as a gap, and the
// rest collected.
func TestWindowRefusedAsTooOld(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	h.set.Backfill = config.Duration(config.MaxBackfill)
	var once sync.Once
	h.wrap = func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/subscriptions/content") {
				once.Do(func() { h.clk.Add(90 * time.Minute) })
			}
			return next.RoundTrip(r)
		})
	}
	d := newDataset()
	// In the span the clamp gives up (7 days minus 1h to 7 days minus 3h30m back).
	h.fake.Publish(tenantA, general, [][]byte{copilotRecord("lost", t0.Add(-166*time.Hour))}, t0.Add(-166*time.Hour), time.Time{})
	d.publish(h.fake, tenantA, "kept", 4, 5, t0.Add(-160*time.Hour), t0.Add(-2*time.Hour))
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	rep, err := ReadReport(context.Background(), h.st.Conn(), h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Refused at t0+90m: fresh start = t0+90m - 7d + 2h = t0 - 164h30m.
	if len(rep.Gaps) != 1 || rep.Gaps[0].Kind != GapWindowExpired || !rep.Gaps[0].WindowStart.Equal(t0.Add(-config.MaxBackfill)) ||
		!rep.Gaps[0].WindowEnd.Equal(t0.Add(-164*time.Hour-30*time.Minute)) {
		t.Fatalf("gaps %+v", rep.Gaps)
	}
}

// TestSavedNextPageLinks: a saved link older than 7 days is dropped with a
// gap instead of looping on AF20055; an invalid one (AF20031) makes the
// window be listed again from its start.
func TestSavedNextPageLinks(t *testing.T) {
	tests := []struct {
		name    string
		cursor  func(h *harness) Cursor
		gapKind string
	}{
		{"older than 7 days", func(h *harness) Cursor {
			ws := t0.Add(-8 * 24 * time.Hour)
			return Cursor{Start: ws, WindowStart: ws, WindowEnd: ws.Add(24 * time.Hour),
				Next: h.base + "/api/v1.0/" + tenantA + "/activity/feed/subscriptions/content?contenttype=Audit.General&starttime=" +
					ws.Format("2006-01-02T15:04:05.0000000Z") + "&endtime=" + ws.Add(24*time.Hour).Format("2006-01-02T15:04:05.0000000Z") + "&nextpage=x"}
		}, GapNextPageExpired},
		{"invalid", func(h *harness) Cursor {
			ws := t0.Add(-20 * time.Hour)
			return Cursor{Start: ws, WindowStart: ws, WindowEnd: ws.Add(12 * time.Hour),
				Next: h.base + "/api/v1.0/" + tenantA + "/activity/feed/subscriptions/content?contenttype=Audit.General&starttime=" +
					ws.Format("2006-01-02T15:04:05.0000000Z") + "&endtime=" + ws.Add(12*time.Hour).Format("2006-01-02T15:04:05.0000000Z") + "&nextpage=garbage"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, o365fake.Options{PageSize: 2})
			d := newDataset()
			d.publish(h.fake, tenantA, "n", 8, 5, t0.Add(-19*time.Hour), t0.Add(-time.Hour))
			if _, err := h.st.Commit(context.Background(), store.Batch{Cursors: map[string]string{
				CursorName(tenantA, general): tt.cursor(h).encode()}}); err != nil {
				t.Fatal(err)
			}
			res := h.once()
			mustOK(t, res)
			h.assertStored(d)
			if n := h.fake.Stats(tenantA).Requests[o365fake.RequestKey{Endpoint: o365fake.EndpointContent, Status: 400}]; tt.gapKind != "" && n != 0 {
				t.Fatalf("the stale link was sent: %d refused listings", n)
			}
			gaps := h.count(`SELECT count(*) FROM CollectorGap WHERE Kind = $1`, tt.gapKind)
			if tt.gapKind != "" && gaps != 1 {
				t.Fatalf("%s gaps = %d, want 1", tt.gapKind, gaps)
			}
			if tt.gapKind == "" && h.count(`SELECT count(*) FROM CollectorGap`) != 0 {
				t.Fatal("a gap was recorded for an invalid link")
			}
		})
	}
}

// TestRestartAddsOnlyNewRecords: collect, close everything, publish more,
// collect again: only the new records are added, no blob fetched twice.
func TestRestartAddsOnlyNewRecords(t *testing.T) {
	h := newHarness(t, o365fake.Options{PageSize: 3})
	d := newDataset()
	d.publish(h.fake, tenantA, "first", 6, 10, t0.Add(-10*time.Hour), t0.Add(-time.Hour))
	mustOK(t, h.once())
	h.assertStored(d)
	firstCount := len(d.want)

	h.reopenStore()
	h.clk.Add(2 * time.Hour)
	d.publish(h.fake, tenantA, "second", 4, 10, t0.Add(-30*time.Minute), t0.Add(time.Hour))
	res := h.once()
	mustOK(t, res)
	h.assertStored(d)
	if res[0].Summary.Stored != len(d.want)-firstCount || res[0].Blobs != 4 {
		t.Fatalf("second run stored %d in %d blobs, want %d in 4", res[0].Summary.Stored, res[0].Blobs, len(d.want)-firstCount)
	}
	if n := h.fake.Stats(tenantA).Count(o365fake.EndpointBlob); n != 10 {
		t.Fatalf("blob requests = %d, want 10 (none twice)", n)
	}
	if s := h.status("contoso", general, nil); s.Blobs != 10 || s.RecordsStored != int64(len(d.want)) {
		t.Fatalf("status after restart %+v", s)
	}
}

// TestRunPollsUntilCancelled: the polling loop picks up new content and
// stops cleanly when cancelled.
func TestRunPollsUntilCancelled(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	h.set.PollInterval = config.Duration(20 * time.Millisecond)
	reg := prometheus.NewRegistry()
	c := h.collector(NewMetrics(reg))
	d := newDataset()
	d.publish(h.fake, tenantA, "p1", 2, 5, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	waitFor(t, func() bool { return c.Report().Tenants[0].RecordsStored == int64(len(d.want)) })
	h.clk.Add(time.Minute)
	d.publish(h.fake, tenantA, "p2", 1, 5, t0.Add(30*time.Second), time.Time{})
	waitFor(t, func() bool { return c.Report().Tenants[0].RecordsStored == int64(len(d.want)) })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	h.assertStored(d)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBigBlobSpoolsToDisk: blobs over the memory limit go through spool
// files, which are removed afterwards; leftovers of a killed process are
// removed at the next start.
func TestBigBlobSpoolsToDisk(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	d := newDataset()
	d.publish(h.fake, tenantA, "big", 3, 2000, t0.Add(-3*time.Hour), t0.Add(-time.Hour))
	spoolDir := filepath.Join(h.dir, "spool")
	if err := os.MkdirAll(spoolDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spoolDir, "blob-leftover"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := h.options(nil)
	opts.SpoolMemory = 64 << 10
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(spoolDir, "blob-leftover")); !os.IsNotExist(err) {
		t.Fatalf("leftover spool file kept: %v", err)
	}
	mustOK(t, c.Once(context.Background()))
	c.Close()
	h.assertStored(d)
	if files, _ := os.ReadDir(spoolDir); len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
}

// TestSpoolFill checks the spool at and around its memory limit.
func TestSpoolFill(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 99, 100, 101, 1000} {
		data := strings.Repeat("x", n)
		sp, err := fill(strings.NewReader(data), dir, 100)
		if err != nil {
			t.Fatal(err)
		}
		if (sp.file != nil) != (n > 100) || sp.size != int64(n) {
			t.Fatalf("n=%d: file %v size %d", n, sp.file != nil, sp.size)
		}
		got, _ := io.ReadAll(sp.Reader())
		if string(got) != data {
			t.Fatalf("n=%d: read back %d bytes", n, len(got))
		}
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("spool files left: %d", len(files))
	}
}

// notifyBody calls done once when the body is closed (fully read).
type notifyBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *notifyBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// TestBlobOverCheckSize: a blob handed to the store in several duplicate
// checks stores each record once, and a RecordId repeated in a later check
// counts once as a duplicate. A run cancelled while that blob is being
// stored leaves all of it or none, and the next run completes it with the
// same counters.
func TestBlobOverCheckSize(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	n := 2*checkSize + checkSize/2
	created := t0.Add(-2 * time.Hour)
	d := newDataset()
	var recs [][]byte
	for i := range n {
		id := fmt.Sprintf("big-%05d", i)
		recs = append(recs, copilotRecord(id, created.Add(-time.Duration(i)*time.Second)))
		d.want[id] = true
	}
	recs = append(recs, recs[0]) // the first record again, in the third check
	h.fake.Publish(tenantA, general, recs, created, time.Time{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.wrap = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil && strings.Contains(r.URL.Path, "/audit/") {
				// Cancel a moment after the download, while the blob is stored.
				resp.Body = &notifyBody{ReadCloser: resp.Body, done: func() { time.AfterFunc(10*time.Millisecond, cancel) }}
			}
			return resp, err
		})
	}
	c, err := New(context.Background(), h.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.Once(ctx)
	c.Close()
	if got := len(h.storedIDs()); got != 0 && got != n {
		t.Fatalf("cancelled run left %d of the blob's %d records", got, n)
	}

	h.wrap = nil
	mustOK(t, h.once())
	h.assertStored(d)
	s := h.status("contoso", general, nil)
	if s.Blobs != 1 || s.RecordsRead != int64(n+1) || s.RecordsStored != int64(n) || s.Duplicates != 1 {
		t.Fatalf("status %+v, want 1 blob, %d read, %d stored, 1 duplicate", s, n+1, n)
	}
	if got := h.count(`SELECT count(*) FROM FetchedContent WHERE Records = $1 AND Stored = $2`, n+1, n); got != 1 {
		t.Fatalf("FetchedContent rows with %d records, %d stored: %d, want 1", n+1, n, got)
	}
	if got := h.count(`SELECT count(*) FROM RecordConflict`); got != 0 {
		t.Fatalf("%d conflicts, want 0", got)
	}
}
