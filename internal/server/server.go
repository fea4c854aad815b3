// Package server is the JSON HTTP API of "aiwatch serve": KQL queries,
// rules, alerts, incidents and collector status behind a bearer token, plus
// /metrics and an open /healthz. It also holds the client side the CLI
// uses while a serve process holds the data directory (endpoint.go,
// client.go).
package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/store"
)

// Defaults for Options left zero.
const (
	DefaultMaxRows      = 10000
	DefaultQueryTimeout = time.Minute
	DefaultListLimit    = 100
	// maxBody bounds request bodies: a query or an incident update is small.
	maxBody = 1 << 20
)

// Options configure the API handler.
type Options struct {
	Store   *store.Store
	Catalog *kql.Catalog // nil: kql.DefaultCatalog()
	// Detections serves rules, alerts and incidents; nil answers 503.
	Detections Detections
	Status     func() collect.Report // nil: /api/v1/status answers 503
	// Gatherer is what /metrics serves. Registerer receives the API's own
	// request counter; when nil the counter gets a registry of its own,
	// served after Gatherer's metrics.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	Token      string // required
	Logger     *slog.Logger
	// MaxRows caps a query's result (default DefaultMaxRows); a capped
	// result says "truncated": true.
	MaxRows      int
	QueryTimeout time.Duration // default DefaultQueryTimeout
	Now          func() time.Time
}

type api struct {
	opts     Options
	log      *slog.Logger
	tokenSum [sha256.Size]byte
	requests *prometheus.CounterVec
}

// New builds the API handler. It refuses an empty token: the API serves
// audit data and must never run open.
func New(opts Options) (http.Handler, error) {
	if opts.Token == "" {
		return nil, errors.New("the API needs a bearer token: set server.token_env or server.token_file")
	}
	if opts.Store == nil {
		return nil, errors.New("the API needs a store")
	}
	if opts.Catalog == nil {
		opts.Catalog = kql.DefaultCatalog()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &api{opts: opts, log: opts.Logger, tokenSum: sha256.Sum256([]byte(opts.Token))}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aiwatch_server_requests_total",
		Help: "Requests to the aiwatch API by route and HTTP status.",
	}, []string{"route", "code"})
	reg := opts.Registerer
	if reg == nil {
		own := prometheus.NewRegistry()
		reg = own
		if opts.Gatherer != nil {
			// The caller's metrics first, then the API's own.
			opts.Gatherer = prometheus.Gatherers{opts.Gatherer, own}
		} else {
			opts.Gatherer = own
		}
	}
	if err := reg.Register(a.requests); err != nil {
		return nil, fmt.Errorf("cannot register the API metrics: %w", err)
	}
	gatherer := opts.Gatherer
	if gatherer == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gatherer = g
		} else {
			gatherer = prometheus.NewRegistry()
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	secured := http.NewServeMux()
	secured.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	secured.HandleFunc("GET /api/v1/status", a.status)
	secured.HandleFunc("POST /api/v1/query", a.query)
	secured.HandleFunc("GET /api/v1/rules", a.rules)
	secured.HandleFunc("GET /api/v1/alerts", a.alerts)
	secured.HandleFunc("GET /api/v1/incidents", a.incidents)
	secured.HandleFunc("GET /api/v1/incidents/{id}", a.incident)
	secured.HandleFunc("PATCH /api/v1/incidents/{id}", a.updateIncident)
	secured.HandleFunc("POST /api/v1/incidents/{id}/comments", a.addComment)
	secured.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { a.noRoute(secured, w, r) })
	// Everything but /healthz is checked before routing, so an
	// unauthenticated caller learns nothing, not even which paths exist.
	mux.Handle("/", a.authorize(secured))
	return a.observe(mux), nil
}

// authorize lets through requests carrying "Authorization: Bearer <token>".
// Hashing both sides first makes the comparison constant-time whatever the
// lengths.
func (a *api) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aiwatch"`)
			writeError(w, http.StatusUnauthorized, "this API requires a bearer token: send Authorization: Bearer <token>")
			return
		}
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aiwatch", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "the bearer token is not valid for this server")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noRoute answers 405 for a known path asked with the wrong method, 404
// otherwise, both as JSON.
func (a *api) noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint %s", r.URL.Path))
}

// statusRecorder keeps the response code for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// observe counts and logs each request. The route label is the matched
// pattern, never the raw path, so ids do not grow the label set; the
// Authorization header is never logged.
func (a *api) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		route := routeOf(r)
		a.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		level := slog.LevelDebug
		if rec.code >= 500 {
			level = slog.LevelError
		}
		a.log.Log(r.Context(), level, "api request", "method", r.Method, "route", route, "status", rec.code,
			"duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}

// routeOf names a request's route for metrics: the API's fixed paths, with
// an incident id replaced by {id}.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/healthz", p == "/metrics", p == "/api/v1/status", p == "/api/v1/query",
		p == "/api/v1/rules", p == "/api/v1/alerts", p == "/api/v1/incidents":
		return p
	case strings.HasPrefix(p, "/api/v1/incidents/"):
		if strings.HasSuffix(p, "/comments") {
			return "/api/v1/incidents/{id}/comments"
		}
		return "/api/v1/incidents/{id}"
	}
	return "other"
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	if a.opts.Status == nil {
		writeError(w, http.StatusServiceUnavailable, "collector status is not available in this server")
		return
	}
	writeJSON(w, http.StatusOK, a.opts.Status())
}

// errorBody is every error response. Line and Column are set for KQL
// compile errors.
type errorBody struct {
	Error  string `json:"error"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: oneLine(msg)})
}

// oneLine joins the lines of a message with "; " so every error body is one
// line, whatever the error came from (DuckDB, for one, writes several).
func oneLine(msg string) string {
	if !strings.ContainsAny(msg, "\r\n") {
		return msg
	}
	var parts []string
	for _, l := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// writeJSON encodes v; a nil slice is written as [] so lists stay lists.
func writeJSON(w http.ResponseWriter, code int, v any) {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Slice && reflect.ValueOf(v).IsNil()) {
		if v == nil {
			v = struct{}{}
		} else {
			v = []struct{}{}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "cannot encode the response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// decodeBody reads a JSON request body into v, refusing unknown fields so
// a misspelt key is an error rather than silently ignored.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", maxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "the request body is not valid JSON for this endpoint: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "the request body holds more than one JSON value")
		return false
	}
	return true
}
