package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// gen draws individual realistic records for a tenant. Both the simulator
// and the bulk generator use it; it appends the Events it makes to out.
type gen struct {
	t       *tenant
	resBuf  []byte // scratch AccessedResources buffer
	ctxBuf  []byte
	slab    slab
	out     []Event
	labelOK func(u *user, t time.Time) bool // budget for labelled resources; nil = unlimited
	twinP   float64
}

// hourWeights is the relative Copilot and Office activity by local hour on a
// working day: a morning and an afternoon peak, a lunch dip, a thin evening.
var hourWeights = func() [24]float64 {
	w := [24]float64{0.01, 0.005, 0.005, 0.005, 0.005, 0.01, 0.04, 0.25, 0.8, 1.0, 1.0, 0.9, 0.55, 0.8, 0.95, 0.9, 0.75, 0.45, 0.22, 0.14, 0.12, 0.1, 0.05, 0.02}
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}()

const weekendFactor = 0.07

// activity returns the expected share of a working day's activity that falls
// in the hour starting at hs for u.
func activity(u *user, hs time.Time) float64 {
	local := hs.Add(time.Duration(u.offset) * time.Minute)
	h := (local.Hour() - u.shift + 24) % 24
	f := hourWeights[h]
	if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= weekendFactor
	}
	return f
}

// localClock returns u's local hour and whether it is a working hour of a weekday.
func localClock(u *user, t time.Time) (hour int, working bool) {
	local := t.Add(time.Duration(u.offset) * time.Minute)
	wd := local.Weekday()
	hour = local.Hour()
	return hour, wd != time.Saturday && wd != time.Sunday && hour >= 8 && hour < 18
}

// poisson draws a Poisson-distributed count (Knuth; lambdas here are small).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// session is what stays the same across the records of one Copilot thread.
type session struct {
	u           *user
	host        int
	appHost     string
	appIdentity string
	agent       *agent
	recordType  int
	ip, region  string
	thread      string
	context     []byte
	model       int
	logVersion  string
	oldShape    bool
	webSearch   float64
}

// sessionIP picks where u connects from: the office on working hours,
// otherwise home broadband or mobile IPv6, always in u's home country.
func sessionIP(r *rand.Rand, u *user, t time.Time) string {
	if u.userType == UserTypeApplication || u.userType == UserTypeServicePrincipal {
		return u.officeIP
	}
	_, working := localClock(u, t)
	p := r.Float64()
	switch {
	case u.userType == UserTypeGuest:
		if p < 0.8 {
			return u.homeIP
		}
		return u.v6IP
	case working && p < 0.6:
		return u.officeIP
	case working && p < 0.88, !working && p < 0.65:
		return u.homeIP
	}
	return u.v6IP
}

