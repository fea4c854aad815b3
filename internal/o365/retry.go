package o365

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// RetryPolicy is exponential backoff with full jitter. Zero fields take the
// defaults below.
type RetryPolicy struct {
	MaxAttempts int           // total tries of one request; default 5
	Base        time.Duration // first backoff ceiling; default 1s
	Max         time.Duration // largest backoff ceiling; default 1m
	// MaxRetryAfter caps a server's Retry-After (a 429 on a repeated
	// subscription start asks for about 14 minutes); default 15m.
	MaxRetryAfter time.Duration
	// Jitter returns a wait in [0, d]; nil draws uniformly. Tests set it to
	// return d so waits are exact.
	Jitter func(d time.Duration) time.Duration
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts   = 5
	DefaultRetryBase     = time.Second
	DefaultRetryMax      = time.Minute
	DefaultMaxRetryAfter = 15 * time.Minute
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultRetryBase
	}
	if p.Max <= 0 {
		p.Max = DefaultRetryMax
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// Wait returns how long to wait before retry number n (1 = the first retry).
// A server's Retry-After wins over the backoff, up to MaxRetryAfter.
func (p RetryPolicy) Wait(n int, retryAfter time.Duration) time.Duration {
	p = p.withDefaults()
	if retryAfter > 0 {
		return min(retryAfter, p.MaxRetryAfter)
	}
	ceil := p.Base
	for i := 1; i < n && ceil < p.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.Max)
	if p.Jitter != nil {
		return min(max(p.Jitter(ceil), 0), ceil)
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// Sleep waits d or until ctx ends; the default for every Sleep hook.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// requester is the request loop shared by Client and Graph: bearer token,
// one re-authentication on 401, retries per policy.
type requester struct {
	http    *http.Client
	tokens  *TokenSource
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	retry   RetryPolicy
	onRetry func(op string, status int, code string, wait time.Duration)
	log     *slog.Logger
}

// handler consumes a 2xx response. It owns resp.Body: it closes it, or hands
// it on and returns nil. An error wrapped in netError is retried.
type handler func(resp *http.Response) error

func (r *requester) do(ctx context.Context, op, method, rawURL string, body []byte, handle handler) error {
	pol := r.retry.withDefaults()
	reauthed := false
	for attempt := 1; ; attempt++ {
		err := r.once(ctx, method, rawURL, body, handle)
		if err == nil {
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && !reauthed {
			// The token may have been revoked or rotated early: fetch a new one,
			// once, without counting it as an attempt.
			reauthed = true
			attempt--
			r.log.Info("token rejected, fetching a new one", "op", op)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !IsRetryable(err) {
			return err
		}
		if attempt >= pol.MaxAttempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		var retryAfter time.Duration
		status, code := 0, ""
		var te *TokenError
		switch {
		case errors.As(err, &ae):
			status, code, retryAfter = ae.Status, ae.Code, ae.RetryAfter
		case errors.As(err, &te):
			status, code = te.Status, te.Code
		}
		wait := pol.Wait(attempt, retryAfter)
		if r.onRetry != nil {
			r.onRetry(op, status, code, wait)
		}
		r.log.Warn("request failed, retrying", "op", op, "status", status, "code", code,
			"attempt", attempt, "wait", wait, "err", err)
		if err := r.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// errBadSetup marks a request that can never succeed as configured; it is
// not retried.
var errBadSetup = errors.New("client misconfigured")

func (r *requester) once(ctx context.Context, method, rawURL string, body []byte, handle handler) error {
	if r.tokens == nil {
		return fmt.Errorf("%w: no token source", errBadSetup)
	}
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute http(s) URL", errBadSetup, rawURL)
	}
	tok, err := r.tokens.Token(ctx)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return fmt.Errorf("cannot build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &netError{err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := readAPIError(resp, r.now())
		if ae.Status == http.StatusUnauthorized {
			r.tokens.invalidate(tok)
		}
		return ae
	}
	return handle(resp)
}

// readAll is a handler body reader: a body cut short is a network error.
func readAll(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &netError{fmt.Errorf("cannot read response body: %w", err)}
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response body exceeds %d bytes", limit)
	}
	return b, nil
}
