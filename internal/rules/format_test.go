package rules

import (
	"reflect"
	"testing"
	"time"
)

func TestAlertDetails(t *testing.T) {
	r := &Rule{Name: "Rule name", Description: "Rule text", Severity: "Medium", Tactics: []string{"Discovery"},
		AlertDetailsOverride: &AlertDetailsOverride{
			DisplayNameFormat: "{{ActorName}} used {{ AppHost }} ({{ActorName}})",
			DescriptionFormat: "{{Count}} calls at {{When}} with {{Data}}",
			SeverityColumn:    "Sev", TacticsColumn: "Tac",
		}}
	if got := Placeholders(r.AlertDetailsOverride.DisplayNameFormat); !reflect.DeepEqual(got, []string{"ActorName", "AppHost"}) {
		t.Errorf("placeholders %v", got)
	}
	row := map[string]any{"ActorName": "ann@contoso.example", "AppHost": "Teams", "Count": int64(3),
		"When": time.Date(2026, 3, 2, 8, 3, 11, 0, time.FixedZone("x", 3600)), "Data": map[string]any{"a": 1.0},
		"Sev": "high", "Tac": []any{"Impact", "nonsense", "initial access"}}
	if got := r.AlertName(row); got != "ann@contoso.example used Teams (ann@contoso.example)" {
		t.Errorf("name %q", got)
	}
	if got := r.AlertDescription(row); got != `3 calls at 2026-03-02T07:03:11Z with {"a":1}` {
		t.Errorf("description %q", got)
	}
	if got := r.AlertSeverity(row); got != "High" {
		t.Errorf("severity %q", got)
	}
	if got := r.AlertTactics(row); !reflect.DeepEqual(got, []string{"Impact", "InitialAccess"}) {
		t.Errorf("tactics %v", got)
	}
	// Values that say nothing fall back to the rule's own.
	empty := map[string]any{"Sev": "urgent", "Tac": "Nothing, Useful"}
	if r.AlertName(empty) != "used  ()" || r.AlertSeverity(empty) != "Medium" || !reflect.DeepEqual(r.AlertTactics(empty), []string{"Discovery"}) {
		t.Errorf("fallbacks: %q %q %v", r.AlertName(empty), r.AlertSeverity(empty), r.AlertTactics(empty))
	}
	if got := r.AlertTactics(map[string]any{"Tac": `["Collection","Exfiltration"]`}); !reflect.DeepEqual(got, []string{"Collection", "Exfiltration"}) {
		t.Errorf("JSON tactics %v", got)
	}
	plain := &Rule{Name: "N", Description: "D", Severity: "Low"}
	if plain.AlertName(row) != "N" || plain.AlertDescription(row) != "D" || plain.AlertSeverity(row) != "Low" {
		t.Error("rule without override")
	}
	r.AlertDetailsOverride.DisplayNameFormat = "{{Missing}}"
	if got := r.AlertName(row); got != "Rule name" {
		t.Errorf("empty fill should fall back, got %q", got)
	}
}
