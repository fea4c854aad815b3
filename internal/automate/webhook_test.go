package automate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type captured struct {
	header http.Header
	path   string
	body   []byte
}

// capture answers each request with the next status in order (the last
// one repeats) and keeps what it received.
type capture struct {
	mu       sync.Mutex
	reqs     []captured
	statuses []int
	headers  []map[string]string // per answer, optional
	body     string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.reqs)
	c.reqs = append(c.reqs, captured{r.Header.Clone(), r.URL.Path, b})
	status := http.StatusOK
	if len(c.statuses) > 0 {
		status = c.statuses[min(i, len(c.statuses)-1)]
	}
	if i < len(c.headers) {
		for k, v := range c.headers[i] {
			w.Header().Set(k, v)
		}
	}
	if status == http.StatusFound {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	io.WriteString(w, c.body)
}

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

func TestWebhookBodySignatureHeaders(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	cap := &capture{statuses: []int{http.StatusAccepted}}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	t.Setenv("AIWATCH_TEST_HOOK_SECRET", "whsec-0123456789")
	t.Setenv("AIWATCH_TEST_HOOK_TOKEN", "Bearer tkn-abcdef")
	cfg := parseConfig(t, `
incident_url: https://aiwatch.contoso.com/incidents/{number}
automation_rules:
  - name: notify
    actions: [{run_playbook: hook}]
playbooks:
  - name: hook
    type: webhook
    url: `+srv.URL+`/in/aiwatch
    secret_env: AIWATCH_TEST_HOOK_SECRET
    headers: {X-Env: prod}
    headers_env: {Authorization: AIWATCH_TEST_HOOK_TOKEN}
`)
	clock := &fakeClock{t: t0}
	eng, err := New(cfg, db, &recUpdater{}, Options{Clock: clock.Now, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	inc := sampleIncident()
	if err := eng.Handle(ctx, Event{Kind: EventUpdated, Incident: inc, Changed: []string{"Severity"}}); err == nil {
		// The rule triggers on created only (the default).
		if n := countRows(t, db, `SELECT count(*) FROM AutomationDelivery`); n != 0 {
			t.Fatalf("an update queued %d deliveries for a created-only rule", n)
		}
	} else {
		t.Fatal(err)
	}
	if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: inc}); err != nil {
		t.Fatal(err)
	}
	if n, err := eng.Deliver(ctx); err != nil || n != 1 {
		t.Fatalf("Deliver = %d, %v; want 1", n, err)
	}
	reqs := cap.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/in/aiwatch" {
		t.Errorf("path %q", r.path)
	}
	for k, want := range map[string]string{
		"Content-Type":    "application/json",
		"X-Env":           "prod",
		"Authorization":   "Bearer tkn-abcdef",
		"X-Aiwatch-Event": "incident_created",
		HeaderTimestamp:   "1796292000",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	// The signature, computed here independently of Sign.
	mac := hmac.New(sha256.New, []byte("whsec-0123456789"))
	mac.Write([]byte("1796292000." + string(r.body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.header.Get(HeaderSignature) != want {
		t.Errorf("signature %q, want %q", r.header.Get(HeaderSignature), want)
	}

	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	id := r.header.Get(HeaderDelivery)
	if len(id) != 36 || body["delivery_id"] != id {
		t.Errorf("delivery id header %q, body %v", id, body["delivery_id"])
	}
	for k, want := range map[string]any{
		"playbook":        "hook",
		"automation_rule": "notify",
		"event":           "incident_created",
		"incident_url":    "https://aiwatch.contoso.com/incidents/42",
		"enqueued_at":     "2026-12-03T10:00:00Z",
	} {
		if body[k] != want {
			t.Errorf("body %s = %v, want %v", k, body[k], want)
		}
	}
	got := body["incident"].(map[string]any)
	for k, want := range map[string]any{
		"id":             "inc-7f3a",
		"number":         42.0,
		"title":          "Copilot jailbreak attempt by alice",
		"severity":       "High",
		"status":         "New",
		"first_activity": "2026-12-03T08:00:00Z",
	} {
		if got[k] != want {
			t.Errorf("incident %s = %v, want %v", k, got[k], want)
		}
	}
	ents := got["entities"].([]any)
	if len(ents) != 2 || ents[0].(map[string]any)["type"] != "Account" ||
		ents[0].(map[string]any)["fields"].(map[string]any)["UPNSuffix"] != "contoso.com" {
		t.Errorf("entities %v", ents)
	}
	if tags, ok := got["tags"].([]any); !ok || len(tags) != 0 {
		t.Errorf("tags %v, want an empty list", got["tags"])
	}
	// The stored row agrees.
	rows, _ := ListDeliveries(ctx, db, StateDelivered, 10)
	if len(rows) != 1 || rows[0].ID != id || rows[0].Attempts != 1 || rows[0].LastCode != 202 ||
		rows[0].IncidentID != "inc-7f3a" || rows[0].Event != "incident_created" || !rows[0].Delivered.Equal(t0) {
		t.Errorf("queue row %+v", rows)
	}
}

// Retry-After is honoured, 5xx backs off exponentially (jitter fixed at
// one half), and the log keeps each attempt.
func TestWebhookRetryTiming(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	cap := &capture{
		statuses: []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusOK},
		headers:  []map[string]string{{"Retry-After": "120"}, nil, {"Retry-After": "Thu, 03 Dec 2026 10:10:00 GMT"}},
	}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	clock := &fakeClock{t: t0}
	eng, err := New(webhookConfig(t, srv.URL), db, &recUpdater{}, Options{
		Clock: clock.Now, HTTPClient: srv.Client(), Jitter: func() float64 { return 0.5 },
		Retry: RetryPolicy{MaxAttempts: 5, BaseBackoff: time.Second, MaxBackoff: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
		t.Fatal(err)
	}
	next := func() time.Time {
		t.Helper()
		rows, err := ListDeliveries(ctx, db, "", 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("queue: %v %v", rows, err)
		}
		return rows[0].NextAttempt
	}
	deliver := func(want int) {
		t.Helper()
		if n, err := eng.Deliver(ctx); err != nil || n != want {
			t.Fatalf("Deliver = %d, %v; want %d", n, err, want)
		}
	}
	deliver(0) // 503, Retry-After: 120
	if got, want := next(), t0.Add(120*time.Second); !got.Equal(want) {
		t.Fatalf("after 503 next attempt %s, want %s", got, want)
	}
	clock.Advance(119 * time.Second)
	deliver(0)
	if len(cap.requests()) != 1 {
		t.Fatal("sent before Retry-After passed")
	}
	clock.Advance(time.Second) // 10:02:00
	deliver(0)                 // 500: second failure waits 2s·(½+½·½) = 1.5s
	if got, want := next(), t0.Add(120*time.Second+1500*time.Millisecond); !got.Equal(want) {
		t.Fatalf("after 500 next attempt %s, want %s", got, want)
	}
	clock.Advance(1500 * time.Millisecond)
	deliver(0) // 429 with an HTTP date: 10:10:00
	if got, want := next(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Fatalf("after 429 next attempt %s, want %s", got, want)
	}
	clock.Advance(10 * time.Minute)
	deliver(1)

	var outcomes []string
	rows, err := db.QueryContext(ctx, `SELECT Outcome || ':' || Code FROM AutomationDeliveryAttempt ORDER BY Attempt`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		outcomes = append(outcomes, s)
	}
	rows.Close()
	if want := "retry:503 retry:500 retry:429 delivered:200"; strings.Join(outcomes, " ") != want {
		t.Errorf("attempt log %v, want %s", outcomes, want)
	}
}

// Attempts run out: the delivery fails, is logged and counted; a 4xx fails
// at once with its reason; a redirect is not followed.
func TestWebhookFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		statuses []int
		body     string
		passes   int
		reason   string
		attempts int
	}{
		{"attempts run out", []int{500}, "boom", 3, "gave up after 3 attempts: HTTP 500: boom", 3},
		{"client error", []int{422}, `{"error": "bad  payload"}`, 1, `HTTP 422: {"error": "bad payload"}`, 1},
		{"redirect", []int{302}, "", 1, "HTTP 302: redirects are not followed; configure the final URL", 1},
		{"gone", []int{410}, "", 1, "HTTP 410", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newStore(t)
			cap := &capture{statuses: tc.statuses, body: tc.body}
			srv := httptest.NewServer(cap)
			defer srv.Close()
			clock := &fakeClock{t: t0}
			reg := prometheus.NewRegistry()
			var logs syncBuffer
			eng, err := New(webhookConfig(t, srv.URL), db, &recUpdater{}, Options{
				Clock: clock.Now, HTTPClient: srv.Client(), Registerer: reg, Logger: testLogger(&logs),
				Retry: RetryPolicy{MaxAttempts: 3, BaseBackoff: time.Second, MaxBackoff: 4 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
				t.Fatal(err)
			}
			for range tc.passes {
				if n, err := eng.Deliver(ctx); err != nil || n != 0 {
					t.Fatalf("Deliver = %d, %v", n, err)
				}
				clock.Advance(time.Hour)
			}
			if n, _ := eng.Deliver(ctx); n != 0 || len(cap.requests()) != tc.attempts {
				t.Fatalf("%d requests, want %d", len(cap.requests()), tc.attempts)
			}
			rows, _ := ListDeliveries(ctx, db, "", 10)
			if len(rows) != 1 || rows[0].State != StateFailed || rows[0].Attempts != tc.attempts || rows[0].LastError != tc.reason {
				t.Fatalf("row %+v, want failed after %d with %q", rows, tc.attempts, tc.reason)
			}
			if !strings.Contains(logs.String(), `msg="playbook delivery failed" playbook=hook`) {
				t.Errorf("failure not logged:\n%s", logs.String())
			}
			m := scrape(t, reg)
			for _, want := range []string{
				`aiwatch_automation_deliveries_total{outcome="failed",playbook="hook"} 1`,
				`aiwatch_automation_delivery_attempts_total{playbook="hook",result="failure"} 1`,
				`aiwatch_automation_deliveries_pending{playbook="hook"} 0`,
				`aiwatch_automation_rule_matches_total{rule="notify"} 1`,
			} {
				if !strings.Contains(m, want+"\n") {
					t.Errorf("metrics lack %s:\n%s", want, m)
				}
			}
			if tc.attempts > 1 && !strings.Contains(m, `aiwatch_automation_delivery_attempts_total{playbook="hook",result="retry"} 2`+"\n") {
				t.Errorf("metrics lack 2 retries:\n%s", m)
			}
		})
	}
}

// scrape reads the registry through the Prometheus HTTP handler.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Neither the URL's token, the signing secret nor a header token reaches
// the logs or the delivery log, even when the receiver echoes them.
func TestSecretsNeverLogged(t *testing.T) {
	ctx := context.Background()
	const urlToken, secret, headerToken = "T0KEN-in-the-path-9f8e7d", "file-secret-5a4b3c", "hdr-token-112233"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A careless receiver repeats the request back in its error.
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "rejected "+r.URL.String()+" auth="+r.Header.Get("X-Token"))
	}))
	defer echo.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	urlFile := filepath.Join(dir, "hook.url")
	if err := os.WriteFile(urlFile, []byte("http://"+closed+"/services/"+urlToken+"?sig="+urlToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AIWATCH_TEST_ECHO_URL", echo.URL+"/services/"+urlToken)
	t.Setenv("AIWATCH_TEST_HDR", headerToken)
	cfg := parseConfig(t, `
automation_rules:
  - name: notify
    actions: [{run_playbook: echo}, {run_playbook: down}]
playbooks:
  - name: echo
    type: webhook
    url_env: AIWATCH_TEST_ECHO_URL
    secret_file: `+secretFile+`
    headers_env: {X-Token: AIWATCH_TEST_HDR}
  - name: down
    type: slack
    url_file: `+urlFile+`
`)
	db := newStore(t)
	var logs syncBuffer
	clock := &fakeClock{t: t0}
	eng, err := New(cfg, db, &recUpdater{}, Options{Clock: clock.Now, Logger: testLogger(&logs), HTTPClient: newClient(),
		Retry: RetryPolicy{MaxAttempts: 2, BaseBackoff: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		eng.Deliver(ctx)
		clock.Advance(time.Minute)
	}
	var stored strings.Builder
	rows, err := db.QueryContext(ctx, `SELECT coalesce(LastError, '') FROM AutomationDelivery UNION ALL SELECT coalesce(Error, '') FROM AutomationDeliveryAttempt`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		stored.WriteString(s + "\n")
	}
	rows.Close()
	out := logs.String()
	for _, s := range []string{urlToken, secret, headerToken} {
		if strings.Contains(out, s) {
			t.Errorf("log holds secret %q:\n%s", s, out)
		}
		if strings.Contains(stored.String(), s) {
			t.Errorf("delivery log holds secret %q:\n%s", s, stored.String())
		}
	}
	// The failures themselves are there, by playbook name.
	for _, want := range []string{"playbook=echo", "playbook=down", "HTTP 400: rejected [redacted]", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
