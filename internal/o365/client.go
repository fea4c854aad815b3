package o365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the Management Activity API for one tenant.
type Client struct {
	HTTP      *http.Client
	ManageURL string // e.g. https://manage.office.com
	TenantID  string
	Publisher string // PublisherIdentifier on every call when set (own throttling quota)
	Tokens    *TokenSource
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	Retry     RetryPolicy
	OnRetry   func(op string, status int, code string, wait time.Duration)
	Log       *slog.Logger // default slog.Default(); tenant is added
}

// Subscription is one entry of subscriptions/list.
type Subscription struct {
	ContentType string          `json:"contentType"`
	Status      string          `json:"status"`
	Webhook     json.RawMessage `json:"webhook,omitempty"`
}

// Enabled reports whether the subscription delivers content.
func (s Subscription) Enabled() bool { return strings.EqualFold(s.Status, "enabled") }

// Content points at one content blob.
type Content struct {
	ContentType       string
	ContentID         string
	ContentURI        string
	ContentCreated    time.Time
	ContentExpiration time.Time
}

// Page is one page of a content listing.
type Page struct {
	Items []Content
	// URL is the address this page was fetched from.
	URL string
	// NextPage is the NextPageUri this page announced ("" on the last page).
	// A caller that stores it can resume the listing with ResumeContent.
	NextPage string
}

// listTimeLayout is the listing window format: UTC, no zone designator.
const listTimeLayout = "2006-01-02T15:04:05"

// Limits of one listing request and of bodies read whole.
const (
	MaxWindow    = 24 * time.Hour
	maxListBody  = 64 << 20
	maxQueryBody = 4 << 20
)

func (c *Client) req() *requester {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	httpc := c.HTTP
	if httpc == nil {
		httpc = http.DefaultClient
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	return &requester{http: httpc, tokens: c.Tokens, now: now, sleep: sleep, retry: c.Retry,
		onRetry: c.OnRetry, log: log.With("tenant", c.TenantID)}
}

// feedURL builds {ManageURL}/api/v1.0/{tenant}/activity/feed/{op}?query.
func (c *Client) feedURL(op string, q url.Values) string {
	if c.Publisher != "" {
		q.Set("PublisherIdentifier", c.Publisher)
	}
	u := strings.TrimRight(c.ManageURL, "/") + "/api/v1.0/" + url.PathEscape(c.TenantID) + "/activity/feed/" + op
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// withPublisher adds PublisherIdentifier to a server-given URL that lacks
// it, leaving the rest of the URL byte for byte as given.
func (c *Client) withPublisher(raw string) string {
	if c.Publisher == "" {
		return raw
	}
	if u, err := url.Parse(raw); err == nil {
		for k := range u.Query() {
			if strings.EqualFold(k, "PublisherIdentifier") {
				return raw
			}
		}
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + "PublisherIdentifier=" + url.QueryEscape(c.Publisher)
}

// checkHost refuses a URL that is not on base's scheme and host: the bearer
// token must never travel to a host the server named.
func checkHost(raw, base string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	b, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("invalid base URL %q: %w", base, err)
	}
	if !u.IsAbs() || u.User != nil || !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) {
		return fmt.Errorf("refusing URL %q: not on %s://%s", raw, b.Scheme, b.Host)
	}
	return nil
}

func (c *Client) getJSON(ctx context.Context, op, method, rawURL string, out any) (http.Header, error) {
	var hdr http.Header
	err := c.req().do(ctx, op, method, rawURL, nil, func(resp *http.Response) error {
		body, err := readAll(resp, maxListBody)
		if err != nil {
			return err
		}
		hdr = resp.Header
		if out == nil || len(strings.TrimSpace(string(body))) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("cannot decode %s response: %w", op, err)
		}
		return nil
	})
	return hdr, err
}

// Subscriptions lists the tenant's subscriptions.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var subs []Subscription
	if _, err := c.getJSON(ctx, "subscriptions/list", http.MethodGet, c.feedURL("subscriptions/list", url.Values{}), &subs); err != nil {
		return nil, fmt.Errorf("cannot list subscriptions for tenant %s: %w", c.TenantID, err)
	}
	return subs, nil
}

// StartSubscription starts the subscription for contentType. An answer
// that it is already enabled (AF20024) is success.
func (c *Client) StartSubscription(ctx context.Context, contentType string) error {
	_, err := c.startSubscription(ctx, contentType)
	return err
}

func (c *Client) startSubscription(ctx context.Context, contentType string) (already bool, err error) {
	q := url.Values{}
	q.Set("contentType", contentType)
	_, err = c.getJSON(ctx, "subscriptions/start", http.MethodPost, c.feedURL("subscriptions/start", q), nil)
	if IsAlreadyEnabled(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot start subscription %s for tenant %s: %w", contentType, c.TenantID, err)
	}
	return false, nil
}

