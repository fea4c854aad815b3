package automate

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Slack incoming webhooks take text (the notification fallback) and Block
// Kit blocks. Slack's limits: a header holds 150 characters, a section's
// text 3000, a section at most 10 fields of 2000 each.

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []any       `json:"elements,omitempty"` // actions: slackButton; context: slackText
}

type slackButton struct {
	Type string    `json:"type"` // button
	Text slackText `json:"text"`
	URL  string    `json:"url"`
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackPayload renders a queued payload as a Slack message.
func slackPayload(p Payload) ([]byte, error) {
	sev := p.Incident.Severity
	if sev == "" {
		sev = "Unknown"
	}
	msg := slackMessage{Text: truncate(sev+" severity: "+p.headline(), 3000)}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "header", Text: &slackText{"plain_text", truncate(p.headline(), 150)}})
	var fields []slackText
	for _, f := range p.facts() {
		if len(fields) == 10 {
			break
		}
		fields = append(fields, slackText{"mrkdwn", truncate("*"+f[0]+"*\n"+slackEscape.Replace(f[1]), 2000)})
	}
	if len(fields) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Fields: fields})
	}
	if ents := p.entityLines(); len(ents) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn",
			truncate("*Entities*\n• "+slackEscape.Replace(strings.Join(ents, "\n• ")), 3000)}})
	}
	if d := strings.TrimSpace(p.Incident.Description); d != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", truncate(slackEscape.Replace(d), 3000)}})
	}
	if p.IncidentURL != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "actions", Elements: []any{
			slackButton{Type: "button", Text: slackText{"plain_text", "Open incident"}, URL: p.IncidentURL},
		}})
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []any{
		slackText{"mrkdwn", slackEscape.Replace("aiwatch · rule " + p.AutomationRule + " · delivery " + p.DeliveryID)},
	}})
	return json.Marshal(msg)
}

func (e *Engine) sendSlack(ctx context.Context, b *book, d delivery) result {
	p, err := decodePayload(d.payload)
	if err != nil {
		return result{reason: err.Error()}
	}
	body, err := slackPayload(p)
	if err != nil {
		return result{reason: "cannot render the Slack message: " + err.Error()}
	}
	return e.post(ctx, b, d, body, http.Header{})
}
