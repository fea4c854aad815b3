package o365fake

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Token audiences: which API a token opens.
const (
	audManage = "manage"
	audGraph  = "graph"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

type accessToken struct {
	tenant   string // lower-case tenant id it was issued for
	audience string
	expires  time.Time
	revoked  bool
}

func (s *Server) tokenV1(c *call) { s.issueToken(c, false) }
func (s *Server) tokenV2(c *call) { s.issueToken(c, true) }

// aadError is an Entra ID token-endpoint failure.
type aadError struct {
	status int
	kind   string // OAuth error, e.g. invalid_client
	code   int    // AADSTS number
	msg    string
}

func (s *Server) issueToken(c *call, v2 bool) {
	tenant := c.r.PathValue("tenant")
	c.tenant = tenant
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, 1<<20)
	if err := c.r.ParseForm(); err != nil {
		s.writeAAD(c, &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form."})
		return
	}
	form := c.r.PostForm
	aud, e := s.checkTokenRequest(c, tenant, form, v2)
	if e != nil {
		s.writeAAD(c, e)
		return
	}
	now := s.now()
	tok := randomToken()
	s.mu.Lock()
	s.tokens[tok] = &accessToken{tenant: strings.ToLower(tenant), audience: aud, expires: now.Add(s.tokenTTL)}
	s.tenantLocked(tenant).stats.TokensIssued++
	s.mu.Unlock()

	secs := int64(s.tokenTTL / time.Second)
	var body any
	if v2 {
		body = map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		}
	} else {
		// The v1 endpoint really answers its numbers as strings.
		body = map[string]any{
			"token_type":     "Bearer",
			"expires_in":     strconv.FormatInt(secs, 10),
			"ext_expires_in": strconv.FormatInt(secs, 10),
			"expires_on":     strconv.FormatInt(now.Add(s.tokenTTL).Unix(), 10),
			"not_before":     strconv.FormatInt(now.Unix(), 10),
			"resource":       form.Get("resource"),
			"access_token":   tok,
		}
	}
	writeJSON(c.w, http.StatusOK, body)
}

// checkTokenRequest validates a client-credentials request the way Entra ID
// does, in its order: grant, tenant, client, resource, credential. It returns
// the audience of the token to issue.
func (s *Server) checkTokenRequest(c *call, tenant string, form url.Values, v2 bool) (string, *aadError) {
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return "", &aadError{http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt)}
	}
	s.mu.Lock()
	ts := s.lookupTenantLocked(tenant)
	var cfg Tenant
	if ts != nil {
		cfg = ts.cfg
	}
	s.mu.Unlock()
	if ts == nil {
		return "", &aadError{http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)}
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return "", &aadError{http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'."}
	}
	if !strings.EqualFold(clientID, cfg.ClientID) {
		return "", &aadError{http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant)}
	}
	var resource string
	if v2 {
		scope := form.Get("scope")
		if scope == "" {
			return "", &aadError{http.StatusBadRequest, "invalid_request", 900144,
				"The request body must contain the following parameter: 'scope'."}
		}
		if !strings.HasSuffix(scope, "/.default") {
			return "", &aadError{http.StatusBadRequest, "invalid_scope", 1002012,
				fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
		}
		resource = strings.TrimSuffix(scope, "/.default")
	} else {
		resource = form.Get("resource")
		if resource == "" {
			return "", &aadError{http.StatusBadRequest, "invalid_request", 900144,
				"The request body must contain the following parameter: 'resource'."}
		}
	}

	if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
		if form.Get("client_assertion_type") != jwtBearer {
			return "", &aadError{http.StatusBadRequest, "invalid_request", 900144,
				"The request body must contain the following parameter: 'client_assertion_type' with value '" + jwtBearer + "'."}
		}
		base := baseURL(c.r) + "/" + tenant + "/oauth2/"
		if e := verifyAssertion(form.Get("client_assertion"), cfg, []string{base + "token", base + "v2.0/token"}, s.now()); e != nil {
			return "", e
		}
	} else {
		secret := form.Get("client_secret")
		if secret == "" {
			return "", &aadError{http.StatusUnauthorized, "invalid_client", 7000216,
				"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."}
		}
		if cfg.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(cfg.ClientSecret)) != 1 {
			return "", &aadError{http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", cfg.ClientID)}
		}
	}
	return audienceOf(resource), nil
}