// newSession decides the shape of a session; host < 0 lets it choose.
func (g *gen) newSession(r *rand.Rand, u *user, t time.Time, host int) *session {
	s := &session{u: u, recordType: RecordCopilotInteraction, thread: threadID(r)}
	s.ip = sessionIP(r, u, t)
	s.region = u.country.Region
	if r.IntN(40) == 0 {
		s.region = "" // seen in real records
	}
	switch p := r.Float64(); {
	case p < 0.85:
		s.logVersion = "1.0.0.0"
	case p < 0.95:
		s.logVersion = "2024-11-30"
	default:
		s.oldShape = true
	}
	switch {
	case host >= 0:
		s.host, s.appHost = host, hostNames[host]
	case u.userType == UserTypeApplication || u.userType == UserTypeServicePrincipal:
		s.agent, s.host, s.appHost = &g.t.spAgents[u.spAgent], hostBizChat, "CopilotStudio"
	case r.Float64() < 0.04:
		s.host, s.appHost, s.recordType = hostTeams, "Teams", RecordTeamCopilotInteraction
		s.appIdentity = "Copilot.TeamCopilot.Message"
	case r.Float64() < 0.08 && len(g.t.agents) > 0:
		a := &g.t.agents[r.IntN(len(g.t.agents))]
		for i := range g.t.agents { // people mostly use their department's agent
			if g.t.agents[i].dept == u.dept && r.IntN(2) == 0 {
				a = &g.t.agents[i]
			}
		}
		s.agent = a
		s.host = hostTeams
		if r.IntN(2) == 0 {
			s.host = hostBizChat
		}
		s.appHost = hostNames[s.host]
	default:
		dept := u.dept
		if dept < 0 {
			dept = 0
		}
		s.host = weightedPick(r, departments[dept].hosts[:])
		s.appHost = hostNames[s.host]
	}
	if s.agent != nil {
		s.appIdentity, s.model, s.oldShape = s.agent.appIdentity, modelAgent, false
		if s.logVersion == "" {
			s.logVersion = "1.0.0.0"
		}
	} else if !s.oldShape && s.appIdentity == "" {
		if s.host == hostBizChat || s.host == hostTeams {
			s.appIdentity = "Copilot.M365Copilot.Bizchat"
		} else {
			s.appIdentity = "Copilot.M365Copilot.Apps"
		}
	}
	if s.model == modelNone {
		switch p := r.Float64(); {
		case p < 0.3:
			s.model = modelName
		case p < 0.45:
			s.model = modelFull
		}
	}
	if s.host == hostBizChat && s.agent == nil {
		s.webSearch = 0.35
	}
	g.ctxBuf = g.ctxBuf[:0]
	switch s.host {
	case hostWord, hostExcel, hostPowerPoint:
		ext := [...]string{hostWord: "docx", hostExcel: "xlsx", hostPowerPoint: "pptx"}[s.host]
		dept := max(u.dept, 0)
		topics := departments[dept].topics
		name := topics[r.IntN(len(topics))] + docQualifiers[r.IntN(len(docQualifiers))] + "." + ext
		c := g.ctxBuf
		c = append(c, `{"Id":"`...)
		c = append(c, u.personal...)
		c = append(c, `\/_layouts\/15\/Doc.aspx?sourcedoc=%7B`...)
		c = append(c, upperGUID(r)...)
		c = append(c, `%7D&file=`...)
		c = appendPathEscaped(c, name)
		c = append(c, `&action=default&mobileredirect=true","Type":"`...)
		c = append(c, ext...)
		c = append(c, `"}`...)
		g.ctxBuf = c
	case hostTeams:
		if s.recordType == RecordTeamCopilotInteraction || r.IntN(4) == 0 {
			c := append(g.ctxBuf, `{"Id":"19:meeting_`...)
			c = appendRandChars(c, r, 44)
			c = append(c, `@thread.v2","Type":"TeamsMeeting"}`...)
			g.ctxBuf = c
		}
	}
	s.context = append([]byte(nil), g.ctxBuf...)
	return s
}

// resourceCount draws how many resources Copilot read for one answer: most
// answers read none or a few, a long tail reads dozens.
func resourceCount(r *rand.Rand, host int) int {
	p := r.Float64()
	switch host {
	case hostBizChat:
		switch {
		case p < 0.45:
			return 0
		case p < 0.75:
			return 1 + r.IntN(2)
		case p < 0.92:
			return 3 + r.IntN(3)
		case p < 0.985:
			return 6 + r.IntN(7)
		}
		return 13 + r.IntN(18)
	case hostOutlook:
		return 1 + r.IntN(3)
	case hostTeams, hostSharePoint:
		if p < 0.55 {
			return 0
		}
		return 1 + r.IntN(3)
	case hostPlanner, hostWhiteboard:
		return 0
	}
	if p < 0.7 {
		return 0
	}
	return 1 + r.IntN(2)
}

// appendResources appends n AccessedResources elements for a record of s.
func (g *gen) appendResources(b []byte, r *rand.Rand, s *session, t time.Time, n int) []byte {
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		kind := 0 // 0 document, 1 email, 2 Teams file
		switch s.host {
		case hostOutlook:
			kind = 1
			if r.IntN(6) == 0 {
				kind = 0
			}
		case hostTeams:
			kind = 2
			if r.IntN(3) == 0 {
				kind = 0
			}
		case hostBizChat:
			if p := r.Float64(); p < 0.25 {
				kind = 1
			} else if p < 0.38 {
				kind = 2
			}
		}
		switch kind {
		case 1:
			b = g.appendEmail(b, r, s.oldShape, false)
		case 2:
			b = g.appendTeamsFile(b, r, s.oldShape)
		default:
			b = append(b, g.pickDoc(r, s, t).fragment(s.oldShape)...)
		}
	}
	return b
}

