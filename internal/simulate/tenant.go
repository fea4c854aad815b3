package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// Country is one location of the simulated tenant's IP plan. Office egress
// addresses come from the documentation ranges (RFC 5737), home broadband
// from the benchmarking range 198.18.0.0/15 (RFC 2544) so that addresses
// look public without belonging to anyone, and IPv6 from 2001:db8::/32.
type Country struct {
	Code      string       // ISO 3166 alpha-2
	Region    string       // the ClientRegion value records from this country carry
	Offsets   []int        // UTC offsets of its users, minutes, standard time (no DST)
	Office    netip.Prefix // office egress
	Broadband netip.Prefix // home broadband
	IPv6      netip.Prefix // mobile / home IPv6
	weight    int          // share of tenant users, percent
}

// countries is the simulator's IP plan. BR is never a user's home: the
// "new country" scenario uses it.
var countries = []Country{
	{"US", "US", []int{-300, -360, -480}, pfx("198.51.100.0/25"), pfx("198.18.0.0/20"), pfx("2001:db8:10::/48"), 44},
	{"CA", "CA", []int{-300}, pfx("192.0.2.0/28"), pfx("198.18.16.0/20"), pfx("2001:db8:11::/48"), 3},
	{"GB", "GB", []int{0}, pfx("192.0.2.16/28"), pfx("198.18.32.0/20"), pfx("2001:db8:12::/48"), 12},
	{"DE", "WEU", []int{60}, pfx("192.0.2.32/28"), pfx("198.18.48.0/20"), pfx("2001:db8:13::/48"), 10},
	{"FR", "WEU", []int{60}, pfx("192.0.2.48/28"), pfx("198.18.64.0/20"), pfx("2001:db8:14::/48"), 6},
	{"NL", "WEU", []int{60}, pfx("192.0.2.64/28"), pfx("198.18.80.0/20"), pfx("2001:db8:15::/48"), 4},
	{"IN", "IN", []int{330}, pfx("192.0.2.80/28"), pfx("198.18.96.0/20"), pfx("2001:db8:16::/48"), 12},
	{"JP", "JP", []int{540}, pfx("192.0.2.96/28"), pfx("198.18.112.0/20"), pfx("2001:db8:17::/48"), 4},
	{"AU", "AU", []int{600}, pfx("192.0.2.112/28"), pfx("198.18.128.0/20"), pfx("2001:db8:18::/48"), 5},
	{"BR", "BR", []int{-180}, pfx("203.0.113.192/27"), pfx("198.19.0.0/20"), pfx("2001:db8:19::/48"), 0},
}

// cloudEgress is where service principals and scheduled prompts run from.
var cloudEgress = pfx("203.0.113.0/26")

const foreignCountry = "BR"

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// IPCountry maps an address of the simulator's IP plan to its country code;
// ok is false for addresses outside the plan.
func IPCountry(addr netip.Addr) (code string, ok bool) {
	addr = addr.Unmap()
	if cloudEgress.Contains(addr) {
		return "US", true
	}
	for _, c := range countries {
		if c.Office.Contains(addr) || c.Broadband.Contains(addr) || c.IPv6.Contains(addr) {
			return c.Code, true
		}
	}
	return "", false
}

func countryByCode(code string) *Country {
	for i := range countries {
		if countries[i].Code == code {
			return &countries[i]
		}
	}
	return nil
}

// randomAddr draws a host address inside p (never the network address).
func randomAddr(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := 15; i >= 0; i-- {
		keep := bits - i*8 // prefix bits inside byte i
		if keep >= 8 {
			break
		}
		mask := byte(0xFF)
		if keep > 0 {
			mask = 0xFF >> keep
		}
		a[i] = a[i]&^mask | byte(r.Uint32())&mask
	}
	if p.Addr().Is4() {
		a[15] |= 1 // avoid .0
		return netip.AddrFrom16(a).Unmap()
	}
	return netip.AddrFrom16(a)
}

