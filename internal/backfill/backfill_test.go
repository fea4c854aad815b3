package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/store"
)

const (
	tenantID = "6b1f2c4e-8d3a-4f5b-9c7e-1a2b3c4d5e6f"
	clientID = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
	secret   = "backfill-test-secret"
)

// now is the clock of every job here: the fixtures' records are from early
// March 2026.
var now = ts("2026-03-10T12:00:00Z")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a fake Graph API on loopback and a store in a temp directory. The
// listener's handler can be swapped for a new fake (queries lost, same URL).
type env struct {
	t    *testing.T
	fake *o365fake.Server
	cur  atomic.Pointer[o365fake.Server]
	url  string
	st   *store.Store
	// wrap, when set, wraps the jobs' HTTP transport (faults the fake lacks).
	wrap func(http.RoundTripper) http.RoundTripper
}

func newEnv(t *testing.T, pageSize int) *env {
	t.Helper()
	e := &env{t: t}
	e.swap(pageSize)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.cur.Load().ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.url = "http://" + ln.Addr().String()
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	return e
}

// swap installs a new fake: the tenant is registered, nothing published.
func (e *env) swap(pageSize int) {
	f := o365fake.New(o365fake.Options{GraphPageSize: pageSize, Logger: quiet})
	f.AddTenant(o365fake.Tenant{ID: tenantID, ClientID: clientID, ClientSecret: secret})
	e.fake = f
	e.cur.Store(f)
}

func (e *env) job(mod func(*Job)) *Job {
	var tr http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if e.wrap != nil {
		tr = e.wrap(tr)
	}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ts := o365.NewTokenSource(hc, e.url, tenantID, o365.GraphResource,
		o365.Credentials{ClientID: clientID, ClientSecret: secret}, nil)
	ts.Log = quiet
	j := &Job{
		Graph: &o365.Graph{HTTP: hc, BaseURL: e.url + "/v1.0", TenantID: tenantID, Tokens: ts, Log: quiet,
			Retry: o365.RetryPolicy{MaxAttempts: 10, Base: time.Millisecond, Max: 4 * time.Millisecond}},
		Store: e.st, TenantID: tenantID, TenantName: "contoso",
		Poll: time.Millisecond, Now: func() time.Time { return now }, Log: quiet,
	}
	if mod != nil {
		mod(j)
	}
	return j
}

func (e *env) run(j *Job, from, to string) (Summary, error) {
	e.t.Helper()
	r, err := ParseRange(from, to, now)
	if err != nil {
		e.t.Fatal(err)
	}
	return j.Run(context.Background(), r.Start, r.End)
}

// ids lists the stored RecordIds, sorted, failing on any stored twice.
func (e *env) ids() []string {
	e.t.Helper()
	rows, err := e.st.DB().Query(`SELECT RecordId, count(*) FROM CopilotActivity GROUP BY RecordId ORDER BY RecordId`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			e.t.Fatal(err)
		}
		if n != 1 {
			e.t.Errorf("record %s stored %d times", id, n)
		}
		out = append(out, id)
	}
	return out
}

