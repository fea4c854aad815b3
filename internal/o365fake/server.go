// Package o365fake is an in-process fake of Entra ID's token endpoints, the
// Office 365 Management Activity API and the Microsoft Graph audit log query
// API, served over real HTTP so aiwatch's collector is tested the way it runs.
// It follows the project's Management API reference notes: the same paths,
// error codes, window rules, paging header and quirks (late blobs, AF429 on
// 403 and 429, the 15-minute start throttle), plus fault knobs a test turns
// on and off.
//
// One base URL serves all three: POST /{tenant}/oauth2/token (v1) and
// /{tenant}/oauth2/v2.0/token, /api/v1.0/{tenant}/activity/feed/…, and
// /v1.0/security/auditLog/queries… (also under /beta). A token opens Graph
// when its resource names a Graph host, the Management API otherwise.
//
// Order of checks on a Management API call: tenant id is a GUID (AF20013),
// token present and live (401), audience (AF10001), token tenant = URL tenant
// (AF20010), audit logging on (AF20012), injected faults, then the
// operation's own rules. Error codes the reference does not document (the
// 401 body, AADSTS numbers) are plausible stand-ins; clients should key on
// the HTTP status for them.
//
// All times come from Options.Now so tests drive expiry and visibility with a
// controllable clock; only SlowBody sleeps in real time.
package o365fake

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. Zero fields take the defaults below.
type Options struct {
	Now           func() time.Time // clock; default time.Now
	PageSize      int              // content entries per listing page before NextPageUri (default 200)
	TokenTTL      time.Duration    // lifetime of issued access tokens (default 3599s)
	GraphPageSize int              // Graph records per page before @odata.nextLink (default 100)
	// GraphPollsToSucceed is how many GETs of a query it takes to reach
	// "succeeded"; earlier GETs answer "running" (default 2).
	GraphPollsToSucceed int
	Logger              *slog.Logger // default slog.Default()
}

// Tenant is one directory the fake knows: its app registration and state.
type Tenant struct {
	ID, ClientID, ClientSecret string
	// CertPublicKey, when set, lets the app authenticate with a client
	// assertion JWT (RS256) signed by the matching private key.
	CertPublicKey crypto.PublicKey
	// CertThumbprint, when set, must equal the assertion header's x5t
	// (base64url-decoded SHA-1 of the certificate).
	CertThumbprint []byte
	// AuditingOff makes every Management API call answer AF20012 "tenant does
	// not exist", as seen for tenants with unified audit logging disabled.
	AuditingOff bool
}

// Faults are injected failures. Counters ("every Nth") restart at the
// SetFaults call that installs them. All API requests that passed token
// validation count (Management and Graph, not the token endpoints); when two
// knobs hit the same request the first in this order wins: TokenExpireEvery,
// Throttle403Every, Throttle429Every, Fail5xxEvery.
type Faults struct {
	Throttle403Every, Throttle429Every int // every Nth request answers AF429 with 403 / 429 (Graph: 429 for both)
	RetryAfter                         time.Duration
	Fail5xxEvery                       int           // every Nth request answers 500, then 503, alternating
	SlowBody                           time.Duration // after a blob's headers are sent, wait this long (real time) before the body
	CutBodyEvery                       int           // every Nth blob response stops half way and the connection is closed
	TokenExpireEvery                   int           // every Nth request revokes its token and answers 401
	GraphRecordCap                     int           // a Graph query matching more records returns only the first cap, flagged isRecordCountLimitExceeded
	GraphBadRecordEvery                int           // in a Graph result, every Nth record's auditData is a truncated JSON string
}

// Fault kinds counted in Stats.Faults.
const (
	FaultThrottle403    = "throttle403"
	FaultThrottle429    = "throttle429"
	Fault5xx            = "5xx"
	FaultSlowBody       = "slowBody"
	FaultCutBody        = "cutBody"
	FaultTokenExpire    = "tokenExpire"
	FaultGraphCap       = "graphCap"
	FaultGraphBadRecord = "graphBadRecord"
)

