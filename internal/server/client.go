package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/render"
)

// TokenEnv is the environment variable a CLI command reads the server's
// token from when it runs through a serve process.
const TokenEnv = "AIWATCH_TOKEN"

// ClientToken returns the token for a client: the file's content (trailing
// newlines dropped) when tokenFile is set, else $AIWATCH_TOKEN, else "".
func ClientToken(tokenFile string) (string, error) {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("cannot read the token file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("the token file %s is empty", tokenFile)
		}
		return t, nil
	}
	return strings.TrimSpace(os.Getenv(TokenEnv)), nil
}

// InUseError says a serve process holds the data directory and the command
// cannot go through it (no token).
type InUseError struct {
	DataDir  string
	Endpoint Endpoint
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("the data directory %s is in use by aiwatch serve (pid %d, listening on %s); set %s (or --token-file) to the server's token to run this through it",
		e.DataDir, e.Endpoint.PID, e.Endpoint.Addr, TokenEnv)
}

// Connect returns a client for the serve process holding dataDir. Call it
// when opening the store failed with store.ErrLocked:
//   - no serve process announced itself: an error matching ErrNoServer,
//     saying another aiwatch process (collect, import, …) holds the
//     directory;
//   - one did but token is empty: an *InUseError naming it;
//   - otherwise a client (the token is checked by the first request).
//
// A CLI command that reads data does, for example:
//
//	st, err := store.Open(ctx, dir, opts)
//	if errors.Is(err, store.ErrLocked) {
//		tok, err := server.ClientToken(tokenFileFlag) // --token-file, else $AIWATCH_TOKEN
//		c, err := server.Connect(dir, tok)            // its errors are the message to print
//		res, err := c.Query(ctx, kqlText)
//		err = res.Write(os.Stdout, format)            // as a local "aiwatch query" prints
//	}
func Connect(dataDir, token string) (*Client, error) {
	ep, err := ReadEndpoint(dataDir)
	if errors.Is(err, ErrNoServer) {
		return nil, fmt.Errorf("the data directory %s is in use by another aiwatch process that serves no API (such as collect or import); wait for it or stop it: %w", dataDir, err)
	}
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, &InUseError{DataDir: dataDir, Endpoint: ep}
	}
	return NewClient(ep.URL(), token), nil
}

// Client calls a serve process's API. Results about detections come back
// as the engine's JSON (json.RawMessage) for the caller to decode.
type Client struct {
	BaseURL string // http://host:port
	Token   string
	User    string // sent as X-Aiwatch-User: who makes incident changes
	HTTP    *http.Client
}

// NewClient builds a client; User defaults to $USER.
func NewClient(baseURL, token string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		Token:   token,
		User:    os.Getenv("USER"),
		// No overall timeout: a query may run long; the server stops it.
		HTTP: &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Minute}},
	}
}

// APIError is an error answer of the server.
type APIError struct {
	URL          string
	StatusCode   int
	Message      string
	Line, Column int // of a KQL compile error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("aiwatch serve at %s answered HTTP %d: %s", e.URL, e.StatusCode, e.Message)
	if e.StatusCode == http.StatusUnauthorized {
		msg += fmt.Sprintf(" (check %s or --token-file)", TokenEnv)
	}
	return msg
}

// do sends a request and returns the body of a 2xx answer.
func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.BaseURL + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.User != "" {
		req.Header.Set(UserHeader, c.User)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach aiwatch serve at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ae := &APIError{URL: c.BaseURL + strings.SplitN(path, "?", 2)[0], StatusCode: resp.StatusCode}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error != "" {
		ae.Message, ae.Line, ae.Column = eb.Error, eb.Line, eb.Column
	} else {
		ae.Message = strings.TrimSpace(string(raw))
	}
	return nil, ae
}

// getJSON decodes a 2xx JSON answer into v.
func (c *Client) getJSON(ctx context.Context, method, path string, body, v any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("cannot decode the answer of %s%s: %w", c.BaseURL, path, err)
	}
	return nil
}

func (c *Client) raw(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	var m json.RawMessage
	err := c.getJSON(ctx, method, path, body, &m)
	return m, err
}

