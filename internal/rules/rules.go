// Package rules loads and validates analytic rules written in Microsoft
// Sentinel's analytic-rule YAML (the format of the Azure-Sentinel
// repository's Detections/*.yaml), so rules move between Sentinel and
// aiwatch unchanged. Every problem names the file, the rule, the field and
// what to do about it; one bad file never stops the others.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/yamlerr"
)

// Rule is one analytic rule, normalised: enumerations in Sentinel's
// spelling, durations parsed, defaults filled in.
type Rule struct {
	ID, Name, Description string
	Severity              string // Informational, Low, Medium or High
	Kind                  string // Scheduled or NRT
	Query                 string
	// QueryFrequency is how often the rule runs and QueryPeriod how much
	// event time each run looks at. NRT rules carry neither in their files;
	// Sentinel runs them every minute, so both are set to one minute.
	QueryFrequency, QueryPeriod time.Duration
	TriggerOperator             string // gt, lt, eq or ne
	TriggerThreshold            int
	Tactics, RelevantTechniques []string
	AtlasTechniques             []string // MITRE ATLAS ids (AML.T0051), our extension key atlasTechniques
	EntityMappings              []EntityMapping
	CustomDetails               []CustomDetail // in file order
	AlertDetailsOverride        *AlertDetailsOverride
	EventGrouping               string // SingleAlert (Sentinel's default) or AlertPerResult
	SuppressionEnabled          bool
	SuppressionDuration         time.Duration
	Incident                    IncidentConfig
	Version                     string
	Enabled                     bool           // true when the key is absent
	Extra                       map[string]any // top-level keys aiwatch does not act on, kept as read
	File                        string         // where the rule came from
}

// EntityMapping maps result columns to the identifiers of one entity.
type EntityMapping struct {
	EntityType    string
	FieldMappings []FieldMapping
}

// FieldMapping takes one entity identifier from one result column.
type FieldMapping struct {
	Identifier, ColumnName string
}

// CustomDetail surfaces a result column in the alert under Key.
type CustomDetail struct {
	Key, Column string
}

// AlertDetailsOverride takes alert name, description, severity, tactics and
// other properties from the result row. Formats hold {{Column}} placeholders.
type AlertDetailsOverride struct {
	DisplayNameFormat, DescriptionFormat string
	SeverityColumn, TacticsColumn        string
	DynamicProperties                    []DynamicProperty
}

// DynamicProperty sets alert property Name from result column Value.
type DynamicProperty struct{ Name, Value string }

// IncidentConfig says whether alerts become incidents and how they group.
type IncidentConfig struct {
	CreateIncident bool // true when absent, as in Sentinel
	Grouping       GroupingConfig
}

// GroupingConfig groups a rule's alerts into incidents.
type GroupingConfig struct {
	Enabled, ReopenClosedIncident bool
	LookbackDuration              time.Duration
	MatchingMethod                string // AllEntities, AnyAlert or Selected
	GroupByEntities               []string
	GroupByAlertDetails           []string // DisplayName, Severity
	GroupByCustomDetails          []string
}

// Problem is one finding about a rule file. A problem that is not a warning
// makes the rule unusable.
type Problem struct {
	File, RuleID, Field, Message string
	Line                         int // line in File, 0 when unknown
	Warning                      bool
}

// Error reads "rules/x.yaml:12: rule 1a2b…: queryFrequency: cannot parse …";
// parts that are unknown are left out.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.RuleID != "" {
		if guidRe.MatchString(p.RuleID) {
			fmt.Fprintf(&b, "rule %s: ", p.RuleID)
		} else {
			fmt.Fprintf(&b, "rule %q: ", p.RuleID)
		}
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Triggered applies the rule's trigger to the number of result rows.
func (r *Rule) Triggered(rows int) bool {
	switch r.TriggerOperator {
	case "lt":
		return rows < r.TriggerThreshold
	case "eq":
		return rows == r.TriggerThreshold
	case "ne":
		return rows != r.TriggerThreshold
	}
	return rows > r.TriggerThreshold
}

