package o365

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	feedPath  = "/api/v1.0/" + testTenant + "/activity/feed/"
	publisher = "0d1c2b3a-4f5e-6d7c-8b9a-0a1b2c3d4e5f"
)

// harness is one loopback server holding the token endpoint and the API.
type harness struct {
	srv    *httptest.Server
	te     *tokenEndpoint
	clk    *fakeClock
	c      *Client
	mu     sync.Mutex
	waits  []time.Duration
	hooks  []string
	bearer []string // Authorization of each API request, in order
}

func newHarness(t *testing.T, api http.HandlerFunc) *harness {
	t.Helper()
	h := &harness{te: &tokenEndpoint{}, clk: &fakeClock{t: t0}}
	mux := http.NewServeMux()
	mux.Handle("/"+testTenant+"/oauth2/v2.0/token", h.te)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.bearer = append(h.bearer, r.Header.Get("Authorization"))
		h.mu.Unlock()
		api(w, r)
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.c = &Client{
		HTTP:      h.srv.Client(),
		ManageURL: h.srv.URL,
		TenantID:  testTenant,
		Tokens: NewTokenSource(h.srv.Client(), h.srv.URL, testTenant, "https://manage.office.com",
			Credentials{ClientID: testClient, ClientSecret: testSecret}, h.clk.Now),
		Now: h.clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.waits = append(h.waits, d)
			h.mu.Unlock()
			return nil
		},
		Log:   slog.New(slog.DiscardHandler),
		Retry: RetryPolicy{Jitter: func(d time.Duration) time.Duration { return d }},
		OnRetry: func(op string, status int, code string, wait time.Duration) {
			h.mu.Lock()
			h.hooks = append(h.hooks, fmt.Sprintf("%s %d %s %s", op, status, code, wait))
			h.mu.Unlock()
		},
	}
	return h
}

func apiError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":"message for %s"}}`, code, code)
}

func TestEnsureSubscription(t *testing.T) {
	tests := []struct {
		name        string
		list        string
		startStatus int
		startCode   string
		wantStarts  int
		wantStarted bool
	}{
		{"enabled", `[{"contentType":"Audit.General","status":"enabled","webhook":null}]`, 200, "", 0, false},
		{"enabled other case", `[{"contentType":"audit.general","status":"Enabled"}]`, 200, "", 0, false},
		{"missing", `[]`, 200, "", 1, true},
		{"only another type", `[{"contentType":"Audit.Exchange","status":"enabled"}]`, 200, "", 1, true},
		{"disabled", `[{"contentType":"Audit.General","status":"disabled","webhook":null}]`, 200, "", 1, true},
		{"already enabled on start", `[]`, 400, "AF20024", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var starts []string
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == "GET" && r.URL.Path == feedPath+"subscriptions/list":
					if r.URL.RawQuery != "PublisherIdentifier="+publisher {
						t.Errorf("list query %q", r.URL.RawQuery)
					}
					fmt.Fprint(w, tc.list)
				case r.Method == "POST" && r.URL.Path == feedPath+"subscriptions/start":
					starts = append(starts, r.URL.RawQuery)
					if tc.startStatus != 200 {
						apiError(w, tc.startStatus, tc.startCode)
						return
					}
					fmt.Fprint(w, `{"contentType":"Audit.General","status":"enabled","webhook":null}`)
				default:
					t.Errorf("unexpected %s %s", r.Method, r.URL)
					w.WriteHeader(404)
				}
			})
			h.c.Publisher = publisher
			started, err := h.c.EnsureSubscription(context.Background(), "Audit.General")
			if err != nil {
				t.Fatal(err)
			}
			if started != tc.wantStarted {
				t.Errorf("started = %v, want %v", started, tc.wantStarted)
			}
			if len(starts) != tc.wantStarts {
				t.Fatalf("starts = %d, want %d", len(starts), tc.wantStarts)
			}
			for _, q := range starts {
				if q != "PublisherIdentifier="+publisher+"&contentType=Audit.General" {
					t.Errorf("start query %q", q)
				}
			}
			if h.bearer[0] != "Bearer tok-1" {
				t.Errorf("Authorization %q", h.bearer[0])
			}
		})
	}
}

func TestStartSubscriptionErrors(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { apiError(w, 400, "AF20020") })
	err := h.c.StartSubscription(context.Background(), "Audit.Nope")
	if !IsFatal(err) || !strings.Contains(err.Error(), "cannot start subscription Audit.Nope for tenant "+testTenant) {
		t.Fatalf("err = %v", err)
	}
}

