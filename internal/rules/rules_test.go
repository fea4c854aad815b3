package rules

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// base is a valid rule as ordered top-level blocks, so a test can replace,
// drop or add one key.
var base = []struct{ key, block string }{
	{"id", "id: 7ac86241-9d43-4b39-a958-9252935a56a3"},
	{"name", "name: Test rule"},
	{"description", "description: A rule for tests."},
	{"severity", "severity: Medium"},
	{"kind", "kind: Scheduled"},
	{"queryFrequency", "queryFrequency: 5m"},
	{"queryPeriod", "queryPeriod: 5m"},
	{"triggerOperator", "triggerOperator: gt"},
	{"triggerThreshold", "triggerThreshold: 0"},
	{"tactics", "tactics:\n  - InitialAccess"},
	{"query", "query: |\n  CopilotActivity\n  | where RecordType == \"CopilotInteraction\"\n  | project TimeGenerated, ActorName, SrcIpAddr, AppHost, AIModelName"},
	{"entityMappings", "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: FullName\n        columnName: ActorName"},
}

// mk builds a rule file from base: a value in over replaces the key's block
// ("" drops it); extra blocks are appended in order.
func mk(over map[string]string, extra ...string) string {
	var parts []string
	for _, b := range base {
		v, ok := over[b.key]
		switch {
		case !ok:
			parts = append(parts, b.block)
		case v != "":
			parts = append(parts, v)
		}
	}
	parts = append(parts, extra...)
	return strings.Join(parts, "\n") + "\n"
}

func errorsOf(ps []Problem) (errs, warns []Problem) {
	for _, p := range ps {
		if p.Warning {
			warns = append(warns, p)
		} else {
			errs = append(errs, p)
		}
	}
	return
}