// Sentinel's limits. Sources: the analytics rule wizard documentation
// ("Create a scheduled analytics rule": query interval and lookback 5
// minutes to 14 days, interval not longer than lookback; suppression up to
// 24 hours), "Map data fields to entities" (up to ten entity mappings, three
// identifiers each), "Surface custom details in alerts" (up to 20), and the
// Azure-Sentinel repository's template validation (lookback of 2 days or
// more needs a frequency of at least an hour; threshold 0..10000; query
// up to 10,000 characters; name 256; description 5,000; at most three
// placeholders in alert name and description formats; custom detail keys of
// at most 20 letters, digits and underscores). The incident-grouping
// lookback range, 5 minutes to 7 days, is what the incident settings offer.
const (
	minFrequency       = 5 * time.Minute
	maxFrequency       = 14 * 24 * time.Hour
	minPeriod          = 5 * time.Minute
	maxPeriod          = 14 * 24 * time.Hour
	longPeriod         = 2 * 24 * time.Hour
	longPeriodMinFreq  = time.Hour
	minSuppression     = 5 * time.Minute
	maxSuppression     = 24 * time.Hour
	minLookback        = 5 * time.Minute
	maxLookback        = 7 * 24 * time.Hour
	maxEntityMappings  = 10
	maxFieldMappings   = 3
	maxCustomDetails   = 20
	maxCustomKeyLen    = 20
	maxThreshold       = 10000
	maxQueryLen        = 10000
	maxNameLen         = 256
	maxDescriptionLen  = 5000
	maxPlaceholders    = 3
	nrtInterval        = time.Minute
	defaultSuppression = 5 * time.Hour // Sentinel's default (PT5H)
	defaultLookback    = 5 * time.Hour // Sentinel's default (PT5H)
)

var (
	guidRe      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	techniqueRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	atlasRe     = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)
	detailKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	columnRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	placeRe     = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// passiveKeys are standard keys of Sentinel rule files that aiwatch does not
// act on: kept in Extra without a warning.
var passiveKeys = map[string]bool{
	"requiredDataConnectors": true, "metadata": true, "tags": true, "status": true,
	"templateVersion": true, "sentinelEntitiesMappings": true, "techniques": true,
	"subTechniques": true, "alertRuleTemplateName": true, "displayName": true,
	"startTimeUtc": true, "lastUpdatedDateUTC": true, "createdDateUTC": true,
}

// parser collects one file's rule and problems.
type parser struct {
	file  string
	rule  *Rule
	probs []Problem
	bad   bool
	nodes map[string]*yaml.Node // top-level values by key
	// groupNode is incidentConfiguration.groupingConfiguration, when given
	groupNode *yaml.Node
	at        map[string]*yaml.Node // scalar values by field path, to place later problems
}

func (p *parser) add(n *yaml.Node, warn bool, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.probs = append(p.probs, Problem{File: p.file, Field: field, Line: line, Warning: warn, Message: fmt.Sprintf(format, args...)})
	if !warn {
		p.bad = true
	}
}
func (p *parser) errf(n *yaml.Node, field, format string, args ...any) {
	p.add(n, false, field, format, args...)
}
func (p *parser) warnf(n *yaml.Node, field, format string, args ...any) {
	p.add(n, true, field, format, args...)
}

// Parse reads one rule file. cat is the table catalogue the query compiles
// against (nil: kql.DefaultCatalog). The rule is nil when any problem is an
// error; warnings come with a usable rule.
func Parse(file string, data []byte, cat *kql.Catalog) (*Rule, []Problem) {
	p := &parser{file: file, rule: &Rule{File: file, Enabled: true, EventGrouping: "SingleAlert",
		SuppressionDuration: defaultSuppression,
		Incident:            IncidentConfig{CreateIncident: true, Grouping: GroupingConfig{LookbackDuration: defaultLookback, MatchingMethod: "AllEntities"}}},
		nodes: map[string]*yaml.Node{}, at: map[string]*yaml.Node{}}
	root := p.document(data)
	if root != nil {
		p.keys(root)
		p.check(cat)
	}
	id := p.rule.ID
	if id == "" {
		id = p.rule.Name
	}
	for i := range p.probs {
		p.probs[i].RuleID = id
	}
	sortProblems(p.probs)
	if p.bad {
		return nil, p.probs
	}
	return p.rule, p.probs
}

// document decodes the single YAML document of a file into its top mapping.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		var se *yamlerr.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			p.errf(nil, "", "the file is empty; a rule file holds one YAML mapping (id, name, query, …)")
		case errors.As(yamlerr.Syntax(data, err), &se):
			// No node to place it: the line comes from the syntax error.
			p.errf(&yaml.Node{Line: se.Line}, "", "not valid YAML: %s", se.Msg)
		default:
			p.errf(nil, "", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		p.errf(&more, "", "the file holds more than one YAML document; put one rule in each file")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.errf(root, "", "a rule file must be a YAML mapping of keys (id, name, query, …), not a %s", kindName(root))
		return nil
	}
	return root
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "mapping"
}