// TestListContentFollowsPages serves three pages; the next-page links use
// lowercase keys and 7-digit fractions as the real service does and must be
// requested byte for byte.
func TestListContentFollowsPages(t *testing.T) {
	fixture, err := os.ReadFile("../../testdata/fixtures/management-api-content-list.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		header    [2]string // header name announcing page 2 and page 3
		publisher string
	}{
		{"NextPageUri", [2]string{"NextPageUri", "NextPageUri"}, ""},
		{"NextPageUrl", [2]string{"NextPageUrl", "NextPageUrl"}, ""},
		{"mixed and lowercase, publisher", [2]string{"nextpageuri", "NEXTPAGEURL"}, publisher},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next2 := "contentType=Audit.General&starttime=2026-03-04T10:00:00.0000000Z&endtime=2026-03-05T10:00:00.0000000Z&nextpage=20260304114600737921594$20260304124600703528916$audit_general$Audit_General$na0022"
			next3 := "contentType=Audit.General&starttime=2026-03-04T10:00:00.0000000Z&endtime=2026-03-05T10:00:00.0000000Z&nextpage=20260304160000000000000$20260304170000000000000$audit_general$Audit_General$na0023"
			pub := ""
			if tc.publisher != "" {
				pub = "&PublisherIdentifier=" + tc.publisher
			}
			var seen []string
			var h *harness
			h = newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != feedPath+"subscriptions/content" {
					t.Errorf("path %s", r.URL.Path)
				}
				seen = append(seen, r.URL.RawQuery)
				switch len(seen) {
				case 1:
					q := r.URL.Query()
					if q.Get("contentType") != "Audit.General" || q.Get("startTime") != "2026-03-04T10:00:00" ||
						q.Get("endTime") != "2026-03-05T10:00:00" || q.Get("PublisherIdentifier") != tc.publisher || (tc.publisher == "" && len(q) != 3) {
						t.Errorf("first page query %q", r.URL.RawQuery)
					}
					w.Header().Set(tc.header[0], h.srv.URL+feedPath+"subscriptions/content?"+next2)
					w.Write(fixture)
				case 2:
					if r.URL.RawQuery != next2+pub {
						t.Errorf("page 2 query %q, want %q", r.URL.RawQuery, next2+pub)
					}
					w.Header().Set(tc.header[1], h.srv.URL+feedPath+"subscriptions/content?"+next3)
					fmt.Fprint(w, `[{"contentType":"Audit.General","contentId":"c3","contentUri":"`+h.srv.URL+feedPath+`audit/c3","contentCreated":"2026-03-04T15:00:00.1234567","contentExpiration":"2026-03-11T15:00:00.1234567Z"}]`)
				case 3:
					if r.URL.RawQuery != next3+pub {
						t.Errorf("page 3 query %q, want %q", r.URL.RawQuery, next3+pub)
					}
					fmt.Fprint(w, `[]`)
				default:
					t.Errorf("page %d requested", len(seen))
				}
			})
			h.c.Publisher = tc.publisher
			var pages []Page
			start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			// A non-UTC start is converted: 11:00+01:00 is 10:00Z.
			startLocal := start.In(time.FixedZone("CET", 3600))
			err := h.c.ListContent(context.Background(), "Audit.General", startLocal, start.Add(24*time.Hour), func(p Page) error {
				pages = append(pages, p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != 3 {
				t.Fatalf("pages = %d, want 3", len(pages))
			}
			if n := []int{len(pages[0].Items), len(pages[1].Items), len(pages[2].Items)}; !slices.Equal(n, []int{2, 1, 0}) {
				t.Fatalf("items per page = %v", n)
			}
			first := pages[0].Items[0]
			if first.ContentID != "20260304103100026129893$20260304113100893455876$audit_general$Audit_General" ||
				first.ContentType != "Audit.General" ||
				first.ContentURI != "https://manage.office.com/api/v1.0/424b1fee-9709-4315-85d9-5954058b4714/activity/feed/audit/20260304103100026129893$20260304113100893455876$audit_general$Audit_General" ||
				!first.ContentCreated.Equal(time.Date(2026, 3, 4, 10, 31, 0, 720e6, time.UTC)) ||
				!first.ContentExpiration.Equal(time.Date(2026, 3, 11, 10, 31, 0, 720e6, time.UTC)) {
				t.Errorf("first item = %+v", first)
			}
			if got := pages[1].Items[0].ContentCreated; !got.Equal(time.Date(2026, 3, 4, 15, 0, 0, 123456700, time.UTC)) {
				t.Errorf("zone-less contentCreated = %v", got)
			}
			base := h.srv.URL + feedPath + "subscriptions/content?"
			if pages[0].NextPage != base+next2+pub || pages[1].NextPage != base+next3+pub || pages[2].NextPage != "" {
				t.Errorf("NextPage = %q, %q, %q", pages[0].NextPage, pages[1].NextPage, pages[2].NextPage)
			}
			if pages[1].URL != pages[0].NextPage {
				t.Errorf("page 2 URL %q", pages[1].URL)
			}
		})
	}
}