// EnsureSubscription lists the subscriptions and starts contentType only
// when it is missing or disabled: starting on every poll invites a 429.
// started is true when this call enabled it (not when the start answered
// AF20024, already enabled); new subscriptions can take up to 12 hours to
// show content.
func (c *Client) EnsureSubscription(ctx context.Context, contentType string) (started bool, err error) {
	subs, err := c.Subscriptions(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range subs {
		if strings.EqualFold(s.ContentType, contentType) && s.Enabled() {
			return false, nil
		}
	}
	already, err := c.startSubscription(ctx, contentType)
	if err != nil {
		return false, err
	}
	if !already {
		c.req().log.Info("subscription started", "content_type", contentType)
	}
	return !already, nil
}

// ListContent lists the blobs made available in [start, end) and calls fn
// once per page, following NextPageUri (or NextPageUrl) until absent. The
// caller keeps the window within 24 hours and 7 days back; an error from fn
// stops the listing and is returned as is.
func (c *Client) ListContent(ctx context.Context, contentType string, start, end time.Time, fn func(Page) error) error {
	if !start.Before(end) {
		return fmt.Errorf("cannot list content for tenant %s: window start %s is not before end %s", c.TenantID, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if end.Sub(start) > MaxWindow {
		return fmt.Errorf("cannot list content for tenant %s: window %s exceeds 24h", c.TenantID, end.Sub(start))
	}
	q := url.Values{}
	q.Set("contentType", contentType)
	q.Set("startTime", start.UTC().Format(listTimeLayout))
	q.Set("endTime", end.UTC().Format(listTimeLayout))
	return c.listFrom(ctx, contentType, c.feedURL("subscriptions/content", q), fn)
}

// ResumeContent continues a listing from a NextPage link saved earlier. An
// IsBadNextPage or IsBadWindow error means: drop the link, list the window
// again.
func (c *Client) ResumeContent(ctx context.Context, contentType, pageURL string, fn func(Page) error) error {
	if err := checkHost(pageURL, c.ManageURL); err != nil {
		return fmt.Errorf("cannot resume listing for tenant %s: %w", c.TenantID, err)
	}
	return c.listFrom(ctx, contentType, c.withPublisher(pageURL), fn)
}

func (c *Client) listFrom(ctx context.Context, contentType, pageURL string, fn func(Page) error) error {
	for n := 1; pageURL != ""; n++ {
		var wire []struct {
			ContentType       string `json:"contentType"`
			ContentID         string `json:"contentId"`
			ContentURI        string `json:"contentUri"`
			ContentCreated    string `json:"contentCreated"`
			ContentExpiration string `json:"contentExpiration"`
		}
		hdr, err := c.getJSON(ctx, "subscriptions/content", http.MethodGet, pageURL, &wire)
		if err != nil {
			return fmt.Errorf("cannot list content %s for tenant %s (page %d): %w", contentType, c.TenantID, n, err)
		}
		page := Page{URL: pageURL, Items: make([]Content, 0, len(wire))}
		for i, w := range wire {
			created, err1 := parseAPITime(w.ContentCreated)
			expires, err2 := parseAPITime(w.ContentExpiration)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("cannot list content %s for tenant %s (page %d, entry %d): %w", contentType, c.TenantID, n, i, err)
			}
			page.Items = append(page.Items, Content{ContentType: w.ContentType, ContentID: w.ContentID,
				ContentURI: w.ContentURI, ContentCreated: created, ContentExpiration: expires})
		}
		// Header.Get canonicalises the name, so NEXTPAGEURI and nextpageuri match too.
		next := hdr.Get("NextPageUri")
		if next == "" {
			next = hdr.Get("NextPageUrl")
		}
		if next != "" {
			if err := checkHost(next, c.ManageURL); err != nil {
				return fmt.Errorf("cannot follow next page for tenant %s: %w", c.TenantID, err)
			}
			next = c.withPublisher(next)
			if next == pageURL {
				return fmt.Errorf("cannot list content %s for tenant %s: page %d links to itself", contentType, c.TenantID, n)
			}
		}
		page.NextPage = next
		if err := fn(page); err != nil {
			return err
		}
		pageURL = next
	}
	return nil
}

// parseAPITime reads the API's timestamps: RFC 3339, or without a zone
// (then UTC), with any number of fractional digits.
func parseAPITime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q", s)
	}
	return t, nil
}

// OpenBlob opens a content blob for streaming. contentURI must be on
// ManageURL's host. Opening is retried per policy; once the body is handed
// over, a failure mid-body reaches the caller as a read error.
func (c *Client) OpenBlob(ctx context.Context, contentURI string) (io.ReadCloser, error) {
	if err := checkHost(contentURI, c.ManageURL); err != nil {
		return nil, fmt.Errorf("cannot fetch content for tenant %s: %w", c.TenantID, err)
	}
	var body io.ReadCloser
	err := c.req().do(ctx, "content", http.MethodGet, c.withPublisher(contentURI), nil, func(resp *http.Response) error {
		body = resp.Body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot fetch content %s for tenant %s: %w", contentURI, c.TenantID, err)
	}
	return body, nil
}
