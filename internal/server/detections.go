package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/detect"
)

// Detections is what the API needs from the detection engine. Values are
// returned as the engine shapes them and encoded as JSON unchanged.
// Errors: one matching ErrNotFound answers 404, an *InvalidError 400,
// anything else 500.
type Detections interface {
	Rules(ctx context.Context) (any, error)
	Alerts(ctx context.Context, f AlertFilter) (any, error)
	Incidents(ctx context.Context, f IncidentFilter) (any, error)
	Incident(ctx context.Context, id string) (any, error)
	// UpdateIncident applies u and returns the updated incident. by names
	// who asked (the X-Aiwatch-User header, "api" without it).
	UpdateIncident(ctx context.Context, id string, u IncidentUpdate, by string) (any, error)
}

// ErrNotFound is what a Detections method wraps when the incident (or
// other object) does not exist.
var ErrNotFound = errors.New("not found")

// InvalidError is a request the detection engine refuses (an unknown
// status, a classification missing on close, …); Msg is shown to the user.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Invalid builds an *InvalidError.
func Invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// AlertFilter selects alerts; zero fields select everything. Severity is
// one of Severities, spelled as there.
type AlertFilter struct {
	Since    time.Time // alerts generated at or after
	Severity string
	Rule     string // rule id or name
	Limit    int    // at most this many, newest first (through Client, 0 is as many as the server allows)
}

// IncidentFilter selects incidents; zero fields select everything.
type IncidentFilter struct {
	Status   string // one of Statuses
	Severity string
	Limit    int
}

// IncidentUpdate is the body of PATCH /api/v1/incidents/{id}: the
// detection desk's change. Nil fields are left unchanged; a pointer to ""
// clears a field (the owner, say). Comment, when not empty, is added.
type IncidentUpdate = detect.Update

// CommentRequest is the body of POST /api/v1/incidents/{id}/comments.
type CommentRequest struct {
	Message string `json:"message"`
}

// Severities and Statuses are Sentinel's values. Query parameters and
// updates are matched case-insensitively and passed on spelled as here.
var (
	Severities = detect.Severities
	Statuses   = detect.Statuses
)

// UserHeader names who makes a change; the token says only that the
// caller may.
const UserHeader = "X-Aiwatch-User"

func canonical(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

func (a *api) detections(w http.ResponseWriter) (Detections, bool) {
	if a.opts.Detections == nil {
		writeError(w, http.StatusServiceUnavailable, "rules, alerts and incidents are not available: the detection engine is not running in this server")
		return nil, false
	}
	return a.opts.Detections, true
}

// answer writes a Detections result or maps its error to a status.
func (a *api) answer(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	var ie *InvalidError
	switch {
	case err == nil:
		writeJSON(w, code, v)
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, ie.Msg)
	case r.Context().Err() != nil:
		// The client went away.
	default:
		a.log.Error("detection request failed", "route", routeOf(r), "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func (a *api) rules(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	v, err := d.Rules(r.Context())
	a.answer(w, r, http.StatusOK, v, err)
}

func (a *api) alerts(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	var f AlertFilter
	var err error
	if f.Since, err = config.ParseSince(q.Get("since"), a.opts.Now()); err != nil {
		writeError(w, http.StatusBadRequest, "since "+err.Error())
		return
	}
	if f.Severity, err = enumParam(q, "severity", Severities); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Rule = strings.TrimSpace(q.Get("rule"))
	if f.Limit, err = a.limitParam(q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := d.Alerts(r.Context(), f)
	a.answer(w, r, http.StatusOK, v, err)
}

func (a *api) incidents(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	var f IncidentFilter
	var err error
	if f.Status, err = enumParam(q, "status", Statuses); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Severity, err = enumParam(q, "severity", Severities); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Limit, err = a.limitParam(q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := d.Incidents(r.Context(), f)
	a.answer(w, r, http.StatusOK, v, err)
}

func (a *api) incident(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	v, err := d.Incident(r.Context(), r.PathValue("id"))
	a.answer(w, r, http.StatusOK, v, err)
}

func (a *api) updateIncident(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	var u IncidentUpdate
	if !decodeBody(w, r, &u) {
		return
	}
	if err := normalizeUpdate(&u); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if u.IsZero() {
		writeError(w, http.StatusBadRequest, "the update changes nothing: set status, severity, owner, title, classification, classificationReason, classificationComment, addTags, removeTags or comment")
		return
	}
	v, err := d.UpdateIncident(r.Context(), r.PathValue("id"), u, actor(r))
	a.answer(w, r, http.StatusOK, v, err)
}

func (a *api) addComment(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detections(w)
	if !ok {
		return
	}
	var c CommentRequest
	if !decodeBody(w, r, &c) {
		return
	}
	if strings.TrimSpace(c.Message) == "" {
		writeError(w, http.StatusBadRequest, `the comment is empty: send {"message": "text"}`)
		return
	}
	v, err := d.UpdateIncident(r.Context(), r.PathValue("id"), IncidentUpdate{Comment: c.Message}, actor(r))
	a.answer(w, r, http.StatusCreated, v, err)
}

// normalizeUpdate spells status and severity as Sentinel does and refuses
// values it does not know; the engine checks the rest (classification
// rules, owners).
func normalizeUpdate(u *IncidentUpdate) error {
	if u.Status != nil {
		s, ok := canonical(*u.Status, Statuses)
		if !ok {
			return fmt.Errorf("unknown status %q: use one of %s", *u.Status, strings.Join(Statuses, ", "))
		}
		u.Status = &s
	}
	if u.Severity != nil {
		s, ok := canonical(*u.Severity, Severities)
		if !ok {
			return fmt.Errorf("unknown severity %q: use one of %s", *u.Severity, strings.Join(Severities, ", "))
		}
		u.Severity = &s
	}
	for _, tags := range [][]string{u.AddTags, u.RemoveTags} {
		for i, t := range tags {
			tags[i] = strings.TrimSpace(t)
			if tags[i] == "" {
				return errors.New("a tag is empty")
			}
		}
	}
	return nil
}

// actor is who makes a change: the X-Aiwatch-User header, trimmed to
// printable characters and 128 bytes, or "api".
func actor(r *http.Request) string {
	v := strings.Map(func(c rune) rune {
		if unicode.IsPrint(c) {
			return c
		}
		return -1
	}, strings.TrimSpace(r.Header.Get(UserHeader)))
	if len(v) > 128 {
		v = strings.ToValidUTF8(v[:128], "")
	}
	if v == "" {
		return "api"
	}
	return v
}

func enumParam(q url.Values, name string, allowed []string) (string, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return "", nil
	}
	c, ok := canonical(v, allowed)
	if !ok {
		return "", fmt.Errorf("unknown %s %q: use one of %s", name, v, strings.Join(allowed, ", "))
	}
	return c, nil
}

// limitParam reads limit: default DefaultListLimit, at most MaxRows; 0
// asks for as many as MaxRows allows (the CLI's --limit 0, "all").
func (a *api) limitParam(q url.Values) (int, error) {
	v := strings.TrimSpace(q.Get("limit"))
	if v == "" {
		return min(DefaultListLimit, a.opts.MaxRows), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > a.opts.MaxRows {
		return 0, fmt.Errorf("limit %q must be a whole number from 0 (as many as allowed) to %d", v, a.opts.MaxRows)
	}
	if n == 0 {
		return a.opts.MaxRows, nil
	}
	return n, nil
}
