package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

const (
	testToken = "s3cret-token"
	fixtures  = "../../testdata/fixtures/"
)

// testNow is the fixed clock of the tests' servers.
var testNow = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

// fixtureStore is a store in a temporary directory holding
// copilot-interactions.jsonl (17 records, per the fixtures README).
func fixtureStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.Open(filepath.Join(fixtures, "copilot-interactions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := reader.Open(f, reader.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Import(ctx, st, "copilot-interactions.jsonl", rd, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 17 {
		t.Fatalf("fixture import stored %d records, want 17", sum.Stored)
	}
	return st
}

// startServer serves the API on loopback with opts completed by defaults
// the tests share.
func startServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// call sends one request; token "" sends no Authorization header.
func call(t *testing.T, method, url, token, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func errorOf(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %q (%v)", body, err)
	}
	return e
}

func TestNewRefusesEmptyToken(t *testing.T) {
	st := fixtureStore(t)
	if _, err := New(Options{Store: st}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("New without a token: %v", err)
	}
}

func TestTokenRequired(t *testing.T) {
	st := fixtureStore(t)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "aiwatch_test_things_total", Help: "test"})
	c.Add(3)
	reg.MustRegister(c)
	rep := collect.Report{Source: "collector", DataDir: "/data", Tenants: []collect.Status{{Tenant: "contoso", ContentType: "Audit.General", RecordsStored: 42}}}
	srv := startServer(t, Options{Store: st, Gatherer: reg, Status: func() collect.Report { return rep }})

	type req struct {
		name, method, path, auth, body string
		want                           int
		challenge                      string // expected WWW-Authenticate on 401
	}
	query := `{"query":"CopilotActivity | count"}`
	cases := []req{
		{"healthz open", "GET", "/healthz", "", "", 200, ""},
		{"status without token", "GET", "/api/v1/status", "", "", 401, `Bearer realm="aiwatch"`},
		{"status wrong token", "GET", "/api/v1/status", "Bearer nope", "", 401, `Bearer realm="aiwatch", error="invalid_token"`},
		{"status token prefix", "GET", "/api/v1/status", "Bearer " + testToken[:5], "", 401, `Bearer realm="aiwatch", error="invalid_token"`},
		{"status token longer", "GET", "/api/v1/status", "Bearer " + testToken + "x", "", 401, `Bearer realm="aiwatch", error="invalid_token"`},
		{"status basic auth", "GET", "/api/v1/status", "Basic " + testToken, "", 401, `Bearer realm="aiwatch"`},
		{"status right token", "GET", "/api/v1/status", "Bearer " + testToken, "", 200, ""},
		{"scheme case-insensitive", "GET", "/api/v1/status", "bearer " + testToken, "", 200, ""},
		{"query without token", "POST", "/api/v1/query", "", query, 401, `Bearer realm="aiwatch"`},
		{"query wrong token", "POST", "/api/v1/query", "Bearer nope", query, 401, `Bearer realm="aiwatch", error="invalid_token"`},
		{"query right token", "POST", "/api/v1/query", "Bearer " + testToken, query, 200, ""},
		{"metrics without token", "GET", "/metrics", "", "", 401, `Bearer realm="aiwatch"`},
		{"metrics right token", "GET", "/metrics", "Bearer " + testToken, "", 200, ""},
		{"incidents without token", "GET", "/api/v1/incidents/x", "", "", 401, `Bearer realm="aiwatch"`},
		{"unknown path without token", "GET", "/api/v1/nothing", "", "", 401, `Bearer realm="aiwatch"`},
		{"unknown path with token", "GET", "/api/v1/nothing", "Bearer " + testToken, "", 404, ""},
		{"wrong method with token", "DELETE", "/api/v1/query", "Bearer " + testToken, "", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := call(t, c.method, srv.URL+c.path, "", c.body, "Authorization", c.auth)
			if code != c.want {
				t.Fatalf("%s %s: HTTP %d, want %d: %s", c.method, c.path, code, c.want, body)
			}
			if got := hdr.Get("WWW-Authenticate"); got != c.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, c.challenge)
			}
			if code != 200 || c.path != "/metrics" {
				if ct := hdr.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q, want application/json", ct)
				}
			}
			if code >= 400 {
				e := errorOf(t, body)
				if strings.Contains(e.Error, testToken) || strings.Contains(body, "nope") {
					t.Fatalf("the error repeats the token: %s", body)
				}
			}
		})
	}

	// What the open and the guarded endpoints say.
	_, _, body := call(t, "GET", srv.URL+"/healthz", "", "")
	if body != `{"status":"ok"}`+"\n" {
		t.Fatalf("healthz: %q", body)
	}
	_, _, body = call(t, "GET", srv.URL+"/api/v1/status", testToken, "")
	var got collect.Report
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Tenants) != 1 || got.Tenants[0].RecordsStored != 42 || got.DataDir != "/data" {
		t.Fatalf("status: %v %s", err, body)
	}
	_, hdr, _ := call(t, "DELETE", srv.URL+"/api/v1/query", testToken, "")
	if hdr.Get("Allow") != "POST" {
		t.Fatalf("405 Allow: %q", hdr.Get("Allow"))
	}
	_, _, metrics := call(t, "GET", srv.URL+"/metrics", testToken, "")
	for _, want := range []string{
		"aiwatch_test_things_total 3\n",
		// The table's five refused and two accepted status requests, and the one after it.
		`aiwatch_server_requests_total{code="401",route="/api/v1/status"} 5` + "\n",
		`aiwatch_server_requests_total{code="200",route="/api/v1/status"} 3` + "\n",
		`aiwatch_server_requests_total{code="200",route="/healthz"} 2` + "\n",
		`aiwatch_server_requests_total{code="401",route="/api/v1/incidents/{id}"} 1` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

// TestTokenNeverLogged: a debug log of every request never holds the token.
func TestTokenNeverLogged(t *testing.T) {
	st := fixtureStore(t)
	var logs bytes.Buffer
	srv := startServer(t, Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	call(t, "GET", srv.URL+"/api/v1/status", testToken, "")
	call(t, "GET", srv.URL+"/api/v1/status", "wrong-"+testToken, "")
	if !strings.Contains(logs.String(), "route=/api/v1/status") {
		t.Fatalf("no request log: %s", logs.String())
	}
	if strings.Contains(logs.String(), testToken) {
		t.Fatalf("the token is in the log: %s", logs.String())
	}
}