// Sensitivity labels of the simulated tenant (invented GUIDs, the first three
// as in the project's fixtures).
const (
	labelPublic       = "7a1f3c52-2d4e-4b8a-9c61-3e5f8a2b9d04"
	labelGeneral      = "e4a8e902-76fc-4fd7-abcb-b9cda4dbb9a7"
	labelConfidential = "ceb309b8-8ec1-4b9e-873a-50eaddc1221e"
	labelHighly       = "5eefa39c-eee5-4c7b-8db8-46c31a728415"
)

// sensitivityLabels maps the simulated tenant's label ids to names.
var sensitivityLabels = map[string]string{
	labelPublic:       "Public",
	labelGeneral:      "General",
	labelConfidential: "Confidential",
	labelHighly:       "Highly Confidential",
}

// Label is a sensitivity label of the simulated tenant.
type Label struct{ ID, Name string }

// Labels lists the simulated tenant's sensitivity labels, least sensitive
// first (the ranking a user would configure for detections).
func Labels() []Label {
	return []Label{{labelPublic, "Public"}, {labelGeneral, "General"}, {labelConfidential, "Confidential"}, {labelHighly, "Highly Confidential"}}
}

// LabelName returns the name of a sensitivity label of the simulated tenant,
// or "" for an unknown id.
func LabelName(id string) string { return sensitivityLabels[id] }

// Sensitive reports whether a label id is Confidential or Highly Confidential,
// the labels the bulk-access scenario is about.
func Sensitive(labelID string) bool { return labelID == labelConfidential || labelID == labelHighly }

// User types as Microsoft numbers them.
const (
	UserTypeRegular          = 0
	UserTypeAdmin            = 2
	UserTypeApplication      = 5
	UserTypeServicePrincipal = 6
	UserTypeGuest            = 10
)

var userTypeNames = map[int]string{0: "Regular", 2: "Admin", 5: "Application", 6: "ServicePrincipal", 10: "Guest"}

// appHost indexes; their weights per department drive the usage mix.
const (
	hostBizChat = iota
	hostWord
	hostExcel
	hostPowerPoint
	hostOutlook
	hostTeams
	hostOneNote
	hostLoop
	hostSharePoint
	hostWhiteboard
	hostPlanner
	numHosts
)

var hostNames = [numHosts]string{"bizchat", "Word", "Excel", "PowerPoint", "Outlook", "Teams", "OneNote", "Loop", "SharePoint", "Whiteboard", "Planner"}

type department struct {
	name   string
	weight int           // share of users
	hosts  [numHosts]int // AppHost weights
	topics []string      // document names on the department's site
}

