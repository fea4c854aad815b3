package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// baseline generates the tenant's ordinary activity hour by hour. It keeps
// clear of what the scenarios are about: no jailbreak or injection flags,
// labelled access under the bulk threshold, plugin toggles hours apart,
// plugins created by admins only, settings changed in office hours, agents
// managed by one admin, and everyone in their home country.
type baseline struct {
	sim        *Sim
	g          *gen
	lastToggle map[*user]time.Time
	lastDelete map[*user]time.Time
}

func (b *baseline) hour(r *rand.Rand, hs time.Time, plan *scenarioPlan) {
	t, g, end := b.sim.tenant, b.g, b.sim.end
	for _, u := range t.users {
		if u.rate == 0 {
			continue
		}
		lambda := u.rate * activity(u, hs)
		if u.userType == UserTypeApplication || u.userType == UserTypeServicePrincipal {
			lambda = u.rate / 24 // autonomous agents work around the clock
		}
		for k := poisson(r, lambda); k > 0; k-- {
			g.runSession(r, u, hs.Add(time.Duration(r.IntN(3600))*time.Second), end)
		}
		if u.automation >= 0 {
			b.scheduledPrompts(r, u, hs)
		}
	}
	b.management(r, hs, plan)
}

// scheduledPrompts runs u's automation if its cron time falls in this hour.
func (b *baseline) scheduledPrompts(r *rand.Rand, u *user, hs time.Time) {
	a := automations[u.automation]
	off := time.Duration(u.offset) * time.Minute
	localDay := hs.Add(off).Truncate(24 * time.Hour)
	for _, day := range []time.Time{localDay.AddDate(0, 0, -1), localDay, localDay.AddDate(0, 0, 1)} {
		fire := day.Add(time.Duration(a.hour)*time.Hour + time.Duration(a.minute)*time.Minute).Add(-off)
		if fire.Before(hs) || !fire.Before(hs.Add(time.Hour)) {
			continue
		}
		wd := day.Weekday()
		if a.weekdaysOnly && (wd == time.Saturday || wd == time.Sunday) || a.mondayOnly && wd != time.Monday {
			continue
		}
		b.g.emitScheduled(newScheduledRun(r, u, a, fire.Add(time.Duration(2+r.IntN(40))*time.Second)))
	}
}

func newScheduledRun(r *rand.Rand, u *user, a automation, at time.Time) *scheduled {
	prompt := a.prompt
	if a.scenarioType == "Weekly project digest" {
		prompt = fmt.Sprintf(prompt, projects[len(u.upn)%len(projects)])
	}
	return &scheduled{
		h:            header{t: at, id: newGUID(r), u: u, userType: UserTypeRegular},
		scenarioType: a.scenarioType, prompt: prompt, automation: newGUID(r), tr: a.cron,
	}
}

var settingsChanges = []change{
	{"AllowMicrosoftDataSharing", "true", "false"},
	{"WebSearch", "Disabled", "Enabled"},
	{"ProvisionedSCUs", "3", "4"},
	{"PromptEvaluationRetentionDays", "90", "180"},
	{"AllowCopilotInTeamsMeetings", "false", "true"},
}

// management emits Security Copilot and agent administration for one hour.
// Roles: admins[0] manages agents, admins[1] leads the SOC (plugins and
// workspaces), admins[2] owns tenant settings, SOC analysts keep promptbooks.
func (b *baseline) management(r *rand.Rand, hs time.Time, plan *scenarioPlan) {
	t, g := b.sim.tenant, b.g
	at := func() time.Time { return hs.Add(time.Duration(r.IntN(3600)) * time.Second) }
	busy := func(u *user) bool {
		_, working := localClock(u, hs.Add(30*time.Minute))
		return !working || plan.reservedNear(u, hs)
	}
	for i, u := range t.admins {
		if busy(u) {
			continue
		}
		m := management{h: header{t: at(), id: newGUID(r), u: u, userType: UserTypeAdmin, clientIP: sessionIP(r, u, hs)}, workspace: t.workspaces[0]}
		switch {
		case i == 0:
			// The agent admin works through agent requests at set times
			// every working day, and now and then in between.
			if lh, _ := localClock(u, hs.Add(30*time.Minute)); lh != 9 && lh != 11 && lh != 14 && r.Float64() >= 0.2 {
				continue
			}
			b.agentChange(r, &m)
		case i == 2:
			lh, _ := localClock(u, m.h.t)
			if r.Float64() >= 0.06 || lh < 10 || lh >= 16 {
				continue
			}
			c := settingsChanges[r.IntN(len(settingsChanges))]
			if r.IntN(2) == 0 {
				c.original, c.new = c.new, c.original
			}
			m.h.recordType, m.changes, m.workspace = RecordUpdateCopilotSettings, []change{c}, ""
		default:
			p := 0.04
			if i == 1 {
				p = 0.14
			}
			if r.Float64() >= p {
				continue
			}
			b.adminChange(r, u, &m)
		}
		g.emitManagement(&m)
	}
	for _, u := range t.socs {
		if busy(u) || r.Float64() >= 0.06 {
			continue
		}
		m := management{h: header{t: at(), id: newGUID(r), u: u, userType: UserTypeRegular, clientIP: sessionIP(r, u, hs)}, workspace: t.workspaces[0]}
		b.promptbookChange(r, u, &m)
		g.emitManagement(&m)
	}
}

