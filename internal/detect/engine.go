// Package detect runs analytic rules over CopilotActivity, raises alerts
// and groups them into incidents.
//
// Scheduling is by event time, not by arrival. Each rule's windows lie on a
// grid of its queryFrequency: the run for window end E sees the records
// with TimeGenerated in [E-queryPeriod, E), and now() is E. A window is
// evaluated once its end has passed. Audit records arrive hours or days
// late, so every pass also finds the records ingested since the previous
// pass whose event time falls in windows already evaluated (within the
// horizon) and evaluates those windows again, as if the records had been
// there on time. Alerts remember the records (or, for results without
// records, the entities within the window) they cover, so evaluating a
// window again never raises an alert twice. What a pass has done is
// committed window by window with the alerts it raised: a restart resumes
// where it stopped and skips no window.
//
// A window is evaluated when records lie in its newest step (the last
// queryFrequency of its period): a window whose newest step is empty holds
// a subset of the records of an earlier window, so it can only repeat that
// window's results or lose some. Rules that fire on absence (no records, or
// records leaving the period) are therefore not supported.
package detect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/store"
)

// DefaultHorizon is how far back in event time late records are still
// evaluated: the Management API keeps content for 7 days.
const DefaultHorizon = 7 * 24 * time.Hour

// Label names and ranks a sensitivity label id for rules (the
// SensitivityLabel table).
type Label struct {
	ID, Name string
	Rank     int
}

// Options tune the engine.
type Options struct {
	Horizon            time.Duration // default DefaultHorizon
	Now                func() time.Time
	Logger             *slog.Logger
	Labels             []Label
	MaxAlertsPerWindow int // AlertPerResult: at most this many alerts per window, the rest merged into the last (Sentinel: 150)
	Parallel           int // rules evaluated at once; default 1, which costs the least CPU
	Registerer         prometheus.Registerer
}

// Engine evaluates rules over a store.
type Engine struct {
	st    *store.Store
	rules []*rules.Rule
	cat   *kql.Catalog
	opts  Options
	log   *slog.Logger
	m     *metrics

	mu sync.Mutex // one pass at a time; incidents are numbered under it

	afterWindow func() // tests: called after each window commits
}