var departments = []department{
	{"Sales", 15, [numHosts]int{30, 10, 8, 14, 22, 12, 1, 1, 2, 0, 0}, []string{"Pricing Memo", "Account Plan", "Pipeline Review", "Customer Proposal", "Discount Approvals", "Territory Map", "Win Loss Analysis", "Quote Template", "Partner Deal Sheet", "Forecast Call Notes"}},
	{"Marketing", 8, [numHosts]int{28, 16, 4, 18, 12, 12, 2, 4, 3, 1, 0}, []string{"Campaign Brief", "Press Release Draft", "Brand Guidelines", "Launch Plan", "Event Budget", "Persona Research", "Social Calendar", "Agency Contract", "Webinar Script", "Market Sizing"}},
	{"Finance", 8, [numHosts]int{24, 8, 30, 6, 14, 10, 2, 1, 4, 0, 1}, []string{"FY26 Budget", "Cost Centres", "Payment Runs", "Vendor Bank Details", "Q3 Forecast", "Audit Findings", "Payroll Summary", "Expense Policy", "Board Financials", "Cash Flow Model"}},
	{"HR", 5, [numHosts]int{30, 18, 6, 6, 18, 12, 2, 2, 6, 0, 0}, []string{"Leave Policy", "Salary Bands", "Performance Reviews", "Onboarding Guide", "Headcount Plan", "Disciplinary Cases", "Benefits Overview", "Recruiting Pipeline", "Org Chart", "Exit Interviews"}},
	{"Legal", 4, [numHosts]int{26, 30, 3, 3, 18, 10, 2, 1, 7, 0, 0}, []string{"NDA Template", "Master Services Agreement", "Litigation Hold", "Contract Register", "Privacy Impact Assessment", "Board Minutes", "Patent Filing", "Regulatory Response", "Supplier Terms", "Trademark Portfolio"}},
	{"Engineering", 22, [numHosts]int{36, 10, 6, 4, 8, 16, 3, 10, 4, 2, 1}, []string{"Architecture Decision", "Release Plan", "Incident Postmortem", "API Design", "Roadmap", "Security Review", "Test Strategy", "Runbook", "Capacity Plan", "Sprint Retro"}},
	{"IT", 7, [numHosts]int{36, 8, 8, 3, 10, 18, 3, 4, 8, 0, 2}, []string{"VPN Setup", "Asset Inventory", "Change Calendar", "Access Review", "Backup Policy", "Network Diagram", "License Report", "Patch Schedule", "Service Catalogue", "DR Test Results"}},
	{"Operations", 12, [numHosts]int{24, 8, 22, 4, 14, 14, 2, 2, 4, 1, 5}, []string{"Supplier Review", "Inventory Levels", "Logistics Plan", "Quality Report", "Shift Roster", "Facilities Budget", "Travel Policy", "Per Diem Rates", "Safety Audit", "Warehouse KPIs"}},
	{"Support", 14, [numHosts]int{30, 6, 6, 2, 26, 22, 2, 2, 4, 0, 0}, []string{"Escalation Matrix", "Known Issues", "Customer Health", "SLA Report", "Macro Library", "Refund Policy", "Training Deck", "Ticket Trends", "Feedback Themes", "Support Handbook"}},
	{"Executive", 2, [numHosts]int{30, 10, 6, 14, 24, 14, 1, 1, 0, 0, 0}, []string{"Board Deck Q1", "Strategy Offsite", "Acquisition Memo", "Leadership Update", "Investor FAQ", "Reorg Plan", "Risk Register", "Executive Dashboard", "Annual Plan", "Compensation Committee"}},
}

const deptIT = 6

var docQualifiers = []string{"", " v2", " Draft", " Final", " 2026", " Q1", " Q2", " Summary", " (Copy)", " - Review", " Notes", " Archive"}

var docExts = []string{"docx", "docx", "docx", "xlsx", "xlsx", "pptx", "pdf", "txt"}

var firstNames = []string{"Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Maria", "Daniel", "Priya", "Hiroshi", "Emma", "Lukas", "Chloe", "Noah", "Aisha", "Mateo", "Sofia", "Liam", "Anika", "Kenji", "Olivia", "Ethan", "Zara", "Felix", "Nora", "Arjun", "Hannah", "Leo", "Mia", "Ravi", "Grace", "Jonas", "Elena", "Omar", "Yuki", "Ingrid", "Pablo", "Fatima", "Henrik", "Isla", "Marco", "Lena", "Tom", "Ava", "Vikram", "Clara"}

var lastNames = []string{"Morgan", "Patel", "Schmidt", "Tanaka", "Dubois", "Smith", "Jansen", "Garcia", "Nguyen", "Kowalski", "Brown", "Rossi", "Müller", "Okafor", "Silva", "Andersen", "Kim", "Fischer", "Martin", "Singh", "Wilson", "Lefebvre", "Sato", "Visser", "Taylor", "Khan", "Becker", "Lopez", "Walker", "Moreau", "Iyer", "Young", "Hughes", "Bakker", "Weber", "Clarke", "Ito", "Novak", "Reyes", "Fraser", "Berg", "Costa", "Shah", "Wright", "Hall", "Meyer", "Evans", "Roy", "Kelly", "Lambert"}

var guestOrgs = []string{"fabrikam.example", "northwind.example", "adatum.example", "tailspin.example"}

// user is one account of the simulated tenant.
type user struct {
	upn, key   string
	userType   int
	dept       int
	country    *Country
	offset     int // minutes east of UTC
	officeIP   string
	homeIP     string
	v6IP       string
	rate       float64 // Copilot sessions on a working day; 0 = no licence
	noiseRate  float64 // other Audit.General records on a working day
	shift      int     // working-day start shift, hours
	personal   string  // escaped OneDrive base URL
	soc        bool    // Security Copilot analyst
	automation int     // index into automations, -1 none
	spAgent    int     // index into tenant.spAgents for service principals
}