func (d *doc) fragment(old bool) []byte {
	if old {
		return d.oldFrg
	}
	return d.frag
}

// pickDoc draws a document, mostly from the user's department; it falls
// back to unlabelled ones when the user's labelled budget is spent.
func (g *gen) pickDoc(r *rand.Rand, s *session, t time.Time) *doc {
	dept := s.u.dept
	if s.agent != nil {
		dept = s.agent.dept
	}
	if dept < 0 || r.IntN(10) < 3 {
		dept = r.IntN(len(g.t.docs))
	}
	docs := g.t.docs[dept]
	d := docs[r.IntN(len(docs))]
	if d.label != "" && g.labelOK != nil && !g.labelOK(s.u, t) {
		for k := 0; k < 8 && d.label != ""; k++ {
			d = docs[r.IntN(len(docs))]
		}
	}
	return d
}

func (g *gen) appendEmail(b []byte, r *rand.Rand, old, xpia bool) []byte {
	b = append(b, `{"Action":"Read",`...)
	if !old {
		b = append(b, `"PolicyDetails":"",`...)
	}
	b = append(b, `"SiteUrl":"`...)
	b = append(b, g.t.outlook...)
	b = appendItemID(b, r)
	b = append(b, `&exvsurl=1&viewmodel=ReadMessageItem","Type":"http:\/\/schema.skype.com\/HyperLink"`...)
	if !old {
		b = append(b, `,"XPIADetected":`...)
		b = appendBool(b, xpia)
	}
	return append(b, '}')
}

var teamsFileNames = []string{"Meeting Notes.docx", "Action Items.xlsx", "Status Update.pptx", "Agenda.docx", "Whiteboard Export.pdf", "Travel Policy 2026.xlsx", "Per Diem Rates.xlsx", "Team Roster.xlsx", "Demo Script.docx", "Design Mockups.pptx"}

var teamsRegions = []string{"weu", "use", "usw", "ins", "jpe", "aue"}

func (g *gen) appendTeamsFile(b []byte, r *rand.Rand, old bool) []byte {
	b = append(b, `{"Action":"Read",`...)
	if !old {
		b = append(b, `"PolicyDetails":"",`...)
	}
	b = append(b, `"SiteUrl":"`...)
	b = append(b, g.t.teamsFiles...)
	b = append(b, "0-"...)
	b = append(b, teamsRegions[r.IntN(len(teamsRegions))]...)
	b = append(b, "-d"...)
	b = append(b, byte('1'+r.IntN(9)))
	b = append(b, '-')
	b = appendRandHex(b, r, 32)
	b = append(b, `\/views\/original\/`...)
	b = appendPathEscaped(b, teamsFileNames[r.IntN(len(teamsFileNames))])
	b = append(b, '"')
	if !old {
		b = append(b, `,"XPIADetected":false`...)
	}
	return append(b, '}')
}

// newInteraction draws one record of session s at time t.
func (g *gen) newInteraction(r *rand.Rand, s *session, t time.Time) interaction {
	it := interaction{
		h: header{t: t, id: newGUID(r), recordType: s.recordType, u: s.u, userType: s.u.userType,
			workload: "Copilot", clientIP: s.ip, region: s.region, hasRegion: true},
		appIdentity: s.appIdentity, agent: s.agent, appHost: s.appHost, context: s.context,
		jailbreakAt: -1, model: s.model, thread: s.thread, logVersion: s.logVersion, oldShape: s.oldShape,
	}
	if it.h.userType == UserTypeAdmin {
		it.h.userType = UserTypeRegular // admins use Copilot as ordinary users
	}
	it.h.op = recordTypeNames[s.recordType]
	if s.oldShape {
		it.appIdentity = ""
	}
	it.webSearch = r.Float64() < s.webSearch
	it.messages = 2
	switch p := r.Float64(); {
	case p < 0.03:
		it.messages = 6
	case p < 0.15:
		it.messages = 4
	}
	it.sizes = r.IntN(10) == 0
	it.firstMsgMs = t.UnixMilli() - 1500 - r.Int64N(6000)
	for i := range it.msgGapMs {
		it.msgGapMs[i] = int16(150 + r.IntN(800))
	}
	g.resBuf = g.appendResources(g.resBuf[:0], r, s, t, resourceCount(r, s.host))
	it.resources = g.resBuf
	return it
}

