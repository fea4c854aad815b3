package automate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The Teams, Slack and email playbooks render the queued payload into a
// message; the helpers here give them the same words.

func decodePayload(b []byte) (Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("the queued payload is not valid JSON: %w", err)
	}
	return p, nil
}

// headline is "Incident #42: title" (or the id when there is no number).
func (p Payload) headline() string {
	title := oneLine(p.Incident.Title)
	if title == "" {
		title = "(untitled)"
	}
	if p.Incident.Number > 0 {
		return fmt.Sprintf("Incident #%d: %s", p.Incident.Number, title)
	}
	return fmt.Sprintf("Incident %s: %s", p.Incident.ID, title)
}

// eventText is "created" or "updated (Status, Owner)".
func (p Payload) eventText() string {
	switch p.Event {
	case TriggerCreated:
		return "created"
	case TriggerUpdated:
		if len(p.Changed) > 0 {
			return "updated (" + strings.Join(p.Changed, ", ") + ")"
		}
		return "updated"
	}
	return p.Event
}

// facts are the incident's key-value summary, in display order, without
// empty values.
func (p Payload) facts() [][2]string {
	inc := p.Incident
	all := [][2]string{
		{"Severity", inc.Severity},
		{"Status", inc.Status},
		{"Owner", inc.Owner},
		{"Event", p.eventText()},
		{"Rules", strings.Join(inc.RuleNames, ", ")},
		{"Tactics", strings.Join(inc.Tactics, ", ")},
		{"Techniques", strings.Join(inc.Techniques, ", ")},
		{"Tags", strings.Join(inc.Tags, ", ")},
		{"Alerts", countText(len(inc.AlertIDs))},
	}
	if !inc.FirstActivity.IsZero() {
		all = append(all, [2]string{"Activity", inc.FirstActivity.UTC().Format("2006-01-02 15:04:05Z") + " to " + inc.LastActivity.UTC().Format("2006-01-02 15:04:05Z")})
	}
	var out [][2]string
	for _, f := range all {
		if f[1] != "" {
			out = append(out, [2]string{f[0], oneLine(f[1])})
		}
	}
	return out
}

func countText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// maxEntities bounds the entities a message lists.
const maxEntities = 20

// entityLines are "Type: label" for each entity, at most maxEntities and a
// count of the rest.
func (p Payload) entityLines() []string {
	var out []string
	for i, en := range p.Incident.Entities {
		if i == maxEntities {
			out = append(out, fmt.Sprintf("… and %d more", len(p.Incident.Entities)-maxEntities))
			break
		}
		out = append(out, oneLine(en.Type+": "+entityLabel(en)))
	}
	return out
}

// entityKeys are the fields that name an entity, by type, best first.
var entityKeys = map[string][]string{
	"account":          {"UPN", "UserPrincipalName", "FullName", "Name", "AadUserId", "ObjectGuid", "Sid", "DisplayName"},
	"ip":               {"Address"},
	"host":             {"FQDN", "HostName", "NetBiosName", "AzureID"},
	"url":              {"Url"},
	"file":             {"Name", "Directory"},
	"cloudapplication": {"Name", "AppId", "InstanceName"},
	"mailbox":          {"MailboxPrimaryAddress", "DisplayName", "Upn"},
}

// entityLabel names an entity in one short string: alice@contoso.com for
// an account with Name and UPNSuffix, the best naming field for the known
// types, otherwise its fields as k=v.
func entityLabel(en Entity) string {
	f := en.Fields
	t := strings.ToLower(en.Type)
	if t == "account" && f["Name"] != "" && f["UPNSuffix"] != "" {
		return f["Name"] + "@" + f["UPNSuffix"]
	}
	if t == "host" && f["HostName"] != "" && f["DnsDomain"] != "" && f["FQDN"] == "" {
		return f["HostName"] + "." + f["DnsDomain"]
	}
	for _, k := range entityKeys[t] {
		if f[k] != "" {
			return f[k]
		}
	}
	var kv []string
	for _, k := range sortedKeys(f) {
		if f[k] != "" {
			kv = append(kv, k+"="+f[k])
		}
	}
	return strings.Join(kv, ", ")
}

// oneLine folds line breaks and runs of spaces, so incident text cannot
// break a header or a layout.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