// Actor describes a simulated account in the ground truth.
type Actor struct {
	UserID     string `json:"userId"`
	UserKey    string `json:"userKey"`
	UserType   string `json:"userType"`
	Department string `json:"department,omitempty"`
	Country    string `json:"country"`
	UTCOffset  int    `json:"utcOffsetMinutes"`
	Licensed   bool   `json:"licensed"`
}

type doc struct {
	label  string
	frag   []byte // the AccessedResources element, current shape
	oldFrg []byte // the same without PolicyDetails/XPIADetected (older records)
	name   string
	site   string // escaped site URL of the document
	id     string
	typ    string
}

type agent struct {
	name, id, version, appIdentity string
	dept                           int
	model                          string
}

type automation struct {
	scenarioType, prompt, cron string
	hour, minute               int
	weekdaysOnly, mondayOnly   bool
}

var automations = []automation{
	{"Weekly project digest", "Summarize last week's messages in the %s channel, list open action items, and flag anything due this week.", "0 7 * * 1", 7, 0, false, true},
	{"Daily inbox triage", "Review my unread email from the last 24 hours, group it by urgency and draft short replies for the top three.", "0 8 * * 1-5", 8, 0, true, false},
	{"Meeting prep", "Before my day starts, list today's meetings and summarize the related documents and recent threads for each.", "30 7 * * 1-5", 7, 30, true, false},
	{"Pipeline summary", "Summarize changes to my open opportunities since yesterday and list customers I have not contacted in two weeks.", "0 9 * * 1-5", 9, 0, true, false},
}

var projects = []string{"Apollo", "Borealis", "Cedar", "Delta", "Evergreen", "Falcon"}

type promptbook struct{ id, name string }

// tenant holds everything about the simulated organisation that does not
// change over the simulated period; its size grows with the number of users.
type tenant struct {
	org, domain, short, title string
	spHost, myHost, outlook   string // escaped base URLs
	teamsFiles                string
	users                     []*user
	humans                    []*user // users with Regular, Admin or Guest type
	admins                    []*user
	guests                    []*user
	sps                       []*user
	socs                      []*user
	licensed                  []*user // regular users with a Copilot licence
	docs                      [][]*doc
	sensitive                 []*doc
	agents                    []agent
	spAgents                  []agent
	plugins                   []string
	workspaces                []string
	promptbooks               []promptbook
}