// Health checks /healthz (no token needed).
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Status is the live collector report.
func (c *Client) Status(ctx context.Context) (collect.Report, error) {
	var rep collect.Report
	err := c.getJSON(ctx, http.MethodGet, "/api/v1/status", nil, &rep)
	return rep, err
}

// QueryRaw runs a KQL query and returns the answer's body in format
// ("json": a QueryResult document, "csv": CSV with a header row). The
// caller closes it. A compile error is an *APIError with Line and Column.
func (c *Client) QueryRaw(ctx context.Context, query, format string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/query", QueryRequest{Query: query, Format: format})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Query runs a KQL query and decodes the result.
func (c *Client) Query(ctx context.Context, query string) (*QueryResult, error) {
	var res QueryResult
	if err := c.getJSON(ctx, http.MethodPost, "/api/v1/query", QueryRequest{Query: query}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Rules lists the rules.
func (c *Client) Rules(ctx context.Context) (json.RawMessage, error) {
	return c.raw(ctx, http.MethodGet, "/api/v1/rules", nil)
}

// Alerts lists alerts matching f.
func (c *Client) Alerts(ctx context.Context, f AlertFilter) (json.RawMessage, error) {
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	setParam(q, "severity", f.Severity)
	setParam(q, "rule", f.Rule)
	if f.Limit >= 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return c.raw(ctx, http.MethodGet, "/api/v1/alerts"+queryString(q), nil)
}

// Incidents lists incidents matching f.
func (c *Client) Incidents(ctx context.Context, f IncidentFilter) (json.RawMessage, error) {
	q := url.Values{}
	setParam(q, "status", f.Status)
	setParam(q, "severity", f.Severity)
	if f.Limit >= 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return c.raw(ctx, http.MethodGet, "/api/v1/incidents"+queryString(q), nil)
}

// Incident returns one incident; a missing one is an *APIError with
// StatusCode 404.
func (c *Client) Incident(ctx context.Context, id string) (json.RawMessage, error) {
	return c.raw(ctx, http.MethodGet, "/api/v1/incidents/"+url.PathEscape(id), nil)
}

// UpdateIncident changes an incident and returns it as updated.
func (c *Client) UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (json.RawMessage, error) {
	return c.raw(ctx, http.MethodPatch, "/api/v1/incidents/"+url.PathEscape(id), u)
}

// AddComment adds a comment to an incident and returns the incident.
func (c *Client) AddComment(ctx context.Context, id, message string) (json.RawMessage, error) {
	return c.raw(ctx, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(id)+"/comments", CommentRequest{Message: message})
}

func setParam(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func queryString(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Write prints the result as "aiwatch query" prints a local one: "table",
// "json" (an array of row objects) or "csv".
func (r *QueryResult) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		var b bytes.Buffer
		b.WriteString("[")
		for i, row := range r.Rows {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			b.Write(row)
		}
		if len(r.Rows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("]\n")
		_, err := w.Write(b.Bytes())
		return err
	case "table", "csv":
	default:
		return fmt.Errorf("unknown format %q: use table, json or csv", format)
	}
	names := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		names[i] = c.Name
	}
	cells := func(row json.RawMessage) ([]string, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(row, &m); err != nil {
			return nil, fmt.Errorf("a result row is not a JSON object: %w", err)
		}
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = cellOf(m[n])
			if format == "csv" && bytes.HasPrefix(bytes.TrimSpace(m[n]), []byte(`"`)) {
				out[i] = render.CSVText(out[i])
			}
		}
		return out, nil
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write(names)
		for _, row := range r.Rows {
			c, err := cells(row)
			if err != nil {
				return err
			}
			cw.Write(c)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, row := range r.Rows {
		c, err := cells(row)
		if err != nil {
			return err
		}
		for i := range c {
			c[i] = render.Cell(c[i])
		}
		fmt.Fprintln(tw, strings.Join(c, "\t"))
	}
	return tw.Flush()
}

// cellOf is a JSON value as a text cell: strings unquoted, null empty,
// anything else its JSON text.
func cellOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}
