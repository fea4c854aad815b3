package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aiwatch/aiwatch/internal/store"
)

// Desk reads and changes alerts and incidents: the analyst's side.
type Desk struct {
	st  *store.Store
	now func() time.Time
}

// NewDesk works on the store's alerts and incidents.
func NewDesk(st *store.Store, now func() time.Time) *Desk {
	if now == nil {
		now = time.Now
	}
	return &Desk{st: st, now: now}
}

// Update is a change to an incident; nil or empty fields stay as they are.
type Update struct {
	Status                *string  `json:"status,omitempty"`
	Severity              *string  `json:"severity,omitempty"`
	Owner                 *string  `json:"owner,omitempty"`
	Classification        *string  `json:"classification,omitempty"`
	ClassificationReason  *string  `json:"classificationReason,omitempty"`
	ClassificationComment *string  `json:"classificationComment,omitempty"`
	Title                 *string  `json:"title,omitempty"`
	AddTags               []string `json:"addTags,omitempty"`
	RemoveTags            []string `json:"removeTags,omitempty"`
	Comment               string   `json:"comment,omitempty"`
}

// IsZero reports whether u changes nothing: the CLI and the API refuse such
// an update rather than answer as if something was done.
func (u Update) IsZero() bool {
	return u.Status == nil && u.Severity == nil && u.Owner == nil && u.Classification == nil &&
		u.ClassificationReason == nil && u.ClassificationComment == nil && u.Title == nil &&
		len(u.AddTags) == 0 && len(u.RemoveTags) == 0 && u.Comment == ""
}

// UpdateError is a change that cannot be made, said so a user can fix it.
type UpdateError struct{ Msg string }

func (e *UpdateError) Error() string { return e.Msg }

func badUpdate(format string, args ...any) error {
	return &UpdateError{Msg: fmt.Sprintf(format, args...)}
}

// apply checks and applies u to inc, returning the fields it changed.
func (u Update) apply(inc *Incident, by string, now time.Time) ([]string, error) {
	var changed []string
	if u.Severity != nil {
		s := normSeverity(*u.Severity)
		if s == "" {
			return nil, badUpdate("severity %q is not one of Informational, Low, Medium, High", *u.Severity)
		}
		if s != inc.Severity {
			inc.Severity = s
			changed = append(changed, "Severity")
		}
	}
	if u.Title != nil && *u.Title != inc.Title {
		if strings.TrimSpace(*u.Title) == "" {
			return nil, badUpdate("the title cannot be empty")
		}
		inc.Title = *u.Title
		changed = append(changed, "Title")
	}
	if u.Owner != nil && *u.Owner != inc.Owner {
		inc.Owner = strings.TrimSpace(*u.Owner)
		changed = append(changed, "Owner")
	}
	for _, t := range u.AddTags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(inc.Tags, t) {
			inc.Tags = append(inc.Tags, t)
			changed = appendUnique(changed, "Labels")
		}
	}
	for _, t := range u.RemoveTags {
		if i := slices.Index(inc.Tags, t); i >= 0 {
			inc.Tags = slices.Delete(inc.Tags, i, i+1)
			changed = appendUnique(changed, "Labels")
		}
	}
	if u.Comment != "" {
		inc.Comments = append(inc.Comments, Comment{Message: u.Comment, Author: by, Created: now})
		changed = append(changed, "Comments")
	}
	status := inc.Status
	if u.Status != nil {
		status = ""
		for _, s := range Statuses {
			if strings.EqualFold(s, *u.Status) {
				status = s
			}
		}
		if status == "" {
			return nil, badUpdate("status %q is not one of %s", *u.Status, strings.Join(Statuses, ", "))
		}
	}
	if u.Classification != nil || u.ClassificationReason != nil || u.ClassificationComment != nil {
		if status != "Closed" {
			return nil, badUpdate("a classification, reason or classification comment can only be given when closing an incident (--status Closed)")
		}
	}
	switch {
	case status == "Closed" && inc.Status != "Closed":
		if u.Classification == nil {
			return nil, badUpdate("closing an incident needs a classification: one of Undetermined, TruePositive, BenignPositive, FalsePositive")
		}
		reasons, ok := Classifications[*u.Classification]
		if !ok {
			return nil, badUpdate("classification %q is not one of Undetermined, TruePositive, BenignPositive, FalsePositive", *u.Classification)
		}
		reason := ""
		if u.ClassificationReason != nil {
			reason = *u.ClassificationReason
		} else if len(reasons) == 1 {
			reason = reasons[0]
		}
		if !slices.Contains(reasons, reason) {
			return nil, badUpdate("classification reason %q does not go with %s (use %s)", reason, *u.Classification, strings.Join(reasons, " or "))
		}
		inc.Classification, inc.ClassificationReason = *u.Classification, reason
		if u.ClassificationComment != nil {
			inc.ClassificationComment = *u.ClassificationComment
		}
		t := now
		inc.Status, inc.Closed = "Closed", &t
		changed = append(changed, "Status", "Classification")
	case status == "Closed":
		if u.Classification != nil || u.ClassificationComment != nil {
			if u.Classification != nil {
				if _, ok := Classifications[*u.Classification]; !ok {
					return nil, badUpdate("classification %q is not one of Undetermined, TruePositive, BenignPositive, FalsePositive", *u.Classification)
				}
				inc.Classification = *u.Classification
			}
			if u.ClassificationComment != nil {
				inc.ClassificationComment = *u.ClassificationComment
			}
			changed = append(changed, "Classification")
		}
	case status != inc.Status:
		// Reopening clears the classification of the closed incident.
		if inc.Status == "Closed" {
			inc.Classification, inc.ClassificationReason, inc.ClassificationComment, inc.Closed = "", "", "", nil
		}
		inc.Status = status
		changed = append(changed, "Status")
	}
	return changed, nil
}

