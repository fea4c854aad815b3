package detect

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/store"
)

// clock is a settable time shared by the store (IngestionTime) and the
// engine (now).
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

type env struct {
	t   *testing.T
	st  *store.Store
	clk *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: at("2026-03-01T00:00:00Z")}
	st.SetClock(clk.now)
	return &env{t: t, st: st, clk: clk}
}

// rec is a Copilot interaction by user at event time ts; jail marks its
// second message as a jailbreak.
type rec struct {
	id, user, ts string
	jail         bool
	ip           string
}

func (r rec) json() []byte {
	ip := r.ip
	if ip == "" {
		ip = "203.0.113.7"
	}
	return []byte(fmt.Sprintf(`{"Id":%q,"CreationTime":%q,"RecordType":261,"Operation":"CopilotInteraction","Workload":"Copilot",`+
		`"UserId":%q,"UserType":0,"OrganizationId":"org1","ClientIP":%q,"CopilotEventData":{"AppHost":"Word",`+
		`"Messages":[{"Id":"1","isPrompt":true},{"Id":"2","isPrompt":true,"JailbreakDetected":%t}]}}`,
		r.id, strings.TrimSuffix(r.ts, "Z"), r.user, ip, r.jail))
}

// ingest stores records with IngestionTime = when.
func (e *env) ingest(when string, rs ...rec) {
	e.t.Helper()
	e.clk.t = at(when)
	norm := audit.NewNormalizer(nil)
	var rows []store.Row
	for i, r := range rs {
		b := r.json()
		n, rej := norm.Normalize(b, b)
		if rej != nil {
			e.t.Fatalf("record %s: %v", r.id, rej)
		}
		rows = append(rows, store.Row{Record: n, Source: "test", Loc: fmt.Sprintf("line %d", i+1)})
	}
	if _, err := e.st.Commit(context.Background(), store.Batch{SourceSystem: "Import", Rows: rows}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) engine(rs ...*rules.Rule) *Engine {
	e.t.Helper()
	eng, err := New(e.st, rs, Options{Now: e.clk.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	return eng
}

// run does one pass at time when.
func (e *env) run(eng *Engine, when string) Summary {
	e.t.Helper()
	e.clk.t = at(when)
	sum, err := eng.RunOnce(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// alerts lists the stored alerts as "windowEnd records" strings, sorted.
func (e *env) alerts() []string {
	e.t.Helper()
	as, err := NewDesk(e.st, nil).Alerts(context.Background(), AlertFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		recs := slices.Clone(a.Records)
		sort.Strings(recs)
		out = append(out, a.WindowEnd.Format("01-02T15:04")+" "+strings.Join(recs, ","))
	}
	sort.Strings(out)
	return out
}

func jailbreakRule() *rules.Rule {
	return &rules.Rule{
		ID: "11111111-1111-1111-1111-111111111111", Name: "Jailbreak on any message", Severity: "High", Kind: "Scheduled",
		Query: `CopilotActivity
| where RecordType == "CopilotInteraction"
| mv-expand Msg = LLMEventData.Messages
| where tobool(Msg.JailbreakDetected)
| distinct TimeGenerated, RecordId, ActorName, SrcIpAddr`,
		QueryFrequency: 5 * time.Minute, QueryPeriod: 5 * time.Minute, TriggerOperator: "gt", TriggerThreshold: 0,
		Tactics: []string{"InitialAccess"}, RelevantTechniques: []string{"T1190"},
		EntityMappings: []rules.EntityMapping{
			{EntityType: "Account", FieldMappings: []rules.FieldMapping{{Identifier: "FullName", ColumnName: "ActorName"}}},
			{EntityType: "IP", FieldMappings: []rules.FieldMapping{{Identifier: "Address", ColumnName: "SrcIpAddr"}}},
		},
		EventGrouping: "AlertPerResult", Enabled: true,
		Incident: rules.IncidentConfig{CreateIncident: true},
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// A record that arrives two days late is evaluated in its own window, as
// if on time, and raises its alert exactly once; nothing is raised twice.
func TestLateRecordAlertsExactlyOnce(t *testing.T) {
	e := newEnv(t)
	e.ingest("2026-03-01T10:03:00Z", rec{id: "A", user: "alice@contoso.example", ts: "2026-03-01T10:02:00Z", jail: true})
	e.ingest("2026-03-01T10:08:00Z", rec{id: "C", user: "carol@contoso.example", ts: "2026-03-01T10:07:00Z"})
	eng := e.engine(jailbreakRule())
	s := e.run(eng, "2026-03-01T10:11:00Z")
	if s.Windows != 2 || s.Alerts != 1 {
		t.Fatalf("first pass %+v, want 2 windows (10:05, 10:10) and 1 alert", s)
	}
	equal(t, "after the first pass", e.alerts(), []string{"03-01T10:05 A"})

	// B happened at 10:04 but is ingested two days later.
	e.ingest("2026-03-03T10:00:00Z", rec{id: "B", user: "bob@contoso.example", ts: "2026-03-01T10:04:00Z", jail: true})
	s = e.run(eng, "2026-03-03T10:01:00Z")
	if s.LateWindows != 1 || s.Alerts != 1 || s.Duplicates != 1 {
		t.Fatalf("late pass %+v, want 1 late window, 1 alert, 1 duplicate (A again)", s)
	}
	equal(t, "after the late pass", e.alerts(), []string{"03-01T10:05 A", "03-01T10:05 B"})

	// Nothing new: nothing raised; the same record again changes nothing.
	s = e.run(eng, "2026-03-03T10:30:00Z")
	if s.Alerts != 0 || s.Windows != 0 {
		t.Fatalf("idle pass %+v, want nothing", s)
	}
	e.ingest("2026-03-03T11:00:00Z", rec{id: "B", user: "bob@contoso.example", ts: "2026-03-01T10:04:00Z", jail: true})
	e.run(eng, "2026-03-03T11:01:00Z")
	equal(t, "after a duplicate import", e.alerts(), []string{"03-01T10:05 A", "03-01T10:05 B"})

	// B's alert says when B happened, and names B's user.
	as, _ := NewDesk(e.st, nil).Alerts(context.Background(), AlertFilter{})
	for _, a := range as {
		if a.Records[0] != "B" {
			continue
		}
		if !a.Start.Equal(at("2026-03-01T10:04:00Z")) {
			t.Errorf("alert for B starts %v, want its event time 10:04", a.Start)
		}
		if len(a.Entities) != 2 || a.Entities[0].Fields["Name"] != "bob" || a.Entities[0].Fields["UPNSuffix"] != "contoso.example" || a.Entities[1].Fields["Address"] != "203.0.113.7" {
			t.Errorf("alert for B has entities %+v", a.Entities)
		}
	}
}

// The same records ingested on time give the same alerts as late ones.
func TestLateEqualsOnTime(t *testing.T) {
	recs := []rec{
		{id: "A", user: "alice@contoso.example", ts: "2026-03-01T10:02:00Z", jail: true},
		{id: "B", user: "bob@contoso.example", ts: "2026-03-01T10:04:00Z", jail: true},
		{id: "D", user: "dan@contoso.example", ts: "2026-03-01T10:17:00Z", jail: true},
		{id: "E", user: "eve@contoso.example", ts: "2026-03-01T10:18:00Z"},
	}
	onTime := newEnv(t)
	eng := onTime.engine(jailbreakRule())
	onTime.ingest("2026-03-01T10:02:30Z", recs[0])
	onTime.ingest("2026-03-01T10:04:30Z", recs[1])
	onTime.run(eng, "2026-03-01T10:06:00Z")
	onTime.ingest("2026-03-01T10:17:30Z", recs[2])
	onTime.ingest("2026-03-01T10:18:30Z", recs[3])
	onTime.run(eng, "2026-03-01T10:21:00Z")
	late := newEnv(t)
	eng = late.engine(jailbreakRule())
	late.ingest("2026-03-01T10:19:00Z", recs[3])
	late.run(eng, "2026-03-01T10:20:00Z")
	late.ingest("2026-03-02T09:00:00Z", recs[0], recs[2])
	late.run(eng, "2026-03-02T09:05:00Z")
	late.ingest("2026-03-04T09:00:00Z", recs[1])
	late.run(eng, "2026-03-04T09:05:00Z")
	want := []string{"03-01T10:05 A", "03-01T10:05 B", "03-01T10:20 D"}
	equal(t, "on time", onTime.alerts(), want)
	equal(t, "late", late.alerts(), want)
}

func bulkRule() *rules.Rule {
	return &rules.Rule{
		ID: "22222222-2222-2222-2222-222222222222", Name: "Busy user", Severity: "Medium", Kind: "Scheduled",
		Query:          `CopilotActivity | summarize n = count() by ActorName | where n >= 3`,
		QueryFrequency: 5 * time.Minute, QueryPeriod: 15 * time.Minute, TriggerOperator: "gt",
		EntityMappings: []rules.EntityMapping{{EntityType: "Account", FieldMappings: []rules.FieldMapping{{Identifier: "FullName", ColumnName: "ActorName"}}}},
		EventGrouping:  "AlertPerResult", Enabled: true,
		Incident: rules.IncidentConfig{CreateIncident: true, Grouping: rules.GroupingConfig{
			Enabled: true, MatchingMethod: "AllEntities", LookbackDuration: 5 * time.Hour}},
	}
}

// A result without records is one alert while its windows overlap (the
// period is three times the frequency), and a new one when it recurs.
// Alerts of one user within the lookback group into one incident.
func TestOverlappingWindowsAndGrouping(t *testing.T) {
	e := newEnv(t)
	var rs []rec
	for i, ts := range []string{"10:01", "10:02", "10:03", "12:01", "12:02", "12:03"} {
		rs = append(rs, rec{id: fmt.Sprintf("x%d", i), user: "xavier@contoso.example", ts: "2026-03-01T" + ts + ":00Z"})
	}
	rs = append(rs, rec{id: "y1", user: "yann@contoso.example", ts: "2026-03-01T12:01:00Z"},
		rec{id: "y2", user: "yann@contoso.example", ts: "2026-03-01T12:04:00Z"},
		rec{id: "y3", user: "yann@contoso.example", ts: "2026-03-01T12:06:00Z"})
	e.ingest("2026-03-01T13:00:00Z", rs...)
	eng := e.engine(bulkRule())
	s := e.run(eng, "2026-03-01T13:01:00Z")
	// xavier: windows ending 10:05, 10:10, 10:15 (one alert), 12:05..12:15
	// (one alert); yann: 3 records only in windows ending 12:10 and 12:15.
	if s.Alerts != 3 {
		t.Fatalf("pass %+v, want 3 alerts", s)
	}
	as, _ := NewDesk(e.st, nil).Alerts(context.Background(), AlertFilter{})
	var got []string
	for _, a := range as {
		got = append(got, a.WindowEnd.Format("15:04")+" "+a.Entities[0].Fields["Name"])
	}
	sort.Strings(got)
	equal(t, "alerts", got, []string{"10:05 xavier", "12:05 xavier", "12:10 yann"})
	incs, err := NewDesk(e.st, nil).Incidents(context.Background(), IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// xavier's two alerts are 2 h apart, within the 5 h lookback.
	if len(incs) != 2 || s.Incidents != 2 || s.Grouped != 1 {
		t.Fatalf("got %d incidents (summary %+v), want 2 (xavier's two alerts grouped)", len(incs), s)
	}
	for _, inc := range incs {
		want := 1
		if inc.Entities[0].Fields["Name"] == "xavier" {
			want = 2
		}
		if len(inc.AlertIDs) != want || inc.Status != "New" || inc.Severity != "Medium" {
			t.Errorf("incident %d: %d alerts, status %s, severity %s; want %d, New, Medium", inc.Number, len(inc.AlertIDs), inc.Status, inc.Severity, want)
		}
	}
}

// Suppression: after an alert, the rule's alerts within the duration are
// not raised; their records are not raised again later either.
func TestSuppression(t *testing.T) {
	e := newEnv(t)
	r := jailbreakRule()
	r.SuppressionEnabled, r.SuppressionDuration = true, time.Hour
	e.ingest("2026-03-01T11:59:00Z",
		rec{id: "A", user: "a@c.example", ts: "2026-03-01T10:02:00Z", jail: true},
		rec{id: "B", user: "b@c.example", ts: "2026-03-01T10:22:00Z", jail: true},
		rec{id: "C", user: "c@c.example", ts: "2026-03-01T11:32:00Z", jail: true})
	eng := e.engine(r)
	s := e.run(eng, "2026-03-01T12:00:00Z")
	if s.Alerts != 2 || s.Suppressed != 1 {
		t.Fatalf("pass %+v, want 2 alerts and 1 suppressed", s)
	}
	equal(t, "alerts", e.alerts(), []string{"03-01T10:05 A", "03-01T11:35 C"})
}

// A pass interrupted after some windows resumes where it stopped: the
// result equals an uninterrupted pass, no window skipped, none doubled.
func TestInterruptedPassResumes(t *testing.T) {
	var recs []rec
	for i := 0; i < 12; i++ {
		recs = append(recs, rec{id: fmt.Sprintf("r%02d", i), user: fmt.Sprintf("u%d@c.example", i%3),
			ts: at("2026-03-01T10:01:00Z").Add(time.Duration(i) * 7 * time.Minute).Format(time.RFC3339), jail: i%2 == 0})
	}
	want := func() []string {
		e := newEnv(t)
		e.ingest("2026-03-01T11:59:00Z", recs...)
		e.run(e.engine(jailbreakRule()), "2026-03-01T12:00:00Z")
		return e.alerts()
	}()
	if len(want) != 6 {
		t.Fatalf("uninterrupted: %d alerts, want 6 (the even records)", len(want))
	}
	e := newEnv(t)
	e.ingest("2026-03-01T11:59:00Z", recs...)
	eng := e.engine(jailbreakRule())
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	eng.afterWindow = func() {
		if n++; n == 5 {
			cancel()
		}
	}
	e.clk.t = at("2026-03-01T12:00:00Z")
	if _, err := eng.RunOnce(ctx); err == nil {
		t.Fatal("the interrupted pass reported no error")
	}
	partial := e.alerts()
	if len(partial) == 0 || len(partial) >= 6 {
		t.Fatalf("interrupted after 5 windows with %d alerts; the test needs a partial pass", len(partial))
	}
	eng = e.engine(jailbreakRule()) // a restart
	e.run(eng, "2026-03-01T12:01:00Z")
	equal(t, "after the restart", e.alerts(), want)
}

// A late record counts in every window whose period holds it: with a
// 15-minute period over 5-minute steps, a record of 10:03 arriving late
// completes the three records of the window ending 10:10.
func TestLateRecordInLongerPeriod(t *testing.T) {
	e := newEnv(t)
	eng := e.engine(bulkRule())
	e.ingest("2026-03-01T10:01:30Z", rec{id: "a", user: "zoe@contoso.example", ts: "2026-03-01T10:01:00Z"})
	e.ingest("2026-03-01T10:07:30Z", rec{id: "b", user: "zoe@contoso.example", ts: "2026-03-01T10:07:00Z"})
	if s := e.run(eng, "2026-03-01T10:11:00Z"); s.Windows != 2 || s.Alerts != 0 {
		t.Fatalf("on-time pass %+v, want 2 windows (10:05, 10:10) and no alert", s)
	}
	e.ingest("2026-03-02T08:00:00Z", rec{id: "c", user: "zoe@contoso.example", ts: "2026-03-01T10:03:00Z"})
	s := e.run(eng, "2026-03-02T08:01:00Z")
	if s.LateWindows != 2 || s.Alerts != 1 {
		t.Fatalf("late pass %+v, want windows 10:05 and 10:10 again and 1 alert", s)
	}
	as, _ := NewDesk(e.st, nil).Alerts(context.Background(), AlertFilter{})
	if len(as) != 1 || !as[0].WindowEnd.Equal(at("2026-03-01T10:10:00Z")) {
		t.Fatalf("alerts %+v, want one for the window ending 10:10", as)
	}
}

// alertDetailsOverride: the name, severity and dynamic properties come
// from the result row.
func TestAlertDetailsFromRow(t *testing.T) {
	e := newEnv(t)
	r := jailbreakRule()
	r.Query += "\n| extend Sev = \"Medium\", Fix = \"Reset the account's sessions\""
	r.AlertDetailsOverride = &rules.AlertDetailsOverride{DisplayNameFormat: "Jailbreak by {{ActorName}}", SeverityColumn: "Sev",
		DynamicProperties: []rules.DynamicProperty{{Name: "RemediationSteps", Value: "Fix"}}}
	e.ingest("2026-03-01T10:03:00Z", rec{id: "A", user: "alice@contoso.example", ts: "2026-03-01T10:02:00Z", jail: true})
	e.run(e.engine(r), "2026-03-01T10:06:00Z")
	var name, sev, fix string
	if err := e.st.DB().QueryRow(`SELECT DisplayName, AlertSeverity, json_extract_string(ExtendedProperties, '$.RemediationSteps') FROM SecurityAlert`).Scan(&name, &sev, &fix); err != nil {
		t.Fatal(err)
	}
	if name != "Jailbreak by alice@contoso.example" || sev != "Medium" || fix != "Reset the account's sessions" {
		t.Fatalf("alert %q, %q, %q", name, sev, fix)
	}
}