// New prepares an engine for the enabled rules among rs.
func New(st *store.Store, rs []*rules.Rule, opts Options) (*Engine, error) {
	if opts.Horizon <= 0 {
		opts.Horizon = DefaultHorizon
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxAlertsPerWindow <= 0 {
		opts.MaxAlertsPerWindow = 150
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 1
	}
	cat, err := Catalog(opts.Labels)
	if err != nil {
		return nil, err
	}
	e := &Engine{st: st, cat: cat, opts: opts, log: opts.Logger, m: newMetrics(opts.Registerer)}
	seen := map[string]bool{}
	for _, r := range rs {
		if r == nil || !r.Enabled {
			continue
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rule id %s is used twice (%s)", r.ID, r.File)
		}
		seen[r.ID] = true
		if r.QueryFrequency <= 0 || r.QueryPeriod <= 0 {
			return nil, fmt.Errorf("rule %s (%s) has no queryFrequency or queryPeriod", r.ID, r.Name)
		}
		e.rules = append(e.rules, r)
	}
	return e, nil
}

// Catalog is the KQL catalogue rules compile against: the store's tables,
// with SensitivityLabel holding the configured labels.
func Catalog(labels []Label) (*kql.Catalog, error) {
	cat := kql.DefaultCatalog()
	if len(labels) == 0 {
		return cat, nil
	}
	var vals []string
	for _, l := range labels {
		vals = append(vals, fmt.Sprintf("(%s, %s, %d)", sqlString(l.ID), sqlString(l.Name), l.Rank))
	}
	return cat.Scoped("SensitivityLabel", "SELECT * FROM (VALUES "+strings.Join(vals, ", ")+`) AS t(LabelId, LabelName, "Rank")`)
}

// Rules are the enabled rules the engine runs.
func (e *Engine) Rules() []*rules.Rule { return e.rules }

// Summary counts what a pass did.
type Summary struct {
	Rules       int `json:"rules"`
	Windows     int `json:"windows"`       // windows evaluated, late ones included
	LateWindows int `json:"lateWindows"`   // windows evaluated again for late records
	Alerts      int `json:"alerts"`        // alerts raised
	Duplicates  int `json:"duplicates"`    // results already covered by an alert
	Suppressed  int `json:"suppressed"`    // alerts suppressed by the rule's suppression
	Incidents   int `json:"incidents"`     // incidents created
	Grouped     int `json:"grouped"`       // alerts added to an existing incident
	BeyondHoriz int `json:"beyondHorizon"` // late records older than the horizon, not evaluated
	Errors      int `json:"errors"`        // rules whose pass failed

	PerRule []RuleStat `json:"perRule,omitempty"`
}

// RuleStat is one rule's part of a pass.
type RuleStat struct {
	Rule    string  `json:"rule"`
	Windows int     `json:"windows"`
	Alerts  int     `json:"alerts"`
	Seconds float64 `json:"seconds"`
}

func (s *Summary) add(o Summary) {
	s.Windows += o.Windows
	s.LateWindows += o.LateWindows
	s.Alerts += o.Alerts
	s.Duplicates += o.Duplicates
	s.Suppressed += o.Suppressed
	s.Incidents += o.Incidents
	s.Grouped += o.Grouped
	// Every rule counts the same late records: report them once.
	s.BeyondHoriz = max(s.BeyondHoriz, o.BeyondHoriz)
}

// RunOnce evaluates every rule over every window due and every window
// with late records, then returns. One rule's failure is logged, recorded
// in RuleState and counted; the other rules still run.
func (e *Engine) RunOnce(ctx context.Context) (Summary, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now().UTC()
	wm := e.st.Watermark()
	if wm.After(now) {
		wm = now
	}
	// Rules may run side by side (Options.Parallel), each query on its own
	// connection: less wall time, somewhat more CPU.
	type result struct {
		sum Summary
		err error
		d   time.Duration
	}
	results := make([]result, len(e.rules))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < e.opts.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				start := time.Now()
				rs, err := e.runRule(ctx, e.rules[i], now, wm)
				results[i] = result{rs, err, time.Since(start)}
				e.m.observe(e.rules[i], rs, err, results[i].d)
			}
		}()
	}
	for i := range e.rules {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var sum Summary
	var errs []error
	for i, r := range e.rules {
		res := results[i]
		if res.d == 0 && res.err == nil && ctx.Err() != nil {
			continue // not started
		}
		sum.Rules++
		sum.add(res.sum)
		sum.PerRule = append(sum.PerRule, RuleStat{Rule: r.Name, Windows: res.sum.Windows, Alerts: res.sum.Alerts, Seconds: res.d.Seconds()})
		if res.err != nil {
			if ctx.Err() != nil {
				continue
			}
			sum.Errors++
			errs = append(errs, res.err)
			e.log.Error("rule failed", "rule", r.Name, "rule_id", r.ID, "err", res.err)
			e.saveError(ctx, r, now, res.err)
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, errors.Join(errs...)
}

type ruleState struct {
	lastEnd, watermark sql.NullTime
	windows, alerts    int64
	suppressed         int64
}

func (e *Engine) loadState(ctx context.Context, id string) (ruleState, error) {
	var s ruleState
	err := e.st.DB().QueryRowContext(ctx, `SELECT LastWindowEnd, Watermark, Windows, Alerts, Suppressed FROM RuleState WHERE RuleId = $1`, id).
		Scan(&s.lastEnd, &s.watermark, &s.windows, &s.alerts, &s.suppressed)
	if errors.Is(err, sql.ErrNoRows) {
		return ruleState{}, nil
	}
	return s, err
}

// runRule does one pass of one rule.
func (e *Engine) runRule(ctx context.Context, r *rules.Rule, now, wm time.Time) (Summary, error) {
	var sum Summary
	st, err := e.loadState(ctx, r.ID)
	if err != nil {
		return sum, fmt.Errorf("rule %s: cannot read its state: %w", r.ID, err)
	}
	f, p := r.QueryFrequency, r.QueryPeriod
	gridNow := floorTime(now, f)
	var lateList []time.Time // in order, each once
	if st.lastEnd.Valid && st.watermark.Valid {
		from := now.Add(-e.opts.Horizon)
		lateBuckets, err := e.buckets(ctx, f, `IngestionTime >= $1 AND IngestionTime < $2 AND TimeGenerated < $3 AND TimeGenerated >= $4`,
			st.watermark.Time, wm, st.lastEnd.Time, from)
		if err != nil {
			return sum, fmt.Errorf("rule %s: cannot find late records: %w", r.ID, err)
		}
		if len(lateBuckets) > 0 {
			// The windows whose period holds a late record, among those a
			// pass evaluates: the ones with records in their newest step.
			lo, hi := slices.Min(lateBuckets), slices.Max(lateBuckets)+steps(f, p)
			withRecords, err := e.buckets(ctx, f, `IngestionTime < $1 AND TimeGenerated >= $2 AND TimeGenerated < $3 AND TimeGenerated < $4`,
				wm, bucketTime(lo, f), bucketTime(hi, f), st.lastEnd.Time)
			if err != nil {
				return sum, fmt.Errorf("rule %s: cannot find windows of late records: %w", r.ID, err)
			}
			for _, end := range lateEnds(lateBuckets, withRecords, f, p) {
				if !end.After(st.lastEnd.Time) {
					lateList = append(lateList, end)
				}
			}
		}
		if err := e.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData
			WHERE IngestionTime >= $1 AND IngestionTime < $2 AND TimeGenerated < $3`, st.watermark.Time, wm, from).Scan(&sum.BeyondHoriz); err != nil {
			return sum, fmt.Errorf("rule %s: cannot count late records: %w", r.ID, err)
		}
		if sum.BeyondHoriz > 0 {
			e.log.Warn("late records older than the horizon are not evaluated", "rule", r.Name, "records", sum.BeyondHoriz, "horizon", e.opts.Horizon)
		}
	}
	cond, args := `IngestionTime < $1 AND TimeGenerated < $2`, []any{wm, gridNow}
	if st.lastEnd.Valid {
		cond += ` AND TimeGenerated >= $3`
		args = append(args, st.lastEnd.Time)
	}
	buckets, err := e.buckets(ctx, f, cond, args...)
	if err != nil {
		return sum, fmt.Errorf("rule %s: cannot find windows to evaluate: %w", r.ID, err)
	}
	var fresh []time.Time
	for _, b := range buckets {
		end := bucketTime(b+1, f)
		if end.After(gridNow) || (st.lastEnd.Valid && !end.After(st.lastEnd.Time)) {
			continue
		}
		fresh = append(fresh, end)
	}
	slices.SortFunc(fresh, func(a, b time.Time) int { return a.Compare(b) })
	type job struct {
		end  time.Time
		late bool
	}
	var jobs []job
	for _, end := range lateList {
		jobs = append(jobs, job{end, true})
	}
	for _, end := range fresh {
		jobs = append(jobs, job{end, false})
	}
	// Progress of windows that raised nothing is saved in batches.
	pending := 0
	var advance *time.Time
	flush := func() error {
		if pending == 0 {
			return nil
		}
		if err := saveProgress(context.WithoutCancel(ctx), e.st.DB(), r.ID, advance, now, pending, Summary{}); err != nil {
			return err
		}
		pending, advance = 0, nil
		return nil
	}
	for _, j := range jobs {
		var adv *time.Time
		if !j.late {
			end := j.end
			adv = &end
		}
		ws, err := e.window(ctx, r, j.end.Add(-p), j.end, wm, now, adv, pending)
		sum.Windows++
		if j.late {
			sum.LateWindows++
		}
		switch {
		case errors.Is(err, errNothing):
			pending++
			if adv != nil {
				advance = adv
			}
		case err != nil:
			sum.add(ws)
			if ferr := flush(); ferr != nil {
				err = errors.Join(err, ferr)
			}
			return sum, err
		default:
			sum.add(ws)
			pending, advance = 0, nil
		}
		if pending >= 200 {
			if err := flush(); err != nil {
				return sum, err
			}
		}
		if err := e.windowDone(ctx); err != nil {
			if ferr := flush(); ferr != nil {
				err = errors.Join(err, ferr)
			}
			return sum, err
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	// The pass is complete: later passes look for records ingested from wm on.
	_, err = e.st.DB().ExecContext(ctx, `INSERT INTO RuleState (RuleId, LastWindowEnd, Watermark, LastRun, LastError, Windows, Alerts, Suppressed)
		VALUES ($1, NULL, $2, $3, NULL, 0, 0, 0)
		ON CONFLICT (RuleId) DO UPDATE SET Watermark = excluded.Watermark, LastRun = excluded.LastRun, LastError = NULL`, r.ID, wm, now)
	if err != nil {
		return sum, fmt.Errorf("rule %s: cannot save its state: %w", r.ID, err)
	}
	return sum, nil
}

func (e *Engine) windowDone(ctx context.Context) error {
	if e.afterWindow != nil {
		e.afterWindow()
	}
	return ctx.Err()
}

// buckets lists the distinct queryFrequency buckets of event time among
// the records matching cond.
func (e *Engine) buckets(ctx context.Context, f time.Duration, cond string, args ...any) ([]int64, error) {
	q := fmt.Sprintf(`SELECT DISTINCT CAST(floor(epoch_us(TimeGenerated) / %d) AS BIGINT) FROM CopilotActivityData WHERE %s`, f.Microseconds(), cond)
	rs, err := e.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []int64
	for rs.Next() {
		var b int64
		if err := rs.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rs.Err()
}

// steps is how many queryFrequency steps a queryPeriod spans.
func steps(f, p time.Duration) int64 { return int64((p + f - 1) / f) }

func bucketTime(b int64, f time.Duration) time.Time {
	return time.UnixMicro(b * f.Microseconds()).UTC()
}

// lateEnds lists the windows to evaluate again for records in the late
// buckets: the windows ending after step bucket s (s in withRecords, the
// buckets holding records) whose period reaches back to a late bucket l,
// that is s-n < l <= s for a period of n steps.
func lateEnds(late, withRecords []int64, f, p time.Duration) []time.Time {
	n := steps(f, p)
	set := map[int64]bool{}
	for _, l := range late {
		set[l] = true
	}
	var out []time.Time
	for _, s := range withRecords {
		for l := s - n + 1; l <= s; l++ {
			if set[l] {
				out = append(out, bucketTime(s+1, f))
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func floorTime(t time.Time, f time.Duration) time.Time {
	us := f.Microseconds()
	return time.UnixMicro(t.UnixMicro() / us * us).UTC()
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlTime(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'"
}

func (e *Engine) compile(r *rules.Rule, start, end, wm time.Time) (*kql.Compiled, error) {
	from := fmt.Sprintf("SELECT * FROM CopilotActivity WHERE TimeGenerated >= %s AND TimeGenerated < %s AND IngestionTime < %s",
		sqlTime(start), sqlTime(end), sqlTime(wm))
	cat, err := e.cat.Scoped("CopilotActivity", from)
	if err != nil {
		return nil, err
	}
	comp, err := kql.Compile(r.Query, cat, kql.Options{Now: end})
	if err != nil {
		return nil, fmt.Errorf("rule %s (%s): cannot compile its query: %w", r.ID, r.Name, err)
	}
	return comp, nil
}

// query runs the rule over the window [start, end) as it stood at the
// ingestion watermark.
func (e *Engine) query(ctx context.Context, r *rules.Rule, start, end, wm time.Time) ([]row, error) {
	comp, err := e.compile(r, start, end, wm)
	if err != nil {
		return nil, err
	}
	rs, err := e.st.DB().QueryContext(ctx, comp.SQL)
	if err != nil {
		return nil, fmt.Errorf("rule %s (%s): query failed over %s–%s: %w", r.ID, r.Name, start.Format(time.RFC3339), end.Format(time.RFC3339), brief(err))
	}
	defer rs.Close()
	idx := make(map[string]int, len(comp.Columns))
	for i, c := range comp.Columns {
		idx[c.Name] = i
	}
	var out []row
	for rs.Next() {
		vals := make([]any, len(comp.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("rule %s: cannot read a result row: %w", r.ID, err)
		}
		out = append(out, row{cols: comp.Columns, vals: vals, idx: idx})
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("rule %s (%s): query failed: %w", r.ID, r.Name, err)
	}
	return out, nil
}

// errNothing: the window raised nothing and stored nothing.
var errNothing = errors.New("nothing raised")

// saveProgress records the rule's progress: the last window evaluated
// for the first time (advance, if any) and windows evaluated since the
// last save, with the alerts the summary counts.
func saveProgress(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id string, advance *time.Time, now time.Time, windows int, sum Summary) error {
	lastEnd := any(nil)
	if advance != nil {
		lastEnd = *advance
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO RuleState (RuleId, LastWindowEnd, Watermark, LastRun, LastError, Windows, Alerts, Suppressed)
		VALUES ($1, $2, NULL, $3, NULL, $4, $5, $6)
		ON CONFLICT (RuleId) DO UPDATE SET
			LastWindowEnd = CASE WHEN excluded.LastWindowEnd IS NULL THEN RuleState.LastWindowEnd
				WHEN RuleState.LastWindowEnd IS NULL OR excluded.LastWindowEnd > RuleState.LastWindowEnd THEN excluded.LastWindowEnd
				ELSE RuleState.LastWindowEnd END,
			LastRun = excluded.LastRun, Windows = RuleState.Windows + excluded.Windows,
			Alerts = RuleState.Alerts + excluded.Alerts, Suppressed = RuleState.Suppressed + excluded.Suppressed`,
		id, lastEnd, now, windows, sum.Alerts, sum.Suppressed)
	if err != nil {
		return fmt.Errorf("rule %s: cannot save its progress: %w", id, err)
	}
	return nil
}

// window evaluates one window and, when it raises something, commits its
// alerts, incidents and the rule's progress (pending: windows evaluated
// since the last save, this one excluded) together. A window that raises
// nothing stores nothing and returns errNothing: evaluating it again after
// a crash is harmless.
func (e *Engine) window(ctx context.Context, r *rules.Rule, start, end, wm, now time.Time, advance *time.Time, pending int) (Summary, error) {
	var sum Summary
	rows, err := e.query(ctx, r, start, end, wm)
	if err != nil {
		return sum, err
	}
	if !r.Triggered(len(rows)) || len(rows) == 0 {
		// Nothing to store: the rule's progress is saved with the next
		// window that raises something, or at the end of the pass.
		return sum, errNothing
	}
	conn, err := e.st.DB().Conn(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return sum, err
	}
	defer tx.Rollback()
	raised, sum, err := e.raise(ctx, tx, r, rows, start, end, now)
	if err != nil {
		return sum, fmt.Errorf("rule %s (%s): cannot store alerts for %s–%s: %w", r.ID, r.Name, start.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	for _, a := range raised {
		created, err := e.attachIncident(ctx, tx, r, a, now)
		if err != nil {
			return sum, fmt.Errorf("rule %s (%s): cannot file alert %s in an incident: %w", r.ID, r.Name, a.ID, err)
		}
		if a.IncidentID != "" {
			if created {
				sum.Incidents++
			} else {
				sum.Grouped++
			}
		}
		if err := insertAlert(ctx, tx, r, a); err != nil {
			return sum, fmt.Errorf("rule %s (%s): cannot store alert: %w", r.ID, r.Name, err)
		}
	}
	if err := saveProgress(ctx, tx, r.ID, advance, now, pending+1, sum); err != nil {
		return sum, err
	}
	if err := tx.Commit(); err != nil {
		return sum, fmt.Errorf("rule %s: cannot commit window %s–%s: %w", r.ID, start.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	for _, a := range raised {
		e.log.Info("alert raised", "rule", r.Name, "alert", a.ID, "severity", a.Severity, "incident", a.IncidentID,
			"window_end", end.Format(time.RFC3339), "records", len(a.Records))
	}
	return sum, nil
}

func (e *Engine) saveError(ctx context.Context, r *rules.Rule, now time.Time, err error) {
	msg := err.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	_, _ = e.st.DB().ExecContext(context.WithoutCancel(ctx), `INSERT INTO RuleState (RuleId, LastWindowEnd, Watermark, LastRun, LastError, Windows, Alerts, Suppressed)
		VALUES ($1, NULL, NULL, $2, $3, 0, 0, 0)
		ON CONFLICT (RuleId) DO UPDATE SET LastRun = excluded.LastRun, LastError = excluded.LastError`, r.ID, now, msg)
}

// WindowResult is what one window of a rule returned (aiwatch rules test).
type WindowResult struct {
	Start, End time.Time
	Columns    []kql.Column
	Rows       [][]any
	Triggered  bool
}

// Test evaluates a rule over every window that holds stored records, as
// a first pass of the scheduler would, and stores nothing. The rule need
// not be one of the engine's.
func (e *Engine) Test(ctx context.Context, r *rules.Rule) ([]WindowResult, error) {
	if r.QueryFrequency <= 0 || r.QueryPeriod <= 0 {
		return nil, fmt.Errorf("rule %s has no queryFrequency or queryPeriod", r.Name)
	}
	now := e.opts.Now().UTC()
	wm := e.st.Watermark()
	buckets, err := e.buckets(ctx, r.QueryFrequency, `IngestionTime < $1`, wm)
	if err != nil {
		return nil, err
	}
	var out []WindowResult
	slices.Sort(buckets)
	for _, b := range buckets {
		end := bucketTime(b+1, r.QueryFrequency)
		if end.After(floorTime(now, r.QueryFrequency)) {
			continue
		}
		start := end.Add(-r.QueryPeriod)
		rows, err := e.query(ctx, r, start, end, wm)
		if err != nil {
			return out, err
		}
		if len(rows) == 0 {
			continue
		}
		w := WindowResult{Start: start, End: end, Columns: rows[0].cols, Triggered: r.Triggered(len(rows))}
		for _, rw := range rows {
			w.Rows = append(w.Rows, rw.vals)
		}
		out = append(out, w)
	}
	return out, nil
}

// brief keeps the first line of a DuckDB error: the rest is generic advice.
func brief(err error) error {
	msg := err.Error()
	i := strings.IndexByte(msg, '\n')
	if i < 0 {
		return err
	}
	msg = strings.TrimSpace(msg[:i])
	if strings.Contains(msg, "Out of Memory") {
		msg += " (raise AIWATCH_MEMORY_LIMIT)"
	}
	return errors.New(msg)
}
