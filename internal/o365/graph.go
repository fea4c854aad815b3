package o365

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Graph calls the Microsoft Graph audit log query API
// (security/auditLog/queries), which reaches further back than the
// Management API's 7 days.
type Graph struct {
	HTTP     *http.Client
	BaseURL  string       // default DefaultGraphURL; may be a /beta base
	TenantID string       // for logs only
	Tokens   *TokenSource // resource GraphResource
	Now      func() time.Time
	Sleep    func(ctx context.Context, d time.Duration) error
	Retry    RetryPolicy
	OnRetry  func(op string, status int, code string, wait time.Duration)
	Log      *slog.Logger
}

// AuditQuery is the state of one audit log query.
type AuditQuery struct {
	ID                       string `json:"id"`
	Status                   string `json:"status"` // notStarted, running, succeeded, failed, cancelled
	RecordCountLimitExceeded bool   `json:"isRecordCountLimitExceeded"`
}

// Done reports whether the query reached a final status.
func (q AuditQuery) Done() bool {
	switch q.Status {
	case "succeeded", "failed", "cancelled":
		return true
	}
	return false
}

// DefaultQueryPoll is WaitQuery's interval when none is given.
const DefaultQueryPoll = 30 * time.Second

func (g *Graph) base() string {
	if g.BaseURL == "" {
		return DefaultGraphURL
	}
	return strings.TrimRight(g.BaseURL, "/")
}

func (g *Graph) req() *requester {
	c := Client{HTTP: g.HTTP, TenantID: g.TenantID, Tokens: g.Tokens, Now: g.Now, Sleep: g.Sleep,
		Retry: g.Retry, OnRetry: g.OnRetry, Log: g.Log}
	return c.req()
}

func (g *Graph) doJSON(ctx context.Context, op, method, rawURL string, body []byte, out any) error {
	return g.req().do(ctx, op, method, rawURL, body, func(resp *http.Response) error {
		b, err := readAll(resp, maxQueryBody)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("cannot decode %s response: %w", op, err)
		}
		return nil
	})
}

// CreateQuery starts an audit log query over [from, to) for the given
// record types (Graph's camelCase names, e.g. copilotInteraction).
func (g *Graph) CreateQuery(ctx context.Context, displayName string, from, to time.Time, recordTypes []string) (AuditQuery, error) {
	if !from.Before(to) {
		return AuditQuery{}, fmt.Errorf("cannot create audit query for tenant %s: start %s is not before end %s",
			g.TenantID, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	req := struct {
		Type        string   `json:"@odata.type"`
		DisplayName string   `json:"displayName"`
		Start       string   `json:"filterStartDateTime"`
		End         string   `json:"filterEndDateTime"`
		RecordTypes []string `json:"recordTypeFilters,omitempty"`
	}{"#microsoft.graph.security.auditLogQuery", displayName,
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), recordTypes}
	body, err := json.Marshal(req)
	if err != nil {
		return AuditQuery{}, fmt.Errorf("cannot encode audit query: %w", err)
	}
	var q AuditQuery
	if err := g.doJSON(ctx, "auditLog/queries/create", http.MethodPost, g.base()+"/security/auditLog/queries", body, &q); err != nil {
		return AuditQuery{}, fmt.Errorf("cannot create audit query for tenant %s: %w", g.TenantID, err)
	}
	if q.ID == "" {
		return AuditQuery{}, fmt.Errorf("cannot create audit query for tenant %s: response holds no id", g.TenantID)
	}
	return q, nil
}

// GetQuery reads a query's state.
func (g *Graph) GetQuery(ctx context.Context, id string) (AuditQuery, error) {
	var q AuditQuery
	if err := g.doJSON(ctx, "auditLog/queries/get", http.MethodGet, g.base()+"/security/auditLog/queries/"+url.PathEscape(id), nil, &q); err != nil {
		return AuditQuery{}, fmt.Errorf("cannot read audit query %s for tenant %s: %w", id, g.TenantID, err)
	}
	return q, nil
}

// WaitQuery polls the query every poll until it is final. A failed or
// cancelled query is returned together with an error.
func (g *Graph) WaitQuery(ctx context.Context, id string, poll time.Duration) (AuditQuery, error) {
	if poll <= 0 {
		poll = DefaultQueryPoll
	}
	sleep := g.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for {
		q, err := g.GetQuery(ctx, id)
		if err != nil {
			return AuditQuery{}, err
		}
		if q.Done() {
			if q.Status != "succeeded" {
				return q, fmt.Errorf("audit query %s for tenant %s ended with status %s", id, g.TenantID, q.Status)
			}
			return q, nil
		}
		if err := sleep(ctx, poll); err != nil {
			return q, err
		}
	}
}

// RecordsURL is the first page of a query's records.
func (g *Graph) RecordsURL(id string) string {
	return g.base() + "/security/auditLog/queries/" + url.PathEscape(id) + "/records"
}

// OpenRecordsPage opens one page of records for streaming: RecordsURL for
// the first, then the @odata.nextLink the caller read from the page. The
// URL must be on BaseURL's host.
func (g *Graph) OpenRecordsPage(ctx context.Context, pageURL string) (io.ReadCloser, error) {
	if err := checkHost(pageURL, g.base()); err != nil {
		return nil, fmt.Errorf("cannot fetch audit records for tenant %s: %w", g.TenantID, err)
	}
	var body io.ReadCloser
	err := g.req().do(ctx, "auditLog/queries/records", http.MethodGet, pageURL, nil, func(resp *http.Response) error {
		body = resp.Body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot fetch audit records for tenant %s: %w", g.TenantID, err)
	}
	return body, nil
}