// field handlers by top-level key.
var handlers = map[string]func(p *parser, n *yaml.Node){
	"id": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "id"); ok && s != "" {
			if !guidRe.MatchString(s) {
				p.errf(n, "id", "%q is not a GUID (like 0f8e2c4a-1b3d-4e5f-8a9b-0c1d2e3f4a5b); Sentinel identifies rules by GUID, generate one with uuidgen", s)
				return
			}
			p.rule.ID = strings.ToLower(s)
		}
	},
	"name": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "name"); ok {
			p.rule.Name = strings.TrimSpace(s)
			if len([]rune(p.rule.Name)) > maxNameLen {
				p.errf(n, "name", "is %d characters long; Sentinel allows %d", len([]rune(p.rule.Name)), maxNameLen)
			}
		}
	},
	"description": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "description"); ok {
			p.rule.Description = strings.TrimSpace(s)
			if len([]rune(p.rule.Description)) > maxDescriptionLen {
				p.errf(n, "description", "is %d characters long; Sentinel allows %d", len([]rune(p.rule.Description)), maxDescriptionLen)
			}
		}
	},
	"severity": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "severity"); ok && s != "" {
			v, found := canonical(s, []string{"Informational", "Low", "Medium", "High"})
			if !found {
				p.errf(n, "severity", "%q is not a severity; use Informational, Low, Medium or High", s)
				return
			}
			p.rule.Severity = v
		}
	},
	"kind": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "kind"); ok && s != "" {
			v, found := canonical(s, []string{"Scheduled", "NRT"})
			if !found {
				p.errf(n, "kind", "%q rules are not supported; aiwatch runs Scheduled and NRT rules", s)
				return
			}
			p.rule.Kind = v
		}
	},
	"query": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "query"); ok {
			p.rule.Query = s
		}
	},
	"queryFrequency": func(p *parser, n *yaml.Node) { p.rule.QueryFrequency, _ = p.duration(n, "queryFrequency") },
	"queryPeriod":    func(p *parser, n *yaml.Node) { p.rule.QueryPeriod, _ = p.duration(n, "queryPeriod") },
	"triggerOperator": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "triggerOperator"); ok && s != "" {
			ops := map[string]string{"gt": "gt", "greaterthan": "gt", "lt": "lt", "lessthan": "lt", "eq": "eq", "equal": "eq", "ne": "ne", "notequal": "ne"}
			v, found := ops[strings.ToLower(strings.TrimSpace(s))]
			if !found {
				p.errf(n, "triggerOperator", "%q is not an operator; use gt, lt, eq or ne (or GreaterThan, LessThan, Equal, NotEqual)", s)
				return
			}
			p.rule.TriggerOperator = v
		}
	},
	"triggerThreshold": func(p *parser, n *yaml.Node) {
		if v, ok := p.integer(n, "triggerThreshold"); ok {
			if v < 0 || v > maxThreshold {
				p.errf(n, "triggerThreshold", "%d is out of range; Sentinel accepts 0 to %d", v, maxThreshold)
				return
			}
			p.rule.TriggerThreshold = v
		}
	},
	"tactics": func(p *parser, n *yaml.Node) {
		for i, s := range p.strList(n, "tactics") {
			v, found := canonical(s.val, tactics)
			if !found {
				p.errf(s.node, fmt.Sprintf("tactics[%d]", i), "%q is not a tactic Sentinel knows; use one of %s", s.val, strings.Join(tactics, ", "))
				continue
			}
			p.rule.Tactics = appendNew(p.rule.Tactics, v)
		}
	},
	"relevantTechniques": func(p *parser, n *yaml.Node) {
		for i, s := range p.strList(n, "relevantTechniques") {
			v := strings.TrimSpace(s.val)
			if !techniqueRe.MatchString(v) {
				p.errf(s.node, fmt.Sprintf("relevantTechniques[%d]", i), "%q is not an ATT&CK technique id; write T1234 or T1234.001", s.val)
				continue
			}
			p.rule.RelevantTechniques = appendNew(p.rule.RelevantTechniques, v)
		}
	},
	"atlasTechniques": func(p *parser, n *yaml.Node) {
		for i, s := range p.strList(n, "atlasTechniques") {
			v := strings.TrimSpace(s.val)
			if !atlasRe.MatchString(v) {
				p.errf(s.node, fmt.Sprintf("atlasTechniques[%d]", i), "%q is not a MITRE ATLAS technique id; write AML.T0051 or AML.T0051.000", s.val)
				continue
			}
			p.rule.AtlasTechniques = appendNew(p.rule.AtlasTechniques, v)
		}
	},
	"entityMappings":       (*parser).entityMappings,
	"customDetails":        (*parser).customDetails,
	"alertDetailsOverride": (*parser).alertDetails,
	"eventGroupingSettings": func(p *parser, n *yaml.Node) {
		m := p.mapping(n, "eventGroupingSettings", "aggregationKind")
		if v := m["aggregationKind"]; v != nil {
			if s, ok := p.str(v, "eventGroupingSettings.aggregationKind"); ok && s != "" {
				k, found := canonical(s, []string{"SingleAlert", "AlertPerResult"})
				if !found {
					p.errf(v, "eventGroupingSettings.aggregationKind", "%q is not a grouping; use SingleAlert (one alert per run) or AlertPerResult (one alert per result row)", s)
					return
				}
				p.rule.EventGrouping = k
			}
		}
	},
	"suppressionEnabled":    func(p *parser, n *yaml.Node) { p.rule.SuppressionEnabled, _ = p.boolean(n, "suppressionEnabled") },
	"suppressionDuration":   func(p *parser, n *yaml.Node) { p.duration(n, "suppressionDuration") }, // read in check, which knows the default
	"incidentConfiguration": (*parser).incident,
	"version": func(p *parser, n *yaml.Node) {
		if s, ok := p.str(n, "version"); ok {
			p.rule.Version = s
		}
	},
	"enabled": func(p *parser, n *yaml.Node) {
		if v, ok := p.boolean(n, "enabled"); ok {
			p.rule.Enabled = v
		}
	},
}

