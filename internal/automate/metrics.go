package automate

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are automation's Prometheus series.
type metrics struct {
	deliveries *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	pending    *prometheus.GaugeVec
	matched    *prometheus.CounterVec
}

// newMetrics creates the series and registers them on reg when it is not
// nil. A second engine on the same registry (a restart in one process)
// shares the first one's series.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiwatch_automation_deliveries_total",
			Help: "Playbook deliveries finished, by playbook and outcome (delivered, failed).",
		}, []string{"playbook", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiwatch_automation_delivery_attempts_total",
			Help: "Playbook delivery attempts, by playbook and result (success, retry, failure).",
		}, []string{"playbook", "result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aiwatch_automation_deliveries_pending",
			Help: "Playbook deliveries queued and not yet delivered or failed.",
		}, []string{"playbook"}),
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiwatch_automation_rule_matches_total",
			Help: "Incident events an automation rule matched, by rule.",
		}, []string{"rule"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.deliveries, err = register(reg, m.deliveries)
	if err != nil {
		return nil, err
	}
	if m.attempts, err = register(reg, m.attempts); err != nil {
		return nil, err
	}
	if m.pending, err = register(reg, m.pending); err != nil {
		return nil, err
	}
	if m.matched, err = register(reg, m.matched); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old, nil
			}
		}
		return c, fmt.Errorf("cannot register automation metrics: %w", err)
	}
	return c, nil
}
