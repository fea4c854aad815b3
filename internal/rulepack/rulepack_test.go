package rulepack

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/kql"
)

var (
	guidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	techniqueRE = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	atlasRE     = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)
	placeRE     = regexp.MustCompile(`\{\{(\w+)\}\}`)
)

var tactics = map[string]bool{"Reconnaissance": true, "ResourceDevelopment": true, "InitialAccess": true, "Execution": true,
	"Persistence": true, "PrivilegeEscalation": true, "DefenseEvasion": true, "CredentialAccess": true, "Discovery": true,
	"LateralMovement": true, "Collection": true, "Exfiltration": true, "CommandAndControl": true, "Impact": true}

// TestRuleFiles checks every rule's fields and that the columns its entity
// mappings, custom details and display formats name are in its output.
func TestRuleFiles(t *testing.T) {
	rules := loadRules(t)
	if len(rules) < 16 {
		t.Errorf("%d rules, want at least 16", len(rules))
	}
	ids, names := map[string]string{}, map[string]string{}
	cat := baseCatalog(t)
	for _, r := range rules {
		t.Run(r.File, func(t *testing.T) {
			if !guidRE.MatchString(r.ID) {
				t.Errorf("id %q is not a lower-case v4 GUID", r.ID)
			}
			if other, ok := ids[r.ID]; ok {
				t.Errorf("id %s also used by %s", r.ID, other)
			}
			ids[r.ID] = r.File
			if other, ok := names[r.Name]; ok || r.Name == "" {
				t.Errorf("name %q empty or also used by %s", r.Name, other)
			}
			names[r.Name] = r.File
			if len(strings.TrimSpace(r.Description)) < 80 {
				t.Errorf("description too short")
			}
			if !map[string]bool{"Informational": true, "Low": true, "Medium": true, "High": true}[r.Severity] {
				t.Errorf("severity %q", r.Severity)
			}
			if r.Kind != "Scheduled" || r.Version != "1.0.0" {
				t.Errorf("kind %q version %q", r.Kind, r.Version)
			}
			if r.TriggerOperator != "gt" || r.TriggerThreshold == nil || *r.TriggerThreshold != 0 {
				t.Errorf("trigger %q %v, want gt 0", r.TriggerOperator, r.TriggerThreshold)
			}
			if r.period < r.freq || r.freq < 5*time.Minute || r.period > 14*24*time.Hour {
				t.Errorf("frequency %s period %s", r.freq, r.period)
			}
			if len(r.RequiredDataConnectors) != 1 || r.RequiredDataConnectors[0].ConnectorID != "MicrosoftCopilot" ||
				strings.Join(r.RequiredDataConnectors[0].DataTypes, ",") != "CopilotActivity" {
				t.Errorf("requiredDataConnectors %+v", r.RequiredDataConnectors)
			}
			if len(r.Tactics) == 0 || len(r.RelevantTechniques) == 0 || len(r.AtlasTechniques) == 0 {
				t.Errorf("tactics %v techniques %v atlas %v", r.Tactics, r.RelevantTechniques, r.AtlasTechniques)
			}
			for _, x := range r.Tactics {
				if !tactics[x] {
					t.Errorf("tactic %q", x)
				}
			}
			for _, x := range r.RelevantTechniques {
				if !techniqueRE.MatchString(x) {
					t.Errorf("technique %q", x)
				}
			}
			for _, x := range r.AtlasTechniques {
				if !atlasRE.MatchString(x) {
					t.Errorf("ATLAS technique %q", x)
				}
			}
			if r.EventGroupingSettings.AggregationKind != "AlertPerResult" {
				t.Errorf("aggregationKind %q", r.EventGroupingSettings.AggregationKind)
			}
			g := r.IncidentConfiguration.GroupingConfiguration
			if !r.IncidentConfiguration.CreateIncident || !g.Enabled || g.MatchingMethod != "Selected" || len(g.GroupByEntities) == 0 {
				t.Errorf("incidentConfiguration %+v", r.IncidentConfiguration)
			}
			if !regexp.MustCompile(`^P(\d+D|T\d+[HM])$`).MatchString(g.LookbackDuration) {
				t.Errorf("lookbackDuration %q", g.LookbackDuration)
			}

			comp, err := kql.Compile(r.Query, cat, kql.Options{Now: time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatalf("query does not compile: %v", err)
			}
			cols := map[string]kql.Type{}
			for _, c := range comp.Columns {
				cols[c.Name] = c.Type
			}
			switch {
			case cols["RecordId"] == kql.TString:
			case cols["RecordIds"] == kql.TDynamic:
			default:
				t.Errorf("output has neither RecordId (string) nor RecordIds (dynamic): %v", comp.Columns)
			}
			if _, ok := cols["TimeGenerated"]; !ok {
				t.Errorf("output has no TimeGenerated")
			}
			entities := map[string]bool{}
			for _, e := range r.EntityMappings {
				entities[e.EntityType] = true
				if len(e.FieldMappings) == 0 || len(e.FieldMappings) > 3 {
					t.Errorf("entity %s has %d identifiers", e.EntityType, len(e.FieldMappings))
				}
				for _, f := range e.FieldMappings {
					if _, ok := cols[f.ColumnName]; !ok {
						t.Errorf("entity %s.%s maps missing column %s", e.EntityType, f.Identifier, f.ColumnName)
					}
				}
			}
			if !entities["Account"] {
				t.Errorf("no Account entity")
			}
			for _, e := range g.GroupByEntities {
				if !entities[e] {
					t.Errorf("groups by entity %s it does not map", e)
				}
			}
			if len(r.CustomDetails) == 0 || len(r.CustomDetails) > 20 {
				t.Errorf("%d custom details", len(r.CustomDetails))
			}
			for k, c := range r.CustomDetails {
				if _, ok := cols[c]; !ok {
					t.Errorf("custom detail %s names missing column %s", k, c)
				}
			}
			for _, f := range []string{r.AlertDetailsOverride.AlertDisplayNameFormat, r.AlertDetailsOverride.AlertDescriptionFormat} {
				m := placeRE.FindAllStringSubmatch(f, -1)
				if len(m) > 3 {
					t.Errorf("%q has more than 3 parameters", f)
				}
				for _, p := range m {
					if _, ok := cols[p[1]]; !ok {
						t.Errorf("%q names missing column %s", f, p[1])
					}
				}
			}
			if r.AlertDetailsOverride.AlertDisplayNameFormat == "" {
				t.Errorf("no alertDisplayNameFormat")
			}
		})
	}
}