// keys walks the top-level mapping.
func (p *parser) keys(root *yaml.Node) {
	known := map[string]string{}
	for k := range handlers {
		known[strings.ToLower(k)] = k
	}
	for k := range passiveKeys {
		known[strings.ToLower(k)] = k
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], resolve(root.Content[i+1])
		key := kn.Value
		if _, dup := p.nodes[key]; dup {
			p.errf(kn, key, "appears twice; keep one")
			continue
		}
		p.nodes[key] = vn
		if h, ok := handlers[key]; ok {
			h(p, vn)
			continue
		}
		var v any
		if err := vn.Decode(&v); err != nil {
			v = vn.Value
		}
		if p.rule.Extra == nil {
			p.rule.Extra = map[string]any{}
		}
		p.rule.Extra[key] = v
		if passiveKeys[key] {
			continue
		}
		if want, ok := known[strings.ToLower(key)]; ok {
			p.warnf(kn, key, "unknown key, kept but not used; did you mean %s? (keys are case-sensitive)", want)
		} else {
			p.warnf(kn, key, "unknown key, kept but not used")
		}
	}
}

// check applies the rules that span fields, fills defaults and compiles the query.
func (p *parser) check(cat *kql.Catalog) {
	r := p.rule
	for _, req := range []struct {
		key  string
		have bool
		why  string
	}{
		{"id", r.ID != "", "the GUID that names the rule in alerts, incidents and Sentinel"},
		{"name", r.Name != "", "the alert title"},
		{"severity", r.Severity != "", "Informational, Low, Medium or High"},
		{"kind", r.Kind != "", "Scheduled or NRT"},
		{"query", strings.TrimSpace(r.Query) != "", "the KQL the rule runs"},
	} {
		if !req.have && !p.failed(req.key) {
			p.errf(nil, req.key, "missing; it is required (%s)", req.why)
		}
	}
	if r.Description == "" && !p.failed("description") {
		p.warnf(nil, "description", "missing; Sentinel requires a description, and analysts read it first")
	}
	if n := len(r.Query); n > maxQueryLen {
		p.errf(p.nodes["query"], "query", "is %d characters long; Sentinel allows %d", n, maxQueryLen)
	}
	switch r.Kind {
	case "Scheduled":
		p.schedule()
	case "NRT":
		for _, k := range []string{"queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"} {
			if n := p.nodes[k]; n != nil {
				p.warnf(n, k, "ignored for NRT rules, which run every minute and alert on any result")
			}
		}
		r.QueryFrequency, r.QueryPeriod = nrtInterval, nrtInterval
		r.TriggerOperator, r.TriggerThreshold = "gt", 0
	}
	p.suppression()
	p.grouping()
	if strings.TrimSpace(r.Query) != "" && len(r.Query) <= maxQueryLen {
		p.compile(cat)
	}
}

// failed reports whether key was present but already reported as bad.
func (p *parser) failed(key string) bool {
	n := p.nodes[key]
	if n == nil {
		return false
	}
	return !(n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || strings.TrimSpace(n.Value) == ""))
}

func (p *parser) schedule() {
	r := p.rule
	for _, k := range []string{"queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"} {
		if p.nodes[k] == nil {
			p.errf(nil, k, "missing; Scheduled rules need queryFrequency, queryPeriod, triggerOperator and triggerThreshold (for example 5m, 5m, gt, 0)")
		}
	}
	fn, pn := p.nodes["queryFrequency"], p.nodes["queryPeriod"]
	okF := fn != nil && p.within(fn, "queryFrequency", r.QueryFrequency, minFrequency, maxFrequency)
	okP := pn != nil && p.within(pn, "queryPeriod", r.QueryPeriod, minPeriod, maxPeriod)
	if !okF || !okP {
		return
	}
	if r.QueryPeriod < r.QueryFrequency {
		p.errf(pn, "queryPeriod", "%s is shorter than queryFrequency %s, so runs would leave gaps; make queryPeriod at least queryFrequency",
			FormatDuration(r.QueryPeriod), FormatDuration(r.QueryFrequency))
	}
	if r.QueryPeriod >= longPeriod && r.QueryFrequency < longPeriodMinFreq {
		p.errf(fn, "queryFrequency", "%s is too frequent for a queryPeriod of %s; Sentinel needs queryFrequency of at least 1h when queryPeriod is 2d or more",
			FormatDuration(r.QueryFrequency), FormatDuration(r.QueryPeriod))
	}
}

