package rules

import (
	"os"
	"reflect"
	"testing"
	"time"
)

// The four Copilot analytic rules of Microsoft's Sentinel solution, written
// out by us in the same format and with the same KQL constructs, load and
// compile against the CopilotActivity schema with no problem at all.
func TestSentinelCopilotRules(t *testing.T) {
	rules, probs := LoadFS(os.DirFS("testdata/sentinel"), ".", nil)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	type summary struct {
		File, Severity     string
		Freq, Period       time.Duration
		Tactics            []string
		EntityTypes        []string
		Op                 string
		Threshold          int
		RelevantTechniques []string
	}
	var got []summary
	for _, r := range rules {
		s := summary{File: r.File, Severity: r.Severity, Freq: r.QueryFrequency, Period: r.QueryPeriod,
			Tactics: r.Tactics, Op: r.TriggerOperator, Threshold: r.TriggerThreshold, RelevantTechniques: r.RelevantTechniques}
		for _, em := range r.EntityMappings {
			s.EntityTypes = append(s.EntityTypes, em.EntityType)
		}
		got = append(got, s)
	}
	// Severities, tactics and schedules as the reference describes them.
	want := []summary{
		{"copilot-file-uploads-disabled.yaml", "High", time.Hour, time.Hour, []string{"DefenseEvasion"}, []string{"Account", "IP"}, "gt", 0, []string{"T1562"}},
		{"copilot-jailbreak-first-message.yaml", "High", 5 * time.Minute, 5 * time.Minute, []string{"InitialAccess", "CredentialAccess", "Impact"}, []string{"Account"}, "gt", 0, nil},
		{"copilot-plugin-created-by-non-admin.yaml", "High", time.Hour, time.Hour, []string{"Persistence", "PrivilegeEscalation"}, []string{"Account", "IP"}, "gt", 0, nil},
		{"copilot-plugin-toggled-quickly.yaml", "Medium", 5 * time.Minute, 5 * time.Minute, []string{"Discovery", "DefenseEvasion"}, []string{"Account", "IP"}, "gt", 0, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