func TestParseFullRule(t *testing.T) {
	src := `id: 869EBF57-4DD0-4ADC-A8DC-0A59F399B86F
name: Full rule
description: |
  Every field set.
severity: high
kind: scheduled
status: Available
requiredDataConnectors:
  - connectorId: CopilotActivity
    dataTypes: [CopilotActivity]
metadata:
  source: {kind: Community}
tags: [Copilot]
templateVersion: 1.0.0
queryFrequency: PT1H
queryPeriod: 2h
triggerOperator: GreaterThan
triggerThreshold: 2
tactics: [InitialAccess, Defense Evasion]
relevantTechniques: [T1078, T1562.001]
atlasTechniques: [AML.T0051, AML.T0054.000]
query: |
  CopilotActivity
  | summarize Count = count() by ActorName, SrcIpAddr, AppHost
  | extend Severity = "High", Tactic = "Impact"
entityMappings:
  - entityType: Account
    fieldMappings:
      - identifier: FullName
        columnName: ActorName
      - identifier: name
        columnName: ActorName
  - entityType: ip
    fieldMappings:
      - identifier: Address
        columnName: SrcIpAddr
  - entityType: CloudApplication
    fieldMappings:
      - identifier: Name
        columnName: AppHost
customDetails:
  Zeta: Count
  Alpha: AppHost
alertDetailsOverride:
  alertDisplayNameFormat: "{{ActorName}} used {{AppHost}}"
  alertDescriptionFormat: "{{Count}} interactions from {{SrcIpAddr}}"
  alertSeverityColumnName: Severity
  alertTacticsColumnName: Tactic
  alertDynamicProperties:
    - alertProperty: ProductName
      value: AppHost
eventGroupingSettings:
  aggregationKind: AlertPerResult
suppressionEnabled: true
suppressionDuration: PT2H
incidentConfiguration:
  createIncident: false
  groupingConfiguration:
    enabled: true
    reopenClosedIncident: true
    lookbackDuration: 1d
    matchingMethod: selected
    groupByEntities: [Account, IP]
    groupByAlertDetails: [DisplayName, severity]
    groupByCustomDetails: [Alpha]
version: "1.2.3"
enabled: false
`
	r, ps := Parse("rules/full.yaml", []byte(src), nil)
	if r == nil {
		t.Fatalf("rule refused: %v", ps)
	}
	// createIncident false with grouping enabled is allowed but pointless.
	if len(ps) != 1 || !ps[0].Warning || ps[0].Field != "incidentConfiguration.groupingConfiguration.enabled" {
		t.Errorf("problems: %v", ps)
	}
	want := &Rule{
		ID: "869ebf57-4dd0-4adc-a8dc-0a59f399b86f", Name: "Full rule", Description: "Every field set.",
		Severity: "High", Kind: "Scheduled",
		Query:          "CopilotActivity\n| summarize Count = count() by ActorName, SrcIpAddr, AppHost\n| extend Severity = \"High\", Tactic = \"Impact\"\n",
		QueryFrequency: time.Hour, QueryPeriod: 2 * time.Hour, TriggerOperator: "gt", TriggerThreshold: 2,
		Tactics:            []string{"InitialAccess", "DefenseEvasion"},
		RelevantTechniques: []string{"T1078", "T1562.001"},
		AtlasTechniques:    []string{"AML.T0051", "AML.T0054.000"},
		EntityMappings: []EntityMapping{
			{EntityType: "Account", FieldMappings: []FieldMapping{{"FullName", "ActorName"}, {"Name", "ActorName"}}},
			{EntityType: "IP", FieldMappings: []FieldMapping{{"Address", "SrcIpAddr"}}},
			{EntityType: "CloudApplication", FieldMappings: []FieldMapping{{"Name", "AppHost"}}},
		},
		CustomDetails: []CustomDetail{{"Zeta", "Count"}, {"Alpha", "AppHost"}},
		AlertDetailsOverride: &AlertDetailsOverride{
			DisplayNameFormat: "{{ActorName}} used {{AppHost}}", DescriptionFormat: "{{Count}} interactions from {{SrcIpAddr}}",
			SeverityColumn: "Severity", TacticsColumn: "Tactic", DynamicProperties: []DynamicProperty{{"ProductName", "AppHost"}},
		},
		EventGrouping: "AlertPerResult", SuppressionEnabled: true, SuppressionDuration: 2 * time.Hour,
		Incident: IncidentConfig{CreateIncident: false, Grouping: GroupingConfig{
			Enabled: true, ReopenClosedIncident: true, LookbackDuration: 24 * time.Hour, MatchingMethod: "Selected",
			GroupByEntities: []string{"Account", "IP"}, GroupByAlertDetails: []string{"DisplayName", "Severity"}, GroupByCustomDetails: []string{"Alpha"},
		}},
		Version: "1.2.3", Enabled: false,
		Extra: map[string]any{
			"status":                 "Available",
			"requiredDataConnectors": []any{map[string]any{"connectorId": "CopilotActivity", "dataTypes": []any{"CopilotActivity"}}},
			"metadata":               map[string]any{"source": map[string]any{"kind": "Community"}},
			"tags":                   []any{"Copilot"},
			"templateVersion":        "1.0.0",
		},
		File: "rules/full.yaml",
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
}

func TestParseDefaults(t *testing.T) {
	r, ps := Parse("d.yaml", []byte(mk(nil)), nil)
	if r == nil || len(ps) != 0 {
		t.Fatalf("%v %v", r, ps)
	}
	if !r.Enabled || r.EventGrouping != "SingleAlert" || r.SuppressionEnabled || r.SuppressionDuration != 5*time.Hour ||
		!r.Incident.CreateIncident || r.Incident.Grouping.Enabled || r.Incident.Grouping.MatchingMethod != "AllEntities" ||
		r.Incident.Grouping.LookbackDuration != 5*time.Hour || r.AlertDetailsOverride != nil || r.Extra != nil {
		t.Errorf("defaults: %+v", r)
	}
}

func TestParseNRT(t *testing.T) {
	src := mk(map[string]string{"kind": "kind: NRT", "queryPeriod": "", "triggerOperator": "", "triggerThreshold": ""})
	r, ps := Parse("n.yaml", []byte(src), nil)
	if r == nil {
		t.Fatal(ps)
	}
	if r.Kind != "NRT" || r.QueryFrequency != time.Minute || r.QueryPeriod != time.Minute || r.TriggerOperator != "gt" || r.TriggerThreshold != 0 {
		t.Errorf("NRT: %+v", r)
	}
	// queryFrequency from base is still there: warned as ignored.
	if len(ps) != 1 || !ps[0].Warning || ps[0].Field != "queryFrequency" || !strings.Contains(ps[0].Message, "ignored for NRT rules") {
		t.Errorf("problems: %v", ps)
	}
}

func TestParseErrors(t *testing.T) {
	eleven := "entityMappings:" + strings.Repeat("\n  - entityType: Account\n    fieldMappings:\n      - identifier: FullName\n        columnName: ActorName", 11)
	var cd strings.Builder
	cd.WriteString("customDetails:")
	for i := 0; i < 21; i++ {
		cd.WriteString("\n  K" + string(rune('a'+i)) + ": AppHost")
	}
	for _, c := range []struct {
		name  string
		src   string
		field string
		frag  string
	}{
		{"no id", mk(map[string]string{"id": ""}), "id", "missing; it is required"},
		{"id not guid", mk(map[string]string{"id": "id: rule-1"}), "id", `"rule-1" is not a GUID`},
		{"no name", mk(map[string]string{"name": ""}), "name", "missing; it is required"},
		{"long name", mk(map[string]string{"name": "name: " + strings.Repeat("x", 257)}), "name", "is 257 characters long; Sentinel allows 256"},
		{"no severity", mk(map[string]string{"severity": ""}), "severity", "missing"},
		{"bad severity", mk(map[string]string{"severity": "severity: Critical"}), "severity", `"Critical" is not a severity; use Informational, Low, Medium or High`},
		{"no kind", mk(map[string]string{"kind": ""}), "kind", "missing"},
		{"fusion", mk(map[string]string{"kind": "kind: Fusion"}), "kind", `"Fusion" rules are not supported`},
		{"no query", mk(map[string]string{"query": ""}), "query", "missing"},
		{"blank query", mk(map[string]string{"query": "query: ''"}), "query", "missing"},
		{"query not text", mk(map[string]string{"query": "query: [a, b]"}), "query", "must be a single value, not a list"},
		{"long query", mk(map[string]string{"query": "query: \"CopilotActivity | where ActorName != '" + strings.Repeat("x", 10000) + "'\""}), "query", "Sentinel allows 10000"},
		{"no frequency", mk(map[string]string{"queryFrequency": ""}), "queryFrequency", "Scheduled rules need queryFrequency"},
		{"no threshold", mk(map[string]string{"triggerThreshold": ""}), "triggerThreshold", "missing"},
		{"no operator", mk(map[string]string{"triggerOperator": ""}), "triggerOperator", "missing"},
		{"bad frequency", mk(map[string]string{"queryFrequency": "queryFrequency: 5x"}), "queryFrequency", `cannot parse "5x"`},
		{"frequency too small", mk(map[string]string{"queryFrequency": "queryFrequency: 1m"}), "queryFrequency", "1m is out of range; Sentinel accepts 5m to 14d"},
		{"period too long", mk(map[string]string{"queryPeriod": "queryPeriod: P15D"}), "queryPeriod", "15d is out of range; Sentinel accepts 5m to 14d"},
		{"period < frequency", mk(map[string]string{"queryFrequency": "queryFrequency: 1h", "queryPeriod": "queryPeriod: 30m"}), "queryPeriod", "30m is shorter than queryFrequency 1h"},
		{"long period fast", mk(map[string]string{"queryFrequency": "queryFrequency: 30m", "queryPeriod": "queryPeriod: 2d"}), "queryFrequency", "at least 1h when queryPeriod is 2d or more"},
		{"bad operator", mk(map[string]string{"triggerOperator": "triggerOperator: above"}), "triggerOperator", `"above" is not an operator`},
		{"threshold text", mk(map[string]string{"triggerThreshold": "triggerThreshold: many"}), "triggerThreshold", `"many" is not a whole number`},
		{"threshold negative", mk(map[string]string{"triggerThreshold": "triggerThreshold: -1"}), "triggerThreshold", "-1 is out of range; Sentinel accepts 0 to 10000"},
		{"bad tactic", mk(map[string]string{"tactics": "tactics: [InitialAccess, Lateral]"}), "tactics[1]", `"Lateral" is not a tactic Sentinel knows`},
		{"tactics not list", mk(map[string]string{"tactics": "tactics: InitialAccess"}), "tactics", "must be a list"},
		{"bad technique", mk(nil, "relevantTechniques: [T12]"), "relevantTechniques[0]", `"T12" is not an ATT&CK technique id; write T1234 or T1234.001`},
		{"bad atlas", mk(nil, "atlasTechniques: [T0051]"), "atlasTechniques[0]", `"T0051" is not a MITRE ATLAS technique id`},
		{"bad entity type", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Person\n    fieldMappings:\n      - identifier: Name\n        columnName: ActorName"}),
			"entityMappings[0].entityType", `"Person" is not a Sentinel entity type`},
		{"bad identifier", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: Email\n        columnName: ActorName"}),
			"entityMappings[0].fieldMappings[0].identifier", `"Email" is not an identifier of Account; use one of Name, FullName`},
		{"ip identifier", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: IP\n    fieldMappings:\n      - identifier: Name\n        columnName: SrcIpAddr"}),
			"entityMappings[0].fieldMappings[0].identifier", `"Name" is not an identifier of IP; use one of Address, AddressScope`},
		{"weak identifier only", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: UPNSuffix\n        columnName: ActorName"}),
			"entityMappings[0].fieldMappings", "Account needs at least one of these identifiers: FullName, Sid, Name, AadUserId, PUID, ObjectGuid"},
		{"filehash half", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: FileHash\n    fieldMappings:\n      - identifier: Algorithm\n        columnName: AppHost"}),
			"entityMappings[0].fieldMappings", "FileHash needs at least one of these identifiers: Algorithm+Value"},
		{"identifier twice", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: Name\n        columnName: ActorName\n      - identifier: Name\n        columnName: AppHost"}),
			"entityMappings[0].fieldMappings[1].identifier", "Name is mapped twice"},
		{"no field mappings", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings: []"}),
			"entityMappings[0].fieldMappings", "empty; map at least one identifier"},
		{"no column", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: Name"}),
			"entityMappings[0].fieldMappings[0]", "needs both identifier and columnName"},
		{"eleven mappings", mk(map[string]string{"entityMappings": eleven}), "entityMappings", "has 11 mappings; Sentinel allows 10 per rule"},
		{"four identifiers", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - {identifier: Name, columnName: ActorName}\n      - {identifier: FullName, columnName: ActorName}\n      - {identifier: Sid, columnName: ActorName}\n      - {identifier: AadUserId, columnName: ActorName}"}),
			"entityMappings[0].fieldMappings", "has 4 identifiers; Sentinel allows 3 per entity"},
		{"mappings not list", mk(map[string]string{"entityMappings": "entityMappings: Account"}), "entityMappings", "must be a list"},
		{"entity column missing", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: IP\n    fieldMappings:\n      - identifier: Address\n        columnName: ClientIP"}),
			"entityMappings[0].fieldMappings[0].columnName", `column "ClientIP" is not in the query's result; the query returns TimeGenerated, ActorName, SrcIpAddr, AppHost, AIModelName`},
		{"entity column case", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: Name\n        columnName: actorname"}),
			"entityMappings[0].fieldMappings[0].columnName", "did you mean ActorName? (columns are case-sensitive)"},
		{"21 custom details", mk(nil, cd.String()), "customDetails", "has 21 details; Sentinel allows 20 per rule"},
		{"custom detail key", mk(nil, "customDetails:\n  1st: AppHost"), "customDetails.1st", "must start with a letter"},
		{"custom detail long key", mk(nil, "customDetails:\n  ABCDEFGHIJKLMNOPQRSTU: AppHost"), "customDetails.ABCDEFGHIJKLMNOPQRSTU", "at most 20 long"},
		{"custom detail column", mk(nil, "customDetails:\n  Model: ModelName"), "customDetails.Model", `column "ModelName" is not in the query's result`},
		{"custom details not map", mk(nil, "customDetails: [AppHost]"), "customDetails", "must be a mapping"},
		{"placeholder column", mk(nil, "alertDetailsOverride:\n  alertDisplayNameFormat: '{{User}} did it'"), "alertDetailsOverride.alertDisplayNameFormat", `column "User" is not in the query's result`},
		{"four placeholders", mk(nil, "alertDetailsOverride:\n  alertDescriptionFormat: '{{ActorName}} {{AppHost}} {{SrcIpAddr}} {{AIModelName}}'"), "alertDetailsOverride.alertDescriptionFormat", "has 4 {{column}} placeholders; Sentinel allows 3"},
		{"severity column", mk(nil, "alertDetailsOverride:\n  alertSeverityColumnName: Sev"), "alertDetailsOverride.alertSeverityColumnName", `column "Sev" is not in the query's result`},
		{"dynamic property column", mk(nil, "alertDetailsOverride:\n  alertDynamicProperties:\n    - alertProperty: ProductName\n      value: Product"), "alertDetailsOverride.alertDynamicProperties[0].value", `column "Product"`},
		{"compile error", mk(map[string]string{"query": "query: |\n  CopilotActivity\n  | where Actor == 1"}), "query", `does not compile: line 2, column 9 of the query`},
		{"bad grouping", mk(nil, "eventGroupingSettings:\n  aggregationKind: PerRow"), "eventGroupingSettings.aggregationKind", `"PerRow" is not a grouping`},
		{"suppression too long", mk(nil, "suppressionEnabled: true", "suppressionDuration: 25h"), "suppressionDuration", "25h is out of range; Sentinel accepts 5m to 1d"},
		{"suppression bad", mk(nil, "suppressionDuration: soon"), "suppressionDuration", `cannot parse "soon"`},
		{"enabled not bool", mk(nil, "enabled: maybe"), "enabled", `"maybe" is not true or false`},
		{"lookback too long", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    enabled: true\n    lookbackDuration: 8d"), "incidentConfiguration.groupingConfiguration.lookbackDuration", "8d is out of range; Sentinel accepts 5m to 7d"},
		{"bad matching", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    matchingMethod: Some"), "incidentConfiguration.groupingConfiguration.matchingMethod", `"Some" is not a matching method`},
		{"selected empty", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    enabled: true\n    matchingMethod: Selected"), "incidentConfiguration.groupingConfiguration.matchingMethod", "Selected needs at least one of groupByEntities"},
		{"group by unmapped", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    matchingMethod: Selected\n    groupByEntities: [Host]"), "incidentConfiguration.groupingConfiguration.groupByEntities[0]", "Host is not mapped in entityMappings"},
		{"group by detail", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    matchingMethod: Selected\n    groupByAlertDetails: [Name]"), "incidentConfiguration.groupingConfiguration.groupByAlertDetails[0]", `"Name" is not an alert detail`},
		{"group by custom", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    matchingMethod: Selected\n    groupByCustomDetails: [Model]"), "incidentConfiguration.groupingConfiguration.groupByCustomDetails[0]", `"Model" is not a key of customDetails`},
		{"create not bool", mk(nil, "incidentConfiguration:\n  createIncident: yes please"), "incidentConfiguration.createIncident", "is not true or false"},
		{"duplicate key", mk(nil, "severity: Low"), "severity", "appears twice; keep one"},
		{"list file", "- id: 1\n", "", "must be a YAML mapping of keys (id, name, query, …), not a list"},
		{"bad yaml", "id: [1\n", "", "not valid YAML"},
		{"empty file", "", "", "the file is empty"},
		{"two documents", mk(nil) + "---\n" + mk(nil), "", "more than one YAML document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ps := Parse("x.yaml", []byte(c.src), nil)
			if r != nil {
				t.Fatalf("rule accepted; problems %v", ps)
			}
			errs, _ := errorsOf(ps)
			for _, p := range errs {
				if p.Field == c.field && strings.Contains(p.Message, c.frag) && p.File == "x.yaml" {
					return
				}
			}
			t.Errorf("no error for field %q containing %q in %v", c.field, c.frag, ps)
		})
	}
}

func TestParseWarnings(t *testing.T) {
	for _, c := range []struct {
		name  string
		src   string
		field string
		frag  string
	}{
		{"unknown key", mk(nil, "owner: soc-team"), "owner", "unknown key, kept but not used"},
		{"miscased key", mk(nil, "Version: 2"), "Version", "did you mean version? (keys are case-sensitive)"},
		{"no description", mk(map[string]string{"description": ""}), "description", "missing; Sentinel requires a description"},
		{"other entity type", mk(nil, "customDetails:\n  X: AppHost"), "", ""}, // no warning: control case
		{"process entity", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Process\n    fieldMappings:\n      - identifier: CommandLine\n        columnName: AppHost"}),
			"entityMappings[0].entityType", "Process entities are kept in alerts as mapped"},
		{"nested unknown", mk(map[string]string{"entityMappings": "entityMappings:\n  - entityType: Account\n    note: main user\n    fieldMappings:\n      - identifier: Name\n        columnName: ActorName"}),
			"entityMappings[0].note", "unknown key, ignored; expected entityType, fieldMappings"},
		{"odd property", mk(nil, "alertDetailsOverride:\n  alertDynamicProperties:\n    - alertProperty: Colour\n      value: AppHost"), "alertDetailsOverride.alertDynamicProperties[0].alertProperty", `"Colour" is not an alert property Sentinel sets`},
		{"short suppression", mk(map[string]string{"queryFrequency": "queryFrequency: 1h", "queryPeriod": "queryPeriod: 1h"}, "suppressionEnabled: true", "suppressionDuration: 30m"), "suppressionDuration", "30m is shorter than queryFrequency 1h"},
		{"groupBy ignored", mk(nil, "incidentConfiguration:\n  groupingConfiguration:\n    enabled: true\n    groupByEntities: [Account]"), "incidentConfiguration.groupingConfiguration", "ignored unless matchingMethod is Selected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ps := Parse("w.yaml", []byte(c.src), nil)
			if r == nil {
				t.Fatalf("rule refused: %v", ps)
			}
			_, warns := errorsOf(ps)
			if c.field == "" && c.frag == "" {
				if len(warns) != 0 {
					t.Errorf("unexpected warnings %v", warns)
				}
				return
			}
			if len(warns) != 1 || warns[0].Field != c.field || !strings.Contains(warns[0].Message, c.frag) {
				t.Errorf("want one warning for %q containing %q, got %v", c.field, c.frag, ps)
			}
		})
	}
	// Unknown keys are kept as read.
	r, _ := Parse("w.yaml", []byte(mk(nil, "owner: soc-team", "review: {due: 2026-01-01, by: [ann]}")), nil)
	if r.Extra["owner"] != "soc-team" || r.Extra["review"] == nil {
		t.Errorf("extra: %#v", r.Extra)
	}
}

func TestProblemText(t *testing.T) {
	src := mk(map[string]string{"queryFrequency": "queryFrequency: 5x"})
	_, ps := Parse("rules/x.yaml", []byte(src), nil)
	errs, _ := errorsOf(ps)
	if len(errs) != 1 {
		t.Fatalf("%v", ps)
	}
	// queryFrequency is on line 6 of the file built by mk.
	want := `rules/x.yaml:6: rule 7ac86241-9d43-4b39-a958-9252935a56a3: queryFrequency: cannot parse "5x": use a number with m, h or d (5m, 1h, 14d), ISO 8601 (PT5M, PT1H, P1D) or hh:mm:ss`
	if got := errs[0].Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Without an id the rule is named; warnings say so.
	_, ps = Parse("y.yaml", []byte(mk(map[string]string{"id": ""}, "owner: me")), nil)
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Error())
	}
	got := strings.Join(lines, "\n")
	wantAll := "y.yaml: rule \"Test rule\": id: missing; it is required (the GUID that names the rule in alerts, incidents and Sentinel)\n" +
		"warning: y.yaml:20: rule \"Test rule\": owner: unknown key, kept but not used"
	if got != wantAll {
		t.Errorf("got\n%s\nwant\n%s", got, wantAll)
	}
}

func TestCompileErrorLine(t *testing.T) {
	// The query's second line is the file's line 14 (query: | is on line 12).
	src := mk(map[string]string{"query": "query: |\n  CopilotActivity\n  | where Nope == 1"})
	_, ps := Parse("q.yaml", []byte(src), nil)
	errs, _ := errorsOf(ps)
	if len(errs) != 1 || errs[0].Line != 14 || !strings.Contains(errs[0].Message, "line 2, column 9 of the query") || !strings.Contains(errs[0].Message, `(at "| where Nope == 1")`) {
		t.Errorf("%v", ps)
	}
}

func TestTriggered(t *testing.T) {
	for _, c := range []struct {
		op   string
		th   int
		rows int
		want bool
	}{
		{"gt", 0, 0, false}, {"gt", 0, 1, true}, {"gt", 5, 5, false}, {"gt", 5, 6, true},
		{"lt", 3, 2, true}, {"lt", 3, 3, false},
		{"eq", 2, 2, true}, {"eq", 2, 3, false},
		{"ne", 0, 0, false}, {"ne", 0, 4, true},
	} {
		r := &Rule{TriggerOperator: c.op, TriggerThreshold: c.th}
		if got := r.Triggered(c.rows); got != c.want {
			t.Errorf("%s %d with %d rows = %v", c.op, c.th, c.rows, got)
		}
	}
}

func TestOperatorSpellings(t *testing.T) {
	for in, want := range map[string]string{"gt": "gt", "GreaterThan": "gt", "lessthan": "lt", "Equal": "eq", "NotEqual": "ne", "ne": "ne"} {
		r, ps := Parse("o.yaml", []byte(mk(map[string]string{"triggerOperator": "triggerOperator: " + in})), nil)
		if r == nil || r.TriggerOperator != want {
			t.Errorf("%s: %v %v", in, r, ps)
		}
	}
}

// A YAML syntax error is placed on the line to fix.
func TestParseSyntaxErrorLine(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"connector entry indented one space short",
			"id: 2830d366-572e-4e47-91e7-6c38746179a8\nname: x\nseverity: Medium\nrequiredDataConnectors:\n  - connectorId: CopilotActivity\n   dataTypes:\n      - CopilotActivity\n",
			"x.yaml:6: not valid YAML: did not find expected '-' indicator (check this line's indentation against the lines above)"},
		{"unclosed list", "id: [1\n", "x.yaml:1: not valid YAML: did not find expected ',' or ']'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ps := Parse("x.yaml", []byte(tc.src), nil)
			if r != nil || len(ps) != 1 || ps[0].Error() != tc.want {
				t.Fatalf("rule %v, problems %q; want %q", r, ps, tc.want)
			}
		})
	}
}
