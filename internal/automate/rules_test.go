package automate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConditions(t *testing.T) {
	inc := sampleIncident()
	for _, tc := range []struct {
		field, op string
		value     any // string or []string
		want      bool
	}{
		{"severity", "equals", "high", true},
		{"severity", "equals", "Low", false},
		{"severity", "not_equals", "Low", true},
		{"severity", "in", []string{"Medium", "High"}, true},
		{"severity", "not_in", []string{"High"}, false},
		{"status", "equals", "New", true},
		{"status", "not_in", []string{"Closed"}, true},
		{"owner", "equals", "", true}, // unassigned
		{"tactic", "equals", "InitialAccess", true},
		{"tactic", "not_equals", "DefenseEvasion", false}, // one of them is
		{"tactic", "not_in", []string{"Exfiltration", "Collection"}, true},
		{"technique", "starts_with", "t15", true},
		{"rule_name", "contains", "JAILBREAK", true},
		{"rule_name", "contains", "injection", false},
		{"rule_id", "starts_with", "9f1b7c2e", true},
		{"rule_id", "in", []string{"other"}, false},
		{"title", "contains", "alice", true},
		{"title", "starts_with", "jailbreak", false},
		{"description", "contains", "teams chat", true},
		{"entity_type", "equals", "ip", true},
		{"entity_type", "in", []string{"Host", "URL"}, false},
		{"entity_value", "equals", "alice", true},
		{"entity_value", "equals", "203.0.113.7", true},
		{"entity_value", "contains", "contoso", true},
		{"entity_value", "equals", "bob", false},
		{"tag", "equals", "vip", false}, // no tags at all
		{"tag", "not_equals", "vip", true},
		{"tag", "not_in", []string{"vip"}, true},
		{"classification", "equals", "", true},
	} {
		c := Condition{Field: tc.field, Operator: tc.op}
		switch v := tc.value.(type) {
		case string:
			c.Value = &v
		case []string:
			c.Values = v
		}
		var problems []string
		c.validate(func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) })
		if len(problems) > 0 {
			t.Errorf("%s %s %v: invalid: %v", tc.field, tc.op, tc.value, problems)
		}
		if got := c.holds(&inc); got != tc.want {
			t.Errorf("%s %s %v = %v, want %v", tc.field, tc.op, tc.value, got, tc.want)
		}
	}
}

func changeText(c Change) string {
	var p []string
	if c.Owner != nil {
		p = append(p, "owner="+*c.Owner)
	}
	if c.Status != nil {
		p = append(p, "status="+*c.Status)
	}
	if c.Severity != nil {
		p = append(p, "severity="+*c.Severity)
	}
	if len(c.AddTags) > 0 {
		p = append(p, "tags="+strings.Join(c.AddTags, ","))
	}
	return strings.Join(p, " ")
}

const orderedRules = `
automation_rules:
  - name: tag-downgraded
    order: 30
    conditions: [{field: severity, operator: equals, value: Medium}]
    actions: [{add_tags: [downgraded]}]
  - name: downgrade
    order: 10
    conditions:
      - {field: rule_name, operator: contains, value: jailbreak}
      - {field: entity_type, operator: equals, value: Account}
    actions:
      - set_severity: medium
      - assign_owner: soc-tier1@contoso.com
  - name: triage
    order: 20
    conditions: [{field: owner, operator: equals, value: soc-tier1@contoso.com}]
    actions:
      - add_tags: [triage, copilot]
      - set_status: Active
      - run_playbook: hook
      - add_tags: [notified]
  - name: switched-off
    order: 5
    enabled: false
    actions: [{assign_owner: nobody@contoso.com}]
  - name: on-update
    order: 1
    trigger: incident_updated
    actions: [{add_tags: [updated]}]
  - name: on-both
    order: 2
    trigger: both
    conditions: [{field: tag, operator: equals, value: copilot}]
    actions: [{set_status: Active}]
  - name: still-high
    order: 40
    conditions: [{field: severity, operator: equals, value: High}]
    actions: [{assign_owner: escalations@contoso.com}]
playbooks:
  - name: hook
    type: webhook
    url: %s
    secret_env: AIWATCH_TEST_HOOK_SECRET
`

