package o365fake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tenants of the tests; A is the fixtures' tenant.
const (
	tenantA = "424b1fee-9709-4315-85d9-5954058b4714"
	tenantB = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
	clientA = "11111111-2222-4333-8444-555555555555"
	secretA = "s3cret-A"
	clientB = "66666666-7777-4888-9999-aaaaaaaaaaaa"
	secretB = "s3cret-B"
)

// t0 is the tests' "now": 2026-03-04 12:00 UTC, the day of the fixtures.
var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t    *testing.T
	srv  *Server
	base string
	clk  *testClock
	hc   *http.Client
}

// newEnv starts a fake on loopback with tenants A and B (secrets) and a
// clock at t0.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clk := &testClock{t: t0}
	opts.Now = clk.Now
	srv := New(opts)
	srv.AddTenant(Tenant{ID: tenantA, ClientID: clientA, ClientSecret: secretA})
	srv.AddTenant(Tenant{ID: tenantB, ClientID: clientB, ClientSecret: secretB})
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &env{t: t, srv: srv, base: base, clk: clk, hc: &http.Client{Transport: tr}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	err    error // reading the body
}

func (e *env) do(method, rawURL, token string, body io.Reader, hdr ...string) reply {
	e.t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = e.base + rawURL
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: rerr}
}

func (e *env) postForm(path string, form url.Values) reply {
	e.t.Helper()
	return e.do("POST", path, "", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// token gets a v2 token with the tenant's secret for a resource.
func (e *env) token(tenant, client, secret, resource string) string {
	e.t.Helper()
	r := e.postForm("/"+tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret},
		"scope": {resource + "/.default"},
	})
	if r.status != 200 {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil {
		e.t.Fatalf("token body: %v", err)
	}
	return tok.AccessToken
}

func (e *env) manageToken() string {
	return e.token(tenantA, clientA, secretA, "https://manage.office.com")
}

func (e *env) graphToken() string {
	return e.token(tenantA, clientA, secretA, "https://graph.microsoft.com")
}

func feedPath(tenant, op string) string {
	return "/api/v1.0/" + tenant + "/activity/feed/" + op
}

// start subscribes tenant A to Audit.General and fails the test otherwise.
func (e *env) start(tok string) {
	e.t.Helper()
	r := e.do("POST", feedPath(tenantA, "subscriptions/start?contentType=Audit.General"), tok, nil)
	if r.status != 200 {
		e.t.Fatalf("start: %d %s", r.status, r.body)
	}
}

// afCode extracts error.code from an error body.
func afCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code
}

func TestFaultsThrottleAndRetryAfter(t *testing.T) {
	cases := []struct {
		name       string
		f          Faults
		wantStatus []int  // statuses of requests 1..6
		wantRA     string // Retry-After on the failing ones
		kind       string
		faults     int
	}{
		{"429 every 3rd with Retry-After", Faults{Throttle429Every: 3, RetryAfter: 1500 * time.Millisecond},
			[]int{200, 200, 429, 200, 200, 429}, "2", FaultThrottle429, 2},
		{"403 every 2nd without Retry-After", Faults{Throttle403Every: 2},
			[]int{200, 403, 200, 403, 200, 403}, "", FaultThrottle403, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			tok := e.manageToken()
			e.start(tok)
			e.srv.SetFaults(tenantA, tc.f)
			for i, want := range tc.wantStatus {
				r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil)
				if r.status != want {
					t.Fatalf("request %d: status %d, want %d", i+1, r.status, want)
				}
				if want == 200 {
					continue
				}
				if code := afCode(t, r.body); code != "AF429" {
					t.Errorf("request %d: code %s, want AF429", i+1, code)
				}
				if got := r.header.Get("Retry-After"); got != tc.wantRA {
					t.Errorf("request %d: Retry-After %q, want %q", i+1, got, tc.wantRA)
				}
			}
			st := e.srv.Stats(tenantA)
			if st.Faults[tc.kind] != tc.faults || len(st.Faults) != 1 {
				t.Errorf("faults %v, want %d of %s", st.Faults, tc.faults, tc.kind)
			}
		})
	}
}

func TestFaultsFail5xxAlternates(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	e.srv.SetFaults(tenantA, Faults{Fail5xxEvery: 2})
	want := []int{200, 500, 200, 503, 200, 500}
	for i, w := range want {
		r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil)
		if r.status != w {
			t.Fatalf("request %d: status %d, want %d", i+1, r.status, w)
		}
		if w != 200 {
			if code := afCode(t, r.body); code != "AF50000" {
				t.Errorf("request %d: code %s", i+1, code)
			}
		}
	}
	// Turning the knob off restarts clean.
	e.srv.SetFaults(tenantA, Faults{})
	if r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil); r.status != 200 {
		t.Errorf("after reset: %d", r.status)
	}
}