// Endpoint names used in Stats.Requests.
const (
	EndpointToken        = "token"
	EndpointStart        = "start"
	EndpointStop         = "stop"
	EndpointList         = "list"
	EndpointContent      = "content"
	EndpointBlob         = "blob"
	EndpointGraphCreate  = "graph.create"
	EndpointGraphGet     = "graph.get"
	EndpointGraphRecords = "graph.records"
)

// RequestKey counts requests by endpoint and answered HTTP status.
type RequestKey struct {
	Endpoint string
	Status   int
}

// Stats is what one tenant saw, for assertions like "start called only once".
type Stats struct {
	Requests           map[RequestKey]int
	TokensIssued       int
	SubscriptionStarts int            // start calls that enabled a subscription (HTTP 200)
	Faults             map[string]int // injected faults by kind
	// WithPublisherIdentifier counts API requests carrying PublisherIdentifier.
	WithPublisherIdentifier int
}

// Count is the number of requests to an endpoint, whatever their status.
func (st Stats) Count(endpoint string) int {
	n := 0
	for k, v := range st.Requests {
		if k.Endpoint == endpoint {
			n += v
		}
	}
	return n
}

// Server is the fake. It implements http.Handler, so it can also be mounted
// in an httptest.Server; Start listens by itself.
type Server struct {
	now                 func() time.Time
	pageSize            int
	graphPageSize       int
	graphPollsToSucceed int
	tokenTTL            time.Duration
	log                 *slog.Logger
	mux                 *http.ServeMux

	mu      sync.Mutex
	tenants map[string]*tenantState // by lower-case tenant id
	tokens  map[string]*accessToken
	queries map[string]*graphQuery
	rng     *rand.Rand // seeded: content ids are reproducible per server
	seq     uint64

	srv *http.Server
}

type tenantState struct {
	cfg    Tenant
	added  bool
	faults Faults
	// fault counters since the last SetFaults
	apiCalls, blobCalls, fails5xx int

	subs  map[string]*subscription // by canonical content type
	blobs map[string][]*blob       // by canonical content type, sorted by (created, seq)
	byID  map[string]*blob
	graph []*graphRecord // sorted by (time, seq)
	stats Stats
}