// within checks a parsed duration (zero when it did not parse) against limits.
func (p *parser) within(n *yaml.Node, field string, d, lo, hi time.Duration) bool {
	if d == 0 && n != nil && !p.isZero(n) {
		return false // already reported as unparseable
	}
	if d < lo || d > hi {
		p.errf(n, field, "%s is out of range; Sentinel accepts %s to %s", FormatDuration(d), FormatDuration(lo), FormatDuration(hi))
		return false
	}
	return true
}

// isZero reports whether n parses to a zero duration.
func (p *parser) isZero(n *yaml.Node) bool {
	d, err := ParseDuration(n.Value)
	return err == nil && d == 0
}

func (p *parser) suppression() {
	r := p.rule
	n := p.nodes["suppressionDuration"]
	if n == nil {
		return
	}
	d, err := ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return // reported by the handler
	}
	if !p.within(n, "suppressionDuration", d, minSuppression, maxSuppression) {
		return
	}
	r.SuppressionDuration = d
	if r.SuppressionEnabled && r.QueryFrequency > 0 && d < r.QueryFrequency {
		p.warnf(n, "suppressionDuration", "%s is shorter than queryFrequency %s, so suppression never skips a run", FormatDuration(d), FormatDuration(r.QueryFrequency))
	}
}

func (p *parser) grouping() {
	g := &p.rule.Incident.Grouping
	gn := p.groupNode
	if gn == nil {
		return
	}
	if g.MatchingMethod == "Selected" && len(g.GroupByEntities)+len(g.GroupByAlertDetails)+len(g.GroupByCustomDetails) == 0 {
		p.errf(gn, "incidentConfiguration.groupingConfiguration.matchingMethod", "Selected needs at least one of groupByEntities, groupByAlertDetails or groupByCustomDetails")
	}
	if g.MatchingMethod != "Selected" && len(g.GroupByEntities)+len(g.GroupByAlertDetails)+len(g.GroupByCustomDetails) > 0 {
		p.warnf(gn, "incidentConfiguration.groupingConfiguration", "groupBy lists are ignored unless matchingMethod is Selected (it is %s)", g.MatchingMethod)
	}
	mapped := map[string]bool{}
	for _, em := range p.rule.EntityMappings {
		mapped[em.EntityType] = true
	}
	for i, e := range g.GroupByEntities {
		if !mapped[e] {
			p.errf(gn, fmt.Sprintf("incidentConfiguration.groupingConfiguration.groupByEntities[%d]", i), "%s is not mapped in entityMappings; a rule can only group by entities it maps", e)
		}
	}
	keys := map[string]bool{}
	for _, cd := range p.rule.CustomDetails {
		keys[cd.Key] = true
	}
	for i, k := range g.GroupByCustomDetails {
		if !keys[k] {
			p.errf(gn, fmt.Sprintf("incidentConfiguration.groupingConfiguration.groupByCustomDetails[%d]", i), "%q is not a key of customDetails", k)
		}
	}
	if g.Enabled && !p.rule.Incident.CreateIncident {
		p.warnf(gn, "incidentConfiguration.groupingConfiguration.enabled", "has no effect while createIncident is false")
	}
}

