package detect

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aiwatch/aiwatch/internal/rules"
)

// covers is what earlier alerts of a rule cover near one window.
type covers struct {
	records map[string]string // RecordId → alert id ("" when suppressed)
	rows    map[string]bool   // row keys whose window overlaps this one
}

func loadCovers(ctx context.Context, tx *sql.Tx, ruleID string, start, end time.Time) (covers, error) {
	c := covers{records: map[string]string{}, rows: map[string]bool{}}
	// A record at t is covered only by alerts whose window holds t, so
	// covers of windows that do not overlap this one cannot matter.
	rs, err := tx.QueryContext(ctx, `SELECT Kind, CoverKey, SystemAlertId FROM AlertCover
		WHERE RuleId = $1 AND WindowStart < $2 AND WindowEnd > $3`, ruleID, end, start)
	if err != nil {
		return c, err
	}
	defer rs.Close()
	for rs.Next() {
		var kind, key, alert string
		if err := rs.Scan(&kind, &key, &alert); err != nil {
			return c, err
		}
		if kind == "record" {
			c.records[key] = alert
		} else {
			c.rows[key] = true
		}
	}
	return c, rs.Err()
}

// raise turns a window's result rows into alerts: rows already covered
// by an alert are dropped (their new records join that alert), the rest
// are grouped per the rule, then suppression applies. Alerts are returned
// to be filed in incidents and stored; covers are written here.
func (e *Engine) raise(ctx context.Context, tx *sql.Tx, r *rules.Rule, rows []row, start, end, now time.Time) ([]*Alert, Summary, error) {
	var sum Summary
	cv, err := loadCovers(ctx, tx, r.ID, start, end)
	if err != nil {
		return nil, sum, err
	}
	var fresh []*candidate
	extend := map[string][]string{} // alert id → records newly covered by it
	for _, rw := range rows {
		c := newCandidate(r, rw)
		if len(c.records) > 0 {
			owner, seen := "", false
			for _, id := range c.records {
				if a, ok := cv.records[id]; ok {
					owner, seen = a, true
					break
				}
			}
			if seen {
				sum.Duplicates++
				for _, id := range c.records {
					if _, ok := cv.records[id]; !ok {
						cv.records[id] = owner
						extend[owner] = append(extend[owner], id)
					}
				}
				continue
			}
			for _, id := range c.records {
				cv.records[id] = "pending"
			}
		} else {
			if cv.rows[c.rowKey] {
				sum.Duplicates++
				continue
			}
			cv.rows[c.rowKey] = true
		}
		fresh = append(fresh, c)
	}
	for owner, ids := range extend {
		if err := addCovers(ctx, tx, r.ID, "record", ids, owner, start, end); err != nil {
			return nil, sum, err
		}
		if owner == "" {
			continue
		}
		if err := appendAlertRecords(ctx, tx, owner, ids); err != nil {
			return nil, sum, err
		}
	}
	if len(fresh) == 0 {
		return nil, sum, nil
	}
	var groups []*candidate
	if r.EventGrouping == "AlertPerResult" {
		groups = fresh
		if max := e.opts.MaxAlertsPerWindow; len(groups) > max {
			last := groups[max-1]
			for _, c := range groups[max:] {
				last.merge(c)
			}
			groups = groups[:max]
		}
	} else {
		one := fresh[0]
		for _, c := range fresh[1:] {
			one.merge(c)
		}
		groups = []*candidate{one}
	}
	suppressed, err := e.suppressed(ctx, tx, r, end)
	if err != nil {
		return nil, sum, err
	}
	var out []*Alert
	for _, c := range groups {
		a := buildAlert(r, c, start, end, now)
		if a.Start.IsZero() {
			if a.Start, a.End, err = recordSpan(ctx, tx, c.records); err != nil {
				return nil, sum, err
			}
		}
		if a.Start.IsZero() {
			a.Start, a.End = start, end
		}
		id := a.ID
		if suppressed {
			id = ""
			sum.Suppressed++
		} else {
			out = append(out, a)
			sum.Alerts++
		}
		var rowKeys []string
		for _, rw := range c.rows {
			if len(rw.records()) == 0 {
				rowKeys = append(rowKeys, rowKeyOf(r, rw, entitiesOf(r, rw)))
			}
		}
		if err := addCovers(ctx, tx, r.ID, "record", c.records, id, start, end); err != nil {
			return nil, sum, err
		}
		if err := addCovers(ctx, tx, r.ID, "row", rowKeys, id, start, end); err != nil {
			return nil, sum, err
		}
	}
	return out, sum, nil
}

