package automate

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// chatConfig is one rule running one chat playbook whose URL (with its
// token) comes from the environment.
func chatConfig(t *testing.T, typ, url string) Config {
	t.Setenv("AIWATCH_TEST_CHAT_URL", url)
	return parseConfig(t, `
incident_url: https://aiwatch.contoso.com/incidents/{number}
automation_rules:
  - name: notify
    actions: [{add_tags: [notified]}, {run_playbook: chat}]
playbooks:
  - name: chat
    type: `+typ+`
    url_env: AIWATCH_TEST_CHAT_URL
`)
}

// deliverOne queues the sample incident through cfg and delivers it,
// returning the one body the receiver got.
func deliverOne(t *testing.T, cfg Config, srv *httptest.Server, cap *capture) []byte {
	t.Helper()
	ctx := context.Background()
	eng, err := New(cfg, newStore(t), &recUpdater{}, Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Handle(ctx, Event{Kind: EventUpdated, Incident: sampleIncident(), Changed: []string{"Severity", "Owner"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := eng.Deliver(ctx); err != nil || n != 1 {
		t.Fatalf("Deliver = %d, %v; want 1", n, err)
	}
	reqs := cap.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[0].header.Get("Content-Type") != "application/json" || reqs[0].path != "/webhookb2/token-part" {
		t.Errorf("request %v %s", reqs[0].header, reqs[0].path)
	}
	return reqs[0].body
}

func TestTeamsMessage(t *testing.T) {
	cap := &capture{statuses: []int{202}}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	cfg := chatConfig(t, "teams", srv.URL+"/webhookb2/token-part")
	cfg.Rules[0].Trigger = TriggerBoth
	body := deliverOne(t, cfg, srv, cap)

	var msg struct {
		Type        string
		Attachments []struct {
			ContentType string
			ContentURL  *string `json:"contentUrl"`
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string
				Version string
				Body    []struct {
					Type, Text, Weight string
					Facts              []struct{ Title, Value string }
				}
				Actions []struct{ Type, Title, URL string }
			}
		}
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 {
		t.Fatalf("message %s", body)
	}
	a := msg.Attachments[0]
	c := a.Content
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || c.Type != "AdaptiveCard" || c.Version != "1.4" ||
		c.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("card header %+v", a)
	}
	if c.Body[0].Type != "TextBlock" || c.Body[0].Text != "Incident #42: Copilot jailbreak attempt by alice" || c.Body[0].Weight != "Bolder" {
		t.Errorf("title block %+v", c.Body[0])
	}
	facts := map[string]string{}
	for _, f := range c.Body[1].Facts {
		facts[f.Title] = f.Value
	}
	for k, want := range map[string]string{
		"Severity": "High",
		"Status":   "New",
		"Event":    "updated (Severity, Owner)",
		"Rules":    "Copilot jailbreak detected",
		"Tactics":  "DefenseEvasion, InitialAccess",
		"Tags":     "notified",
		"Alerts":   "2",
		"Activity": "2026-12-03 08:00:00Z to 2026-12-03 09:00:00Z",
	} {
		if facts[k] != want {
			t.Errorf("fact %s = %q, want %q", k, facts[k], want)
		}
	}
	if _, ok := facts["Owner"]; ok {
		t.Error("an empty owner is shown")
	}
	if c.Body[3].Text != "- Account: alice@contoso.com\n- IP: 203.0.113.7" {
		t.Errorf("entities %q", c.Body[3].Text)
	}
	if len(c.Actions) != 1 || c.Actions[0].Type != "Action.OpenUrl" || c.Actions[0].URL != "https://aiwatch.contoso.com/incidents/42" {
		t.Errorf("actions %+v", c.Actions)
	}
}