// compile compiles the query and checks that every column the rule names
// is in its result.
func (p *parser) compile(cat *kql.Catalog) {
	if cat == nil {
		cat = kql.DefaultCatalog()
	}
	qn := p.nodes["query"]
	comp, err := kql.Compile(p.rule.Query, cat, kql.Options{})
	if err != nil {
		var ke *kql.Error
		if errors.As(err, &ke) {
			p.probs = append(p.probs, Problem{File: p.file, Field: "query", Line: queryLine(qn, ke.Line),
				Message: fmt.Sprintf("does not compile: line %d, column %d of the query: %s (at %q)", ke.Line, ke.Column, ke.Msg, strings.TrimSpace(ke.Source))})
			p.bad = true
		} else {
			p.errf(qn, "query", "does not compile: %v", err)
		}
		return
	}
	cols := map[string]bool{}
	var names []string
	for _, c := range comp.Columns {
		cols[c.Name] = true
		names = append(names, c.Name)
	}
	need := func(field, col string) {
		if col == "" || cols[col] {
			return
		}
		hint := ""
		for _, c := range names {
			if strings.EqualFold(c, col) {
				hint = fmt.Sprintf("; did you mean %s? (columns are case-sensitive)", c)
			}
		}
		if hint == "" {
			shown := names
			if len(shown) > 15 {
				shown = append(shown[:15:15], "…")
			}
			hint = "; the query returns " + strings.Join(shown, ", ")
		}
		n := p.at[field]
		if n == nil {
			n = p.nodes[strings.SplitN(strings.SplitN(field, ".", 2)[0], "[", 2)[0]]
		}
		p.errf(n, field, "column %q is not in the query's result%s", col, hint)
	}
	for i, em := range p.rule.EntityMappings {
		for j, fm := range em.FieldMappings {
			need(fmt.Sprintf("entityMappings[%d].fieldMappings[%d].columnName", i, j), fm.ColumnName)
		}
	}
	for _, cd := range p.rule.CustomDetails {
		need("customDetails."+cd.Key, cd.Column)
	}
	if o := p.rule.AlertDetailsOverride; o != nil {
		for _, ph := range Placeholders(o.DisplayNameFormat) {
			need("alertDetailsOverride.alertDisplayNameFormat", ph)
		}
		for _, ph := range Placeholders(o.DescriptionFormat) {
			need("alertDetailsOverride.alertDescriptionFormat", ph)
		}
		need("alertDetailsOverride.alertSeverityColumnName", o.SeverityColumn)
		need("alertDetailsOverride.alertTacticsColumnName", o.TacticsColumn)
		for i, dp := range o.DynamicProperties {
			need(fmt.Sprintf("alertDetailsOverride.alertDynamicProperties[%d].value", i), dp.Value)
		}
	}
}

// queryLine turns a line of the query into a line of the file when the
// query is a literal block (query: |), whose text starts on the next line.
func queryLine(n *yaml.Node, qline int) int {
	if n == nil {
		return 0
	}
	if n.Style&yaml.LiteralStyle != 0 {
		return n.Line + qline
	}
	return n.Line
}

// entityMappings reads the list of entity mappings.
func (p *parser) entityMappings(n *yaml.Node) {
	items := p.seq(n, "entityMappings")
	if len(items) > maxEntityMappings {
		p.errf(n, "entityMappings", "has %d mappings; Sentinel allows %d per rule", len(items), maxEntityMappings)
	}
	for i, it := range items {
		f := fmt.Sprintf("entityMappings[%d]", i)
		m := p.mapping(it, f, "entityType", "fieldMappings")
		if m == nil {
			continue
		}
		var em EntityMapping
		tn := m["entityType"]
		if tn == nil {
			p.errf(it, f+".entityType", "missing; name the entity type (Account, IP, Host, …)")
			continue
		}
		ts, ok := p.str(tn, f+".entityType")
		if !ok {
			continue
		}
		t, found := canonical(ts, entityTypeNames())
		if !found {
			p.errf(tn, f+".entityType", "%q is not a Sentinel entity type; use one of %s", ts, strings.Join(entityTypeNames(), ", "))
			continue
		}
		em.EntityType = t
		spec := entityTypes[t]
		if !spec.core {
			p.warnf(tn, f+".entityType", "%s entities are kept in alerts as mapped, but Copilot records rarely carry them", t)
		}
		fms := p.seq(m["fieldMappings"], f+".fieldMappings")
		if len(fms) == 0 {
			p.errf(it, f+".fieldMappings", "empty; map at least one identifier to a column")
			continue
		}
		if len(fms) > maxFieldMappings {
			p.errf(m["fieldMappings"], f+".fieldMappings", "has %d identifiers; Sentinel allows %d per entity", len(fms), maxFieldMappings)
		}
		seen := map[string]bool{}
		for j, fmn := range fms {
			ff := fmt.Sprintf("%s.fieldMappings[%d]", f, j)
			fm := p.mapping(fmn, ff, "identifier", "columnName")
			if fm == nil {
				continue
			}
			idn, coln := fm["identifier"], fm["columnName"]
			if idn == nil || coln == nil {
				p.errf(fmn, ff, "needs both identifier and columnName")
				continue
			}
			ids, ok1 := p.str(idn, ff+".identifier")
			col, ok2 := p.str(coln, ff+".columnName")
			if !ok1 || !ok2 {
				continue
			}
			id, found := canonical(ids, spec.identifiers)
			if !found {
				p.errf(idn, ff+".identifier", "%q is not an identifier of %s; use one of %s", ids, t, strings.Join(spec.identifiers, ", "))
				continue
			}
			if seen[id] {
				p.errf(idn, ff+".identifier", "%s is mapped twice in this entity", id)
				continue
			}
			seen[id] = true
			col = strings.TrimSpace(col)
			if col == "" {
				p.errf(coln, ff+".columnName", "empty; name the result column holding the %s", id)
				continue
			}
			em.FieldMappings = append(em.FieldMappings, FieldMapping{Identifier: id, ColumnName: col})
		}
		if len(em.FieldMappings) == len(fms) && !hasRequired(seen, spec.required) {
			var sets []string
			for _, s := range spec.required {
				sets = append(sets, strings.Join(s, "+"))
			}
			p.errf(it, f+".fieldMappings", "%s needs at least one of these identifiers: %s", t, strings.Join(sets, ", "))
		}
		p.rule.EntityMappings = append(p.rule.EntityMappings, em)
	}
}

