package detect

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/rules"
)

// Incident is a SecurityIncident row.
type Incident struct {
	ID                    string     `json:"IncidentName"`
	Number                int64      `json:"IncidentNumber"`
	Title                 string     `json:"Title"`
	Description           string     `json:"Description"`
	Severity              string     `json:"Severity"`
	Status                string     `json:"Status"`
	Classification        string     `json:"Classification"`
	ClassificationReason  string     `json:"ClassificationReason"`
	ClassificationComment string     `json:"ClassificationComment"`
	Owner                 string     `json:"Owner"`
	Tags                  []string   `json:"Labels"`
	Comments              []Comment  `json:"Comments"`
	Tactics               []string   `json:"Tactics"`
	Techniques            []string   `json:"Techniques"`
	AlertIDs              []string   `json:"AlertIds"`
	RuleIDs               []string   `json:"RelatedAnalyticRuleIds"`
	Entities              []Entity   `json:"Entities"`
	FirstActivity         time.Time  `json:"FirstActivityTime"`
	LastActivity          time.Time  `json:"LastActivityTime"`
	Created               time.Time  `json:"CreatedTime"`
	LastModified          time.Time  `json:"LastModifiedTime"`
	Closed                *time.Time `json:"ClosedTime,omitempty"`
}

// Comment is one comment on an incident.
type Comment struct {
	Message string    `json:"message"`
	Author  string    `json:"author"`
	Created time.Time `json:"createdTimeUtc"`
}

// Statuses and classifications, as Sentinel spells them.
var (
	Statuses        = []string{"New", "Active", "Closed"}
	Severities      = []string{"Informational", "Low", "Medium", "High"}
	Classifications = map[string][]string{
		"Undetermined":   {""},
		"TruePositive":   {"SuspiciousActivity"},
		"BenignPositive": {"SuspiciousButExpected"},
		"FalsePositive":  {"IncorrectAlertLogic", "InaccurateData"},
	}
)

