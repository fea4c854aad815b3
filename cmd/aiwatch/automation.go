package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/automate"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { serveHooks = append(serveHooks, startAutomation) }

// automation connects incidents to automation rules and playbooks.
type automation struct {
	eng       *automate.Engine
	desk      *detect.Desk
	ruleNames map[string]string
}

// newAutomation is nil when the config has no automation rules.
func newAutomation(st *store.Store, cfg config.Config, rs []*rules.Rule, reg prometheus.Registerer) (*automation, error) {
	if len(cfg.Automation.Rules) == 0 {
		return nil, nil
	}
	a := &automation{desk: detect.NewDesk(st, nil), ruleNames: map[string]string{}}
	for _, r := range rs {
		a.ruleNames[r.ID] = r.Name
	}
	eng, err := automate.New(cfg.Automation, st.DB(), a, automate.Options{Registerer: reg})
	if err != nil {
		return nil, err
	}
	a.eng = eng
	return a, nil
}

// Apply is automation's change to an incident; the desk logs it as made
// by automation, so it triggers no automation again.
func (a *automation) Apply(ctx context.Context, id string, ch automate.Change, by string) error {
	_, err := a.desk.UpdateIncident(ctx, id, detect.Update{Owner: ch.Owner, Status: ch.Status, Severity: ch.Severity, AddTags: ch.AddTags}, by)
	return err
}

// dispatch hands incident events not yet handled to the automation rules,
// which queue their playbooks.
func (a *automation) dispatch(ctx context.Context) (int, error) {
	return a.desk.Dispatch(ctx, func(ctx context.Context, ev detect.Event, inc detect.Incident) error {
		return a.eng.Handle(ctx, automate.Event{Kind: ev.Kind, Incident: a.view(inc), Changed: ev.Changed})
	})
}

func (a *automation) view(inc detect.Incident) automate.Incident {
	v := automate.Incident{ID: inc.ID, Number: inc.Number, Title: inc.Title, Description: inc.Description, Severity: inc.Severity,
		Status: inc.Status, Classification: inc.Classification, Owner: inc.Owner, Tags: inc.Tags, Tactics: inc.Tactics,
		Techniques: inc.Techniques, RuleIDs: inc.RuleIDs, AlertIDs: inc.AlertIDs, FirstActivity: inc.FirstActivity,
		LastActivity: inc.LastActivity, Created: inc.Created, LastModified: inc.LastModified}
	for _, id := range inc.RuleIDs {
		v.RuleNames = append(v.RuleNames, a.ruleNames[id])
	}
	for _, e := range inc.Entities {
		v.Entities = append(v.Entities, automate.Entity{Type: e.Type, Fields: e.Fields})
	}
	return v
}

// startAutomation, under serve: hands incident events to automation every
// second and delivers playbooks until serve stops.
func startAutomation(ctx context.Context, st *store.Store, cfg *config.Config, reg prometheus.Registerer) (func(), error) {
	rs, err := serveRules(*cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAutomation(st, *cfg, rs, reg)
	if err != nil || a == nil {
		return func() {}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() {
		a.eng.Run(ctx)
		done <- struct{}{}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if n, err := a.dispatch(ctx); err != nil && ctx.Err() == nil {
				slog.Error("automation failed; it will be tried again", "err", err)
			} else if n > 0 {
				slog.Info("automation ran", "incident_events", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	slog.Info("automation started", "rules", len(cfg.Automation.Rules), "playbooks", len(cfg.Automation.Playbooks))
	return func() {
		cancel()
		<-done
		<-done
		a.eng.Close()
	}, nil
}