func (e *env) queryInt(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rec is an AuditData record of the given type at t.
func rec(id string, t time.Time, recordType int) []byte {
	workload := "Copilot"
	if recordType == 20 {
		workload = "PowerBI"
	}
	return fmt.Appendf(nil, `{"CreationTime":%q,"Id":%q,"Operation":"CopilotInteraction","OrganizationId":%q,"RecordType":%d,`+
		`"UserKey":"10032001A2B3C4D5","UserType":0,"Version":1,"Workload":%q,"ClientIP":"198.51.100.7","UserId":"user1@contoso.example",`+
		`"CopilotEventData":{"AppHost":"Word","Contexts":[],"AccessedResources":[],"Messages":[]}}`,
		t.UTC().Format("2006-01-02T15:04:05"), id, tenantID, recordType, workload)
}

func recID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// publish publishes AI records at the given times with ids recID(first+i),
// and returns the ids.
func (e *env) publish(first int, times ...time.Time) []string {
	var recs [][]byte
	var ids []string
	for i, t := range times {
		id := recID(first + i)
		recs = append(recs, rec(id, t, 261))
		ids = append(ids, id)
	}
	e.fake.PublishGraph(tenantID, recs)
	return ids
}

// every returns n times from start, step apart.
func every(start string, step time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = ts(start).Add(time.Duration(i) * step)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func checkIDs(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, sorted(want)) {
		t.Fatalf("stored %d ids %v\nwant %d %v", len(got), got, len(want), sorted(want))
	}
}

func checkSum(t *testing.T, got Summary, want Summary) {
	t.Helper()
	if got != want {
		t.Fatalf("summary\n got %+v\nwant %+v", got, want)
	}
}

func TestBackfillDaysAndPages(t *testing.T) {
	e := newEnv(t, 4)
	var want []string
	want = append(want, e.publish(0, every("2026-03-01T00:30:00Z", 2*time.Hour, 9)...)...)   // 3 pages
	want = append(want, e.publish(100, every("2026-03-02T01:00:00Z", 3*time.Hour, 6)...)...) // 2 pages
	want = append(want, e.publish(200, every("2026-03-03T00:00:00Z", time.Hour, 8)...)...)   // 2 pages; 2026-03-04 has none: 1 empty page
	// Not AI: never asked for, so never read.
	e.fake.PublishGraph(tenantID, [][]byte{rec("99999999-0000-4000-8000-000000000001", ts("2026-03-02T05:00:00Z"), 20)})
	// Outside the range.
	outside := e.publish(900, ts("2026-02-28T23:59:59Z"), ts("2026-03-05T00:00:00Z"))

	var progress []Progress
	sum, err := e.run(e.job(func(j *Job) { j.OnProgress = func(p Progress) { progress = append(progress, p) } }), "2026-03-01", "2026-03-04")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	base := Summary{Chunks: 4, ChunksDone: 4, Queries: 4, Pages: 8}
	base.Read, base.Stored = 23, 23
	checkSum(t, sum, base)
	if n := len(progress); n != 12 || progress[n-1].Summary != sum || progress[n-1].Chunk.String() != "2026-03-04T00:00:00Z/2026-03-05T00:00:00Z" {
		t.Errorf("%d progress reports, last %+v", n, progress[n-1])
	}
	if n := e.queryInt(`SELECT count(*) FROM CopilotActivity WHERE SourceSystem = 'GraphAPI' AND SourceName LIKE 'graph:% page _' AND SourceLocation LIKE 'entry _'`); n != 23 {
		t.Errorf("%d rows with Graph source names", n)
	}
	if n := e.queryInt(`SELECT count(*) FROM BackfillInterval WHERE Status = 'done' AND TenantId = $1`, tenantID); n != 4 {
		t.Errorf("%d intervals done", n)
	}
	if n := e.queryInt(`SELECT RecordsStored FROM BackfillInterval WHERE IntervalStart = '2026-03-01 00:00:00'`); n != 9 {
		t.Errorf("day 1 interval stored %d", n)
	}

	// Again over an overlapping range: the done days are skipped, the new one queried.
	want = append(want, outside[0])
	want = append(want, e.publish(300, ts("2026-02-28T12:00:00Z"))...)
	sum, err = e.run(e.job(nil), "2026-02-28", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	base = Summary{Chunks: 3, ChunksDone: 3, ChunksSkipped: 2, Queries: 1, Pages: 1}
	base.Read, base.Stored = 2, 2 // the record at 23:59:59 and the new one
	checkSum(t, sum, base)

	// --again fetches everything once more: all duplicates.
	sum, err = e.run(e.job(func(j *Job) { j.Again = true }), "2026-03-01", "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	base = Summary{Chunks: 1, ChunksDone: 1, Queries: 1, Pages: 3}
	base.Read, base.Duplicates = 9, 9
	checkSum(t, sum, base)
	if got := e.fake.Stats(tenantID).Count(o365fake.EndpointGraphCreate); got != 6 {
		t.Errorf("%d queries created in all", got)
	}
}

func TestBackfillRecordCapSplits(t *testing.T) {
	e := newEnv(t, 3)
	e.fake.SetFaults(tenantID, o365fake.Faults{GraphRecordCap: 5})
	want := e.publish(0, every("2026-03-02T00:30:00Z", time.Hour, 23)...)
	sum, err := e.run(e.job(func(j *Job) { j.Ahead = 2 }), "2026-03-02", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	// 24h: 23 > 5 → 12h halves (12, 11) → 6h (6, 6, 6, 5): the first three
	// split again into 3h quarters of 3 records; [18h, 24h) holds 5.
	// Splits 1+2+3, queries 1+2+4+6, pages 6×1 + 2.
	want2 := Summary{Chunks: 1, ChunksDone: 1, Queries: 13, Splits: 6, Pages: 8}
	want2.Read, want2.Stored = 23, 23
	checkSum(t, sum, want2)
	if n := e.queryInt(`SELECT count(*) FROM BackfillInterval WHERE Status = 'split'`); n != 6 {
		t.Errorf("%d split intervals recorded", n)
	}
	if n := e.queryInt(`SELECT count(*) FROM BackfillInterval WHERE Status = 'done'`); n != 7 {
		t.Errorf("%d done intervals recorded", n)
	}
}

func TestBackfillCapAtMinSplitIsAGap(t *testing.T) {
	e := newEnv(t, 10)
	e.fake.SetFaults(tenantID, o365fake.Faults{GraphRecordCap: 2})
	// Three records in the same second can never be split apart.
	ids := e.publish(0, ts("2026-03-03T10:00:00Z"), ts("2026-03-03T10:00:00Z"), ts("2026-03-03T10:00:00Z"))
	sum, err := e.run(e.job(func(j *Job) { j.ChunkSize = time.Hour }), "2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	// The fake's capped result is the first two published.
	checkIDs(t, e.ids(), ids[:2])
	// 3600 s → 1800 → 900 → 450 → 225 → 112: five splits, 1 + 2×5 queries.
	want := Summary{Chunks: 1, ChunksDone: 1, Queries: 11, Splits: 5, Gaps: 1, Pages: 6}
	want.Read, want.Stored = 2, 2
	checkSum(t, sum, want)
	var start, end time.Time
	if err := e.st.DB().QueryRow(`SELECT IntervalStart, IntervalEnd FROM BackfillInterval WHERE Status = 'capped'`).Scan(&start, &end); err != nil {
		t.Fatal(err)
	}
	if got := (Interval{start, end}).String(); got != "2026-03-03T10:00:00Z/2026-03-03T10:01:52Z" {
		t.Errorf("gap %s", got)
	}
	// The gap counts as done: a re-run does not ask again.
	sum, err = e.run(e.job(func(j *Job) { j.ChunkSize = time.Hour }), "2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z")
	if err != nil || sum.Queries != 0 || sum.ChunksSkipped != 1 {
		t.Fatalf("re-run: %+v, %v", sum, err)
	}
}

func TestBackfillQuarantinesBadRecords(t *testing.T) {
	e := newEnv(t, 3)
	e.fake.SetFaults(tenantID, o365fake.Faults{GraphBadRecordEvery: 4})
	ids := e.publish(0, every("2026-03-04T01:00:00Z", time.Hour, 10)...)
	sum, err := e.run(e.job(nil), "2026-03-04", "2026-03-04")
	if err != nil {
		t.Fatal(err)
	}
	// Records 4 and 8 of the query: page 2 entry 1, page 3 entry 2.
	good := slices.Concat(ids[:3], ids[4:7], ids[8:])
	checkIDs(t, e.ids(), good)
	want := Summary{Chunks: 1, ChunksDone: 1, Queries: 1, Pages: 4}
	want.Read, want.Stored, want.Quarantined = 10, 8, 2
	checkSum(t, sum, want)
	rows, err := e.st.DB().Query(`SELECT RecordId, SourceName, SourceLocation, Reason FROM Quarantine ORDER BY RecordId`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, src, loc, reason string
		if err := rows.Scan(&id, &src, &loc, &reason); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(src, "graph:") {
			t.Errorf("source %q", src)
		}
		_, page, _ := strings.Cut(src, " ")
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", id, page, loc, reason))
	}
	const reason = "AuditData is not valid JSON (truncated: the text ends inside an object, array or string)"
	wantQ := []string{ids[3] + "|page 2|entry 1|" + reason, ids[7] + "|page 3|entry 2|" + reason}
	if !slices.Equal(got, wantQ) {
		t.Fatalf("quarantine\n got %q\nwant %q", got, wantQ)
	}
}

func TestBackfillRetriesThrottlingAnd5xx(t *testing.T) {
	tests := []struct {
		name   string
		faults o365fake.Faults
		ahead  int
		kinds  []string
	}{
		{"throttled and 5xx, queries ahead", o365fake.Faults{Throttle429Every: 3, Fail5xxEvery: 5}, 3,
			[]string{o365fake.FaultThrottle429, o365fake.Fault5xx}},
		// One request at a time: the client re-authenticates once per
		// request, and a concurrent request's fault could revoke the new
		// token too.
		{"token revoked as well", o365fake.Faults{Throttle429Every: 3, Fail5xxEvery: 5, TokenExpireEvery: 7}, 1,
			[]string{o365fake.FaultThrottle429, o365fake.Fault5xx, o365fake.FaultTokenExpire}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2)
			e.fake.SetFaults(tenantID, tc.faults)
			want := e.publish(0, every("2026-03-01T06:00:00Z", 5*time.Hour, 12)...)
			sum, err := e.run(e.job(func(j *Job) { j.Ahead = tc.ahead }), "2026-03-01", "2026-03-03")
			if err != nil {
				t.Fatal(err)
			}
			checkIDs(t, e.ids(), want)
			if sum.Read != 12 || sum.Stored != 12 || sum.Duplicates != 0 || sum.ChunksDone != 3 {
				t.Fatalf("summary %+v", sum)
			}
			f := e.fake.Stats(tenantID).Faults
			for _, k := range tc.kinds {
				if f[k] == 0 {
					t.Errorf("no %s fault injected: %v", k, f)
				}
			}
		})
	}
}

// faultTransport breaks chosen responses the fake cannot break: a records
// page body cut half way, a query reported failed.
type faultTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	// cut lists the records responses (counted from 1) whose body breaks
	// off half way; garble those replaced by a malformed page, empty those
	// with an empty body.
	cut, garble, empty map[int]bool
	records            int
	// failQuery, when set, makes the first query created report "failed".
	failQuery bool
	failedID  string
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	path := req.URL.Path
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasSuffix(path, "/records"):
		f.records++
		n := f.records
		if !f.cut[n] && !f.garble[n] && !f.empty[n] {
			return resp, nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case f.cut[n]:
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]), errReader{}))
		case f.garble[n]:
			resp.Body = io.NopCloser(strings.NewReader(`{"@odata.context" "x", "value": []}`))
		default:
			resp.Body = io.NopCloser(strings.NewReader(""))
		}
	case f.failQuery && req.Method == http.MethodPost && strings.HasSuffix(path, "/queries"):
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var q struct{ ID string }
		json.Unmarshal(body, &q)
		if f.failedID == "" {
			f.failedID = q.ID
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	case f.failedID != "" && strings.HasSuffix(path, "/queries/"+f.failedID):
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = bytes.ReplaceAll(body, []byte(`"status": "succeeded"`), []byte(`"status": "failed"`))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
	}
	return resp, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestBackfillRetriesPageThatBreaksOff(t *testing.T) {
	e := newEnv(t, 3)
	// Responses: page 1 empty, page 1, page 2 cut, page 2, page 3
	// malformed, page 3 (the last); a 7th would be past the end.
	ft := &faultTransport{empty: map[int]bool{1: true}, cut: map[int]bool{3: true, 7: true}, garble: map[int]bool{5: true}}
	e.wrap = func(next http.RoundTripper) http.RoundTripper { ft.next = next; return ft }
	want := e.publish(0, every("2026-03-01T01:00:00Z", time.Hour, 8)...)
	sum, err := e.run(e.job(nil), "2026-03-01", "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	w := Summary{Chunks: 1, ChunksDone: 1, Queries: 1, Pages: 3, PageRetries: 3}
	w.Read, w.Stored = 8, 8
	checkSum(t, sum, w)
	if ft.records != 6 {
		t.Errorf("%d records requests", ft.records)
	}
	if n := e.queryInt(`SELECT count(*) FROM Quarantine`); n != 0 {
		t.Errorf("%d units quarantined from broken pages", n)
	}

	// A page that never arrives whole stops the run after PageAttempts reads.
	e2 := newEnv(t, 3)
	ft2 := &faultTransport{cut: map[int]bool{2: true, 3: true, 4: true}}
	e2.wrap = func(next http.RoundTripper) http.RoundTripper { ft2.next = next; return ft2 }
	e2.publish(0, every("2026-03-01T01:00:00Z", time.Hour, 8)...)
	sum, err = e2.run(e2.job(func(j *Job) { j.PageAttempts = 3 }), "2026-03-01", "2026-03-01")
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 reads: cannot read graph:") || !strings.Contains(err.Error(), " page 2: unexpected EOF") {
		t.Fatalf("err = %v", err)
	}
	if sum.Stored != 3 || sum.PageRetries != 2 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestBackfillFailedQueryNamesTheChunk(t *testing.T) {
	e := newEnv(t, 10)
	ft := &faultTransport{failQuery: true}
	e.wrap = func(next http.RoundTripper) http.RoundTripper { ft.next = next; return ft }
	want := e.publish(0, ts("2026-03-01T05:00:00Z"), ts("2026-03-02T05:00:00Z"))
	sum, err := e.run(e.job(nil), "2026-03-01", "2026-03-02")
	if err == nil || !strings.Contains(err.Error(), "1 chunk(s) failed") ||
		!strings.Contains(err.Error(), "chunk 2026-03-01T00:00:00Z/2026-03-02T00:00:00Z: audit query "+ft.failedID+" ended with status failed") {
		t.Fatalf("err = %v", err)
	}
	checkIDs(t, e.ids(), want[1:])
	if sum.ChunksFailed != 1 || sum.ChunksDone != 2 || sum.Stored != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// A re-run retries the failed day only.
	e.wrap = nil
	sum, err = e.run(e.job(nil), "2026-03-01", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	if sum.ChunksSkipped != 1 || sum.Queries != 1 || sum.Stored != 1 {
		t.Fatalf("re-run summary %+v", sum)
	}
}

func TestBackfillResumesAfterCrash(t *testing.T) {
	e := newEnv(t, 3)
	want := slices.Concat(
		e.publish(0, every("2026-03-01T01:00:00Z", time.Hour, 7)...),   // pages of 3, 3, 1
		e.publish(100, every("2026-03-02T01:00:00Z", time.Hour, 7)...), // idem
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Crash after the first page of day 2 is committed.
	j := e.job(func(j *Job) {
		j.Ahead = 2
		j.OnProgress = func(p Progress) {
			if p.Summary.Pages == 4 {
				cancel()
			}
		}
	})
	sum, err := j.Run(ctx, ts("2026-03-01T00:00:00Z"), ts("2026-03-03T00:00:00Z"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if sum.Stored != 10 {
		t.Fatalf("stored %d before the crash", sum.Stored)
	}
	checkIDs(t, e.ids(), slices.Concat(want[:7], want[7:10]))

	// The resumed run skips day 1 and reads day 2 on from page 2 of the
	// saved query: nothing is read twice.
	sum, err = e.run(e.job(nil), "2026-03-01", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	w := Summary{Chunks: 2, ChunksDone: 2, ChunksSkipped: 1, Queries: 0, Pages: 2}
	w.Read, w.Stored = 4, 4
	checkSum(t, sum, w)
	if got := e.fake.Stats(tenantID).Count(o365fake.EndpointGraphCreate); got != 2 {
		t.Errorf("%d queries created", got)
	}
	var pages, stored int
	if err := e.st.DB().QueryRow(`SELECT Pages, RecordsStored FROM BackfillInterval WHERE IntervalStart = '2026-03-02 00:00:00'`).Scan(&pages, &stored); err != nil {
		t.Fatal(err)
	}
	if pages != 3 || stored != 7 {
		t.Errorf("day 2 recorded %d pages, %d stored", pages, stored)
	}
}

func TestBackfillResumeWhenSavedQueryIsGone(t *testing.T) {
	e := newEnv(t, 3)
	times := every("2026-03-05T01:00:00Z", time.Hour, 8)
	want := e.publish(0, times...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := e.job(func(j *Job) {
		j.OnProgress = func(p Progress) {
			if p.Summary.Pages == 2 {
				cancel()
			}
		}
	})
	if _, err := j.Run(ctx, ts("2026-03-05T00:00:00Z"), ts("2026-03-06T00:00:00Z")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	checkIDs(t, e.ids(), want[:6])

	// A new server at the same address has forgotten the query (and the token).
	e.swap(3)
	e.publish(0, times...)
	sum, err := e.run(e.job(nil), "2026-03-05", "2026-03-05")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), want)
	w := Summary{Chunks: 1, ChunksDone: 1, Queries: 1, Pages: 3}
	w.Read, w.Stored, w.Duplicates = 8, 2, 6
	checkSum(t, sum, w)
}

// fixtureRecords returns the auditData of the Graph fixture pages' entries.
func fixtureRecords(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"graph-auditlog-records.json", "graph-auditlog-records-page2.json"} {
		b, err := os.ReadFile("../../testdata/fixtures/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Value []struct {
				AuditData json.RawMessage `json:"auditData"`
			} `json:"value"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			out = append(out, v.AuditData)
		}
	}
	return out
}

func TestBackfillGraphFixtures(t *testing.T) {
	e := newEnv(t, 2)
	recs := fixtureRecords(t)
	if len(recs) != 5 {
		t.Fatalf("%d fixture records", len(recs))
	}
	e.fake.PublishGraph(tenantID, recs)
	sum, err := e.run(e.job(nil), "2026-03-04", "2026-03-05")
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures README: G1..G5.
	checkIDs(t, e.ids(), []string{
		"a187e0b6-7407-4f03-ac3a-259daa1a1ce1", "b9fa353a-ba05-41b6-9b3a-73fad463d238",
		"5698aef9-d903-4547-a472-bd0afb76b87a", "27d982fa-063f-4b7b-b50b-801b098b4d62",
		"fde6c267-2184-4733-b28a-30640f064898",
	})
	// 2026-03-04 holds G1 (one page), 2026-03-05 G2..G5 (two pages of 2).
	w := Summary{Chunks: 2, ChunksDone: 2, Queries: 2, Pages: 3}
	w.Read, w.Stored = 5, 5
	checkSum(t, sum, w)
	var agent, typ string
	if err := e.st.DB().QueryRow(`SELECT AgentName, RecordType FROM CopilotActivity WHERE RecordId = 'b9fa353a-ba05-41b6-9b3a-73fad463d238'`).Scan(&agent, &typ); err != nil {
		t.Fatal(err)
	}
	if agent != "IT Helpdesk" || typ != "CopilotInteraction" {
		t.Errorf("G2 AgentName %q RecordType %q", agent, typ)
	}
}

func TestRecordTypeFilters(t *testing.T) {
	e := newEnv(t, 10)
	j := e.job(nil)
	if err := j.defaults(); err != nil {
		t.Fatal(err)
	}
	f := j.RecordTypes
	for _, name := range []string{"copilotInteraction", "teamCopilotInteraction", "aiAppInteraction", "updateCopilotSettings", "outlookCopilotAutomation"} {
		if !slices.Contains(f, name) {
			t.Errorf("%q missing from %v", name, f)
		}
	}
	if len(f) != 26 || !slices.IsSorted(f) {
		t.Errorf("%d filters %v", len(f), f)
	}
}

// A run narrowed with RecordTypes keeps its progress apart: a later full
// run does not skip the days the narrow one did. Unknown names are refused.
func TestBackfillNarrowRunDoesNotMarkDaysDone(t *testing.T) {
	e := newEnv(t, 10)
	chat := "00000000-0000-4000-8000-000000000261"
	team := "00000000-0000-4000-8000-000000000310"
	e.fake.PublishGraph(tenantID, [][]byte{rec(chat, ts("2026-03-01T05:00:00Z"), 261), rec(team, ts("2026-03-01T06:00:00Z"), 310)})

	sum, err := e.run(e.job(func(j *Job) { j.RecordTypes = []string{"copilotInteraction"} }), "2026-03-01", "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), []string{chat})
	if sum.ChunksSkipped != 0 || sum.Stored != 1 {
		t.Errorf("narrow run: %+v", sum)
	}
	sum, err = e.run(e.job(nil), "2026-03-01", "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, e.ids(), []string{chat, team})
	if sum.ChunksSkipped != 0 || sum.Stored != 1 || sum.Duplicates != 1 {
		t.Errorf("full run after the narrow one: %+v", sum)
	}
	// The same narrow run again is skipped: its own progress is kept.
	if sum, err = e.run(e.job(func(j *Job) { j.RecordTypes = []string{"copilotInteraction"} }), "2026-03-01", "2026-03-01"); err != nil || sum.ChunksSkipped != 1 {
		t.Errorf("narrow run again: %+v %v", sum, err)
	}
	if _, err := e.run(e.job(func(j *Job) { j.RecordTypes = []string{"bogusType"} }), "2026-03-01", "2026-03-01"); err == nil || !strings.Contains(err.Error(), `unknown record type filter "bogusType"`) {
		t.Errorf("unknown filter: %v", err)
	}
}