// Rules run by order; each sees what the earlier ones changed; changes go
// through the Updater one rule at a time, and a playbook sees the incident
// as it is at that point.
func TestRuleOrderAndChanges(t *testing.T) {
	ctx := context.Background()
	cap := &capture{}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	t.Setenv("AIWATCH_TEST_HOOK_SECRET", "whsec-0123456789")
	cfg := parseConfig(t, fmt.Sprintf(orderedRules, srv.URL))

	for _, tc := range []struct {
		name    string
		kind    string
		tags    []string
		fail    string // changer whose Apply fails
		want    []string
		payload string // severity/owner/status/tags the playbook saw; "" when none ran
		err     string
	}{
		{
			name: "created",
			kind: EventCreated,
			want: []string{
				"automation:downgrade owner=soc-tier1@contoso.com severity=Medium",
				"automation:triage status=Active tags=triage,copilot",
				"automation:triage tags=notified",
				"automation:tag-downgraded tags=downgraded",
			},
			payload: "Medium soc-tier1@contoso.com Active triage,copilot",
		},
		{
			name: "updated",
			kind: EventUpdated,
			tags: []string{"copilot"},
			want: []string{
				"automation:on-update tags=updated",
				"automation:on-both status=Active",
				// The other rules fire on creation only.
			},
		},
		{
			name: "a failed change is undone for later rules",
			kind: EventCreated,
			fail: "automation:downgrade",
			want: []string{
				"automation:downgrade owner=soc-tier1@contoso.com severity=Medium",
				"automation:still-high owner=escalations@contoso.com",
			},
			err: `automation rule "downgrade" cannot change incident inc-7f3a: incident is locked`,
		},
		{
			name: "values already set are not applied again",
			kind: EventCreated,
			tags: []string{"Triage"},
			want: []string{
				"automation:downgrade owner=soc-tier1@contoso.com severity=Medium",
				"automation:triage status=Active tags=copilot",
				"automation:triage tags=notified",
				"automation:tag-downgraded tags=downgraded",
			},
			payload: "Medium soc-tier1@contoso.com Active Triage,copilot",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newStore(t)
			up := &recUpdater{fail: map[string]bool{tc.fail: true}}
			eng, err := New(cfg, db, up, Options{HTTPClient: srv.Client(), Logger: testLogger(io.Discard)})
			if err != nil {
				t.Fatal(err)
			}
			inc := sampleIncident()
			inc.Tags = tc.tags
			err = eng.Handle(ctx, Event{Kind: tc.kind, Incident: inc})
			if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Fatalf("Handle error %v, want %q", err, tc.err)
			}
			var got []string
			for _, c := range up.calls {
				if c.ID != "inc-7f3a" {
					t.Errorf("Apply on %s", c.ID)
				}
				got = append(got, c.By+" "+changeText(c.Change))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Apply calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if inc.Severity != "High" || len(inc.Tags) != len(tc.tags) {
				t.Error("Handle changed the caller's incident")
			}
			rows, err := db.QueryContext(ctx, `SELECT Payload FROM AutomationDelivery`)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for rows.Next() {
				var body string
				rows.Scan(&body)
				var p Payload
				if err := json.Unmarshal([]byte(body), &p); err != nil {
					t.Fatal(err)
				}
				i := p.Incident
				seen = append(seen, strings.Join([]string{i.Severity, i.Owner, i.Status, strings.Join(i.Tags, ",")}, " "))
				if p.AutomationRule != "triage" || p.Playbook != "hook" {
					t.Errorf("payload rule %q playbook %q", p.AutomationRule, p.Playbook)
				}
			}
			rows.Close()
			if strings.Join(seen, "|") != tc.payload {
				t.Errorf("playbook saw %q, want %q", strings.Join(seen, "|"), tc.payload)
			}
		})
	}
}

func TestUnknownEventKind(t *testing.T) {
	t.Setenv("AIWATCH_TEST_HOOK_SECRET", "whsec-0123456789")
	eng, err := New(parseConfig(t, fmt.Sprintf(orderedRules, "http://127.0.0.1:9/")), newStore(t), &recUpdater{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = eng.Handle(context.Background(), Event{Kind: "deleted", Incident: sampleIncident()})
	if err == nil || !strings.Contains(err.Error(), `unknown event kind "deleted"`) {
		t.Fatalf("err = %v", err)
	}
}
