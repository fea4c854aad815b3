package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/rules"
)

// Entity is one entity of an alert or incident: a Sentinel entity type
// (Account, IP, CloudApplication, File, URL, Mailbox, Host, …) and its
// identifiers.
type Entity struct {
	Type   string
	Fields map[string]string
}

// key is a canonical text of the entity, for comparing and grouping.
func (e Entity) key() string {
	names := make([]string, 0, len(e.Fields))
	for n := range e.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(e.Type)
	for _, n := range names {
		b.WriteString("|" + n + "=" + strings.ToLower(e.Fields[n]))
	}
	return b.String()
}

// sentinelTypes are the entity type names Sentinel writes in alerts'
// Entities column.
var sentinelTypes = map[string]string{
	"Account": "account", "IP": "ip", "CloudApplication": "cloud-application", "File": "file",
	"URL": "url", "Mailbox": "mailbox", "Host": "host", "DNS": "dns", "Process": "process",
	"FileHash": "filehash", "AzureResource": "azure-resource", "SecurityGroup": "security-group",
	"MailMessage": "mail-message", "Malware": "malware", "RegistryKey": "registry-key",
	"RegistryValue": "registry-value", "MailCluster": "mail-cluster", "SubmissionMail": "SubmissionMail",
	"IoTDevice": "iotdevice",
}

// entitiesJSON writes entities as Sentinel's alerts carry them: objects
// with "$id" and "Type" and one key per identifier.
func entitiesJSON(es []Entity) string {
	out := make([]map[string]any, 0, len(es))
	for i, e := range es {
		m := map[string]any{"$id": strconv.Itoa(i + 2)}
		for k, v := range e.Fields {
			m[k] = v
		}
		t := sentinelTypes[e.Type]
		if t == "" {
			t = strings.ToLower(e.Type)
		}
		m["Type"] = t
		out = append(out, m)
	}
	return mustJSON(out)
}

// row is one result row of a rule's query.
type row struct {
	cols []kql.Column
	vals []any
	idx  map[string]int
}

func (r row) get(name string) (any, bool) {
	i, ok := r.idx[name]
	if !ok {
		return nil, false
	}
	return r.vals[i], true
}

// text is a column's value as alert text: strings as they are, times in
// RFC 3339, dynamic values as JSON, null as "".
func (r row) text(name string) string {
	v, ok := r.get(name)
	if !ok {
		return ""
	}
	return render.Text(v)
}

// asMap is the row keyed by column name, as the rule's alert details read it.
func (r row) asMap() map[string]any {
	m := make(map[string]any, len(r.cols))
	for i, c := range r.cols {
		m[c.Name] = r.vals[i]
	}
	return m
}

// records are the CopilotActivity records a row stands for: its RecordId
// column, or the ids in its RecordIds column (a dynamic array).
func (r row) records() []string {
	var out []string
	if v, ok := r.get("RecordId"); ok {
		if s := render.Text(v); s != "" {
			out = append(out, s)
		}
	}
	if v, ok := r.get("RecordIds"); ok {
		out = append(out, dynamicStrings(v)...)
	}
	return out
}