// promptbookChange fills m with a promptbook change by a SOC analyst; one
// analyst deletes at most one promptbook a day.
func (b *baseline) promptbookChange(r *rand.Rand, u *user, m *management) {
	t := b.sim.tenant
	pb := t.promptbooks[r.IntN(len(t.promptbooks))]
	switch p := r.Float64(); {
	case p < 0.3:
		pb = promptbook{newGUID(r), pb.name + " v2"}
		m.h.recordType, m.changes = RecordCreatePromptBook, []change{{pb.id, "", pb.name}}
	case p < 0.75:
		m.h.recordType, m.changes = RecordUpdatePromptBook, []change{{pb.id, pb.name, pb.name + " (edited)"}}
	case p < 0.85:
		m.h.recordType, m.changes = RecordEnablePromptBook, []change{{pb.id, "Disabled", "Enabled"}}
	case p < 0.95 || m.h.t.Sub(b.lastDelete[u]) < 24*time.Hour:
		m.h.recordType, m.changes = RecordDisablePromptBook, []change{{pb.id, "Enabled", "Disabled"}}
	default:
		b.lastDelete[u] = m.h.t
		m.h.recordType, m.changes = RecordDeletePromptBook, []change{{pb.id, pb.name, "Deleted"}}
	}
}

// adminChange fills m with a plugin or workspace change by an admin.
func (b *baseline) adminChange(r *rand.Rand, u *user, m *management) {
	t := b.sim.tenant
	plugin := t.plugins[r.IntN(len(t.plugins))]
	switch p := r.Float64(); {
	case p < 0.2 && m.h.t.Sub(b.lastToggle[u]) > 3*time.Hour:
		b.lastToggle[u] = m.h.t
		if r.IntN(2) == 0 {
			m.h.recordType, m.changes = RecordEnableCopilotPlugin, []change{{plugin, "Disabled", "Enabled"}}
		} else {
			m.h.recordType, m.changes = RecordDisableCopilotPlugin, []change{{plugin, "Enabled", "Disabled"}}
		}
	case p < 0.28:
		m.h.recordType, m.changes = RecordCreateCopilotPlugin, []change{{plugin + " " + randHex(r, 4), "", "Created"}}
	case p < 0.31:
		m.h.recordType, m.changes = RecordDeleteCopilotPlugin, []change{{plugin, "Created", "Deleted"}}
	case p < 0.46:
		m.h.recordType, m.changes = RecordUpdateCopilotWorkspace, []change{{"Description", "", "Shared workspace for " + t.title}}
	case p < 0.49:
		m.h.recordType, m.changes = RecordCreateCopilotWorkspace, []change{{"Name", "", t.title + " Lab"}}
	case p < 0.51:
		m.h.recordType, m.changes, m.workspace = RecordDisableCopilotWorkspace, []change{{"State", "Enabled", "Disabled"}}, t.workspaces[1]
	case p < 0.53:
		m.h.recordType, m.changes, m.workspace = RecordEnableCopilotWorkspace, []change{{"State", "Disabled", "Enabled"}}, t.workspaces[1]
	default:
		m.h.recordType, m.changes = RecordUpdateCopilotPlugin, []change{{plugin, "Version 1." + fmt.Sprint(r.IntN(9)), "Version 2." + fmt.Sprint(r.IntN(9))}}
	}
}

// agentChange fills m with an agent administration change (agent admin only).
func (b *baseline) agentChange(r *rand.Rand, m *management) {
	t := b.sim.tenant
	a := &t.agents[r.IntN(len(t.agents))]
	m.h.recordType, m.agent, m.workspace = RecordAgentManagement, a, ""
	switch p := r.Float64(); {
	case p < 0.35:
		m.h.op, m.changes = "DeployedAgent", []change{{"AgentState", "Available", "Deployed"}}
	case p < 0.9:
		m.h.op, m.changes = "UpdatedAgent", []change{{"Version", a.version, "1.9.0"}}
	default:
		m.h.op, m.changes = "UnblockedAgent", []change{{"AgentState", "Blocked", "Deployed"}}
	}
}
