package automate

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aiwatch/aiwatch/internal/store"
)

// t0 is 2026-12-03T10:00:00Z, Unix 1796292000.
var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// openStore opens a real store in dir; its migrations make the delivery
// tables.
func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// shared is one store for the tests that need no store of their own:
// opening DuckDB costs a few hundred milliseconds, emptying two tables
// nothing.
var (
	shared    *store.Store
	sharedDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// newStore returns the shared store's database with empty delivery tables.
func newStore(t *testing.T) *sql.DB {
	t.Helper()
	if shared == nil {
		dir, err := os.MkdirTemp("", "automate-test-")
		if err != nil {
			t.Fatal(err)
		}
		sharedDir = dir
		shared = openStore(t, dir)
	}
	if _, err := shared.DB().ExecContext(context.Background(), `DELETE FROM AutomationDelivery; DELETE FROM AutomationDeliveryAttempt`); err != nil {
		t.Fatal(err)
	}
	return shared.DB()
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type applied struct {
	ID     string
	Change Change
	By     string
}

// recUpdater records Apply calls; fail makes Apply fail for a changer.
type recUpdater struct {
	mu    sync.Mutex
	calls []applied
	fail  map[string]bool
}

func (u *recUpdater) Apply(_ context.Context, id string, ch Change, by string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, applied{id, ch, by})
	if u.fail[by] {
		return errors.New("incident is locked")
	}
	return nil
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func sampleIncident() Incident {
	return Incident{
		ID:          "inc-7f3a",
		Number:      42,
		Title:       "Copilot jailbreak attempt by alice",
		Description: "Copilot flagged a jailbreak attempt in a Teams chat.",
		Severity:    "High",
		Status:      "New",
		Tactics:     []string{"DefenseEvasion", "InitialAccess"},
		Techniques:  []string{"T1562"},
		RuleIDs:     []string{"9f1b7c2e-0000-4000-8000-000000000001"},
		RuleNames:   []string{"Copilot jailbreak detected"},
		AlertIDs:    []string{"al-1", "al-2"},
		Entities: []Entity{
			{Type: "Account", Fields: map[string]string{"Name": "alice", "UPNSuffix": "contoso.com"}},
			{Type: "IP", Fields: map[string]string{"Address": "203.0.113.7"}},
		},
		FirstActivity: t0.Add(-2 * time.Hour),
		LastActivity:  t0.Add(-time.Hour),
		Created:       t0,
		LastModified:  t0,
	}
}

// parseConfig decodes YAML as the main config file does.
func parseConfig(t *testing.T, text string) Config {
	t.Helper()
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// webhookConfig is one rule running one signed webhook playbook.
func webhookConfig(t *testing.T, url string) Config {
	t.Setenv("AIWATCH_TEST_HOOK_SECRET", "whsec-0123456789")
	return parseConfig(t, `
automation_rules:
  - name: notify
    conditions:
      - {field: severity, operator: in, values: [High, Medium]}
    actions:
      - run_playbook: hook
playbooks:
  - name: hook
    type: webhook
    url: `+url+`
    secret_env: AIWATCH_TEST_HOOK_SECRET
    timeout: 2s
`)
}

// receiver records deliveries by id.
type receiver struct {
	mu     sync.Mutex
	ids    map[string]int // delivery id → times received
	bodies [][]byte
	onHit  func(n int) // called with the number of requests so far
	total  int
}

func newReceiver() *receiver { return &receiver{ids: map[string]int{}} }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.DeliveryID != req.Header.Get(HeaderDelivery) {
		http.Error(w, "delivery id mismatch", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.ids[p.DeliveryID]++
	r.bodies = append(r.bodies, body)
	r.total++
	n, hit := r.total, r.onHit
	r.mu.Unlock()
	if hit != nil {
		hit(n)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for k, v := range r.ids {
		m[k] = v
	}
	return m
}

func queueIDs(t *testing.T, db *sql.DB, state string) []string {
	t.Helper()
	rows, err := ListDeliveries(context.Background(), db, state, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func countRows(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{}}
}

// The receiver goes down after accepting some deliveries and comes back on
// the same port: every notification arrives, and the log shows retries.
func TestReceiverDownLosesNothing(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	rcv := newReceiver()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	const n, acceptBeforeDown = 20, 5
	down, gone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rcv.onHit = func(k int) {
		if k >= acceptBeforeDown {
			once.Do(func() { close(down) })
			// Requests in flight now are cut off with the server: their
			// senders get no answer, though the receiver saw them.
			<-gone
		}
	}
	srv1 := &http.Server{Handler: rcv}
	go srv1.Serve(ln)

	client := newClient()
	defer client.CloseIdleConnections()
	var logs syncBuffer
	eng, err := New(webhookConfig(t, "http://"+addr+"/hook"), db, &recUpdater{}, Options{
		HTTPClient: client,
		Logger:     testLogger(&logs),
		Retry:      RetryPolicy{MaxAttempts: 1000, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		inc := sampleIncident()
		inc.ID = "inc-" + string(rune('a'+i))
		if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: inc}); err != nil {
			t.Fatal(err)
		}
	}
	want := queueIDs(t, db, StatePending)
	if len(want) != n {
		t.Fatalf("queued %d deliveries, want %d", len(want), n)
	}

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error)
	go func() { ran <- eng.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	<-down
	srv1.Close() // the listener and every open connection
	close(gone)
	// Wait until the engine has met the closed port a few times.
	waitFor(t, "retries while the receiver is down", func() bool {
		return countRows(t, db, `SELECT count(*) FROM AutomationDeliveryAttempt WHERE Outcome = 'retry'`) >= 3
	})
	got := rcv.received()
	if len(got) >= n {
		t.Fatalf("all %d deliveries arrived before the receiver went down; the test proves nothing", n)
	}

	var ln2 net.Listener
	waitFor(t, "the port to be free again", func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	})
	srv2 := &http.Server{Handler: rcv}
	go srv2.Serve(ln2)
	defer srv2.Close()

	waitFor(t, "every delivery to arrive", func() bool { return len(rcv.received()) >= n })
	got = rcv.received()
	var ids []string
	repeated := 0
	for id, times := range got {
		ids = append(ids, id)
		if times > 1 {
			repeated++
		}
	}
	// At least the request that was cut off unanswered was sent again:
	// delivery is at least once, and receivers drop repeats by id.
	if repeated == 0 {
		t.Error("no delivery was repeated, though one was cut off unanswered")
	}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Fatalf("received ids %v\nwant %v", ids, want)
	}
	waitFor(t, "the queue to record every delivery", func() bool {
		return len(queueIDs(t, db, StateDelivered)) == n
	})
	retried := countRows(t, db, `SELECT count(*) FROM AutomationDelivery WHERE Attempts > 1`)
	if retried == 0 {
		t.Error("no delivery needed more than one attempt")
	}
	refused := countRows(t, db, `SELECT count(*) FROM AutomationDeliveryAttempt WHERE Outcome = 'retry' AND Error LIKE '%connection refused%'`)
	if refused == 0 {
		t.Error("the delivery log shows no attempt refused by the closed port")
	}
	// Each delivery's attempts are numbered 1..Attempts in the log.
	if bad := countRows(t, db, `SELECT count(*) FROM AutomationDelivery d WHERE Attempts <>
		(SELECT count(*) FROM AutomationDeliveryAttempt a WHERE a.DeliveryId = d.DeliveryId)`); bad != 0 {
		t.Errorf("%d deliveries whose attempt count differs from their log", bad)
	}
	if countRows(t, db, `SELECT count(*) FROM AutomationDeliveryAttempt WHERE Outcome = 'delivered'`) != n {
		t.Error("not one delivered attempt per delivery")
	}
}

// waitFor polls cond until it holds, failing after 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deliveries queued by an engine that stopped before sending them are sent
// by the next engine on the same data directory.
func TestRestartResumesPending(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rcv := newReceiver()
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfg := webhookConfig(t, srv.URL+"/hook")

	st := openStore(t, dir)
	eng, err := New(cfg, st.DB(), &recUpdater{}, Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"inc-1", "inc-2", "inc-3"} {
		inc := sampleIncident()
		inc.ID = id
		if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: inc}); err != nil {
			t.Fatal(err)
		}
	}
	want := queueIDs(t, st.DB(), StatePending)
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Deliver(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Deliver after Close: %v, want ErrClosed", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rcv.received()) != 0 {
		t.Fatal("something was delivered before the restart")
	}

	st2 := openStore(t, dir)
	defer st2.Close()
	eng2, err := New(cfg, st2.DB(), &recUpdater{}, Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := eng2.Deliver(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Deliver after restart = %d, %v; want 3", n, err)
	}
	var got []string
	for id := range rcv.received() {
		got = append(got, id)
	}
	slices.Sort(got)
	if len(want) != 3 || !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	if n, err := eng2.Deliver(ctx); err != nil || n != 0 {
		t.Fatalf("a second pass delivered %d (%v); want nothing", n, err)
	}
}

// A failed delivery requeued by hand is sent again with a fresh budget.
func TestRequeueFailed(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	var status = http.StatusBadRequest
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	clock := &fakeClock{t: t0}
	eng, err := New(webhookConfig(t, srv.URL), db, &recUpdater{}, Options{HTTPClient: srv.Client(), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
		t.Fatal(err)
	}
	if n, err := eng.Deliver(ctx); err != nil || n != 0 {
		t.Fatalf("Deliver = %d, %v", n, err)
	}
	failed := queueIDs(t, db, StateFailed)
	if len(failed) != 1 {
		t.Fatalf("failed = %v, want one", failed)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	if n, err := eng.Requeue(ctx); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v; want 1", n, err)
	}
	if n, err := eng.Deliver(ctx); err != nil || n != 1 {
		t.Fatalf("Deliver after requeue = %d, %v; want 1", n, err)
	}
	rows, err := ListDeliveries(ctx, db, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].State != StateDelivered || rows[0].Attempts != 2 || rows[0].LastCode != 200 || rows[0].LastError != "" {
		t.Fatalf("after requeue: %+v", rows)
	}
}
