package collect

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/o365fake"
)

// TestHandlerServesMetricsAndStatus collects through a throttling API and
// reads the counters back over HTTP, with and without the bearer token.
func TestHandlerServesMetricsAndStatus(t *testing.T) {
	h := newHarness(t, o365fake.Options{})
	h.set.Concurrency = 1
	d := newDataset()
	d.publish(h.fake, tenantA, "m", 5, 10, t0.Add(-5*time.Hour), t0.Add(-time.Hour))
	h.fake.SetFaults(tenantA, o365fake.Faults{Throttle429Every: 4, RetryAfter: 2 * time.Second})
	reg := prometheus.NewRegistry()
	c := h.collector(NewMetrics(reg))
	mustOK(t, c.Once(context.Background()))
	throttled := h.fake.Stats(tenantA).Faults[o365fake.FaultThrottle429]
	h.clk.Add(90 * time.Second) // the lag grows between polls

	srv := httptest.NewServer(Handler(c.Report, reg, "s3cret"))
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tok := range []string{"", "wrong"} {
		for _, p := range []string{"/metrics", "/status"} {
			if code, _ := get(p, tok); code != http.StatusUnauthorized {
				t.Errorf("%s with token %q: HTTP %d, want 401", p, tok, code)
			}
		}
	}
	code, body := get("/metrics", "s3cret")
	if code != 200 {
		t.Fatalf("/metrics: HTTP %d", code)
	}
	// 5 blobs of 10 elements: 8 Copilot + 2 noise each, plus 4 repeats.
	for _, want := range []string{
		`aiwatch_collector_records_stored_total{content_type="Audit.General",tenant="contoso"} 40`,
		`aiwatch_collector_records_duplicate_total{content_type="Audit.General",tenant="contoso"} 4`,
		`aiwatch_collector_records_skipped_total{content_type="Audit.General",tenant="contoso"} 10`,
		`aiwatch_collector_blobs_total{content_type="Audit.General",tenant="contoso"} 5`,
		fmt.Sprintf(`aiwatch_collector_retries_total{status="429",tenant="contoso"} %d`, throttled),
		`aiwatch_collector_lag_seconds{content_type="Audit.General",tenant="contoso"} 90`,
		`aiwatch_collector_healthy{content_type="Audit.General",tenant="contoso"} 1`,
		`aiwatch_api_requests_total{op="blob",status="200",tenant="contoso"} 5`,
		`aiwatch_collector_polls_total{content_type="Audit.General",tenant="contoso"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("/metrics serves the global registry's Go collector; want only the custom registry")
	}

	code, body = get("/status", "s3cret")
	if code != 200 || !strings.Contains(body, `"records_stored": 40`) || !strings.Contains(body, `"lag_seconds": 90`) ||
		!strings.Contains(body, `"source": "collector"`) {
		t.Fatalf("/status: HTTP %d %s", code, body)
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	rep, err := FetchReport(context.Background(), addr, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tenants) != 1 || rep.Tenants[0].RecordsStored != 40 || rep.Tenants[0].Retries != int64(throttled) {
		t.Fatalf("fetched report %+v", rep)
	}
	if _, err := FetchReport(context.Background(), addr, "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}

// serve answers status on its API's path: FetchReport finds it there when
// /status is not found.
func TestFetchReportFromServeAPI(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"source":"collector","tenants":[{"tenant":"contoso","records_stored":7}]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rep, err := FetchReport(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tenants) != 1 || rep.Tenants[0].Tenant != "contoso" || rep.Tenants[0].RecordsStored != 7 {
		t.Errorf("report %+v", rep)
	}
}