// groupKey is what alerts of a rule must share to join one incident.
func groupKey(r *rules.Rule, a *Alert) string {
	g := r.Incident.Grouping
	var parts []string
	switch g.MatchingMethod {
	case "AnyAlert":
	case "Selected":
		for _, t := range g.GroupByEntities {
			for _, e := range a.Entities {
				if e.Type == t {
					parts = append(parts, "e"+e.key())
				}
			}
		}
		for _, d := range g.GroupByAlertDetails {
			switch d {
			case "DisplayName":
				parts = append(parts, "d"+a.DisplayName)
			case "Severity":
				parts = append(parts, "s"+a.Severity)
			}
		}
		for _, k := range g.GroupByCustomDetails {
			parts = append(parts, "c"+k+"="+strings.Join(a.Custom[k], ","))
		}
	default: // AllEntities
		for _, e := range a.Entities {
			parts = append(parts, "e"+e.key())
		}
	}
	sort.Strings(parts)
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// attachIncident files an alert in an incident: an open one of the rule
// that it groups with, per the rule's grouping, or a new one. It reports
// whether it created the incident.
func (e *Engine) attachIncident(ctx context.Context, tx *sql.Tx, r *rules.Rule, a *Alert, now time.Time) (bool, error) {
	if !r.Incident.CreateIncident {
		return false, nil
	}
	g := r.Incident.Grouping
	key := ""
	if g.Enabled {
		key = groupKey(r, a)
		lookback := g.LookbackDuration
		if lookback <= 0 {
			lookback = 5 * time.Hour
		}
		// Event time, not arrival: an alert raised late for an old window
		// joins the incident it would have joined on time.
		q := `SELECT IncidentName FROM SecurityIncident WHERE GroupRuleId = $1 AND GroupKey = $2
			AND FirstActivityTime > $3 AND FirstActivityTime < $4`
		if !g.ReopenClosedIncident {
			q += ` AND Status <> 'Closed'`
		}
		q += ` ORDER BY CreatedTime DESC LIMIT 1`
		var id string
		err := tx.QueryRowContext(ctx, q, r.ID, key, a.Start.Add(-lookback), a.Start.Add(lookback)).Scan(&id)
		if err == nil {
			a.IncidentID = id
			return false, e.addAlert(ctx, tx, id, a, now)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	var num int64
	if err := tx.QueryRowContext(ctx, `SELECT nextval('IncidentNumberSeq')`).Scan(&num); err != nil {
		return false, err
	}
	inc := Incident{
		ID: uuid.NewString(), Number: num, Title: a.DisplayName, Description: a.Description, Severity: a.Severity,
		Status: "New", Tactics: a.Tactics, Techniques: a.Techniques, AlertIDs: []string{a.ID}, RuleIDs: []string{r.ID},
		Entities: a.Entities, FirstActivity: a.Start, LastActivity: a.End, Created: now, LastModified: now,
	}
	a.IncidentID = inc.ID
	if err := insertIncident(ctx, tx, inc, r.ID, key); err != nil {
		return false, err
	}
	return true, addEvent(ctx, tx, inc.ID, now, "created", "rule:"+r.Name, nil, map[string]any{"alertId": a.ID}, false)
}

// addAlert adds an alert to an existing incident (reopening it if closed).
func (e *Engine) addAlert(ctx context.Context, tx *sql.Tx, id string, a *Alert, now time.Time) error {
	inc, err := getIncident(ctx, tx, id)
	if err != nil {
		return err
	}
	changed := []string{"AlertIds"}
	inc.AlertIDs = appendUnique(inc.AlertIDs, a.ID)
	before := len(inc.Entities)
	inc.Entities = mergeEntities(inc.Entities, a.Entities)
	if len(inc.Entities) != before {
		changed = append(changed, "Entities")
	}
	if severityRank(a.Severity) > severityRank(inc.Severity) {
		inc.Severity = a.Severity
		changed = append(changed, "Severity")
	}
	for _, t := range a.Tactics {
		inc.Tactics = appendUnique(inc.Tactics, t)
	}
	for _, t := range a.Techniques {
		inc.Techniques = appendUnique(inc.Techniques, t)
	}
	if a.Start.Before(inc.FirstActivity) {
		inc.FirstActivity = a.Start
	}
	if a.End.After(inc.LastActivity) {
		inc.LastActivity = a.End
	}
	if inc.Status == "Closed" {
		inc.Status, inc.Closed = "Active", nil
		changed = append(changed, "Status")
	}
	inc.LastModified = now
	if err := updateIncident(ctx, tx, inc); err != nil {
		return err
	}
	return addEvent(ctx, tx, id, now, "updated", "rule:"+a.RuleName, changed, map[string]any{"alertId": a.ID}, false)
}

func insertIncident(ctx context.Context, tx *sql.Tx, inc Incident, ruleID, key string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO SecurityIncident (TimeGenerated, IncidentName, IncidentNumber, Title, Description,
		Severity, Status, Classification, ClassificationReason, ClassificationComment, Owner, ProviderName, ProviderIncidentId,
		FirstActivityTime, LastActivityTime, FirstModifiedTime, LastModifiedTime, CreatedTime, ClosedTime, AlertIds,
		RelatedAnalyticRuleIds, Labels, Comments, Tactics, Techniques, Entities, AdditionalData, SourceSystem, GroupRuleId, GroupKey)
		VALUES ($1, $2, $3, $4, $5, $6, $7, '', '', '', $8, 'aiwatch', $9, $10, $11, $1, $1, $1, NULL, $12, $13, '[]', '[]',
		$14, $15, $16, $17, 'aiwatch', $18, $19)`,
		inc.Created, inc.ID, inc.Number, inc.Title, inc.Description, inc.Severity, inc.Status, ownerJSON(inc.Owner),
		fmt.Sprint(inc.Number), inc.FirstActivity, inc.LastActivity, jsonList(inc.AlertIDs), jsonList(inc.RuleIDs),
		jsonList(inc.Tactics), jsonList(inc.Techniques), entitiesJSON(inc.Entities), additional(inc), ruleID, key)
	return err
}

func updateIncident(ctx context.Context, tx *sql.Tx, inc Incident) error {
	var closed any
	if inc.Closed != nil {
		closed = *inc.Closed
	}
	_, err := tx.ExecContext(ctx, `UPDATE SecurityIncident SET TimeGenerated = $2, Title = $3, Severity = $4, Status = $5,
		Classification = $6, ClassificationReason = $7, ClassificationComment = $8, Owner = $9, LastActivityTime = $10,
		FirstActivityTime = $11, LastModifiedTime = $2, ClosedTime = $12, AlertIds = $13, RelatedAnalyticRuleIds = $14,
		Labels = $15, Comments = $16, Tactics = $17, Techniques = $18, Entities = $19, AdditionalData = $20
		WHERE IncidentName = $1`,
		inc.ID, inc.LastModified, inc.Title, inc.Severity, inc.Status, inc.Classification, inc.ClassificationReason,
		inc.ClassificationComment, ownerJSON(inc.Owner), inc.LastActivity, inc.FirstActivity, closed, jsonList(inc.AlertIDs),
		jsonList(inc.RuleIDs), labelsJSON(inc.Tags), mustJSON(nonNilComments(inc.Comments)), jsonList(inc.Tactics),
		jsonList(inc.Techniques), entitiesJSON(inc.Entities), additional(inc))
	return err
}

func nonNilComments(c []Comment) []Comment {
	if c == nil {
		return []Comment{}
	}
	return c
}

func ownerJSON(owner string) string {
	if owner == "" {
		return `{"objectId":null,"email":null,"assignedTo":null,"userPrincipalName":null}`
	}
	email := any(nil)
	if strings.Contains(owner, "@") {
		email = owner
	}
	return mustJSON(map[string]any{"objectId": nil, "email": email, "assignedTo": owner, "userPrincipalName": email})
}

func labelsJSON(tags []string) string {
	out := make([]map[string]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, map[string]string{"labelName": t, "labelType": "User"})
	}
	return mustJSON(out)
}

func additional(inc Incident) string {
	return mustJSON(map[string]any{
		"alertsCount": len(inc.AlertIDs), "commentsCount": len(inc.Comments), "tactics": nonNil(inc.Tactics),
		"techniques": nonNil(inc.Techniques), "alertProductNames": []string{"aiwatch"},
	})
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const incidentCols = `IncidentName, IncidentNumber, Title, Description, Severity, Status, Classification, ClassificationReason,
	ClassificationComment, json_extract_string(Owner, '$.assignedTo'), Labels, Comments, Tactics, Techniques, AlertIds,
	RelatedAnalyticRuleIds, Entities, FirstActivityTime, LastActivityTime, CreatedTime, LastModifiedTime, ClosedTime`

type scanner interface{ Scan(dest ...any) error }

func scanIncident(s scanner) (Incident, error) {
	var inc Incident
	var owner sql.NullString
	var labels, comments, tactics, techniques, alerts, rulesJ, entities string
	var closed sql.NullTime
	err := s.Scan(&inc.ID, &inc.Number, &inc.Title, &inc.Description, &inc.Severity, &inc.Status, &inc.Classification,
		&inc.ClassificationReason, &inc.ClassificationComment, &owner, &labels, &comments, &tactics, &techniques, &alerts,
		&rulesJ, &entities, &inc.FirstActivity, &inc.LastActivity, &inc.Created, &inc.LastModified, &closed)
	if err != nil {
		return inc, err
	}
	inc.Owner = owner.String
	var ls []struct {
		Name string `json:"labelName"`
	}
	_ = json.Unmarshal([]byte(labels), &ls)
	for _, l := range ls {
		inc.Tags = append(inc.Tags, l.Name)
	}
	_ = json.Unmarshal([]byte(comments), &inc.Comments)
	inc.Tactics = dynamicStrings(tactics)
	inc.Techniques = dynamicStrings(techniques)
	inc.AlertIDs = dynamicStrings(alerts)
	inc.RuleIDs = dynamicStrings(rulesJ)
	inc.Entities = parseEntities(entities)
	if closed.Valid {
		t := closed.Time.UTC()
		inc.Closed = &t
	}
	inc.FirstActivity, inc.LastActivity = inc.FirstActivity.UTC(), inc.LastActivity.UTC()
	inc.Created, inc.LastModified = inc.Created.UTC(), inc.LastModified.UTC()
	return inc, nil
}

// parseEntities reads the Entities JSON back.
func parseEntities(s string) []Entity {
	var raw []map[string]any
	if json.Unmarshal([]byte(s), &raw) != nil {
		return nil
	}
	back := map[string]string{}
	for k, v := range sentinelTypes {
		back[v] = k
	}
	var out []Entity
	for _, m := range raw {
		e := Entity{Fields: map[string]string{}}
		for k, v := range m {
			switch k {
			case "$id":
			case "Type":
				t := fmt.Sprint(v)
				if b, ok := back[t]; ok {
					t = b
				}
				e.Type = t
			default:
				e.Fields[k] = render.Text(v)
			}
		}
		out = append(out, e)
	}
	return out
}

// ErrNotFound means no incident has the given id or number.
var ErrNotFound = errors.New("no such incident")

func getIncident(ctx context.Context, q querier, id string) (Incident, error) {
	row := q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM SecurityIncident WHERE IncidentName = $1 OR CAST(IncidentNumber AS VARCHAR) = $1`, id)
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	return inc, err
}

func addEvent(ctx context.Context, tx *sql.Tx, id string, at time.Time, kind, actor string, changed []string, detail map[string]any, dispatched bool) error {
	if detail == nil {
		detail = map[string]any{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO IncidentEvent (Seq, IncidentName, EventTime, Kind, Actor, Changed, Detail, Dispatched)
		VALUES (nextval('IncidentEventSeq'), $1, $2, $3, $4, $5, $6, $7)`, id, at, kind, actor, jsonList(changed), mustJSON(detail), dispatched)
	return err
}
