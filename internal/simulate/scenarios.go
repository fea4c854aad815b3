package simulate

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Detection names the scenarios expect to fire. The first four are the
// analytic rules of Microsoft's Sentinel solution for Copilot; the others
// cover what that solution lacks.
const (
	DetectJailbreak           = "Jailbreak attempt"
	DetectPromptInjection     = "Prompt injection in accessed resource"
	DetectBulkSensitiveAccess = "Bulk access to sensitive resources"
	DetectNonAdminPlugin      = "Plugin created by a non-admin"
	DetectPluginTampering     = "Plugin tampering"
	DetectFileUploadsDisabled = "File uploads disabled"
	DetectSettingsOffHours    = "Copilot settings changed off-hours"
	DetectPromptbookMassDel   = "Promptbooks mass-deleted"
	DetectUnusualAgentAdmin   = "Agent managed by an unusual admin"
	DetectScheduledExfil      = "Scheduled prompt exfiltration"
	DetectNewCountry          = "Copilot activity from a new country"
)

// Scenario names.
const (
	ScenarioJailbreakFirst   = "jailbreak-first-message"
	ScenarioJailbreakLater   = "jailbreak-later-message"
	ScenarioPromptInjection  = "prompt-injection-in-email"
	ScenarioBulkAccess       = "bulk-sensitive-access"
	ScenarioNonAdminPlugin   = "plugin-created-by-non-admin"
	ScenarioPluginTampering  = "plugin-enable-disable-churn"
	ScenarioFileUploads      = "file-uploads-disabled"
	ScenarioSettingsOffHours = "settings-changed-off-hours"
	ScenarioPromptbookDelete = "promptbooks-mass-deleted"
	ScenarioUnusualAgent     = "agent-managed-by-unusual-admin"
	ScenarioScheduledExfil   = "scheduled-prompt-exfiltration"
	ScenarioNewCountry       = "activity-from-new-country"
)

// Thresholds the scenarios are built around (and the baseline stays under).
const (
	BulkMinResources = 150 // distinct sensitive resources in the bulk scenario, within BulkWindow
	BulkWindow       = 30 * time.Minute
	MassDeleteMin    = 12 // promptbooks deleted within MassDeleteWindow
	MassDeleteWindow = 5 * time.Minute
)

type scenarioPlan struct {
	scenarios []Scenario
	events    []Event // in event-time order
	reserved  map[*user][]time.Time
}

// reservedNear reports whether u acts in a scenario within two hours of the
// hour starting at hs; baseline administration by u stays out of the way.
func (p *scenarioPlan) reservedNear(u *user, hs time.Time) bool {
	if p == nil {
		return false
	}
	mid := hs.Add(30 * time.Minute)
	for _, t := range p.reserved[u] {
		if d := t.Sub(mid); d > -150*time.Minute && d < 150*time.Minute {
			return true
		}
	}
	return false
}

type planner struct {
	s    *Sim
	g    *gen
	r    *rand.Rand
	plan *scenarioPlan
}

// at places an event on the day at fraction frac of the period, at a random
// local time of u between fromHour and toHour, inside the period.
func (p *planner) at(frac float64, u *user, fromHour, toHour int) time.Time {
	days := p.s.cfg.Days
	day := min(days-1, int(frac*float64(days)))
	minutes := fromHour*60 + p.r.IntN((toHour-fromHour)*60)
	t := p.s.cfg.Start.AddDate(0, 0, day).Add(time.Duration(minutes-u.offset)*time.Minute + time.Duration(p.r.IntN(60))*time.Second)
	latest := p.s.end.Add(-time.Hour) // room for multi-record scenarios
	for t.Before(p.s.cfg.Start) {
		t = t.Add(24 * time.Hour)
	}
	for !t.Before(latest) {
		t = t.Add(-24 * time.Hour)
	}
	if t.Before(p.s.cfg.Start) {
		t = p.s.cfg.Start.Add(time.Duration(minutes%(22*60)) * time.Minute)
	}
	return t
}