func TestListContentRefusesForeignNextPage(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("NextPageUri", "https://evil.example/api/v1.0/x/activity/feed/subscriptions/content?nextpage=1")
		fmt.Fprint(w, `[]`)
	})
	pages := 0
	err := h.c.ListContent(context.Background(), "Audit.General", t0.Add(-time.Hour), t0, func(Page) error { pages++; return nil })
	if err == nil || !strings.Contains(err.Error(), "refusing URL") || pages != 0 {
		t.Fatalf("err = %v, pages = %d", err, pages)
	}
}

func TestListContentStopsOnCallbackError(t *testing.T) {
	var h *harness
	h = newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("NextPageUri", h.srv.URL+feedPath+"subscriptions/content?nextpage=2")
		fmt.Fprint(w, `[]`)
	})
	stop := errors.New("store failed")
	err := h.c.ListContent(context.Background(), "Audit.General", t0.Add(-time.Hour), t0, func(Page) error { return stop })
	if err != stop || len(h.bearer) != 1 {
		t.Fatalf("err = %v, requests = %d", err, len(h.bearer))
	}
}

func TestListContentRejectsBadWindow(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	for _, w := range [][2]time.Time{{t0, t0}, {t0, t0.Add(-time.Minute)}, {t0, t0.Add(24*time.Hour + time.Second)}} {
		if err := h.c.ListContent(context.Background(), "Audit.General", w[0], w[1], func(Page) error { return nil }); err == nil {
			t.Errorf("window %v accepted", w)
		}
	}
}

func TestResumeContent(t *testing.T) {
	var h *harness
	h = newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "nextpage=abc" {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		apiError(w, 400, "AF20031")
	})
	err := h.c.ResumeContent(context.Background(), "Audit.General", h.srv.URL+feedPath+"subscriptions/content?nextpage=abc", func(Page) error { return nil })
	if !IsBadNextPage(err) || len(h.waits) != 0 {
		t.Fatalf("err = %v, waits %v", err, h.waits)
	}
}

