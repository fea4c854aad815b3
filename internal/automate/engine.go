package automate

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Delivery states and attempt outcomes.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
	OutcomeRetry   = "retry"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("automation engine is closed")

// RetryPolicy bounds retries; zero fields take the configuration's.
type RetryPolicy struct {
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// Options are the engine's collaborators; all are optional.
type Options struct {
	Clock      func() time.Time
	HTTPClient *http.Client // redirects are never followed: a 3xx fails the delivery
	Logger     *slog.Logger
	Retry      RetryPolicy
	Registerer prometheus.Registerer
	// TLSConfig is used for SMTP (STARTTLS and implicit TLS); nil means the
	// system roots. Its ServerName defaults to the playbook's host.
	TLSConfig *tls.Config
	// Jitter returns a number in [0, 1) that spreads retries; default random.
	Jitter func() float64
}

// Payload is the JSON a webhook playbook receives and a command playbook
// reads on stdin.
type Payload struct {
	DeliveryID     string    `json:"delivery_id"`
	Playbook       string    `json:"playbook"`
	AutomationRule string    `json:"automation_rule"`
	Event          string    `json:"event"` // incident_created or incident_updated
	Changed        []string  `json:"changed,omitempty"`
	IncidentURL    string    `json:"incident_url,omitempty"`
	EnqueuedAt     time.Time `json:"enqueued_at"`
	Incident       Incident  `json:"incident"`
}

// Engine evaluates automation rules and delivers playbooks.
type Engine struct {
	cfg    Config
	rules  []Rule
	books  map[string]*book
	db     *sql.DB
	up     Updater
	now    func() time.Time
	log    *slog.Logger
	retry  RetryPolicy
	jitter func() float64
	client *http.Client
	tls    *tls.Config
	m      *metrics

	writeMu  sync.Mutex // one writer at a time: DuckDB rejects conflicting concurrent updates
	flightMu sync.Mutex
	inFlight map[string]bool
	wake     chan struct{}
	active   sync.WaitGroup
	closed   atomic.Bool
}

// book is a configured playbook with its secrets resolved.
type book struct {
	Playbook
	url      string
	secret   string
	password string
	headers  http.Header
	redact   *strings.Replacer
}

// New checks the configuration, resolves secrets and returns an engine
// on db, whose tables (AutomationDelivery, AutomationDeliveryAttempt) are made by the store's migrations. Deliveries left pending by an
// earlier engine are sent by Deliver and Run.
func New(cfg Config, db *sql.DB, up Updater, opts Options) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("automation needs a database")
	}
	e := &Engine{
		cfg:      cfg,
		rules:    sortRules(cfg.Rules),
		books:    map[string]*book{},
		db:       db,
		up:       up,
		now:      opts.Clock,
		log:      opts.Logger,
		jitter:   opts.Jitter,
		tls:      opts.TLSConfig,
		inFlight: map[string]bool{},
		wake:     make(chan struct{}, 1),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.jitter == nil {
		e.jitter = mrand.Float64
	}
	e.retry = RetryPolicy{cfg.Delivery.MaxAttempts, cfg.Delivery.BaseBackoff, cfg.Delivery.MaxBackoff}
	if opts.Retry.MaxAttempts > 0 {
		e.retry.MaxAttempts = opts.Retry.MaxAttempts
	}
	if opts.Retry.BaseBackoff > 0 {
		e.retry.BaseBackoff = opts.Retry.BaseBackoff
	}
	if opts.Retry.MaxBackoff > 0 {
		e.retry.MaxBackoff = opts.Retry.MaxBackoff
	}
	e.retry.MaxBackoff = max(e.retry.MaxBackoff, e.retry.BaseBackoff)
	if up == nil {
		for _, r := range cfg.Rules {
			for _, a := range r.Actions {
				if a.RunPlaybook == "" {
					return nil, fmt.Errorf("automation rule %q changes incidents but no updater was given", r.Name)
				}
			}
		}
	}
	client := http.DefaultClient
	if opts.HTTPClient != nil {
		client = opts.HTTPClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = &c
	for _, pb := range cfg.Playbooks {
		b, err := resolve(pb)
		if err != nil {
			return nil, fmt.Errorf("playbook %q: %w", pb.Name, err)
		}
		e.books[pb.Name] = b
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	e.m = m
	// Also checks that the store has the delivery tables.
	if err := e.refreshPending(context.Background()); err != nil {
		return nil, fmt.Errorf("cannot read the playbook delivery queue (is this an aiwatch store?): %w", err)
	}
	return e, nil
}

func resolve(pb Playbook) (*book, error) {
	b := &book{Playbook: pb, headers: http.Header{}}
	var secrets []string
	var err error
	switch pb.Type {
	case "webhook", "teams", "slack":
		if b.url, err = pb.resolveURL(); err != nil {
			return nil, err
		}
		secrets = append(secrets, urlSecrets(b.url)...)
	}
	switch pb.Type {
	case "webhook":
		if b.secret, err = readSecret("secret", pb.SecretEnv, pb.SecretFile); err != nil {
			return nil, err
		}
		secrets = append(secrets, b.secret)
		for k, v := range pb.Headers {
			b.headers.Set(k, v)
		}
		for k, env := range pb.HeadersEnv {
			v := os.Getenv(env)
			b.headers.Set(k, v)
			secrets = append(secrets, v)
		}
	case "email":
		if pb.SMTP.Username != "" {
			if b.password, err = readSecret("smtp.password", pb.SMTP.PasswordEnv, pb.SMTP.PasswordFile); err != nil {
				return nil, err
			}
			secrets = append(secrets, b.password)
		}
	}
	b.redact = redactor(secrets)
	return b, nil
}

// Handle runs the rules whose trigger and conditions match the event, in
// order. Each rule's changes go through the Updater before any playbook
// it runs and are seen by later rules. Playbook deliveries are stored
// before Handle returns. A failed change is reported in the returned error
// and undone in the incident later rules see; the other rules still run.
func (e *Engine) Handle(ctx context.Context, ev Event) error {
	if e.closed.Load() {
		return ErrClosed
	}
	var trigger string
	switch ev.Kind {
	case EventCreated:
		trigger = TriggerCreated
	case EventUpdated:
		trigger = TriggerUpdated
	default:
		return fmt.Errorf("incident %s: unknown event kind %q (want %q or %q)", ev.Incident.ID, ev.Kind, EventCreated, EventUpdated)
	}
	inc := ev.Incident.clone()
	var queued []queuedDelivery
	var errs []error
	for _, r := range e.rules {
		if !r.fires(ev.Kind) || !r.matches(&inc) {
			continue
		}
		e.m.matched.WithLabelValues(r.Name).Inc()
		e.log.Debug("automation rule matched", "rule", r.Name, "incident", inc.ID, "event", trigger)
		before := inc.clone()
		var ch Change
		flush := func() {
			if ch.Empty() {
				return
			}
			if err := e.up.Apply(ctx, inc.ID, ch, ByPrefix+r.Name); err != nil {
				errs = append(errs, fmt.Errorf("automation rule %q cannot change incident %s: %w", r.Name, inc.ID, err))
				e.log.Error("automation rule change failed", "rule", r.Name, "incident", inc.ID, "err", err)
				inc = before.clone()
			}
			ch = Change{}
			before = inc.clone()
		}
		for _, a := range r.Actions {
			if a.RunPlaybook == "" {
				a.step(&inc, &ch)
				continue
			}
			flush()
			d, err := e.newDelivery(a.RunPlaybook, r.Name, trigger, ev.Changed, inc)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			queued = append(queued, d)
		}
		flush()
	}
	if len(queued) > 0 {
		if err := e.enqueue(ctx, queued); err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, d := range queued {
			e.log.Info("playbook delivery queued", "playbook", d.playbook, "delivery", d.id, "incident", d.incident, "rule", d.rule)
		}
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

type queuedDelivery struct {
	id, playbook, typ, rule, incident, event string
	payload                                  []byte
}

func (e *Engine) newDelivery(playbook, rule, event string, changed []string, inc Incident) (queuedDelivery, error) {
	b := e.books[playbook]
	p := Payload{
		DeliveryID:     uuid.NewString(),
		Playbook:       playbook,
		AutomationRule: rule,
		Event:          event,
		Changed:        changed,
		IncidentURL:    e.cfg.incidentURL(inc),
		EnqueuedAt:     e.now().UTC(),
		Incident:       inc.jsonReady(),
	}
	body, err := json.Marshal(p)
	if err != nil {
		return queuedDelivery{}, fmt.Errorf("cannot encode incident %s for playbook %q: %w", inc.ID, playbook, err)
	}
	return queuedDelivery{id: p.DeliveryID, playbook: playbook, typ: b.Type, rule: rule, incident: inc.ID, event: event, payload: body}, nil
}

func (c Config) incidentURL(inc Incident) string {
	if c.IncidentURL == "" {
		return ""
	}
	return strings.NewReplacer("{id}", url.PathEscape(inc.ID), "{number}", fmt.Sprint(inc.Number)).Replace(c.IncidentURL)
}

func (e *Engine) enqueue(ctx context.Context, ds []queuedDelivery) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	now := e.now().UTC()
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot queue playbook deliveries: %w", err)
	}
	defer tx.Rollback()
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO AutomationDelivery (DeliveryId, Playbook, PlaybookType, AutomationRule,
			IncidentId, EventKind, Payload, State, Attempts, AttemptBase, NextAttempt, CreatedAt, UpdatedAt)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)`,
			d.id, d.playbook, d.typ, d.rule, d.incident, d.event, string(d.payload), now, now, now); err != nil {
			return fmt.Errorf("cannot queue playbook %q for incident %s: %w", d.playbook, d.incident, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot queue playbook deliveries: %w", err)
	}
	for _, d := range ds {
		e.m.pending.WithLabelValues(d.playbook).Inc()
	}
	return nil
}

// delivery is a queued row being sent.
type delivery struct {
	id, playbook, incident, event string
	payload                       []byte
	attempts, base                int
}

// result is the outcome of one attempt.
type result struct {
	ok         bool
	retry      bool          // the failure may pass: try again later
	code       int           // HTTP status, SMTP reply code or exit status; 0 when none
	reason     string        // why it failed, secrets removed
	retryAfter time.Duration // the receiver's Retry-After
}

const batchSize = 256

// Deliver sends every delivery that is due, once each, and records the
// outcomes; it returns how many were delivered. An error means the queue
// could not be read or written; failed sends are recorded, not returned.
func (e *Engine) Deliver(ctx context.Context) (int, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	e.active.Add(1)
	defer e.active.Done()
	delivered := 0
	seen := map[string]bool{}
	for {
		due, err := e.due(ctx, seen)
		if err != nil {
			return delivered, err
		}
		if len(due) == 0 {
			return delivered, nil
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			sem  = make(chan struct{}, e.cfg.Delivery.Concurrency)
		)
		for _, d := range due {
			seen[d.id] = true
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				defer e.release(d.id)
				ok, err := e.attempt(ctx, d)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					delivered++
				}
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return delivered, err
		}
		if ctx.Err() != nil {
			return delivered, ctx.Err()
		}
		if len(due) < batchSize {
			return delivered, nil
		}
	}
}

// due claims up to batchSize due deliveries not sent in this pass nor by
// another Deliver now.
func (e *Engine) due(ctx context.Context, seen map[string]bool) ([]delivery, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT DeliveryId, Playbook, IncidentId, EventKind, Payload, Attempts, AttemptBase
		FROM AutomationDelivery WHERE State = 'pending' AND NextAttempt <= ?
		ORDER BY NextAttempt, CreatedAt LIMIT ?`, e.now().UTC(), batchSize+len(seen))
	if err != nil {
		return nil, fmt.Errorf("cannot read the playbook delivery queue: %w", err)
	}
	defer rows.Close()
	var out []delivery
	e.flightMu.Lock()
	defer e.flightMu.Unlock()
	for rows.Next() {
		var d delivery
		var payload string
		if err := rows.Scan(&d.id, &d.playbook, &d.incident, &d.event, &payload, &d.attempts, &d.base); err != nil {
			return nil, fmt.Errorf("cannot read the playbook delivery queue: %w", err)
		}
		if seen[d.id] || e.inFlight[d.id] || len(out) == batchSize {
			continue
		}
		d.payload = []byte(payload)
		e.inFlight[d.id] = true
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		for _, d := range out {
			delete(e.inFlight, d.id)
		}
		return nil, fmt.Errorf("cannot read the playbook delivery queue: %w", err)
	}
	return out, nil
}

