package o365

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials of an Entra ID application: a client secret, or a certificate
// (its RSA private key and the SHA-1 thumbprint of its DER encoding).
type Credentials struct {
	ClientID       string
	ClientSecret   string
	CertKey        crypto.Signer
	CertThumbprint []byte
}

// String hides the secret so a stray %v never prints it.
func (c Credentials) String() string {
	kind := "secret"
	if c.CertKey != nil {
		kind = "certificate"
	}
	return fmt.Sprintf("o365.Credentials{ClientID: %s, %s}", c.ClientID, kind)
}

// GoString hides the secret from %#v as well.
func (c Credentials) GoString() string { return c.String() }

// TokenSource gets app-only tokens with the client-credentials grant and
// caches them until shortly before they expire. Safe for concurrent use.
type TokenSource struct {
	// V1 selects the v1 endpoint (/oauth2/token with resource=) instead of v2
	// (/oauth2/v2.0/token with scope={resource}/.default). Set before use.
	V1 bool
	// RefreshMargin: a token is replaced this long before it expires
	// (default 5m, at most half the token's lifetime). Set before use.
	RefreshMargin time.Duration
	// Log receives token refresh events (never the token). Default slog.Default().
	Log *slog.Logger

	httpc    *http.Client
	loginURL string
	tenantID string
	resource string
	cred     Credentials
	now      func() time.Time

	mu      sync.Mutex
	token   string
	refresh time.Time // when the cached token must be replaced
}

// DefaultRefreshMargin is how long before expiry a token is replaced.
const DefaultRefreshMargin = 5 * time.Minute

// assertionLifetime is the validity of a client-assertion JWT.
const assertionLifetime = 10 * time.Minute

// NewTokenSource returns a token source for tenantID at loginURL (for
// example https://login.microsoftonline.com) for the given resource (for
// example https://manage.office.com). A nil httpc or now takes the default.
func NewTokenSource(httpc *http.Client, loginURL, tenantID, resource string, cred Credentials, now func() time.Time) *TokenSource {
	if httpc == nil {
		httpc = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	return &TokenSource{
		httpc:    httpc,
		loginURL: strings.TrimRight(loginURL, "/"),
		tenantID: tenantID,
		resource: strings.TrimRight(resource, "/"),
		cred:     cred,
		now:      now,
	}
}

// TokenURL is the endpoint tokens are requested from; it is also the
// audience of a certificate's client assertion.
func (ts *TokenSource) TokenURL() string {
	if ts.V1 {
		return ts.loginURL + "/" + url.PathEscape(ts.tenantID) + "/oauth2/token"
	}
	return ts.loginURL + "/" + url.PathEscape(ts.tenantID) + "/oauth2/v2.0/token"
}

// Token returns a valid access token, requesting a new one when the cached
// one is missing or within the refresh margin of its expiry.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	// Holding the lock across the request makes concurrent callers share one
	// refresh instead of each asking Entra ID.
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.now().Before(ts.refresh) {
		return ts.token, nil
	}
	tok, lifetime, err := ts.fetch(ctx)
	if err != nil {
		return "", err
	}
	margin := ts.RefreshMargin
	if margin <= 0 {
		margin = DefaultRefreshMargin
	}
	margin = min(margin, lifetime/2)
	ts.token = tok
	ts.refresh = ts.now().Add(lifetime - margin)
	ts.logger().Debug("access token refreshed", "tenant", ts.tenantID, "resource", ts.resource,
		"lifetime", lifetime, "refresh_at", ts.refresh)
	return tok, nil
}

// Invalidate drops the cached token, so the next call requests a new one.
func (ts *TokenSource) Invalidate() {
	ts.mu.Lock()
	ts.token = ""
	ts.mu.Unlock()
}

// invalidate drops the cached token only if it is still tok: a concurrent
// request may already have replaced it.
func (ts *TokenSource) invalidate(tok string) {
	ts.mu.Lock()
	if ts.token == tok {
		ts.token = ""
	}
	ts.mu.Unlock()
}

func (ts *TokenSource) logger() *slog.Logger {
	if ts.Log != nil {
		return ts.Log
	}
	return slog.Default()
}

func (ts *TokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	tokenURL := ts.TokenURL()
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", ts.cred.ClientID)
	if ts.V1 {
		form.Set("resource", ts.resource)
	} else {
		form.Set("scope", ts.resource+"/.default")
	}
	switch {
	case ts.cred.CertKey != nil:
		jwt, err := clientAssertion(ts.cred, tokenURL, ts.now())
		if err != nil {
			return "", 0, err
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", jwt)
	case ts.cred.ClientSecret != "":
		form.Set("client_secret", ts.cred.ClientSecret)
	default:
		return "", 0, errors.New("no credentials: set a client secret or a certificate")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("cannot build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.httpc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		return "", 0, &netError{fmt.Errorf("token request failed: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, &netError{fmt.Errorf("cannot read token response: %w", err)}
	}
	var wire struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number in v2, a string in v1
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &wire)
	if resp.StatusCode != http.StatusOK {
		return "", 0, &TokenError{Status: resp.StatusCode, Code: wire.Error, Description: firstLine(wire.Description), URL: safeURL(tokenURL)}
	}
	if jerr != nil || wire.AccessToken == "" {
		return "", 0, &TokenError{Status: resp.StatusCode, Description: "response holds no access_token", URL: safeURL(tokenURL)}
	}
	secs, err := strconv.ParseInt(strings.Trim(string(wire.ExpiresIn), `"`), 10, 64)
	if err != nil || secs <= 0 {
		secs = 300 // unknown lifetime: assume a short one rather than a long one
	}
	return wire.AccessToken, time.Duration(secs) * time.Second, nil
}

// safeURL is u for messages: no user info (a proxy password), query or
// fragment.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an unparsable URL)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

// firstLine keeps AADSTS descriptions to their first line (the rest is
// trace and correlation ids).
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// clientAssertion builds the RS256 JWT that proves possession of the
// certificate: x5t = base64url(SHA-1 thumbprint), aud = token endpoint,
// iss = sub = client id.
func clientAssertion(cred Credentials, aud string, now time.Time) (string, error) {
	if _, ok := cred.CertKey.Public().(*rsa.PublicKey); !ok {
		return "", errors.New("certificate key must be RSA (RS256)")
	}
	if len(cred.CertThumbprint) == 0 {
		return "", errors.New("certificate thumbprint missing")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("cannot create assertion id: %w", err)
	}
	header := map[string]string{
		"alg": "RS256",
		"typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(cred.CertThumbprint),
	}
	claims := map[string]any{
		"aud": aud,
		"iss": cred.ClientID,
		"sub": cred.ClientID,
		"jti": hex.EncodeToString(jti),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	sig, err := cred.CertKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("cannot sign client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
