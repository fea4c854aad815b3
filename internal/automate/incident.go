// Package automate runs automation rules and playbooks for incidents: rules
// change an incident (owner, status, severity, tags) through the caller's
// Updater and queue playbook deliveries (signed webhook, Microsoft Teams,
// Slack, email, command) in a DuckDB table, so a receiver that is down, or
// a restart, loses nothing: every delivery is retried until it succeeds or
// runs out of attempts, and every attempt is logged.
package automate

import (
	"context"
	"slices"
	"time"
)

// Entity is one entity of an incident, e.g. {Account, {Name: alice,
// UPNSuffix: contoso.com}}.
type Entity struct {
	Type   string            `json:"type"`
	Fields map[string]string `json:"fields"`
}

// Incident is automation's view of an incident; the detection code adapts
// its own type to this one.
type Incident struct {
	ID             string    `json:"id"`
	Number         int64     `json:"number"`
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	Severity       string    `json:"severity"`
	Status         string    `json:"status"`
	Classification string    `json:"classification"`
	Owner          string    `json:"owner"`
	Tags           []string  `json:"tags"`
	Tactics        []string  `json:"tactics"`
	Techniques     []string  `json:"techniques"`
	RuleIDs        []string  `json:"rule_ids"`
	RuleNames      []string  `json:"rule_names"`
	AlertIDs       []string  `json:"alert_ids"`
	Entities       []Entity  `json:"entities"`
	FirstActivity  time.Time `json:"first_activity"`
	LastActivity   time.Time `json:"last_activity"`
	Created        time.Time `json:"created"`
	LastModified   time.Time `json:"last_modified"`
}

// Event kinds.
const (
	EventCreated = "created"
	EventUpdated = "updated"
)

// Event is an incident that was created or updated.
type Event struct {
	Kind     string   // EventCreated or EventUpdated
	Incident Incident // the incident after the change
	Changed  []string // for updates: the names of the fields that changed
}

// Change is what automation may do to an incident; nil and empty fields
// are left alone.
type Change struct {
	Owner    *string
	Status   *string
	Severity *string
	AddTags  []string
}

// Empty reports whether the change would do nothing.
func (c Change) Empty() bool {
	return c.Owner == nil && c.Status == nil && c.Severity == nil && len(c.AddTags) == 0
}

// Updater applies automation's changes to the stored incident.
type Updater interface {
	Apply(ctx context.Context, incidentID string, ch Change, by string) error
}

// ByPrefix starts the by argument of every Updater.Apply call ("automation:"
// and the rule name). The caller should raise no Event for such a change,
// as in Sentinel: automation's own updates do not trigger automation, which
// would otherwise loop.
const ByPrefix = "automation:"

// clone copies the incident's slices, so rules can change the copy.
func (inc Incident) clone() Incident {
	inc.Tags = slices.Clone(inc.Tags)
	inc.Tactics = slices.Clone(inc.Tactics)
	inc.Techniques = slices.Clone(inc.Techniques)
	inc.RuleIDs = slices.Clone(inc.RuleIDs)
	inc.RuleNames = slices.Clone(inc.RuleNames)
	inc.AlertIDs = slices.Clone(inc.AlertIDs)
	inc.Entities = slices.Clone(inc.Entities)
	return inc
}

// jsonReady returns the incident with empty lists instead of nil ones, so
// receivers always see arrays, never null.
func (inc Incident) jsonReady() Incident {
	for _, l := range []*[]string{&inc.Tags, &inc.Tactics, &inc.Techniques, &inc.RuleIDs, &inc.RuleNames, &inc.AlertIDs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if inc.Entities == nil {
		inc.Entities = []Entity{}
	}
	return inc
}
