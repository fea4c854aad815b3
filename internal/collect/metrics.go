package collect

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collector's Prometheus series, registered on the
// registry given to NewMetrics (the command uses its own registry, not the
// global one).
type Metrics struct {
	blobs       *prometheus.CounterVec
	read        *prometheus.CounterVec
	stored      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	gaps        *prometheus.CounterVec
	errors      *prometheus.CounterVec
	polls       *prometheus.CounterVec
	retries     *prometheus.CounterVec
	requests    *prometheus.CounterVec

	report atomic.Pointer[func() Report]
}

// NewMetrics creates and registers the collector's series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	tc := []string{"tenant", "content_type"}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		blobs:       counter("aiwatch_collector_blobs_total", "Content blobs stored.", tc),
		read:        counter("aiwatch_collector_records_read_total", "Records read from content blobs.", tc),
		stored:      counter("aiwatch_collector_records_stored_total", "New Copilot records stored.", tc),
		duplicates:  counter("aiwatch_collector_records_duplicate_total", "Records dropped as duplicates of stored ones.", tc),
		conflicts:   counter("aiwatch_collector_records_conflict_total", "Records whose Id was stored with other content (first kept).", tc),
		skipped:     counter("aiwatch_collector_records_skipped_total", "Records that are not Copilot activity.", tc),
		quarantined: counter("aiwatch_collector_records_quarantined_total", "Units that could not be stored.", tc),
		gaps:        counter("aiwatch_collector_gaps_total", "Content that could not be collected, by kind.", append(tc, "kind")),
		errors:      counter("aiwatch_collector_errors_total", "Polls that failed.", tc),
		polls:       counter("aiwatch_collector_polls_total", "Polls run.", tc),
		retries:     counter("aiwatch_collector_retries_total", "API requests retried, by HTTP status (0: network).", []string{"tenant", "status"}),
		requests:    counter("aiwatch_api_requests_total", "Management API and token requests, by operation and HTTP status (0: no answer).", []string{"tenant", "op", "status"}),
	}
	reg.MustRegister(m.blobs, m.read, m.stored, m.duplicates, m.conflicts, m.skipped, m.quarantined,
		m.gaps, m.errors, m.polls, m.retries, m.requests, &stateCollector{m: m})
	return m
}

var (
	lagDesc = prometheus.NewDesc("aiwatch_collector_lag_seconds",
		"How far the collector's cursor is behind now.", []string{"tenant", "content_type"}, nil)
	successDesc = prometheus.NewDesc("aiwatch_collector_last_success_timestamp_seconds",
		"When the last poll without error ended (Unix time).", []string{"tenant", "content_type"}, nil)
	healthyDesc = prometheus.NewDesc("aiwatch_collector_healthy",
		"1 when the last poll succeeded, 0 when it failed.", []string{"tenant", "content_type"}, nil)
)

// stateCollector exports values computed at scrape time from the report.
type stateCollector struct{ m *Metrics }

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- successDesc
	ch <- healthyDesc
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	f := s.m.report.Load()
	if f == nil {
		return
	}
	for _, st := range (*f)().Tenants {
		if !st.Cursor.IsZero() {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, st.LagSeconds, st.Tenant, st.ContentType)
		}
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, float64(st.LastSuccess.UnixMilli())/1000, st.Tenant, st.ContentType)
		}
		h := 0.0
		if st.Healthy() {
			h = 1
		}
		ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, h, st.Tenant, st.ContentType)
	}
}

func (m *Metrics) bind(report func() Report) {
	if m != nil {
		m.report.Store(&report)
	}
}

// The methods below accept a nil *Metrics (no metrics wanted).

func (m *Metrics) committed(tenant, ct string, blobs int, d delta) {
	if m == nil {
		return
	}
	m.blobs.WithLabelValues(tenant, ct).Add(float64(blobs))
	m.read.WithLabelValues(tenant, ct).Add(float64(d.read))
	m.stored.WithLabelValues(tenant, ct).Add(float64(d.stored))
	m.duplicates.WithLabelValues(tenant, ct).Add(float64(d.duplicates))
	m.conflicts.WithLabelValues(tenant, ct).Add(float64(d.conflicts))
	m.skipped.WithLabelValues(tenant, ct).Add(float64(d.skipped))
	m.quarantined.WithLabelValues(tenant, ct).Add(float64(d.quarantined))
}

func (m *Metrics) gap(tenant, ct, kind string) {
	if m != nil {
		m.gaps.WithLabelValues(tenant, ct, kind).Inc()
	}
}

func (m *Metrics) poll(tenant, ct string, failed bool) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(tenant, ct).Inc()
	if failed {
		m.errors.WithLabelValues(tenant, ct).Inc()
	}
}

func (m *Metrics) retry(tenant string, status int) {
	if m != nil {
		m.retries.WithLabelValues(tenant, strconv.Itoa(status)).Inc()
	}
}

// countingTransport counts requests by tenant, operation and status.
type countingTransport struct {
	next   http.RoundTripper
	m      *Metrics
	tenant string
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	c.m.requests.WithLabelValues(c.tenant, opOf(req), strconv.Itoa(status)).Inc()
	return resp, err
}

// opOf names the API operation of a request from its path.
func opOf(req *http.Request) string {
	p := req.URL.Path
	switch {
	case strings.Contains(p, "/oauth2/"):
		return "token"
	case strings.HasSuffix(p, "/subscriptions/content"):
		return "list_content"
	case strings.Contains(p, "/subscriptions/"):
		return "subscriptions"
	case strings.Contains(p, "/activity/feed/audit/"):
		return "blob"
	}
	return "other"
}