// New returns a server with no tenants.
func New(opts Options) *Server {
	s := &Server{
		now:                 opts.Now,
		pageSize:            opts.PageSize,
		graphPageSize:       opts.GraphPageSize,
		graphPollsToSucceed: opts.GraphPollsToSucceed,
		tokenTTL:            opts.TokenTTL,
		log:                 opts.Logger,
		tenants:             map[string]*tenantState{},
		tokens:              map[string]*accessToken{},
		queries:             map[string]*graphQuery{},
		rng:                 rand.New(rand.NewPCG(20260304, 1)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pageSize <= 0 {
		s.pageSize = 200
	}
	if s.graphPageSize <= 0 {
		s.graphPageSize = 100
	}
	if s.graphPollsToSucceed <= 0 {
		s.graphPollsToSucceed = 2
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = 3599 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /{tenant}/oauth2/token", s.handle(EndpointToken, s.tokenV1))
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handle(EndpointToken, s.tokenV2))
	const feed = "/api/v1.0/{tenant}/activity/feed/"
	m.HandleFunc("POST "+feed+"subscriptions/start", s.handle(EndpointStart, s.subscriptionStart))
	m.HandleFunc("POST "+feed+"subscriptions/stop", s.handle(EndpointStop, s.subscriptionStop))
	m.HandleFunc("GET "+feed+"subscriptions/list", s.handle(EndpointList, s.subscriptionList))
	m.HandleFunc("GET "+feed+"subscriptions/content", s.handle(EndpointContent, s.contentList))
	m.HandleFunc("GET "+feed+"audit/{contentId}", s.handle(EndpointBlob, s.blobGet))
	// The audit query API lives in v1.0 and, reportedly again, in beta.
	for _, v := range []string{"v1.0", "beta"} {
		q := "/" + v + "/security/auditLog/queries"
		m.HandleFunc("POST "+q, s.handle(EndpointGraphCreate, s.graphCreate))
		m.HandleFunc("GET "+q+"/{id}", s.handle(EndpointGraphGet, s.graphGet))
		m.HandleFunc("GET "+q+"/{id}/records", s.handle(EndpointGraphRecords, s.graphRecords))
	}
	s.mux = m
}

// ServeHTTP serves every endpoint of the fake.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background. The returned base URL serves the login, Management and Graph
// paths alike.
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("o365fake: server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("o365fake: cannot listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("o365fake: serve failed", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener and drops open connections.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("o365fake: cannot close server: %w", err)
	}
	return nil
}

// AddTenant registers (or replaces) a tenant's app registration. Content
// already published for that tenant id is kept.
func (s *Server) AddTenant(t Tenant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(t.ID)
	ts.cfg = t
	ts.added = true
}

// SetFaults replaces a tenant's fault knobs and restarts their counters.
func (s *Server) SetFaults(tenantID string, f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(tenantID)
	ts.faults = f
	ts.apiCalls, ts.blobCalls, ts.fails5xx = 0, 0, 0
}

// Stats returns a copy of what the tenant has seen so far.
func (s *Server) Stats(tenantID string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(tenantID)
	out := ts.stats
	out.Requests = make(map[RequestKey]int, len(ts.stats.Requests))
	for k, v := range ts.stats.Requests {
		out.Requests[k] = v
	}
	out.Faults = make(map[string]int, len(ts.stats.Faults))
	for k, v := range ts.stats.Faults {
		out.Faults[k] = v
	}
	return out
}

// tenantLocked returns the state of a tenant id, creating it on first use so
// content can be published before AddTenant.
func (s *Server) tenantLocked(id string) *tenantState {
	key := strings.ToLower(id)
	ts := s.tenants[key]
	if ts == nil {
		ts = &tenantState{
			subs:  map[string]*subscription{},
			blobs: map[string][]*blob{},
			byID:  map[string]*blob{},
			stats: Stats{Requests: map[RequestKey]int{}, Faults: map[string]int{}},
		}
		s.tenants[key] = ts
	}
	return ts
}

// lookupTenantLocked returns a registered tenant, or nil.
func (s *Server) lookupTenantLocked(id string) *tenantState {
	ts := s.tenants[strings.ToLower(id)]
	if ts == nil || !ts.added {
		return nil
	}
	return ts
}

// recorder remembers the status a handler answered, for Stats. Unwrap lets
// http.ResponseController reach the real writer (Flush, Hijack).
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// call is one request in flight.
type call struct {
	w        *recorder
	r        *http.Request
	tenant   string // whose Stats the request counts in; "" when unknown
	endpoint string
	token    *accessToken
	ts       *tenantState // set by the auth helpers
}

func (s *Server) handle(endpoint string, fn func(*call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: &recorder{ResponseWriter: w}, r: r, endpoint: endpoint}
		fn(c)
		status := c.w.status
		if status == 0 {
			status = http.StatusOK
		}
		s.mu.Lock()
		ts := s.tenantLocked(c.tenant)
		ts.stats.Requests[RequestKey{endpoint, status}]++
		s.mu.Unlock()
	}
}

// baseURL is the scheme and host the client used, so links the fake hands
// out (contentUri, NextPageUri, @odata.nextLink) lead back to it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// injectFaultLocked decides whether the ts's next API request fails, and
// how. It returns "" for no fault.
func (s *Server) injectFaultLocked(ts *tenantState, tok *accessToken) string {
	ts.apiCalls++
	n, f := ts.apiCalls, ts.faults
	hit := func(every int) bool { return every > 0 && n%every == 0 }
	kind := ""
	switch {
	case hit(f.TokenExpireEvery):
		kind = FaultTokenExpire
		// Revoke for real: a client that retries with the same token keeps
		// failing, one that refreshes recovers.
		tok.revoked = true
	case hit(f.Throttle403Every):
		kind = FaultThrottle403
	case hit(f.Throttle429Every):
		kind = FaultThrottle429
	case hit(f.Fail5xxEvery):
		kind = Fault5xx
		ts.fails5xx++
	}
	if kind != "" {
		ts.stats.Faults[kind]++
	}
	return kind
}

// retryAfterSeconds renders a Retry-After value: whole seconds, rounded up.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprint(max(secs, 1))
}