func TestFaultsTokenExpireRevokes(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	e.srv.SetFaults(tenantA, Faults{TokenExpireEvery: 2})
	list := feedPath(tenantA, "subscriptions/list")
	if r := e.do("GET", list, tok, nil); r.status != 200 {
		t.Fatalf("request 1: %d", r.status)
	}
	if r := e.do("GET", list, tok, nil); r.status != 401 {
		t.Fatalf("request 2: %d, want 401", r.status)
	}
	// The same token stays dead: the client must refresh.
	if r := e.do("GET", list, tok, nil); r.status != 401 {
		t.Fatalf("retry with the old token: %d, want 401", r.status)
	}
	tok2 := e.manageToken()
	if r := e.do("GET", list, tok2, nil); r.status != 200 {
		t.Fatalf("new token (request 3): %d", r.status)
	}
	if r := e.do("GET", list, tok2, nil); r.status != 401 {
		t.Fatalf("request 4: %d, want 401", r.status)
	}
	st := e.srv.Stats(tenantA)
	if st.Faults[FaultTokenExpire] != 2 || st.TokensIssued != 2 {
		t.Errorf("stats: faults %v tokens %d", st.Faults, st.TokensIssued)
	}
	if got := st.Requests[RequestKey{EndpointList, 401}]; got != 3 {
		t.Errorf("list 401s = %d, want 3", got)
	}
}

func TestFaultsCutBody(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	recs := [][]byte{[]byte(`{"Id":"a"}`), []byte(`{"Id":"b"}`), []byte(`{"Id":"c"}`)}
	id := e.srv.Publish(tenantA, "Audit.General", recs, t0.Add(-time.Hour), time.Time{})
	gid := e.srv.PublishFunc(tenantA, "Audit.General", 4, func(i int) []byte {
		return []byte(`{"Id":"g` + string(rune('0'+i)) + `"}`)
	}, t0.Add(-time.Hour), time.Time{})
	e.srv.SetFaults(tenantA, Faults{CutBodyEvery: 2})

	full := `[{"Id":"a"},{"Id":"b"},{"Id":"c"}]` // 34 bytes
	r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil)
	if r.status != 200 || r.err != nil || string(r.body) != full {
		t.Fatalf("fetch 1: %d %v %q", r.status, r.err, r.body)
	}
	r = e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil)
	if !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Fatalf("fetch 2: err %v, want unexpected EOF", r.err)
	}
	if r.header.Get("Content-Length") != "34" || string(r.body) != full[:17] {
		t.Errorf("fetch 2: Content-Length %s, body %q", r.header.Get("Content-Length"), r.body)
	}
	if r = e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil); r.err != nil || string(r.body) != full {
		t.Fatalf("fetch 3: %v %q", r.err, r.body)
	}
	// A generated blob is sized for the cut: 4 records of 11 bytes, 3 commas, 2 brackets = 49.
	r = e.do("GET", feedPath(tenantA, "audit/"+gid), tok, nil)
	if !errors.Is(r.err, io.ErrUnexpectedEOF) || r.header.Get("Content-Length") != "49" || len(r.body) != 24 {
		t.Errorf("generated fetch: err %v, Content-Length %s, %d bytes", r.err, r.header.Get("Content-Length"), len(r.body))
	}
	if got := e.srv.Stats(tenantA).Faults[FaultCutBody]; got != 2 {
		t.Errorf("cut faults = %d, want 2", got)
	}
}

func TestFaultsSlowBody(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	id := e.srv.Publish(tenantA, "Audit.General", [][]byte{[]byte(`{"Id":"a"}`)}, t0.Add(-time.Hour), time.Time{})

	e.srv.SetFaults(tenantA, Faults{SlowBody: 5 * time.Millisecond})
	if r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil); r.status != 200 || string(r.body) != `[{"Id":"a"}]` {
		t.Fatalf("slow fetch: %d %q", r.status, r.body)
	}

	// Headers arrive, the body does not: a client deadline fires while reading.
	e.srv.SetFaults(tenantA, Faults{SlowBody: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+feedPath(tenantA, "audit/"+id), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("headers should arrive before the delay: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("body read: %v, want deadline exceeded", err)
	}
	if got := e.srv.Stats(tenantA).Faults[FaultSlowBody]; got != 2 {
		t.Errorf("slow faults = %d, want 2", got)
	}
}

func TestStatsCountsByEndpoint(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	e.do("POST", feedPath(tenantA, "subscriptions/start?contentType=Audit.General&PublisherIdentifier="+tenantA), tok, nil)
	e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil)
	st := e.srv.Stats(tenantA)
	want := map[RequestKey]int{
		{EndpointToken, 200}: 1,
		{EndpointStart, 200}: 1,
		{EndpointStart, 400}: 1,
		{EndpointList, 200}:  1,
	}
	if len(st.Requests) != len(want) {
		t.Errorf("requests %v, want %v", st.Requests, want)
	}
	for k, v := range want {
		if st.Requests[k] != v {
			t.Errorf("requests[%v] = %d, want %d", k, st.Requests[k], v)
		}
	}
	if st.Count(EndpointStart) != 2 || st.SubscriptionStarts != 1 || st.WithPublisherIdentifier != 1 {
		t.Errorf("start count %d, starts %d, with publisher %d", st.Count(EndpointStart), st.SubscriptionStarts, st.WithPublisherIdentifier)
	}
	// Tenant B saw nothing.
	if n := len(e.srv.Stats(tenantB).Requests); n != 0 {
		t.Errorf("tenant B requests: %d", n)
	}
}

func TestStartTwiceFails(t *testing.T) {
	srv := New(Options{})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
}
