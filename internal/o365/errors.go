package o365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is a non-2xx answer of the Management or Graph API. Both use the
// body {"error":{"code":…,"message":…}}.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: throttling
// (AF429 comes with 403 as well as 429), server errors and AF50000.
func (e *APIError) Retryable() bool {
	switch {
	case e.Code == "AF429", e.Code == "AF50000":
		return true
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

// Fatal reports whether the error needs an operator: missing permission,
// a wrong or misconfigured tenant, an invalid content type.
func (e *APIError) Fatal() bool {
	switch e.Code {
	case "AF10001", "AF20010", "AF20011", "AF20012", "AF20013", "AF20020":
		return true
	}
	return false
}

// TokenError is a failed token request. Description is Entra ID's
// error_description (an AADSTS message), never the credential. URL is the
// token endpoint asked, without user info or query.
type TokenError struct {
	Status      int
	Code        string
	Description string
	URL         string
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("token request failed: HTTP %d", e.Status)
	// An answer without an OAuth error code did not come from a token
	// endpoint (a wrong login endpoint, a proxy): say where the request went.
	if e.Code == "" && e.URL != "" {
		msg = fmt.Sprintf("token request to %s failed: HTTP %d", e.URL, e.Status)
	}
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Code == "" && e.Status == http.StatusNotFound {
		msg += "; check the tenant's login endpoint"
	}
	return msg
}

// Retryable reports whether the token endpoint may answer later.
func (e *TokenError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// netError marks a transport failure (connection refused, reset, a body cut
// short) so the retry loop and IsRetryable treat it as transient.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func codeIs(err error, codes ...string) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Code == c {
			return true
		}
	}
	return false
}

// IsRetryable reports whether err is transient: a retryable API or token
// error or a network failure. A cancelled context is never retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var te *TokenError
	if errors.As(err, &te) {
		return te.Retryable()
	}
	var ne *netError
	if errors.As(err, &ne) {
		return true
	}
	var oe net.Error
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF)
}

// IsFatal reports whether err is an API error only an operator can fix.
func IsFatal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Fatal()
}

// IsNoSubscription: AF20022, start a subscription and retry.
func IsNoSubscription(err error) bool { return codeIs(err, "AF20022") }

// IsDisabled: AF20023, an admin disabled the subscription.
func IsDisabled(err error) bool { return codeIs(err, "AF20023") }

// IsAlreadyEnabled: AF20024, a repeated start; that is success.
func IsAlreadyEnabled(err error) bool { return codeIs(err, "AF20024") }

// IsBadWindow: AF20030 or AF20055, the listing window is invalid (missing,
// longer than 24 hours, start not before end, start over 7 days back).
func IsBadWindow(err error) bool { return codeIs(err, "AF20030", "AF20055") }

// IsBadNextPage: AF20031, the next-page link is invalid; restart the window.
func IsBadNextPage(err error) bool { return codeIs(err, "AF20031") }

// IsContentGone: AF20050 or AF20051, the blob is missing or expired.
func IsContentGone(err error) bool { return codeIs(err, "AF20050", "AF20051") }

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readAPIError drains and closes resp.Body and builds the APIError.
func readAPIError(resp *http.Response, now time.Time) *APIError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var wire struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &wire) == nil && (wire.Error.Code != "" || wire.Error.Message != "") {
		e.Code, e.Message = wire.Error.Code, wire.Error.Message
		return e
	}
	// Not the documented shape (a proxy page, plain text): keep a short excerpt.
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Message = msg
	return e
}

// ParseRetryAfter reads an HTTP Retry-After header, delay seconds or an
// HTTP date, as a wait from now (0 when absent or past; at most 24 h).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second) // avoid overflow; the policy caps it anyway
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
