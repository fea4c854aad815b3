package o365

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const queryID = "b54b2cd8-3604-41d2-b4b4-cbd51768c64e"

// graphServer serves the audit query API at /v1.0 and the token endpoint,
// with the fixture pages' links rewritten to point at itself.
func graphServer(t *testing.T, statuses []string) (*Graph, *[]time.Duration) {
	t.Helper()
	page1, err := os.ReadFile("../../testdata/fixtures/graph-auditlog-records.json")
	if err != nil {
		t.Fatal(err)
	}
	page2, err := os.ReadFile("../../testdata/fixtures/graph-auditlog-records-page2.json")
	if err != nil {
		t.Fatal(err)
	}
	te := &tokenEndpoint{check: func(r *http.Request, form map[string]string) error {
		if form["scope"] != "https://graph.microsoft.com/.default" {
			return fmt.Errorf("scope %q", form["scope"])
		}
		return nil
	}}
	polls := 0
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.Handle("/"+testTenant+"/oauth2/v2.0/token", te)
	mux.HandleFunc("POST /v1.0/security/auditLog/queries", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		want := map[string]any{
			"@odata.type":         "#microsoft.graph.security.auditLogQuery",
			"displayName":         "aiwatch backfill 2026-01-01",
			"filterStartDateTime": "2026-01-01T00:00:00Z",
			"filterEndDateTime":   "2026-01-02T00:00:00Z",
			"recordTypeFilters":   []any{"copilotInteraction", "teamCopilotInteraction"},
		}
		if !reflect.DeepEqual(body, want) {
			t.Errorf("create body = %v\nwant %v", body, want)
		}
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"@odata.context":"x","id":%q,"displayName":"aiwatch backfill 2026-01-01","status":"notStarted"}`, queryID)
	})
	mux.HandleFunc("GET /v1.0/security/auditLog/queries/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != queryID {
			apiError(w, 404, "NotFound")
			return
		}
		st := statuses[min(polls, len(statuses)-1)]
		polls++
		if st == "throttled" {
			w.Header().Set("Retry-After", "4")
			apiError(w, 429, "TooManyRequests")
			return
		}
		fmt.Fprintf(w, `{"id":%q,"status":%q,"isRecordCountLimitExceeded":%v}`, queryID, st, st == "succeeded-capped")
	})
	mux.HandleFunc("GET /v1.0/security/auditLog/queries/{id}/records", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") == "" {
			w.Write([]byte(strings.ReplaceAll(string(page1), "https://graph.microsoft.com", srv.URL)))
			return
		}
		if r.URL.RawQuery != "$skiptoken=PY6H9bUrfGSabWd8DsaHw2zmw00ms3G2nXUHvJzskH3b9HnKqSxHWr3ol0ifGWfV" {
			t.Errorf("page 2 query %q", r.URL.RawQuery)
		}
		w.Write(page2)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	g := &Graph{
		HTTP:     srv.Client(),
		BaseURL:  srv.URL + "/v1.0/",
		TenantID: testTenant,
		Tokens: NewTokenSource(srv.Client(), srv.URL, testTenant, GraphResource,
			Credentials{ClientID: testClient, ClientSecret: testSecret}, nil),
		Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Retry: RetryPolicy{Jitter: func(d time.Duration) time.Duration { return d }},
		Log:   slog.New(slog.DiscardHandler),
	}
	return g, &waits
}

func TestGraphQueryAndPages(t *testing.T) {
	g, waits := graphServer(t, []string{"notStarted", "throttled", "running", "succeeded"})
	ctx := context.Background()
	q, err := g.CreateQuery(ctx, "aiwatch backfill 2026-01-01",
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 1, 0, 0, 0, time.FixedZone("", 3600)),
		[]string{"copilotInteraction", "teamCopilotInteraction"})
	if err != nil {
		t.Fatal(err)
	}
	if q.ID != queryID || q.Status != "notStarted" {
		t.Fatalf("query = %+v", q)
	}
	q, err = g.WaitQuery(ctx, q.ID, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != "succeeded" || q.RecordCountLimitExceeded {
		t.Fatalf("query = %+v", q)
	}
	// notStarted → poll wait, throttled → Retry-After 4s, running → poll wait, succeeded.
	if want := []time.Duration{20 * time.Second, 4 * time.Second, 20 * time.Second}; !slices.Equal(*waits, want) {
		t.Fatalf("waits = %v, want %v", *waits, want)
	}

	var ids []string
	pages := 0
	for next := g.RecordsURL(q.ID); next != ""; {
		rc, err := g.OpenRecordsPage(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		err = json.NewDecoder(rc).Decode(&page)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, v := range page.Value {
			ids = append(ids, v.ID)
		}
		next = page.NextLink
	}
	want := []string{"a187e0b6-7407-4f03-ac3a-259daa1a1ce1", "b9fa353a-ba05-41b6-9b3a-73fad463d238",
		"5698aef9-d903-4547-a472-bd0afb76b87a", "27d982fa-063f-4b7b-b50b-801b098b4d62", "fde6c267-2184-4733-b28a-30640f064898"}
	if pages != 2 || !slices.Equal(ids, want) {
		t.Fatalf("pages %d ids %v", pages, ids)
	}
}

func TestGraphWaitQueryCapAndFailure(t *testing.T) {
	g, _ := graphServer(t, []string{"succeeded-capped"})
	q, err := g.GetQuery(context.Background(), queryID)
	if err != nil || !q.RecordCountLimitExceeded {
		t.Fatalf("q %+v err %v", q, err)
	}

	g, _ = graphServer(t, []string{"running", "failed"})
	q, err = g.WaitQuery(context.Background(), queryID, time.Second)
	if err == nil || q.Status != "failed" || !strings.Contains(err.Error(), "ended with status failed") {
		t.Fatalf("q %+v err %v", q, err)
	}
}

func TestGraphRefusesForeignNextLink(t *testing.T) {
	g, _ := graphServer(t, []string{"succeeded"})
	// The fixture's unrewritten link points at the real Graph host.
	_, err := g.OpenRecordsPage(context.Background(),
		"https://graph.microsoft.com/v1.0/security/auditLog/queries/"+queryID+"/records?$skiptoken=x")
	if err == nil || !strings.Contains(err.Error(), "refusing URL") {
		t.Fatalf("err = %v", err)
	}
	if g.Tokens.token != "" {
		t.Fatal("a token was fetched for a refused URL")
	}
}

func TestGraphDefaultBaseURL(t *testing.T) {
	g := &Graph{}
	if got := g.RecordsURL("q1"); got != "https://graph.microsoft.com/v1.0/security/auditLog/queries/q1/records" {
		t.Fatalf("RecordsURL = %s", got)
	}
	rc, err := g.OpenRecordsPage(context.Background(), "https://evil.example/v1.0/x")
	if err == nil || rc != nil {
		t.Fatal("foreign host accepted")
	}
}
