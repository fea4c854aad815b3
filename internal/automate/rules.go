package automate

import (
	"cmp"
	"slices"
	"strings"
)

// sortRules returns the enabled rules by ascending order, ties in file order.
func sortRules(rules []Rule) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.IsEnabled() {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Rule) int { return cmp.Compare(a.Order, b.Order) })
	return out
}

// fires reports whether the rule's trigger covers an event kind.
func (r Rule) fires(kind string) bool {
	switch r.trigger() {
	case TriggerBoth:
		return kind == EventCreated || kind == EventUpdated
	case TriggerCreated:
		return kind == EventCreated
	case TriggerUpdated:
		return kind == EventUpdated
	}
	return false
}

// matches reports whether every condition holds.
func (r Rule) matches(inc *Incident) bool {
	for _, c := range r.Conditions {
		if !c.holds(inc) {
			return false
		}
	}
	return true
}

// holds evaluates the condition; see Condition for multi-valued fields.
func (c Condition) holds(inc *Incident) bool {
	vals := fieldValues(inc, c.Field)
	var want []string
	if c.Value != nil {
		want = []string{*c.Value}
	} else {
		want = c.Values
	}
	anyMatch := func(pred func(have, want string) bool) bool {
		for _, h := range vals {
			for _, w := range want {
				if pred(strings.ToLower(h), strings.ToLower(w)) {
					return true
				}
			}
		}
		return false
	}
	eq := func(h, w string) bool { return h == w }
	switch c.Operator {
	case "equals", "in":
		return anyMatch(eq)
	case "not_equals", "not_in":
		return !anyMatch(eq)
	case "contains":
		return anyMatch(strings.Contains)
	case "starts_with":
		return anyMatch(strings.HasPrefix)
	}
	return false
}

// fieldValues lists the incident's values of a condition field. A single
// field with no value counts as the empty string, so "owner equals ”"
// finds unassigned incidents.
func fieldValues(inc *Incident, field string) []string {
	switch field {
	case "severity":
		return []string{inc.Severity}
	case "status":
		return []string{inc.Status}
	case "owner":
		return []string{inc.Owner}
	case "classification":
		return []string{inc.Classification}
	case "title":
		return []string{inc.Title}
	case "description":
		return []string{inc.Description}
	case "rule_id":
		return inc.RuleIDs
	case "rule_name":
		return inc.RuleNames
	case "tactic":
		return inc.Tactics
	case "technique":
		return inc.Techniques
	case "tag":
		return inc.Tags
	case "entity_type":
		var out []string
		for _, e := range inc.Entities {
			out = append(out, e.Type)
		}
		return out
	case "entity_value":
		var out []string
		for _, e := range inc.Entities {
			for _, k := range sortedKeys(e.Fields) {
				out = append(out, e.Fields[k])
			}
		}
		return out
	}
	return nil
}

// step applies one change action to the incident and to the pending
// change, skipping what the incident already has; it reports whether
// anything changed.
func (a Action) step(inc *Incident, ch *Change) bool {
	switch {
	case a.AssignOwner != "":
		if inc.Owner == a.AssignOwner {
			return false
		}
		v := a.AssignOwner
		inc.Owner, ch.Owner = v, &v
	case a.SetStatus != "":
		v := canonical(statuses, a.SetStatus)
		if inc.Status == v {
			return false
		}
		inc.Status, ch.Status = v, &v
	case a.SetSeverity != "":
		v := canonical(severities, a.SetSeverity)
		if inc.Severity == v {
			return false
		}
		inc.Severity, ch.Severity = v, &v
	case len(a.AddTags) > 0:
		added := false
		for _, t := range a.AddTags {
			t = strings.TrimSpace(t)
			if containsFold(inc.Tags, t) {
				continue
			}
			inc.Tags = append(inc.Tags, t)
			ch.AddTags = append(ch.AddTags, t)
			added = true
		}
		return added
	default:
		return false
	}
	return true
}
