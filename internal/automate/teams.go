package automate

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Microsoft Teams incoming webhooks (Workflows "post to a channel when a
// webhook request is received") take a message with one Adaptive Card
// attachment.

type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string           `json:"$schema"`
	Type    string           `json:"type"`
	Version string           `json:"version"`
	Body    []map[string]any `json:"body"`
	Actions []map[string]any `json:"actions,omitempty"`
	MSTeams map[string]any   `json:"msteams,omitempty"`
}

// teamsPayload renders a queued payload as a Teams message.
func teamsPayload(p Payload) ([]byte, error) {
	body := []map[string]any{
		{"type": "TextBlock", "text": truncate(p.headline(), 300), "weight": "Bolder", "size": "Medium", "wrap": true, "color": severityColor(p.Incident.Severity)},
	}
	var facts []map[string]string
	for _, f := range p.facts() {
		facts = append(facts, map[string]string{"title": f[0], "value": truncate(f[1], 500)})
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if ents := p.entityLines(); len(ents) > 0 {
		body = append(body,
			map[string]any{"type": "TextBlock", "text": "Entities", "weight": "Bolder", "wrap": true},
			map[string]any{"type": "TextBlock", "text": "- " + strings.Join(ents, "\n- "), "wrap": true})
	}
	if d := strings.TrimSpace(p.Incident.Description); d != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": truncate(d, 2000), "wrap": true, "isSubtle": true})
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": "aiwatch · rule " + p.AutomationRule + " · delivery " + p.DeliveryID, "size": "Small", "isSubtle": true, "wrap": true})
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body:    body,
		MSTeams: map[string]any{"width": "Full"},
	}
	if p.IncidentURL != "" {
		card.Actions = []map[string]any{{"type": "Action.OpenUrl", "title": "Open incident", "url": p.IncidentURL}}
	}
	return json.Marshal(teamsMessage{
		Type:        "message",
		Attachments: []teamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}},
	})
}

func severityColor(sev string) string {
	switch strings.ToLower(sev) {
	case "high":
		return "Attention"
	case "medium":
		return "Warning"
	}
	return "Default"
}

func (e *Engine) sendTeams(ctx context.Context, b *book, d delivery) result {
	p, err := decodePayload(d.payload)
	if err != nil {
		return result{reason: err.Error()}
	}
	body, err := teamsPayload(p)
	if err != nil {
		return result{reason: "cannot render the Teams message: " + err.Error()}
	}
	return e.post(ctx, b, d, body, http.Header{})
}