func (g *gen) emitRecord(rec []byte, ev Event) {
	ev.Record = g.slab.finish(rec)
	g.out = append(g.out, ev)
}

func (g *gen) emitInteraction(it *interaction) {
	rec := appendInteraction(g.slab.begin(), g.t.org, it)
	g.emitRecord(rec, Event{ID: it.h.id, Time: it.h.t, Copilot: true, RecordType: it.h.recordType, Operation: it.h.op, UserID: it.h.u.upn, appHost: it.appHost})
}

// runSession emits the records of one session starting at start; records
// at or after end are not produced.
func (g *gen) runSession(r *rand.Rand, u *user, start, end time.Time) {
	s := g.newSession(r, u, start, -1)
	turns := 1
	switch p := r.Float64(); {
	case p < 0.45:
	case p < 0.70:
		turns = 2
	case p < 0.85:
		turns = 3
	default:
		turns = 4 + r.IntN(3)
	}
	t := start
	for i := 0; i < turns && t.Before(end); i++ {
		it := g.newInteraction(r, s, t)
		g.emitInteraction(&it)
		if r.Float64() < g.twinP {
			// One turn logged twice under two Ids (a quirk of real data).
			it.h.id = newGUID(r)
			if r.IntN(2) == 0 {
				it.h.t = it.h.t.Add(time.Second)
			}
			g.emitInteraction(&it)
			g.out[len(g.out)-1].twin = true
		}
		t = t.Add(time.Duration(20+r.IntN(340)) * time.Second)
	}
}

func (g *gen) emitManagement(m *management) {
	m.h.workload = "Copilot"
	if m.h.op == "" {
		m.h.op = mgmtOperations[m.h.recordType]
	}
	rec := appendManagement(g.slab.begin(), g.t.org, m)
	g.emitRecord(rec, Event{ID: m.h.id, Time: m.h.t, Copilot: true, RecordType: m.h.recordType, Operation: m.h.op, UserID: m.h.u.upn})
}

func (g *gen) emitScheduled(s *scheduled) {
	s.h.workload, s.h.op, s.h.recordType = "Copilot", "ScheduledPromptExecute", RecordScheduledPrompt
	rec := appendScheduled(g.slab.begin(), g.t.org, s)
	g.emitRecord(rec, Event{ID: s.h.id, Time: s.h.t, Copilot: true, RecordType: s.h.recordType, Operation: s.h.op, UserID: s.h.u.upn})
}

var (
	powerBIReports = []string{"Sales Pipeline", "Support Backlog", "Finance Close", "Headcount", "Web Traffic", "Inventory"}
	yammerGroups   = []string{"All Company", "Engineering Guild", "Sales Wins", "IT Announcements", "Social Club"}
)

// emitNoise emits one non-Copilot record (Power BI, Yammer or Teams).
func (g *gen) emitNoise(r *rand.Rand, u *user, t time.Time) {
	n := noise{h: header{t: t, id: newGUID(r), u: u, userType: u.userType, clientIP: sessionIP(r, u, t)}}
	if n.h.userType == UserTypeAdmin {
		n.h.userType = UserTypeRegular
	}
	switch p := r.Float64(); {
	case p < 0.2:
		n.h.recordType, n.h.op, n.h.workload = recordPowerBI, "ViewReport", "PowerBI"
		n.item = powerBIReports[r.IntN(len(powerBIReports))]
		n.extra = departments[max(u.dept, 0)].name
	case p < 0.32:
		n.h.recordType, n.h.op, n.h.workload = recordYammer, "MessageCreated", "Yammer"
		n.item = yammerGroups[r.IntN(len(yammerGroups))]
		n.number = 1900000000000 + r.Int64N(100000000)
	default:
		n.h.recordType, n.h.op, n.h.workload = recordTeams, "MessageSent", "MicrosoftTeams"
		n.item = threadID(r)
		n.extra = [...]string{"OneOnOne", "GroupChat", "Channel"}[r.IntN(3)]
		n.number = t.UnixMilli() - r.Int64N(900)
	}
	rec := appendNoise(g.slab.begin(), g.t.org, &n)
	g.emitRecord(rec, Event{ID: n.h.id, Time: t, RecordType: n.h.recordType, Operation: n.h.op, UserID: u.upn})
}