// TestRetries drives one listing request through a scripted sequence of
// answers and checks the waits handed to Sleep.
func TestRetries(t *testing.T) {
	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	ok := answer{status: 200}
	httpDate := t0.Add(30 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name      string
		policy    RetryPolicy
		answers   []answer
		wantWaits []time.Duration
		wantHits  int
		wantErr   func(error) bool
		wantHooks []string
	}{
		{"AF429 on 403 with Retry-After", RetryPolicy{}, []answer{{403, "AF429", "7"}, ok},
			[]time.Duration{7 * time.Second}, 2, nil,
			[]string{"subscriptions/content 403 AF429 7s"}},
		{"AF429 on 429 without Retry-After", RetryPolicy{}, []answer{{429, "AF429", ""}, {429, "AF429", ""}, ok},
			[]time.Duration{time.Second, 2 * time.Second}, 3, nil,
			[]string{"subscriptions/content 429 AF429 1s", "subscriptions/content 429 AF429 2s"}},
		{"AF429 on 403 without Retry-After", RetryPolicy{}, []answer{{403, "AF429", ""}, ok},
			[]time.Duration{time.Second}, 2, nil, nil},
		{"Retry-After as HTTP date", RetryPolicy{}, []answer{{429, "AF429", httpDate}, ok},
			[]time.Duration{30 * time.Second}, 2, nil, nil},
		{"Retry-After above Max is honoured", RetryPolicy{Max: 10 * time.Second}, []answer{{429, "", "120"}, ok},
			[]time.Duration{2 * time.Minute}, 2, nil, nil},
		{"Retry-After capped at 15m", RetryPolicy{}, []answer{{429, "AF429", "3600"}, ok},
			[]time.Duration{15 * time.Minute}, 2, nil, nil},
		{"5xx then success", RetryPolicy{}, []answer{{500, "", ""}, {503, "", ""}, ok},
			[]time.Duration{time.Second, 2 * time.Second}, 3, nil, nil},
		{"AF50000", RetryPolicy{}, []answer{{400, "AF50000", ""}, ok},
			[]time.Duration{time.Second}, 2, nil, nil},
		{"max attempts, backoff capped", RetryPolicy{MaxAttempts: 5, Base: time.Second, Max: 3 * time.Second},
			[]answer{{500, "", ""}, {500, "", ""}, {500, "", ""}, {500, "", ""}, {500, "", ""}, ok},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, 5,
			func(err error) bool {
				return err != nil && strings.Contains(err.Error(), "giving up after 5 attempts: HTTP 500")
			}, nil},
		{"AF10001 fatal", RetryPolicy{}, []answer{{401, "AF10001", ""}, {401, "AF10001", ""}}, nil, 2, IsFatal, nil},
		{"AF20010 fatal", RetryPolicy{}, []answer{{400, "AF20010", ""}}, nil, 1, IsFatal, nil},
		{"AF20011 fatal", RetryPolicy{}, []answer{{400, "AF20011", ""}}, nil, 1, IsFatal, nil},
		{"AF20012 fatal", RetryPolicy{}, []answer{{400, "AF20012", ""}}, nil, 1, IsFatal, nil},
		{"AF20013 fatal", RetryPolicy{}, []answer{{400, "AF20013", ""}}, nil, 1, IsFatal, nil},
		{"AF20020 fatal", RetryPolicy{}, []answer{{400, "AF20020", ""}}, nil, 1, IsFatal, nil},
		{"AF20022 no subscription", RetryPolicy{}, []answer{{400, "AF20022", ""}}, nil, 1, IsNoSubscription, nil},
		{"AF20023 disabled", RetryPolicy{}, []answer{{400, "AF20023", ""}}, nil, 1, IsDisabled, nil},
		{"AF20030 bad window", RetryPolicy{}, []answer{{400, "AF20030", ""}}, nil, 1, IsBadWindow, nil},
		{"AF20055 bad window", RetryPolicy{}, []answer{{400, "AF20055", ""}}, nil, 1, IsBadWindow, nil},
		{"plain 400", RetryPolicy{}, []answer{{400, "", ""}}, nil, 1,
			func(err error) bool { return !IsRetryable(err) && !IsFatal(err) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := 0
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				a := tc.answers[hits]
				hits++
				if a.retryAfter != "" {
					w.Header().Set("Retry-After", a.retryAfter)
				}
				if a.status != 200 {
					if a.code == "" {
						w.WriteHeader(a.status) // no body, as a gateway might answer
						return
					}
					apiError(w, a.status, a.code)
					return
				}
				fmt.Fprint(w, `[]`)
			})
			h.c.Retry.MaxAttempts, h.c.Retry.Base, h.c.Retry.Max = tc.policy.MaxAttempts, tc.policy.Base, tc.policy.Max
			err := h.c.ListContent(context.Background(), "Audit.General", t0.Add(-time.Hour), t0, func(Page) error { return nil })
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("err = %v: wrong kind", err)
			}
			if hits != tc.wantHits {
				t.Errorf("hits = %d, want %d", hits, tc.wantHits)
			}
			if !slices.Equal(h.waits, tc.wantWaits) {
				t.Errorf("waits = %v, want %v", h.waits, tc.wantWaits)
			}
			if tc.wantHooks != nil && !slices.Equal(h.hooks, tc.wantHooks) {
				t.Errorf("OnRetry = %q, want %q", h.hooks, tc.wantHooks)
			}
		})
	}
}