func hasRequired(seen map[string]bool, sets [][]string) bool {
	for _, s := range sets {
		all := true
		for _, id := range s {
			all = all && seen[id]
		}
		if all {
			return true
		}
	}
	return false
}

// customDetails reads the key → column mapping, keeping file order.
func (p *parser) customDetails(n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "customDetails", "must be a mapping of detail name to result column (Model: AIModelName)")
		return
	}
	if k := len(n.Content) / 2; k > maxCustomDetails {
		p.errf(n, "customDetails", "has %d details; Sentinel allows %d per rule", k, maxCustomDetails)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], resolve(n.Content[i+1])
		key := kn.Value
		f := "customDetails." + key
		if seen[key] {
			p.errf(kn, f, "appears twice; keep one")
			continue
		}
		seen[key] = true
		if !detailKeyRe.MatchString(key) || len(key) > maxCustomKeyLen {
			p.errf(kn, f, "key %q must start with a letter, hold only letters, digits and underscores, and be at most %d long", key, maxCustomKeyLen)
			continue
		}
		col, ok := p.str(vn, f)
		if !ok {
			continue
		}
		col = strings.TrimSpace(col)
		if !columnRe.MatchString(col) {
			p.errf(vn, f, "value %q must be a result column name (letters, digits, underscores)", col)
			continue
		}
		p.rule.CustomDetails = append(p.rule.CustomDetails, CustomDetail{Key: key, Column: col})
	}
}

// alertDetails reads alertDetailsOverride.
func (p *parser) alertDetails(n *yaml.Node) {
	const f = "alertDetailsOverride"
	m := p.mapping(n, f, "alertDisplayNameFormat", "alertDescriptionFormat", "alertSeverityColumnName", "alertTacticsColumnName", "alertDynamicProperties")
	if m == nil {
		return
	}
	o := &AlertDetailsOverride{}
	text := func(key string, max int) string {
		vn := m[key]
		if vn == nil {
			return ""
		}
		s, ok := p.str(vn, f+"."+key)
		if !ok {
			return ""
		}
		s = strings.TrimSpace(s)
		if len([]rune(s)) > max {
			p.errf(vn, f+"."+key, "is %d characters long; Sentinel allows %d", len([]rune(s)), max)
		}
		if ph := Placeholders(s); len(ph) > maxPlaceholders {
			p.errf(vn, f+"."+key, "has %d {{column}} placeholders; Sentinel allows %d", len(ph), maxPlaceholders)
		}
		return s
	}
	o.DisplayNameFormat = text("alertDisplayNameFormat", maxNameLen)
	o.DescriptionFormat = text("alertDescriptionFormat", maxDescriptionLen)
	for _, c := range []struct {
		key string
		dst *string
	}{{"alertSeverityColumnName", &o.SeverityColumn}, {"alertTacticsColumnName", &o.TacticsColumn}} {
		if vn := m[c.key]; vn != nil {
			if s, ok := p.str(vn, f+"."+c.key); ok {
				*c.dst = strings.TrimSpace(s)
			}
		}
	}
	for i, it := range p.seq(m["alertDynamicProperties"], f+".alertDynamicProperties") {
		ff := fmt.Sprintf("%s.alertDynamicProperties[%d]", f, i)
		dm := p.mapping(it, ff, "alertProperty", "value")
		if dm == nil {
			continue
		}
		if dm["alertProperty"] == nil || dm["value"] == nil {
			p.errf(it, ff, "needs both alertProperty and value")
			continue
		}
		name, ok1 := p.str(dm["alertProperty"], ff+".alertProperty")
		val, ok2 := p.str(dm["value"], ff+".value")
		if !ok1 || !ok2 {
			continue
		}
		if c, found := canonical(name, dynamicProperties); found {
			name = c
		} else {
			p.warnf(dm["alertProperty"], ff+".alertProperty", "%q is not an alert property Sentinel sets (%s); kept as is", name, strings.Join(dynamicProperties, ", "))
		}
		o.DynamicProperties = append(o.DynamicProperties, DynamicProperty{Name: name, Value: strings.TrimSpace(val)})
	}
	p.rule.AlertDetailsOverride = o
}