func (e *Engine) release(id string) {
	e.flightMu.Lock()
	delete(e.inFlight, id)
	e.flightMu.Unlock()
}

// attempt sends one delivery and records the outcome.
func (e *Engine) attempt(ctx context.Context, d delivery) (bool, error) {
	started := e.now().UTC()
	b, ok := e.books[d.playbook]
	var res result
	if !ok {
		res = result{reason: fmt.Sprintf("playbook %q is no longer configured", d.playbook)}
	} else {
		sctx, cancel := context.WithTimeout(ctx, b.timeout())
		res = e.send(sctx, b, d)
		cancel()
		res.reason = b.redact.Replace(res.reason)
	}
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut short, not answered. The row
		// stays pending with its count and is sent again after a restart.
		return false, nil
	}
	finished := e.now().UTC()
	attempt := d.attempts + 1
	outcome := StateDelivered
	next := finished
	switch {
	case res.ok:
	case res.retry && attempt-d.base < e.retry.MaxAttempts:
		outcome = OutcomeRetry
		wait := e.backoff(attempt - d.base)
		if res.retryAfter > 0 {
			wait = min(res.retryAfter, maxRetryAfter)
		}
		next = finished.Add(wait)
	default:
		outcome = StateFailed
		if res.retry {
			res.reason = fmt.Sprintf("gave up after %d attempts: %s", attempt-d.base, res.reason)
		}
	}
	if err := e.record(ctx, d, attempt, outcome, res, started, finished, next); err != nil {
		return false, err
	}
	log := e.log.With("playbook", d.playbook, "delivery", d.id, "incident", d.incident, "attempt", attempt)
	switch outcome {
	case StateDelivered:
		log.Info("playbook delivered")
		e.m.deliveries.WithLabelValues(d.playbook, StateDelivered).Inc()
		e.m.attempts.WithLabelValues(d.playbook, "success").Inc()
		e.m.pending.WithLabelValues(d.playbook).Dec()
	case OutcomeRetry:
		log.Warn("playbook delivery failed; will retry", "code", res.code, "reason", res.reason, "next_attempt", next)
		e.m.attempts.WithLabelValues(d.playbook, OutcomeRetry).Inc()
	default:
		log.Error("playbook delivery failed", "code", res.code, "reason", res.reason)
		e.m.deliveries.WithLabelValues(d.playbook, StateFailed).Inc()
		e.m.attempts.WithLabelValues(d.playbook, "failure").Inc()
		e.m.pending.WithLabelValues(d.playbook).Dec()
	}
	return outcome == StateDelivered, nil
}