// audienceOf maps a resource URI to the API it opens. Any Graph host (global
// or national) is Graph; everything else is taken as the Management API, so a
// client may name manage.office.com, a national host or the fake's own URL.
func audienceOf(resource string) string {
	host := resource
	if u, err := url.Parse(resource); err == nil && u.Host != "" {
		host = u.Host
	}
	if strings.Contains(strings.ToLower(host), "graph.") {
		return audGraph
	}
	return audManage
}

// verifyAssertion checks a client assertion JWT: RS256 signature by the
// tenant's certificate key, optional x5t match, iss = sub = client id, aud =
// the token endpoint, and nbf <= now < exp (no clock skew: tests share the
// clock with the client).
func verifyAssertion(jwt string, cfg Tenant, auds []string, now time.Time) *aadError {
	malformed := &aadError{http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed."}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return malformed
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return malformed
	}
	var hdr struct {
		Alg string `json:"alg"`
		X5t string `json:"x5t"`
	}
	if json.Unmarshal(hb, &hdr) != nil {
		return malformed
	}
	unregistered := &aadError{http.StatusUnauthorized, "invalid_client", 700027,
		"The certificate with identifier used to sign the client assertion is not registered on application."}
	pub, ok := cfg.CertPublicKey.(*rsa.PublicKey)
	if !ok || hdr.X5t == "" {
		return unregistered
	}
	if len(cfg.CertThumbprint) > 0 {
		x5t, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(hdr.X5t, "="))
		if err != nil || !bytes.Equal(x5t, cfg.CertThumbprint) {
			return unregistered
		}
	}
	if hdr.Alg != "RS256" {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027,
			fmt.Sprintf("Client assertion uses unsupported algorithm '%s'.", hdr.Alg)}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."}
	}
	var cl struct {
		Aud json.RawMessage `json:"aud"`
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Exp *float64        `json:"exp"`
		Nbf *float64        `json:"nbf"`
	}
	if json.Unmarshal(cb, &cl) != nil {
		return malformed
	}
	if !strings.EqualFold(cl.Iss, cfg.ClientID) || !strings.EqualFold(cl.Sub, cfg.ClientID) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700021,
			"Client assertion application identifier doesn't match 'client_id' parameter."}
	}
	if !audienceMatches(cl.Aud, auds) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 50013,
			"Assertion audience claim does not match the required value."}
	}
	if cl.Exp == nil || !now.Before(time.Unix(int64(*cl.Exp), 0)) || (cl.Nbf != nil && now.Before(time.Unix(int64(*cl.Nbf), 0))) {
		return &aadError{http.StatusUnauthorized, "invalid_client", 700024,
			fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s.", now.UTC().Format(time.RFC3339))}
	}
	return nil
}

// audienceMatches accepts aud as a string or an array of strings.
func audienceMatches(raw json.RawMessage, want []string) bool {
	var list []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		list = []string{one}
	} else if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, a := range list {
		for _, w := range want {
			if strings.EqualFold(a, w) {
				return true
			}
		}
	}
	return false
}

