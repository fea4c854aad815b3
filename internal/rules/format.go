package rules

import (
	"encoding/json"
	"strings"

	"github.com/aiwatch/aiwatch/internal/render"
)

// Placeholders lists the column names in a format's {{Column}} placeholders,
// in order, each once.
func Placeholders(format string) []string {
	var out []string
	for _, m := range placeRe.FindAllStringSubmatch(format, -1) {
		out = appendNew(out, m[1])
	}
	return out
}

// Fill replaces each {{Column}} in format with the row's value of Column
// (empty when the row has none).
func Fill(format string, row map[string]any) string {
	return placeRe.ReplaceAllStringFunc(format, func(m string) string {
		name := placeRe.FindStringSubmatch(m)[1]
		return render.Text(row[name])
	})
}

// AlertName is the alert title for one result row: the display name format
// filled from the row, or the rule name when there is no format or it
// comes out empty (Sentinel falls back to the rule's own name the same way).
func (r *Rule) AlertName(row map[string]any) string {
	if o := r.AlertDetailsOverride; o != nil && o.DisplayNameFormat != "" {
		if s := strings.TrimSpace(Fill(o.DisplayNameFormat, row)); s != "" {
			return s
		}
	}
	return r.Name
}

// AlertDescription is the alert description for one result row, like AlertName.
func (r *Rule) AlertDescription(row map[string]any) string {
	if o := r.AlertDetailsOverride; o != nil && o.DescriptionFormat != "" {
		if s := strings.TrimSpace(Fill(o.DescriptionFormat, row)); s != "" {
			return s
		}
	}
	return r.Description
}

// AlertSeverity is the severity for one result row: the severity column's
// value when it names a severity, else the rule's.
func (r *Rule) AlertSeverity(row map[string]any) string {
	if o := r.AlertDetailsOverride; o != nil && o.SeverityColumn != "" {
		if v, ok := canonical(render.Text(row[o.SeverityColumn]), []string{"Informational", "Low", "Medium", "High"}); ok {
			return v
		}
	}
	return r.Severity
}

// AlertTactics are the tactics for one result row: those named by the
// tactics column (a list, or text separated by commas) when any is valid,
// else the rule's.
func (r *Rule) AlertTactics(row map[string]any) []string {
	o := r.AlertDetailsOverride
	if o == nil || o.TacticsColumn == "" {
		return r.Tactics
	}
	var parts []string
	switch v := row[o.TacticsColumn].(type) {
	case []any:
		for _, x := range v {
			parts = append(parts, render.Text(x))
		}
	case []string:
		parts = v
	default:
		s := render.Text(v)
		var arr []string
		if json.Unmarshal([]byte(s), &arr) == nil {
			parts = arr
		} else {
			parts = strings.Split(s, ",")
		}
	}
	var out []string
	for _, p := range parts {
		if t, ok := canonical(p, tactics); ok {
			out = appendNew(out, t)
		}
	}
	if len(out) == 0 {
		return r.Tactics
	}
	return out
}