// dynamicStrings reads a dynamic array of strings (JSON text or decoded).
func dynamicStrings(v any) []string {
	var arr []any
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		arr = v
	case string, []byte:
		s := render.Text(v)
		if err := json.Unmarshal([]byte(s), &arr); err != nil {
			if s != "" {
				return []string{s}
			}
			return nil
		}
	default:
		return []string{render.Text(v)}
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s := render.Text(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// entities maps a row to the rule's entities; a mapping whose columns are
// all empty gives no entity. An Account's FullName of the form user@domain
// also yields Name and UPNSuffix, as Sentinel does.
func entitiesOf(r *rules.Rule, rw row) []Entity {
	var out []Entity
	for _, m := range r.EntityMappings {
		e := Entity{Type: m.EntityType, Fields: map[string]string{}}
		for _, f := range m.FieldMappings {
			if v := strings.TrimSpace(rw.text(f.ColumnName)); v != "" {
				e.Fields[f.Identifier] = v
			}
		}
		if len(e.Fields) == 0 {
			continue
		}
		if e.Type == "Account" {
			if full, ok := e.Fields["FullName"]; ok && e.Fields["Name"] == "" {
				if at := strings.LastIndex(full, "@"); at > 0 {
					e.Fields["Name"] = full[:at]
					e.Fields["UPNSuffix"] = full[at+1:]
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// mergeEntities appends the entities of b not already in a.
func mergeEntities(a, b []Entity) []Entity {
	seen := map[string]bool{}
	for _, e := range a {
		seen[e.key()] = true
	}
	for _, e := range b {
		if k := e.key(); !seen[k] {
			seen[k] = true
			a = append(a, e)
		}
	}
	return a
}

// candidate is an alert about to be raised, before dedup and suppression.
type candidate struct {
	rows     []row
	entities []Entity
	records  []string
	rowKey   string // for rows without records
	custom   map[string][]string
}

// rowKey identifies a result row that has no records: its entities and
// custom details. Re-evaluating a window gives the same key.
func rowKeyOf(r *rules.Rule, rw row, es []Entity) string {
	h := sha256.New()
	h.Write([]byte(r.ID))
	keys := make([]string, 0, len(es))
	for _, e := range es {
		keys = append(keys, e.key())
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte("\x00e" + k))
	}
	for _, cd := range r.CustomDetails {
		h.Write([]byte("\x00c" + cd.Key + "=" + rw.text(cd.Column)))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func newCandidate(r *rules.Rule, rw row) *candidate {
	c := &candidate{rows: []row{rw}, custom: map[string][]string{}}
	c.entities = entitiesOf(r, rw)
	c.records = rw.records()
	c.rowKey = rowKeyOf(r, rw, c.entities)
	for _, cd := range r.CustomDetails {
		c.custom[cd.Key] = appendUnique(c.custom[cd.Key], rw.text(cd.Column))
	}
	return c
}

func (c *candidate) merge(o *candidate) {
	c.rows = append(c.rows, o.rows...)
	c.entities = mergeEntities(c.entities, o.entities)
	for _, id := range o.records {
		c.records = appendUnique(c.records, id)
	}
	for k, vs := range o.custom {
		for _, v := range vs {
			c.custom[k] = appendUnique(c.custom[k], v)
		}
	}
}

func appendUnique(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// Alert is a raised alert, as stored in SecurityAlert.
type Alert struct {
	ID, Name, DisplayName, Description, Severity string
	RuleID, RuleName, RuleVersion                string
	Tactics, Techniques, Atlas                   []string
	Entities                                     []Entity
	Custom                                       map[string][]string
	Dynamic                                      map[string]string // alertDetailsOverride.alertDynamicProperties
	Records                                      []string
	ResultCount                                  int
	Start, End                                   time.Time // event time covered
	WindowStart, WindowEnd                       time.Time
	Raised                                       time.Time
	IncidentID                                   string
}

var severities = map[string]int{"informational": 0, "low": 1, "medium": 2, "high": 3}

// normSeverity spells a severity as Sentinel does, or "" if it is none.
func normSeverity(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "informational":
		return "Informational"
	case "low":
		return "Low"
	case "medium":
		return "Medium"
	case "high":
		return "High"
	}
	return ""
}

func severityRank(s string) int { return severities[strings.ToLower(s)] }

// buildAlert fills an alert from a candidate and its rule.
func buildAlert(r *rules.Rule, c *candidate, ws, we, now time.Time) *Alert {
	first := c.rows[0]
	a := &Alert{
		ID: uuid.NewString(), Name: r.Name, DisplayName: r.Name, Description: r.Description, Severity: r.Severity,
		RuleID: r.ID, RuleName: r.Name, RuleVersion: r.Version,
		Tactics: r.Tactics, Techniques: r.RelevantTechniques, Atlas: r.AtlasTechniques,
		Entities: c.entities, Custom: c.custom, Records: c.records, ResultCount: len(c.rows),
		WindowStart: ws, WindowEnd: we, Raised: now,
	}
	m := first.asMap()
	a.DisplayName, a.Description = r.AlertName(m), r.AlertDescription(m)
	a.Severity, a.Tactics = r.AlertSeverity(m), r.AlertTactics(m)
	if o := r.AlertDetailsOverride; o != nil && len(o.DynamicProperties) > 0 {
		a.Dynamic = map[string]string{}
		for _, dp := range o.DynamicProperties {
			a.Dynamic[dp.Name] = first.text(dp.Value)
		}
	}
	a.Start, a.End = timeSpan(c.rows)
	return a
}

// timeSpan is the event time a set of rows covers, from their datetime
// columns named like event times; zero when they have none (the caller
// then uses the records' times or the window).
func timeSpan(rows []row) (start, end time.Time) {
	for _, rw := range rows {
		for i, col := range rw.cols {
			if col.Type != kql.TDatetime {
				continue
			}
			switch col.Name {
			case "TimeGenerated", "StartTime", "EndTime", "StartTimeUtc", "EndTimeUtc", "FirstSeen", "LastSeen", "min_TimeGenerated", "max_TimeGenerated":
			default:
				continue
			}
			t, ok := rw.vals[i].(time.Time)
			if !ok || t.IsZero() {
				continue
			}
			if start.IsZero() || t.Before(start) {
				start = t
			}
			if end.IsZero() || t.After(end) {
				end = t
			}
		}
	}
	return start.UTC(), end.UTC()
}

// splitList reads a list column: a JSON array or comma-separated text.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var arr []string
		if json.Unmarshal([]byte(s), &arr) == nil {
			return arr
		}
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	return mustJSON(v)
}
