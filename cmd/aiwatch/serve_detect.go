package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/server"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() {
	serveHooks = append(serveHooks, startScheduler)
	serveDetections = func(st *store.Store, cfg *config.Config) server.Detections {
		rs, _ := serveRules(*cfg)
		return &detections{desk: detect.NewDesk(st, nil), rules: rs}
	}
}

// The rules are loaded once per serve process, for the scheduler and the
// API alike.
var serveRuleSet struct {
	once sync.Once
	rs   []*rules.Rule
	err  error
}

func serveRules(cfg config.Config) ([]*rules.Rule, error) {
	serveRuleSet.once.Do(func() {
		var bad int
		serveRuleSet.rs, bad, serveRuleSet.err = loadRuleSet(cfg, nil, os.Stderr)
		if serveRuleSet.err == nil && bad > 0 {
			slog.Warn("rule files with errors were left out", "files", bad)
		}
	})
	return serveRuleSet.rs, serveRuleSet.err
}

// startScheduler runs a scheduler pass every detection.interval, and
// once at start, until serve stops.
func startScheduler(ctx context.Context, st *store.Store, cfg *config.Config, reg prometheus.Registerer) (func(), error) {
	rs, err := serveRules(*cfg)
	if err != nil {
		return nil, err
	}
	eng, err := detect.New(st, rs, detect.Options{Horizon: cfg.Detection.Horizon.D(), Labels: labelsOf(*cfg),
		Registerer: reg})
	if err != nil {
		return nil, err
	}
	slog.Info("detection scheduler started", "rules", len(eng.Rules()), "interval", cfg.Detection.Interval.D())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cfg.Detection.Interval.D())
		defer t.Stop()
		for {
			sum, err := eng.RunOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				slog.Error("scheduler pass had failures", "rules_failed", sum.Errors, "err", err)
			}
			if sum.Windows > 0 {
				slog.Info("scheduler pass", "windows", sum.Windows, "late_windows", sum.LateWindows, "alerts", sum.Alerts,
					"incidents", sum.Incidents, "suppressed", sum.Suppressed)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// detections serves the API's rules, alerts and incidents.
type detections struct {
	desk  *detect.Desk
	rules []*rules.Rule
}

type ruleInfo struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Severity         string   `json:"severity"`
	Kind             string   `json:"kind"`
	QueryFrequency   string   `json:"queryFrequency"`
	QueryPeriod      string   `json:"queryPeriod"`
	Tactics          []string `json:"tactics"`
	Techniques       []string `json:"relevantTechniques"`
	AtlasTechniques  []string `json:"atlasTechniques"`
	Enabled          bool     `json:"enabled"`
	File             string   `json:"file"`
	TriggerOperator  string   `json:"triggerOperator"`
	TriggerThreshold int      `json:"triggerThreshold"`
}

func (d *detections) Rules(ctx context.Context) (any, error) {
	out := []ruleInfo{}
	for _, r := range d.rules {
		out = append(out, ruleInfo{ID: r.ID, Name: r.Name, Severity: r.Severity, Kind: r.Kind,
			QueryFrequency: rules.FormatDuration(r.QueryFrequency), QueryPeriod: rules.FormatDuration(r.QueryPeriod),
			Tactics: nonNilSlice(r.Tactics), Techniques: nonNilSlice(r.RelevantTechniques), AtlasTechniques: nonNilSlice(r.AtlasTechniques),
			Enabled: r.Enabled, File: r.File, TriggerOperator: r.TriggerOperator, TriggerThreshold: r.TriggerThreshold})
	}
	return out, nil
}

func (d *detections) Alerts(ctx context.Context, f server.AlertFilter) (any, error) {
	as, err := d.desk.Alerts(ctx, detect.AlertFilter{Since: f.Since, Severity: f.Severity, RuleID: f.Rule, Limit: f.Limit})
	return nonNilSlice(as), err
}

func (d *detections) Incidents(ctx context.Context, f server.IncidentFilter) (any, error) {
	incs, err := d.desk.Incidents(ctx, detect.IncidentFilter{Status: f.Status, Severity: f.Severity, Limit: f.Limit})
	return nonNilSlice(incs), err
}

func (d *detections) Incident(ctx context.Context, id string) (any, error) {
	inc, alerts, err := d.desk.Incident(ctx, id)
	if err != nil {
		return nil, apiError(err)
	}
	return map[string]any{"incident": inc, "alerts": nonNilSlice(alerts)}, nil
}

func (d *detections) UpdateIncident(ctx context.Context, id string, u server.IncidentUpdate, by string) (any, error) {
	inc, err := d.desk.UpdateIncident(ctx, id, u, by)
	if err != nil {
		return nil, apiError(err)
	}
	return inc, nil
}

// apiError maps the desk's errors to the API's (404, 400).
func apiError(err error) error {
	var ue *detect.UpdateError
	switch {
	case errors.Is(err, detect.ErrNotFound):
		return notFound{err}
	case errors.As(err, &ue):
		return server.Invalid("%s", ue.Msg)
	}
	return err
}

// notFound answers 404 with the desk's message alone: errors.Join would put
// server.ErrNotFound's text and a line break before it.
type notFound struct{ err error }

func (e notFound) Error() string   { return e.err.Error() }
func (e notFound) Unwrap() []error { return []error{server.ErrNotFound, e.err} }