// UpdateIncident changes an incident (by IncidentName or number) and logs
// the change for automation. by names who changed it. Changes made by
// automation (by starting "automation:") do not trigger automation again,
// as in Sentinel.
func (d *Desk) UpdateIncident(ctx context.Context, id string, u Update, by string) (Incident, error) {
	// Two analysts (or an analyst and automation) updating at once: DuckDB
	// lets one transaction win and fails the other with a write conflict;
	// the loser reads the winner's incident and applies its change again.
	for attempt := 1; ; attempt++ {
		inc, err := d.updateIncident(ctx, id, u, by)
		if err == nil || attempt == 20 || !isWriteConflict(err) {
			return inc, err
		}
		select {
		case <-ctx.Done():
			return inc, err
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
}

// isWriteConflict reports whether err is DuckDB refusing a transaction
// that wrote what another one wrote since it began.
func isWriteConflict(err error) bool {
	return strings.Contains(err.Error(), "Conflict on")
}

func (d *Desk) updateIncident(ctx context.Context, id string, u Update, by string) (Incident, error) {
	conn, err := d.st.DB().Conn(ctx)
	if err != nil {
		return Incident{}, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Incident{}, err
	}
	defer tx.Rollback()
	inc, err := getIncident(ctx, tx, id)
	if err != nil {
		return inc, err
	}
	now := d.now().UTC().Truncate(time.Microsecond)
	changed, err := u.apply(&inc, by, now)
	if err != nil {
		return inc, err
	}
	if len(changed) == 0 {
		return inc, nil
	}
	inc.LastModified = now
	if err := updateIncident(ctx, tx, inc); err != nil {
		return inc, fmt.Errorf("cannot update incident %d: %w", inc.Number, err)
	}
	detail := map[string]any{}
	if u.Comment != "" {
		detail["comment"] = u.Comment
	}
	if err := addEvent(ctx, tx, inc.ID, now, "updated", by, changed, detail, strings.HasPrefix(by, "automation:")); err != nil {
		return inc, err
	}
	if err := tx.Commit(); err != nil {
		return inc, fmt.Errorf("cannot update incident %d: %w", inc.Number, err)
	}
	return inc, nil
}

// IncidentFilter selects incidents; empty fields select all.
type IncidentFilter struct {
	Status, Severity, RuleID string
	Limit                    int
}

// Incidents lists incidents, newest first.
func (d *Desk) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	q := `SELECT ` + incidentCols + ` FROM SecurityIncident WHERE 1=1`
	var args []any
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(` AND lower(Status) = lower($%d)`, len(args))
	}
	if f.Severity != "" {
		args = append(args, f.Severity)
		q += fmt.Sprintf(` AND lower(Severity) = lower($%d)`, len(args))
	}
	if f.RuleID != "" {
		args = append(args, f.RuleID)
		q += fmt.Sprintf(` AND list_contains(CAST(json_extract_string(RelatedAnalyticRuleIds, '$[*]') AS VARCHAR[]), $%d)`, len(args))
	}
	q += ` ORDER BY IncidentNumber DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rs, err := d.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot list incidents: %w", err)
	}
	defer rs.Close()
	var out []Incident
	for rs.Next() {
		inc, err := scanIncident(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rs.Err()
}

// Incident returns one incident (by IncidentName or number) and its alerts.
func (d *Desk) Incident(ctx context.Context, id string) (Incident, []Alert, error) {
	inc, err := getIncident(ctx, d.st.DB(), id)
	if err != nil {
		return inc, nil, err
	}
	alerts, err := d.Alerts(ctx, AlertFilter{IncidentID: inc.ID})
	return inc, alerts, err
}

// AlertFilter selects alerts; empty fields select all.
type AlertFilter struct {
	Since            time.Time
	Severity, RuleID string
	IncidentID       string
	Limit            int
}

// Alerts lists alerts, newest event time first.
func (d *Desk) Alerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	q := `SELECT SystemAlertId, AlertName, DisplayName, Description, AlertSeverity, AnalyticRuleId, AnalyticRuleName,
		AnalyticRuleVersion, Tactics, Techniques, AtlasTechniques, Entities, ExtendedProperties, RecordIds, ResultCount,
		StartTime, EndTime, WindowStart, WindowEnd, TimeGenerated, IncidentName FROM SecurityAlert WHERE 1=1`
	var args []any
	if !f.Since.IsZero() {
		args = append(args, f.Since)
		q += fmt.Sprintf(` AND EndTime >= $%d`, len(args))
	}
	if f.Severity != "" {
		args = append(args, f.Severity)
		q += fmt.Sprintf(` AND lower(AlertSeverity) = lower($%d)`, len(args))
	}
	if f.RuleID != "" {
		args = append(args, f.RuleID)
		q += fmt.Sprintf(` AND (AnalyticRuleId = $%d OR AnalyticRuleName = $%d)`, len(args), len(args))
	}
	if f.IncidentID != "" {
		args = append(args, f.IncidentID)
		q += fmt.Sprintf(` AND IncidentName = $%d`, len(args))
	}
	q += ` ORDER BY StartTime DESC, SystemAlertId`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rs, err := d.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot list alerts: %w", err)
	}
	defer rs.Close()
	var out []Alert
	for rs.Next() {
		var a Alert
		var tactics, techniques, atlas, entities, ext, records string
		if err := rs.Scan(&a.ID, &a.Name, &a.DisplayName, &a.Description, &a.Severity, &a.RuleID, &a.RuleName, &a.RuleVersion,
			&tactics, &techniques, &atlas, &entities, &ext, &records, &a.ResultCount, &a.Start, &a.End, &a.WindowStart,
			&a.WindowEnd, &a.Raised, &a.IncidentID); err != nil {
			return nil, err
		}
		a.Tactics = splitList(tactics)
		a.Techniques = dynamicStrings(techniques)
		a.Atlas = dynamicStrings(atlas)
		a.Entities = parseEntities(entities)
		a.Records = dynamicStrings(records)
		var m map[string]any
		if json.Unmarshal([]byte(ext), &m) == nil {
			if cd, ok := m["Custom Details"].(string); ok {
				_ = json.Unmarshal([]byte(cd), &a.Custom)
			}
		}
		for _, t := range []*time.Time{&a.Start, &a.End, &a.WindowStart, &a.WindowEnd, &a.Raised} {
			*t = t.UTC()
		}
		out = append(out, a)
	}
	return out, rs.Err()
}

// Event is a logged creation or change of an incident.
type Event struct {
	Seq      int64
	Incident string
	At       time.Time
	Kind     string // created, updated
	Actor    string
	Changed  []string
}

// Dispatch hands every incident event not yet dispatched, oldest first,
// with the incident as it is now, to handle, and marks it dispatched once
// handle returns nil. A crash in between hands it over again: automation
// sees every event at least once.
func (d *Desk) Dispatch(ctx context.Context, handle func(context.Context, Event, Incident) error) (int, error) {
	rs, err := d.st.DB().QueryContext(ctx, `SELECT Seq, IncidentName, EventTime, Kind, Actor, Changed FROM IncidentEvent
		WHERE NOT Dispatched ORDER BY Seq LIMIT 1000`)
	if err != nil {
		return 0, fmt.Errorf("cannot read incident events: %w", err)
	}
	var evs []Event
	for rs.Next() {
		var ev Event
		var changed string
		if err := rs.Scan(&ev.Seq, &ev.Incident, &ev.At, &ev.Kind, &ev.Actor, &changed); err != nil {
			rs.Close()
			return 0, err
		}
		ev.Changed = dynamicStrings(changed)
		ev.At = ev.At.UTC()
		evs = append(evs, ev)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range evs {
		inc, err := getIncident(ctx, d.st.DB(), ev.Incident)
		if err != nil {
			return n, err
		}
		if err := handle(ctx, ev, inc); err != nil {
			return n, fmt.Errorf("automation for incident %d failed: %w", inc.Number, err)
		}
		if _, err := d.st.DB().ExecContext(ctx, `UPDATE IncidentEvent SET Dispatched = true WHERE Seq = $1`, ev.Seq); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