// incident reads incidentConfiguration.
func (p *parser) incident(n *yaml.Node) {
	const f = "incidentConfiguration"
	m := p.mapping(n, f, "createIncident", "groupingConfiguration")
	if m == nil {
		return
	}
	if vn := m["createIncident"]; vn != nil {
		if v, ok := p.boolean(vn, f+".createIncident"); ok {
			p.rule.Incident.CreateIncident = v
		}
	}
	gn := m["groupingConfiguration"]
	if gn == nil || isNull(gn) {
		return
	}
	const g = f + ".groupingConfiguration"
	gm := p.mapping(gn, g, "enabled", "reopenClosedIncident", "lookbackDuration", "matchingMethod", "groupByEntities", "groupByAlertDetails", "groupByCustomDetails")
	if gm == nil {
		return
	}
	p.groupNode = gn
	cfg := &p.rule.Incident.Grouping
	if vn := gm["enabled"]; vn != nil {
		cfg.Enabled, _ = p.boolean(vn, g+".enabled")
	}
	if vn := gm["reopenClosedIncident"]; vn != nil {
		cfg.ReopenClosedIncident, _ = p.boolean(vn, g+".reopenClosedIncident")
	}
	if vn := gm["lookbackDuration"]; vn != nil {
		if d, ok := p.duration(vn, g+".lookbackDuration"); ok && p.within(vn, g+".lookbackDuration", d, minLookback, maxLookback) {
			cfg.LookbackDuration = d
		}
	}
	if vn := gm["matchingMethod"]; vn != nil {
		if s, ok := p.str(vn, g+".matchingMethod"); ok && s != "" {
			v, found := canonical(s, []string{"AllEntities", "AnyAlert", "Selected"})
			if !found {
				p.errf(vn, g+".matchingMethod", "%q is not a matching method; use AllEntities, AnyAlert or Selected", s)
			} else {
				cfg.MatchingMethod = v
			}
		}
	}
	for i, s := range p.strList(gm["groupByEntities"], g+".groupByEntities") {
		v, found := canonical(s.val, entityTypeNames())
		if !found {
			p.errf(s.node, fmt.Sprintf("%s.groupByEntities[%d]", g, i), "%q is not a Sentinel entity type", s.val)
			continue
		}
		cfg.GroupByEntities = appendNew(cfg.GroupByEntities, v)
	}
	for i, s := range p.strList(gm["groupByAlertDetails"], g+".groupByAlertDetails") {
		v, found := canonical(s.val, []string{"DisplayName", "Severity"})
		if !found {
			p.errf(s.node, fmt.Sprintf("%s.groupByAlertDetails[%d]", g, i), "%q is not an alert detail; use DisplayName or Severity", s.val)
			continue
		}
		cfg.GroupByAlertDetails = appendNew(cfg.GroupByAlertDetails, v)
	}
	for _, s := range p.strList(gm["groupByCustomDetails"], g+".groupByCustomDetails") {
		cfg.GroupByCustomDetails = appendNew(cfg.GroupByCustomDetails, strings.TrimSpace(s.val))
	}
}

// --- typed readers; each reports its own problems ---

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// str reads a scalar; null is "".
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	if n != nil {
		p.at[field] = n
	}
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "must be a single value, not a %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(n *yaml.Node, field string) (int, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		p.errf(n, field, "%q is not a whole number", s)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.errf(n, field, "%q is not true or false", s)
	return false, false
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errf(n, field, "%v", err)
		return 0, false
	}
	return d, true
}

type strItem struct {
	val  string
	node *yaml.Node
}

// strList reads a list of scalars; null is empty.
func (p *parser) strList(n *yaml.Node, field string) []strItem {
	var out []strItem
	for i, it := range p.seq(n, field) {
		if s, ok := p.str(it, fmt.Sprintf("%s[%d]", field, i)); ok && strings.TrimSpace(s) != "" {
			out = append(out, strItem{s, it})
		}
	}
	return out
}

// seq reads a list; null is empty.
func (p *parser) seq(n *yaml.Node, field string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, field, "must be a list (lines starting with \"- \"), not a %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// mapping reads a mapping with the given keys, warning about others.
func (p *parser) mapping(n *yaml.Node, field string, keys ...string) map[string]*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, field, "must be a mapping of %s, not a %s", strings.Join(keys, ", "), kindName(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, dup := out[k]; dup {
			p.errf(n.Content[i], field+"."+k, "appears twice; keep one")
			continue
		}
		if !contains(keys, k) {
			p.warnf(n.Content[i], field+"."+k, "unknown key, ignored; expected %s", strings.Join(keys, ", "))
			continue
		}
		out[k] = resolve(n.Content[i+1])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendNew(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

// sortProblems orders problems by file, then line, keeping the order of
// equal ones.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}