func weightedPick(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func newTenant(r *rand.Rand, org, domain string, nUsers int) *tenant {
	short := domain
	if i := strings.IndexByte(domain, '.'); i > 0 {
		short = domain[:i]
	}
	t := &tenant{
		org: org, domain: domain, short: short,
		title:      strings.ToUpper(short[:1]) + short[1:],
		spHost:     escapeJSON("https://" + short + ".sharepoint.example"),
		myHost:     escapeJSON("https://" + short + "-my.sharepoint.example"),
		outlook:    escapeJSON("https://outlook.office365." + domain + "/owa/?ItemID="),
		teamsFiles: escapeJSON("https://files.teams." + domain + "/v1/objects/"),
	}
	cw := make([]int, len(countries))
	for i, c := range countries {
		cw[i] = c.weight
	}
	dw := make([]int, len(departments))
	for i, d := range departments {
		dw[i] = d.weight
	}
	nAdmins := max(3, nUsers/60)
	nGuests := nUsers * 3 / 100
	seen := map[string]int{}
	for i := 0; i < nUsers; i++ {
		u := &user{userType: UserTypeRegular, automation: -1}
		u.country = &countries[weightedPick(r, cw)]
		u.dept = weightedPick(r, dw)
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		local := asciiFold(strings.ToLower(first + "." + last))
		switch {
		case i < nAdmins:
			u.userType = UserTypeAdmin
			u.dept = deptIT
			switch i {
			case 0, 1: // the agent admin and the SOC lead sit at headquarters
				u.country = countryByCode("US")
			case 2: // the tenant settings owner works from London
				u.country = countryByCode("GB")
			}
		case i < nAdmins+nGuests:
			u.userType = UserTypeGuest
		}
		seen[local]++
		if n := seen[local]; n > 1 {
			local = fmt.Sprintf("%s%d", local, n)
		}
		if u.userType == UserTypeGuest {
			org := guestOrgs[r.IntN(len(guestOrgs))]
			u.upn = local + "_" + org + "#EXT#@" + domain
		} else {
			u.upn = local + "@" + domain
		}
		u.key = newGUID(r)
		u.offset = u.country.Offsets[r.IntN(len(u.country.Offsets))]
		u.officeIP = randomAddr(r, u.country.Office).String()
		u.homeIP = randomAddr(r, u.country.Broadband).String()
		u.v6IP = randomAddr(r, u.country.IPv6).String()
		u.shift = r.IntN(3) - 1
		u.personal = t.myHost + escapeJSON("/personal/"+strings.NewReplacer(".", "_", "@", "_").Replace(local+"@"+domain))
		u.noiseRate = 2 + r.Float64()*5
		switch p := r.Float64(); {
		case u.userType == UserTypeGuest:
			if p < 0.4 {
				u.rate = 1 + r.Float64()*2
			}
		case p < 0.18:
			u.rate = 8 + r.Float64()*6 // heavy users
		case p < 0.55:
			u.rate = 3 + r.Float64()*4
		case p < 0.78:
			u.rate = 0.7 + r.Float64()*1.5
		}
		if u.userType == UserTypeAdmin && u.rate == 0 {
			u.rate = 3
		}
		t.users = append(t.users, u)
		t.humans = append(t.humans, u)
		switch u.userType {
		case UserTypeAdmin:
			t.admins = append(t.admins, u)
		case UserTypeGuest:
			t.guests = append(t.guests, u)
		default:
			if u.rate > 0 {
				t.licensed = append(t.licensed, u)
				if u.dept == deptIT && len(t.socs) < 6 {
					u.soc = true
					t.socs = append(t.socs, u)
				}
				if r.Float64() < 0.05 {
					u.automation = r.IntN(len(automations))
				}
			}
		}
	}
	// Scenarios need a few distinct licensed people; small tenants license more.
	for _, u := range t.humans {
		if len(t.licensed) >= 8 {
			break
		}
		if u.userType == UserTypeRegular && u.rate == 0 {
			u.rate = 2
			t.licensed = append(t.licensed, u)
		}
	}
	// Every tenant has at least one Security Copilot analyst who is not an admin.
	if len(t.socs) == 0 && len(t.licensed) > 0 {
		u := t.licensed[0]
		u.soc = true
		t.socs = append(t.socs, u)
	}
	for i, spec := range []struct {
		name string
		typ  int
	}{{"Invoice Triage Agent", UserTypeApplication}, {"Ticket Router Agent", UserTypeServicePrincipal}} {
		id := newGUID(r)
		u := &user{upn: id, key: id, userType: spec.typ, country: countryByCode("US"), automation: -1, dept: -1, spAgent: i}
		u.officeIP = randomAddr(r, cloudEgress).String()
		u.homeIP, u.v6IP = u.officeIP, u.officeIP
		u.rate = 30 // sessions a day, around the clock
		t.users = append(t.users, u)
		t.sps = append(t.sps, u)
		t.spAgents = append(t.spAgents, newAgent(r, spec.name, []int{2, 8}[i], "gpt-4.1"))
	}
	for _, a := range []struct {
		name string
		dept int
	}{{"IT Helpdesk", 6}, {"Travel Helper", 7}, {"HR Policy Bot", 3}, {"Sales Coach", 0}, {"Contract Reviewer", 4}, {"Expense Assistant", 2}} {
		t.agents = append(t.agents, newAgent(r, a.name, a.dept, []string{"gpt-4o", "gpt-4.1"}[r.IntN(2)]))
	}
	t.docs = make([][]*doc, len(departments))
	for d := range departments {
		t.docs[d] = t.newDocs(r, d, 60)
	}
	t.plugins = []string{t.title + " Threat Feed", t.title + " CMDB", "Defender XDR", "Microsoft Sentinel", "Entra ID", "Intune", "Purview", "Threat Intelligence", "Web search"}
	t.workspaces = []string{t.title + " SOC", t.title + " IT Ops"}
	for _, n := range []string{"Phishing triage", "Incident summary", "Vulnerability impact", "Suspicious sign-in review", "Threat actor profile", "Device investigation", "Ransomware first response", "Insider risk review", "Script analysis", "Email investigation", "Cloud app review", "Identity compromise", "Alert enrichment", "Malware report", "Weekly SOC report", "Executive brief", "Patch risk", "Exposure review"} {
		t.promptbooks = append(t.promptbooks, promptbook{newGUID(r), n})
	}
	return t
}

// asciiFold keeps UPNs ASCII, as most tenants' are.
func asciiFold(s string) string {
	return strings.NewReplacer("ü", "ue", "ö", "oe", "ä", "ae").Replace(s)
}

func newAgent(r *rand.Rand, name string, dept int, model string) agent {
	schema := "crd41_" + strings.ToLower(strings.ReplaceAll(name, " ", ""))
	a := agent{name: name, dept: dept, model: model}
	a.appIdentity = "Copilot.Studio." + newGUID(r) + "-" + schema
	a.id = "CopilotStudio.Declarative.T_" + newGUID(r) + "." + newGUID(r)
	a.version = fmt.Sprintf("1.%d.%d", r.IntN(5), r.IntN(10))
	return a
}

func (t *tenant) newDocs(r *rand.Rand, d int, n int) []*doc {
	dep := departments[d]
	site := "/sites/" + dep.name + "/Shared Documents/"
	out := make([]*doc, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		name := dep.topics[r.IntN(len(dep.topics))] + docQualifiers[r.IntN(len(docQualifiers))]
		ext := docExts[r.IntN(len(docExts))]
		name += "." + ext
		if seen[name] {
			continue
		}
		seen[name] = true
		dc := &doc{name: name, typ: ext, id: itemID(r)}
		switch p := r.Float64(); {
		case p < 0.10:
			dc.label = labelPublic
		case p < 0.45:
			dc.label = labelGeneral
		case p < 0.80:
			dc.label = labelConfidential
		case p < 0.92:
			dc.label = labelHighly
		}
		dc.site = t.spHost + pathEscape(site+name) + "?web=1"
		dc.frag = appendDoc(nil, dc, true, false)
		dc.oldFrg = appendDoc(nil, dc, false, false)
		if Sensitive(dc.label) {
			t.sensitive = append(t.sensitive, dc)
		}
		out = append(out, dc)
	}
	return out
}

// appendDoc writes a SharePoint document as an AccessedResources element,
// keys in the order Microsoft's serialiser uses.
func appendDoc(b []byte, d *doc, current, xpia bool) []byte {
	b = append(b, `{"Action":"Read","Id":"`...)
	b = append(b, d.id...)
	b = append(b, `","Name":`...)
	b = appendJSONString(b, d.name)
	if current {
		b = append(b, `,"PolicyDetails":""`...)
	}
	if d.label != "" {
		b = append(b, `,"SensitivityLabelId":"`...)
		b = append(b, d.label...)
		b = append(b, '"')
	}
	b = append(b, `,"SiteUrl":"`...)
	b = append(b, d.site...)
	b = append(b, `","Type":"`...)
	b = append(b, d.typ...)
	b = append(b, '"')
	if current {
		b = append(b, `,"XPIADetected":`...)
		b = appendBool(b, xpia)
	}
	b = append(b, `,"listItemUniqueId":"`...)
	b = append(b, d.id...)
	return append(b, `"}`...)
}

// pathEscape percent-encodes what SharePoint encodes in a path (space as %20).
func pathEscape(s string) string { return string(appendPathEscaped(nil, s)) }

func appendPathEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b = append(b, c)
		case c == '/':
			b = append(b, '\\', '/') // JSON-escaped, as records carry it
		default:
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	return b
}

func (t *tenant) actors() []Actor {
	out := make([]Actor, 0, len(t.users))
	for _, u := range t.users {
		a := Actor{UserID: u.upn, UserKey: u.key, UserType: userTypeNames[u.userType], Country: u.country.Code, UTCOffset: u.offset, Licensed: u.rate > 0}
		if u.dept >= 0 {
			a.Department = departments[u.dept].name
		}
		out = append(out, a)
	}
	return out
}
