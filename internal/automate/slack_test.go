package automate

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSlackMessage(t *testing.T) {
	cap := &capture{body: "ok"}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	cfg := chatConfig(t, "slack", srv.URL+"/webhookb2/token-part")
	cfg.Rules[0].Trigger = TriggerUpdated
	body := deliverOne(t, cfg, srv, cap)

	type text struct{ Type, Text string }
	var msg struct {
		Text   string
		Blocks []struct {
			Type   string
			Text   *text
			Fields []text
		}
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Text != "High severity: Incident #42: Copilot jailbreak attempt by alice" {
		t.Errorf("text %q", msg.Text)
	}
	var kinds []string
	for _, b := range msg.Blocks {
		kinds = append(kinds, b.Type)
	}
	if got := strings.Join(kinds, ","); got != "header,section,section,section,actions,context" {
		t.Fatalf("blocks %s in %s", got, body)
	}
	h := msg.Blocks[0].Text
	if h.Type != "plain_text" || h.Text != "Incident #42: Copilot jailbreak attempt by alice" {
		t.Errorf("header %+v", h)
	}
	f := msg.Blocks[1].Fields
	if len(f) < 3 || f[0] != (text{"mrkdwn", "*Severity*\nHigh"}) || f[1] != (text{"mrkdwn", "*Status*\nNew"}) ||
		f[2] != (text{"mrkdwn", "*Event*\nupdated (Severity, Owner)"}) {
		t.Errorf("fields %+v", f)
	}
	if e := msg.Blocks[2].Text; e.Type != "mrkdwn" || e.Text != "*Entities*\n• Account: alice@contoso.com\n• IP: 203.0.113.7" {
		t.Errorf("entities %+v", e)
	}

	var raw struct {
		Blocks []map[string]any
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	button := raw.Blocks[4]["elements"].([]any)[0].(map[string]any)
	if button["type"] != "button" || button["url"] != "https://aiwatch.contoso.com/incidents/42" ||
		button["text"].(map[string]any)["text"] != "Open incident" {
		t.Errorf("button %v", button)
	}
	ctx := raw.Blocks[5]["elements"].([]any)[0].(map[string]any)
	if ctx["type"] != "mrkdwn" || !strings.HasPrefix(ctx["text"].(string), "aiwatch · rule notify · delivery ") {
		t.Errorf("context %v", ctx)
	}
}

// Slack's mrkdwn reserves &, < and >: incident text cannot inject a link
// or a mention.
func TestSlackEscapes(t *testing.T) {
	p := Payload{Incident: Incident{Number: 1, Title: "<!channel> & co", Severity: "Low", Description: "see <https://evil.example|here>"}}
	body, err := slackPayload(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	if !strings.Contains(s, `"text":"see \u0026lt;https://evil.example|here\u0026gt;"`) {
		t.Errorf("description not escaped: %s", s)
	}
	// The header is plain_text: shown as written.
	if !strings.Contains(s, `"text":"Incident #1: \u003c!channel\u003e \u0026 co"`) {
		t.Errorf("header: %s", s)
	}
}
