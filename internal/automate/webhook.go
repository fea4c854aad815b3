package automate

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aiwatch/aiwatch/internal/o365"
)

// Headers of every HTTP delivery. A webhook receiver verifies the body by
// computing HMAC-SHA256 with the shared secret over
// "<X-Aiwatch-Timestamp>.<body>" and comparing it with the hex after
// "sha256=" in X-Aiwatch-Signature; it rejects old timestamps to stop
// replays and drops repeated X-Aiwatch-Delivery ids (delivery is at least
// once).
const (
	HeaderDelivery  = "X-Aiwatch-Delivery"
	HeaderEvent     = "X-Aiwatch-Event"
	HeaderTimestamp = "X-Aiwatch-Timestamp"
	HeaderSignature = "X-Aiwatch-Signature"
)

const userAgent = "aiwatch-automation/1"

// Sign returns the X-Aiwatch-Signature value for a body sent at timestamp
// (Unix seconds, as in X-Aiwatch-Timestamp).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (e *Engine) sendWebhook(ctx context.Context, b *book, d delivery) result {
	ts := strconv.FormatInt(e.now().Unix(), 10)
	h := b.headers.Clone()
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign([]byte(b.secret), ts, d.payload))
	return e.post(ctx, b, d, d.payload, h)
}

// post sends body as JSON and classifies the answer: 2xx delivered;
// 408, 429, 5xx and transport errors retried (after Retry-After when
// given); anything else failed with the reason.
func (e *Engine) post(ctx context.Context, b *book, d delivery, body []byte, h http.Header) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return result{reason: "cannot build the request: " + stripURL(err).Error()}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderDelivery, d.id)
	req.Header.Set(HeaderEvent, d.event)
	resp, err := e.client.Do(req)
	if err != nil {
		reason := stripURL(err).Error()
		if errors.Is(err, context.DeadlineExceeded) {
			reason = fmt.Sprintf("no answer within %s", b.timeout())
		}
		return result{retry: true, reason: reason}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	res := result{code: resp.StatusCode}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		res.ok = true
		return res
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500:
		res.retry = true
		res.retryAfter = min(o365.ParseRetryAfter(resp.Header.Get("Retry-After"), e.now()), maxRetryAfter)
	case s >= 300 && s < 400:
		res.reason = fmt.Sprintf("HTTP %d: redirects are not followed; configure the final URL", s)
		return res
	}
	res.reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
	if t := printable(snippet); t != "" {
		res.reason += ": " + t
	}
	return res
}

// stripURL drops the URL from an http.Client error: it may hold a token.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToUpper(ue.Op), ue.Err)
	}
	return err
}

// printable makes a response snippet fit for a log line.
func printable(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	return truncate(s, 200)
}

// urlSecrets are the parts of a URL that may hold a token: the whole URL,
// its path and its query.
func urlSecrets(raw string) []string {
	out := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		if len(u.Path) > 1 {
			out = append(out, u.Path, strings.TrimPrefix(u.Path, "/"))
			if u.RawPath != "" {
				out = append(out, u.RawPath)
			}
		}
		if u.RawQuery != "" {
			out = append(out, u.RawQuery)
		}
	}
	return out
}

// redactor replaces each secret with [redacted], longest first so a
// secret containing another is removed whole. Very short values are left:
// replacing "/" or "1" would garble every message.
func redactor(secrets []string) *strings.Replacer {
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 {
			keep = append(keep, s)
		}
	}
	// Longest first: strings.Replacer tries the old strings in order.
	slices.SortStableFunc(keep, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	var pairs []string
	for _, s := range keep {
		pairs = append(pairs, s, "[redacted]")
	}
	return strings.NewReplacer(pairs...)
}
