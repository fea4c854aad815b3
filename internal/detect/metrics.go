package detect

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aiwatch/aiwatch/internal/rules"
)

type metrics struct {
	runs     *prometheus.CounterVec
	errors   *prometheus.CounterVec
	windows  *prometheus.CounterVec
	alerts   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aiwatch_rule_runs_total", Help: "Scheduler passes per rule."}, []string{"rule"}),
		errors:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aiwatch_rule_errors_total", Help: "Failed passes per rule."}, []string{"rule"}),
		windows:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aiwatch_rule_windows_total", Help: "Windows evaluated per rule; late: evaluated again for late records."}, []string{"rule", "kind"}),
		alerts:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aiwatch_alerts_total", Help: "Alerts per rule and outcome (raised, suppressed, duplicate)."}, []string{"rule", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aiwatch_rule_run_seconds", Help: "Duration of a rule's pass.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)}, []string{"rule"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.runs, m.errors, m.windows, m.alerts, m.duration} {
			_ = reg.Register(c)
		}
	}
	return m
}

func (m *metrics) observe(r *rules.Rule, s Summary, err error, d time.Duration) {
	name := r.Name
	m.runs.WithLabelValues(name).Inc()
	if err != nil {
		m.errors.WithLabelValues(name).Inc()
	}
	m.windows.WithLabelValues(name, "new").Add(float64(s.Windows - s.LateWindows))
	m.windows.WithLabelValues(name, "late").Add(float64(s.LateWindows))
	m.alerts.WithLabelValues(name, "raised").Add(float64(s.Alerts))
	m.alerts.WithLabelValues(name, "suppressed").Add(float64(s.Suppressed))
	m.alerts.WithLabelValues(name, "duplicate").Add(float64(s.Duplicates))
	m.duration.WithLabelValues(name).Observe(d.Seconds())
}