// suppressed tells whether the rule's suppression holds at window end:
// an alert of the rule was raised for a window ending less than the
// suppression duration before (or after: late windows) this one. Alerts
// of this same window don't count, as one run raises all its alerts.
func (e *Engine) suppressed(ctx context.Context, tx *sql.Tx, r *rules.Rule, end time.Time) (bool, error) {
	if !r.SuppressionEnabled || r.SuppressionDuration <= 0 {
		return false, nil
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM SecurityAlert WHERE AnalyticRuleId = $1
		AND WindowEnd <> $2 AND WindowEnd > $3 AND WindowEnd < $4`,
		r.ID, end, end.Add(-r.SuppressionDuration), end.Add(r.SuppressionDuration)).Scan(&n)
	return n > 0, err
}

func addCovers(ctx context.Context, tx *sql.Tx, ruleID, kind string, keys []string, alertID string, start, end time.Time) error {
	for i := 0; i < len(keys); i += 500 {
		chunk := keys[i:min(i+500, len(keys))]
		var b strings.Builder
		b.WriteString(`INSERT INTO AlertCover (RuleId, Kind, CoverKey, SystemAlertId, WindowStart, WindowEnd) VALUES `)
		args := []any{ruleID, kind, alertID, start, end}
		for j, k := range chunk {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, k)
			fmt.Fprintf(&b, "($1, $2, $%d, $3, $4, $5)", len(args))
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("cannot record what the alert covers: %w", err)
		}
	}
	return nil
}

// appendAlertRecords adds late records to the alert that already covers
// their result row, so the alert lists every record behind it.
func appendAlertRecords(ctx context.Context, tx *sql.Tx, alertID string, ids []string) error {
	var cur string
	if err := tx.QueryRowContext(ctx, `SELECT RecordIds FROM SecurityAlert WHERE SystemAlertId = $1`, alertID).Scan(&cur); err != nil {
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	}
	list := dynamicStrings(cur)
	for _, id := range ids {
		list = appendUnique(list, id)
	}
	_, err := tx.ExecContext(ctx, `UPDATE SecurityAlert SET RecordIds = $1 WHERE SystemAlertId = $2`, jsonList(list), alertID)
	return err
}

// recordSpan is the event time of a set of records.
func recordSpan(ctx context.Context, tx *sql.Tx, ids []string) (time.Time, time.Time, error) {
	if len(ids) == 0 {
		return time.Time{}, time.Time{}, nil
	}
	var lo, hi sql.NullTime
	var b strings.Builder
	args := make([]any, 0, len(ids))
	b.WriteString(`SELECT min(TimeGenerated), max(TimeGenerated) FROM CopilotActivityData WHERE RecordId IN (`)
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&b, "$%d", i+1)
	}
	b.WriteString(")")
	if err := tx.QueryRowContext(ctx, b.String(), args...).Scan(&lo, &hi); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("cannot read the records' times: %w", err)
	}
	return lo.Time.UTC(), hi.Time.UTC(), nil
}

func insertAlert(ctx context.Context, tx *sql.Tx, r *rules.Rule, a *Alert) error {
	ext := map[string]any{
		"Analytic Rule Ids":                  jsonList([]string{r.ID}),
		"Analytic Rule Name":                 r.Name,
		"Event Grouping":                     r.EventGrouping,
		"Query Period":                       r.QueryPeriod.String(),
		"Query Start Time UTC":               a.WindowStart.Format("2006-01-02 15:04:05"),
		"Query End Time UTC":                 a.WindowEnd.Format("2006-01-02 15:04:05"),
		"Trigger Operator":                   r.TriggerOperator,
		"Trigger Threshold":                  fmt.Sprint(r.TriggerThreshold),
		"Search Query Results Overall Count": fmt.Sprint(a.ResultCount),
		"Data Sources":                       jsonList([]string{"CopilotActivity"}),
		"ProductComponentName":               "Scheduled Alerts",
	}
	if len(a.Custom) > 0 {
		ext["Custom Details"] = mustJSON(a.Custom)
	}
	// Sentinel puts dynamic alert properties (ProductName, RemediationSteps,
	// …) among the extended properties.
	for k, v := range a.Dynamic {
		ext[k] = v
	}
	compromised := ""
	for _, en := range a.Entities {
		if en.Type == "Account" {
			compromised = firstNonEmpty(en.Fields["FullName"], en.Fields["Name"], en.Fields["AadUserId"], en.Fields["DisplayName"])
			break
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO SecurityAlert (TimeGenerated, SystemAlertId, AlertName, DisplayName, Description,
		AlertSeverity, Status, ProviderName, VendorName, ProductName, AlertType, Tactics, Techniques, Entities,
		ExtendedProperties, CompromisedEntity, StartTime, EndTime, ProcessingEndTime, RemediationSteps, SourceSystem,
		AnalyticRuleId, AnalyticRuleName, AnalyticRuleVersion, AtlasTechniques, IncidentName, RecordIds, ResultCount,
		WindowStart, WindowEnd)
		VALUES ($1, $2, $3, $4, $5, $6, 'New', 'aiwatch Scheduled Alerts', 'aiwatch', 'aiwatch', $7, $8, $9, $10, $11,
		$12, $13, $14, $15, '', 'Detection', $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		a.Raised, a.ID, a.Name, a.DisplayName, a.Description, a.Severity, r.ID, strings.Join(a.Tactics, ","),
		jsonList(a.Techniques), entitiesJSON(a.Entities), mustJSON(ext), compromised, a.Start, a.End, a.Raised,
		r.ID, r.Name, r.Version, jsonList(a.Atlas), a.IncidentID, jsonList(a.Records), a.ResultCount, a.WindowStart, a.WindowEnd)
	return err
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