func TestRetryNetworkError(t *testing.T) {
	tests := []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"connection dropped", func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
		{"body cut short", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			fmt.Fprint(w, `[{"contentT`)
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := 0
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				hits++
				if hits == 1 {
					tc.fail(w)
					return
				}
				fmt.Fprint(w, `[]`)
			})
			// Without keep-alive the transport cannot silently retry on a
			// fresh connection, so the client's own loop must.
			h.c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			err := h.c.ListContent(context.Background(), "Audit.General", t0.Add(-time.Hour), t0, func(Page) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if hits != 2 || !slices.Equal(h.waits, []time.Duration{time.Second}) || !slices.Equal(h.hooks, []string{"subscriptions/content 0  1s"}) {
				t.Fatalf("hits %d waits %v hooks %q", hits, h.waits, h.hooks)
			}
		})
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	t.Run("second token works", func(t *testing.T) {
		h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer tok-1" {
				apiError(w, 401, "")
				return
			}
			fmt.Fprint(w, `[]`)
		})
		subs, err := h.c.Subscriptions(context.Background())
		if err != nil || len(subs) != 0 {
			t.Fatalf("subs %v err %v", subs, err)
		}
		if !slices.Equal(h.bearer, []string{"Bearer tok-1", "Bearer tok-2"}) || len(h.waits) != 0 {
			t.Fatalf("bearer %v waits %v", h.bearer, h.waits)
		}
	})
	t.Run("second token rejected too", func(t *testing.T) {
		h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { apiError(w, 401, "") })
		_, err := h.c.Subscriptions(context.Background())
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 401 {
			t.Fatalf("err = %v", err)
		}
		if !slices.Equal(h.bearer, []string{"Bearer tok-1", "Bearer tok-2"}) {
			t.Fatalf("bearer %v", h.bearer)
		}
	})
}

func TestSleepErrorStopsRetries(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { apiError(w, 503, "") })
	h.c.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
	err := h.c.ListContent(context.Background(), "Audit.General", t0.Add(-time.Hour), t0, func(Page) error { return nil })
	if !errors.Is(err, context.Canceled) || len(h.bearer) != 1 {
		t.Fatalf("err %v requests %d", err, len(h.bearer))
	}
}

func TestOpenBlob(t *testing.T) {
	blob, err := os.ReadFile("../../testdata/fixtures/management-api-blob.json")
	if err != nil {
		t.Fatal(err)
	}
	const id = "20260304103100026129893$20260304113100893455876$audit_general$Audit_General"
	hits := 0
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path != feedPath+"audit/"+id {
			apiError(w, 404, "AF20051")
			return
		}
		if r.URL.Query().Get("PublisherIdentifier") != publisher {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		if hits == 1 {
			apiError(w, 500, "AF50000")
			return
		}
		w.Write(blob)
	})
	h.c.Publisher = publisher
	rc, err := h.c.OpenBlob(context.Background(), h.srv.URL+feedPath+"audit/"+id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != string(blob) {
		t.Fatalf("body differs (%d bytes, err %v)", len(got), err)
	}
	if hits != 2 || !slices.Equal(h.waits, []time.Duration{time.Second}) {
		t.Fatalf("hits %d waits %v", hits, h.waits)
	}

	hits = 0
	_, err = h.c.OpenBlob(context.Background(), h.srv.URL+feedPath+"audit/expired")
	if !IsContentGone(err) || hits != 1 {
		t.Fatalf("expired blob: err %v hits %d", err, hits)
	}
}

func TestOpenBlobRefusesForeignHost(t *testing.T) {
	foreignHits := 0
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits++ }))
	defer foreign.Close()
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	for _, u := range []string{
		foreign.URL + feedPath + "audit/x",
		"https://manage.office.com" + feedPath + "audit/x",
		strings.Replace(h.srv.URL, "http://", "https://", 1) + feedPath + "audit/x", // other scheme
		"http://user:pw@" + strings.TrimPrefix(h.srv.URL, "http://") + feedPath + "audit/x",
		feedPath + "audit/x", // relative
	} {
		if _, err := h.c.OpenBlob(context.Background(), u); err == nil || !strings.Contains(err.Error(), "refusing URL") {
			t.Errorf("%s: err = %v", u, err)
		}
	}
	if foreignHits != 0 || h.te.n.Load() != 0 {
		t.Fatalf("foreign hits %d, token requests %d", foreignHits, h.te.n.Load())
	}
}

func TestMisconfiguredClientFailsFast(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	h.c.ManageURL = ""
	if _, err := h.c.Subscriptions(context.Background()); err == nil || !strings.Contains(err.Error(), "not an absolute http(s) URL") {
		t.Fatalf("empty ManageURL: %v", err)
	}
	h.c.ManageURL = h.srv.URL
	h.c.Tokens = nil
	if _, err := h.c.Subscriptions(context.Background()); err == nil || !strings.Contains(err.Error(), "no token source") {
		t.Fatalf("nil Tokens: %v", err)
	}
	if len(h.waits) != 0 {
		t.Fatalf("retried: %v", h.waits)
	}
}