// maxRetryAfter caps a receiver's Retry-After.
const maxRetryAfter = 6 * time.Hour

// backoff is the wait after the n-th failed attempt: base doubled n-1
// times, capped, then drawn from its upper half so retries spread out.
func (e *Engine) backoff(n int) time.Duration {
	d := e.retry.BaseBackoff
	for i := 1; i < n && d < e.retry.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.retry.MaxBackoff)
	return d/2 + time.Duration(e.jitter()*float64(d/2))
}

func (e *Engine) record(ctx context.Context, d delivery, attempt int, outcome string, res result, started, finished, next time.Time) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	// The outcome is written even while ctx ends: the send happened.
	ctx = context.WithoutCancel(ctx)
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot record delivery %s: %w", d.id, err)
	}
	defer tx.Rollback()
	state := outcome
	if outcome == OutcomeRetry {
		state = StatePending
	}
	var code, reason any
	if res.code != 0 {
		code = res.code
	}
	if !res.ok {
		reason = res.reason
	}
	var deliveredAt any
	if res.ok {
		deliveredAt = finished
	}
	if _, err := tx.ExecContext(ctx, `UPDATE AutomationDelivery SET State = ?, Attempts = ?, NextAttempt = ?,
		LastError = ?, LastCode = ?, UpdatedAt = ?, DeliveredAt = ? WHERE DeliveryId = ?`,
		state, attempt, next, reason, code, finished, deliveredAt, d.id); err != nil {
		return fmt.Errorf("cannot record delivery %s: %w", d.id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO AutomationDeliveryAttempt
		(DeliveryId, Attempt, Playbook, StartedAt, DurationMs, Outcome, Code, Error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.id, attempt, d.playbook, started, finished.Sub(started).Milliseconds(), outcome, code, reason); err != nil {
		return fmt.Errorf("cannot record delivery %s: %w", d.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot record delivery %s: %w", d.id, err)
	}
	return nil
}

// send dispatches on the playbook type.
func (e *Engine) send(ctx context.Context, b *book, d delivery) result {
	switch b.Type {
	case "webhook":
		return e.sendWebhook(ctx, b, d)
	case "teams":
		return e.sendTeams(ctx, b, d)
	case "slack":
		return e.sendSlack(ctx, b, d)
	case "email":
		return e.sendEmail(ctx, b, d)
	case "command":
		return e.runCommand(ctx, b, d)
	}
	return result{reason: fmt.Sprintf("playbook type %q is unknown", b.Type)}
}

// idleWait bounds Run's sleep, so a changed clock or a row queued by
// another engine is noticed.
const idleWait = time.Minute

// Run delivers until ctx ends: a pass, then a wait until the next delivery
// is due or Handle queues one. It returns nil when ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	for {
		wait := idleWait
		if _, err := e.Deliver(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil
			}
			e.log.Error("playbook delivery pass failed", "err", err)
			wait = e.retry.BaseBackoff
		} else if next, ok, err := e.nextDue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.Error("automation delivery queue unreadable", "err", err)
			wait = e.retry.BaseBackoff
		} else if ok {
			wait = min(max(next.Sub(e.now()), time.Millisecond), idleWait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// nextDue is the earliest NextAttempt of a pending delivery.
func (e *Engine) nextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullTime
	if err := e.db.QueryRowContext(ctx, `SELECT min(NextAttempt) FROM AutomationDelivery WHERE State = 'pending'`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("cannot read the playbook delivery queue: %w", err)
	}
	return next.Time, next.Valid, nil
}

// refreshPending sets the pending gauge from the table (deliveries queued
// by an earlier process).
func (e *Engine) refreshPending(ctx context.Context) error {
	rows, err := e.db.QueryContext(ctx, `SELECT Playbook, count(*) FROM AutomationDelivery WHERE State = 'pending' GROUP BY Playbook`)
	if err != nil {
		return err
	}
	defer rows.Close()
	e.m.pending.Reset()
	for rows.Next() {
		var pb string
		var n int
		if err := rows.Scan(&pb, &n); err != nil {
			return err
		}
		e.m.pending.WithLabelValues(pb).Set(float64(n))
	}
	return rows.Err()
}

// Close stops Handle and Deliver and waits for deliveries being sent.
// Pending deliveries stay queued for the next engine.
func (e *Engine) Close() error {
	e.closed.Store(true)
	e.active.Wait()
	return nil
}

// Requeue puts failed deliveries back in the queue, due now, with a fresh
// retry budget; no ids means every failed delivery. It returns how many.
func (e *Engine) Requeue(ctx context.Context, ids ...string) (int, error) {
	e.writeMu.Lock()
	q := `UPDATE AutomationDelivery SET State = 'pending', AttemptBase = Attempts, NextAttempt = ?, UpdatedAt = ? WHERE State = 'failed'`
	now := e.now().UTC()
	args := []any{now, now}
	if len(ids) > 0 {
		q += ` AND DeliveryId IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	res, err := e.db.ExecContext(ctx, q, args...)
	e.writeMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("cannot requeue deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		_ = e.refreshPending(ctx)
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return int(n), nil
}

// DeliveryRow is one row of the delivery queue.
type DeliveryRow struct {
	ID, Playbook, PlaybookType, AutomationRule, IncidentID, Event, State string
	Attempts                                                             int
	NextAttempt, Created, Updated, Delivered                             time.Time
	LastError                                                            string
	LastCode                                                             int
}

// ListDeliveries returns deliveries, newest first, in one state ("" for
// all), at most limit (0: 100).
func ListDeliveries(ctx context.Context, db *sql.DB, state string, limit int) ([]DeliveryRow, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.QueryContext(ctx, `SELECT DeliveryId, Playbook, PlaybookType, AutomationRule, IncidentId, EventKind, State,
		Attempts, NextAttempt, CreatedAt, UpdatedAt, DeliveredAt, coalesce(LastError, ''), coalesce(LastCode, 0)
		FROM AutomationDelivery WHERE ? = '' OR State = ? ORDER BY CreatedAt DESC, DeliveryId LIMIT ?`, state, state, limit)
	if err != nil {
		return nil, fmt.Errorf("cannot list deliveries: %w", err)
	}
	defer rows.Close()
	var out []DeliveryRow
	for rows.Next() {
		var r DeliveryRow
		var delivered sql.NullTime
		if err := rows.Scan(&r.ID, &r.Playbook, &r.PlaybookType, &r.AutomationRule, &r.IncidentID, &r.Event, &r.State,
			&r.Attempts, &r.NextAttempt, &r.Created, &r.Updated, &delivered, &r.LastError, &r.LastCode); err != nil {
			return nil, fmt.Errorf("cannot list deliveries: %w", err)
		}
		r.Delivered = delivered.Time
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list deliveries: %w", err)
	}
	return out, nil
}