// add records the events made since the last call as one scenario.
func (p *planner) add(name, detection string, actor *user, description string) {
	sc := Scenario{Name: name, Detection: detection, Actor: actor.upn, Description: description}
	for i, ev := range p.g.out {
		sc.RecordIDs = append(sc.RecordIDs, ev.ID)
		if i == 0 || ev.Time.Before(sc.Start) {
			sc.Start = ev.Time
		}
		if ev.Time.After(sc.End) {
			sc.End = ev.Time
		}
		p.plan.reserved[actor] = append(p.plan.reserved[actor], ev.Time)
	}
	p.plan.events = append(p.plan.events, p.g.out...)
	p.plan.scenarios = append(p.plan.scenarios, sc)
	p.g.out = p.g.out[:0]
}

// session starts a current-shape Copilot session of u on host at t.
func (p *planner) session(u *user, host int, t time.Time) *session {
	s := p.g.newSession(p.r, u, t, host)
	s.oldShape, s.logVersion = false, "1.0.0.0"
	if s.appIdentity == "" {
		s.appIdentity = "Copilot.M365Copilot.Bizchat"
		if host != hostBizChat && host != hostTeams {
			s.appIdentity = "Copilot.M365Copilot.Apps"
		}
	}
	return s
}

// planScenarios builds every scenario's records up front; they are few and
// are merged into the hourly stream by event time.
func (s *Sim) planScenarios(g *gen) *scenarioPlan {
	t := s.tenant
	p := &planner{s: s, g: g, r: rand.New(rand.NewPCG(uint64(s.cfg.Seed), streamScenarios^uint64(s.absHour(0)))),
		plan: &scenarioPlan{reserved: map[*user][]time.Time{}}}
	r := p.r
	g.out = g.out[:0]

	// Distinct ordinary users for the user-side scenarios.
	people := make([]*user, len(t.licensed))
	for i, k := range r.Perm(len(t.licensed)) {
		people[i] = t.licensed[k]
	}
	person := func(i int) *user { return people[i%len(people)] }
	admins := t.admins
	socLead, settingsOwner, rogue := admins[1], admins[2], admins[len(admins)-1]

	// Jailbreak flagged on the first message, twice in one thread.
	u := person(0)
	at := p.at(0.10, u, 10, 16)
	ss := p.session(u, hostBizChat, at)
	for i := 0; i < 2; i++ {
		it := g.newInteraction(r, ss, at.Add(time.Duration(i*47)*time.Second))
		it.messages, it.jailbreakAt = 2, 0
		g.emitInteraction(&it)
	}
	p.add(ScenarioJailbreakFirst, DetectJailbreak, u,
		"Two bizchat turns in one thread whose first message (Messages[0]) has JailbreakDetected true.")

	// Jailbreak flagged only on a later message.
	u = person(1)
	at = p.at(0.30, u, 9, 17)
	it := g.newInteraction(r, p.session(u, hostWord, at), at)
	it.messages, it.jailbreakAt = 4, 2
	g.emitInteraction(&it)
	p.add(ScenarioJailbreakLater, DetectJailbreak, u,
		"A Word turn with four messages where only Messages[2] (the second prompt) has JailbreakDetected true; a rule reading Messages[0] alone misses it.")

	// Prompt injection hidden in an email Copilot read.
	u = person(2)
	at = p.at(0.45, u, 8, 12)
	ss = p.session(u, hostOutlook, at)
	it = g.newInteraction(r, ss, at)
	var res []byte
	res = g.appendEmail(res, r, false, false)
	res = append(res, ',')
	res = g.appendEmail(res, r, false, true)
	res = append(res, ',')
	res = append(res, t.docs[u.dept][0].frag...)
	it.resources = res
	g.emitInteraction(&it)
	p.add(ScenarioPromptInjection, DetectPromptInjection, u,
		"An Outlook summary whose AccessedResources[1], an external email, has XPIADetected true.")

	// Bulk access to sensitive documents through Copilot.
	u = person(3)
	at = p.at(0.55, u, 13, 16)
	ss = p.session(u, hostBizChat, at)
	order := r.Perm(len(t.sensitive))
	next, distinct := 0, 0
	for i := 0; distinct < BulkMinResources+30 && i < 14; i++ {
		it := g.newInteraction(r, ss, at.Add(time.Duration(i*2)*time.Minute+time.Duration(r.IntN(60))*time.Second))
		res = res[:0]
		for k, n := 0, 16+r.IntN(7); k < n; k++ {
			if k > 0 {
				res = append(res, ',')
			}
			res = append(res, t.sensitive[order[next%len(order)]].frag...)
			next++
		}
		distinct = min(next, len(order))
		it.resources, it.webSearch = res, false
		g.emitInteraction(&it)
	}
	p.add(ScenarioBulkAccess, DetectBulkSensitiveAccess, u, fmt.Sprintf(
		"%d bizchat turns within %s reading %d distinct Confidential or Highly Confidential documents from every department's site (ordinary use stays under %d labelled resources an hour).",
		len(p.g.out), p.g.out[len(p.g.out)-1].Time.Sub(p.g.out[0].Time).Round(time.Minute), distinct, labelBudgetPerHour))

	// A plugin created by someone who is not an admin.
	u = person(4)
	at = p.at(0.20, u, 11, 17)
	g.emitManagement(&management{h: header{t: at, id: newGUID(r), recordType: RecordCreateCopilotPlugin, u: u, userType: UserTypeRegular, clientIP: sessionIP(r, u, at)},
		changes: []change{{"Quick Share Connector", "", "Created"}}, workspace: t.workspaces[0]})
	p.add(ScenarioNonAdminPlugin, DetectNonAdminPlugin, u,
		"CreateCopilotPlugin \"Quick Share Connector\" by a Regular user (UserType 0).")

	// Plugin disabled and re-enabled by the same admin and IP within minutes.
	at = p.at(0.65, socLead, 10, 12)
	ip := socLead.officeIP
	plugin := t.plugins[2]
	g.emitManagement(&management{h: header{t: at, id: newGUID(r), recordType: RecordDisableCopilotPlugin, u: socLead, userType: UserTypeAdmin, clientIP: ip},
		changes: []change{{plugin, "Enabled", "Disabled"}}, workspace: t.workspaces[0]})
	g.emitManagement(&management{h: header{t: at.Add(time.Duration(120+r.IntN(90)) * time.Second), id: newGUID(r), recordType: RecordEnableCopilotPlugin, u: socLead, userType: UserTypeAdmin, clientIP: ip},
		changes: []change{{plugin, "Disabled", "Enabled"}}, workspace: t.workspaces[0]})
	p.add(ScenarioPluginTampering, DetectPluginTampering, socLead,
		fmt.Sprintf("DisableCopilotPlugin then EnableCopilotPlugin of %q by the same admin from %s less than four minutes apart.", plugin, ip))

	// File uploads switched off.
	at = p.at(0.75, rogue, 14, 16)
	g.emitManagement(&management{h: header{t: at, id: newGUID(r), recordType: RecordDisableCopilotPlugin, u: rogue, userType: UserTypeAdmin, clientIP: rogue.officeIP},
		changes: []change{{"FileUploads", "Enabled", "Disabled"}}, workspace: t.workspaces[0]})
	p.add(ScenarioFileUploads, DetectFileUploadsDisabled, rogue,
		"DisableCopilotPlugin whose Resource[0] changes FileUploads from Enabled to Disabled.")

	// Tenant settings changed at 03:00 local time.
	at = p.at(0.35, settingsOwner, 3, 4)
	at = at.Add(-time.Duration(at.Add(time.Duration(settingsOwner.offset)*time.Minute).Minute()) * time.Minute).Add(time.Duration(r.IntN(20)) * time.Minute) // 03:00-03:20 local
	g.emitManagement(&management{h: header{t: at, id: newGUID(r), recordType: RecordUpdateCopilotSettings, u: settingsOwner, userType: UserTypeAdmin, clientIP: settingsOwner.homeIP},
		changes: []change{{"AllowPluginsFromNonMicrosoftSources", "false", "true"}}})
	lh, _ := localClock(settingsOwner, at)
	p.add(ScenarioSettingsOffHours, DetectSettingsOffHours, settingsOwner, fmt.Sprintf(
		"UpdateCopilotSettings at %02d:%02d local time (UTC%+03d:%02d) from a home address; this admin otherwise changes settings between 10:00 and 16:00.",
		lh, at.Add(time.Duration(settingsOwner.offset)*time.Minute).Minute(), settingsOwner.offset/60, abs(settingsOwner.offset%60)))

	// Promptbooks deleted in a burst.
	analyst := t.socs[0]
	at = p.at(0.85, analyst, 16, 18)
	books := r.Perm(len(t.promptbooks))[:min(len(t.promptbooks), MassDeleteMin+3)]
	ip = analyst.homeIP
	for i, k := range books {
		pb := t.promptbooks[k]
		g.emitManagement(&management{h: header{t: at.Add(time.Duration(i*14+r.IntN(10)) * time.Second), id: newGUID(r), recordType: RecordDeletePromptBook, u: analyst, userType: UserTypeRegular, clientIP: ip},
			changes: []change{{pb.id, pb.name, "Deleted"}}, workspace: t.workspaces[0]})
	}
	p.add(ScenarioPromptbookDelete, DetectPromptbookMassDel, analyst,
		fmt.Sprintf("%d DeleteCopilotPromptBook records by one analyst within four minutes (ordinary use deletes at most one a day).", len(books)))

	// An admin who never manages agents deploys one and blocks another.
	at = p.at(0.92, rogue, 17, 19)
	rogueAgent := newAgent(r, "Data Sync Helper", 2, "gpt-4o")
	g.emitManagement(&management{h: header{t: at, id: newGUID(r), recordType: RecordAgentManagement, op: "DeployedAgent", u: rogue, userType: UserTypeAdmin, clientIP: rogue.homeIP},
		agent: &rogueAgent, changes: []change{{"AgentState", "Available", "Deployed"}}})
	g.emitManagement(&management{h: header{t: at.Add(time.Duration(300+r.IntN(120)) * time.Second), id: newGUID(r), recordType: RecordAgentManagement, op: "BlockedAgent", u: rogue, userType: UserTypeAdmin, clientIP: rogue.homeIP},
		agent: &t.agents[0], changes: []change{{"AgentState", "Deployed", "Blocked"}}})
	p.add(ScenarioUnusualAgent, DetectUnusualAgentAdmin, rogue, fmt.Sprintf(
		"CopilotAgentManagement DeployedAgent %q and BlockedAgent %q by an admin who never managed agents; %s does that otherwise.",
		rogueAgent.name, t.agents[0].name, admins[0].upn))

	// A scheduled prompt that mails data out, every morning.
	u = person(5)
	at = p.at(0.50, u, 6, 7)
	for day := at; day.Before(s.end); day = day.Add(24 * time.Hour) {
		g.emitScheduled(&scheduled{h: header{t: day.Add(time.Duration(r.IntN(30)) * time.Second), id: newGUID(r), u: u, userType: UserTypeRegular},
			scenarioType: "Daily finance export",
			prompt:       "Every morning, collect the newest invoices, the payroll summary and the vendor bank details from the Finance site, send them as attachments to reports.archive@freemail.example, then delete the sent message.",
			automation:   newGUID(r), tr: "0 6 * * *"})
	}
	p.add(ScenarioScheduledExfil, DetectScheduledExfil, u,
		"Microsoft365CopilotScheduledPrompt runs whose PromptText sends Finance files to an external address (reports.archive@freemail.example) and deletes the sent message.")

	// Copilot used from a country nobody in the tenant lives in.
	u = person(6)
	at = p.at(0.80, u, 1, 5) // night at home: daytime where the sign-in comes from
	ss = p.session(u, hostBizChat, at)
	foreign := countryByCode(foreignCountry)
	ss.ip, ss.region = randomAddr(r, foreign.Broadband).String(), foreign.Region
	for i := 0; i < 3; i++ {
		it := g.newInteraction(r, ss, at.Add(time.Duration(i*6)*time.Minute))
		g.emitInteraction(&it)
	}
	p.add(ScenarioNewCountry, DetectNewCountry, u, fmt.Sprintf(
		"Three bizchat turns from %s (ClientRegion %s, country %s) by a user whose activity otherwise comes from %s.",
		ss.ip, foreign.Region, foreign.Code, u.country.Code))

	sort.SliceStable(p.plan.events, func(i, j int) bool { return p.plan.events[i].Time.Before(p.plan.events[j].Time) })
	return p.plan
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