func (s *Server) writeAAD(c *call, e *aadError) {
	now := s.now().UTC()
	trace, corr := s.newGUID(), s.newGUID()
	ts := now.Format("2006-01-02 15:04:05Z")
	writeJSON(c.w, e.status, map[string]any{
		"error": e.kind,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.msg, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
	})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// bearerToken returns the request's bearer token, or "".
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// validTokenLocked returns the live token named by the request, or nil.
func (s *Server) validTokenLocked(r *http.Request, now time.Time) *accessToken {
	t := s.tokens[bearerToken(r)]
	if t == nil || t.revoked || !now.Before(t.expires) {
		return nil
	}
	return t
}

// authManage runs the Management API's checks in order: tenant id shape,
// token, audience, tenant match, audit logging, then injected faults. It
// answers the request itself and returns false when one fails.
func (s *Server) authManage(c *call) bool {
	tenant := c.r.PathValue("tenant")
	c.tenant = tenant
	if !isGUID(tenant) {
		writeAF(c.w, http.StatusBadRequest, "AF20013", fmt.Sprintf("The tenant ID passed in the URL (%s) is not a valid GUID.", tenant))
		return false
	}
	if pub := queryParam(c.r, "PublisherIdentifier"); pub != "" {
		s.mu.Lock()
		s.tenantLocked(tenant).stats.WithPublisherIdentifier++
		s.mu.Unlock()
	}
	now := s.now()
	s.mu.Lock()
	tok := s.validTokenLocked(c.r, now)
	switch {
	case tok == nil:
		s.mu.Unlock()
		c.w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeAF(c.w, http.StatusUnauthorized, "Unauthorized", "The access token is missing, invalid or expired.")
		return false
	case tok.audience != audManage:
		s.mu.Unlock()
		writeAF(c.w, http.StatusUnauthorized, "AF10001", "The permission set () sent in the request does not include the expected permission ActivityFeed.Read.")
		return false
	case tok.tenant != strings.ToLower(tenant):
		s.mu.Unlock()
		writeAF(c.w, http.StatusUnauthorized, "AF20010",
			fmt.Sprintf("The tenant ID passed in the URL (%s) does not match the tenant ID passed in the access token (%s).", tenant, tok.tenant))
		return false
	}
	ts := s.tenantLocked(tenant)
	if ts.cfg.AuditingOff {
		s.mu.Unlock()
		writeAF(c.w, http.StatusBadRequest, "AF20012", fmt.Sprintf("Tenant %s does not exist.", tenant))
		return false
	}
	kind := s.injectFaultLocked(ts, tok)
	f, odd5xx := ts.faults, ts.fails5xx%2 == 1
	s.mu.Unlock()
	if kind == "" {
		c.token, c.ts = tok, ts
		return true
	}
	if f.RetryAfter > 0 && kind != FaultTokenExpire {
		c.w.Header().Set("Retry-After", retryAfterSeconds(f.RetryAfter))
	}
	switch kind {
	case FaultTokenExpire:
		c.w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeAF(c.w, http.StatusUnauthorized, "Unauthorized", "The access token is missing, invalid or expired.")
	case FaultThrottle403, FaultThrottle429:
		status := http.StatusForbidden
		if kind == FaultThrottle429 {
			status = http.StatusTooManyRequests
		}
		writeAF(c.w, status, "AF429", fmt.Sprintf("Too many requests. Method=%s, PublisherId=%s", apiMethods[c.endpoint], publisherOf(c.r)))
	case Fault5xx:
		status := http.StatusServiceUnavailable
		if odd5xx {
			status = http.StatusInternalServerError
		}
		writeAF(c.w, status, "AF50000", "An internal server error occurred. Retry the request.")
	}
	return false
}

// authGraph checks a Graph request's token and injects faults; the tenant
// comes from the token, as Graph has none in its paths.
func (s *Server) authGraph(c *call) bool {
	now := s.now()
	s.mu.Lock()
	tok := s.validTokenLocked(c.r, now)
	if tok == nil {
		s.mu.Unlock()
		s.writeGraphError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return false
	}
	c.tenant = tok.tenant
	if tok.audience != audGraph {
		s.mu.Unlock()
		s.writeGraphError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", "Invalid audience.")
		return false
	}
	ts := s.tenantLocked(tok.tenant)
	kind := s.injectFaultLocked(ts, tok)
	f, odd5xx := ts.faults, ts.fails5xx%2 == 1
	s.mu.Unlock()
	if kind == "" {
		c.token, c.ts = tok, ts
		return true
	}
	if f.RetryAfter > 0 && kind != FaultTokenExpire {
		c.w.Header().Set("Retry-After", retryAfterSeconds(f.RetryAfter))
	}
	switch kind {
	case FaultTokenExpire:
		s.writeGraphError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	case FaultThrottle403, FaultThrottle429:
		// Graph throttles with 429 only.
		s.writeGraphError(c, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
	case Fault5xx:
		if odd5xx {
			s.writeGraphError(c, http.StatusInternalServerError, "InternalServerError", "An internal server error occurred.")
		} else {
			s.writeGraphError(c, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable.")
		}
	}
	return false
}

// apiMethods names endpoints the way throttling messages do.
var apiMethods = map[string]string{
	EndpointStart:   "StartSubscription",
	EndpointStop:    "StopSubscription",
	EndpointList:    "ListSubscriptions",
	EndpointContent: "ListAvailableContent",
	EndpointBlob:    "RetrieveContent",
}

func publisherOf(r *http.Request) string {
	if p := queryParam(r, "PublisherIdentifier"); p != "" {
		return p
	}
	return r.PathValue("tenant")
}

// queryParam reads a query parameter by case-insensitive name: real
// next-page links use lower-case keys, documented requests camelCase.
func queryParam(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// isGUID reports whether s looks like 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

// newGUID draws a version-4 GUID from the server's seeded generator.
func (s *Server) newGUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newGUIDLocked()
}

func (s *Server) newGUIDLocked() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "cannot encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeAF answers a Management API error: {"error":{"code":…,"message":…}}.
func writeAF(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
