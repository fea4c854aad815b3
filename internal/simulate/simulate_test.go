package simulate

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var testStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

// record is the subset of AuditData the tests read, decoded independently
// of the generator's own structures.
type record struct {
	CreationTime     string
	ID               string `json:"Id"`
	Operation        string
	OrganizationID   string `json:"OrganizationId"`
	RecordType       int
	UserKey          string
	UserType         int
	Version          int
	Workload         string
	ClientIP         string
	ClientRegion     *string
	UserID           string `json:"UserId"`
	AppIdentity      string
	AgentID          string `json:"AgentId"`
	AgentName        string
	CopilotEventData *struct {
		AppHost           string
		ThreadID          string `json:"ThreadId"`
		AccessedResources []struct {
			ID                 string `json:"Id"`
			Name               string
			SensitivityLabelID string `json:"SensitivityLabelId"`
			SiteURL            string `json:"SiteUrl"`
			XPIADetected       bool
		}
		Messages []struct {
			ID                string `json:"Id"`
			JailbreakDetected bool
			IsPrompt          bool `json:"isPrompt"`
		}
	}
	Resource []struct {
		Property      string
		OriginalValue string
		NewValue      string
	}
	Workspace    *struct{ Name string }
	PromptText   string
	AutomationID string `json:"AutomationId"`
	TriggerMode  string
}

type simRun struct {
	events  []Event
	records []record // parallel to events
	truth   Truth
	byID    map[string]record
}

func runSim(t testing.TB, cfg Config) *simRun {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	out := &simRun{byID: map[string]record{}}
	err = s.Run(func(ev Event) error {
		var r record
		if err := json.Unmarshal(ev.Record, &r); err != nil {
			t.Fatalf("record %s is not valid JSON: %v\n%s", ev.ID, err, ev.Record)
		}
		out.events = append(out.events, ev)
		out.records = append(out.records, r)
		out.byID[r.ID] = r
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	out.truth = s.Truth()
	return out
}

var (
	defaultOnce sync.Once
	defaultRun  *simRun
)

// defaultSim is the CLI's default tenant (300 users, 3 days, scenarios and
// noise on), run once for all tests that only read it.
func defaultSim(t *testing.T) *simRun {
	defaultOnce.Do(func() {
		defaultRun = runSim(t, Config{Seed: 1, Start: testStart, Scenarios: true, NoiseRecords: true})
	})
	if defaultRun == nil {
		t.Fatal("default simulation failed")
	}
	return defaultRun
}

func digest(t *testing.T, cfg Config) [32]byte {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if err := s.Run(func(ev Event) error {
		h.Write(ev.Record)
		h.Write([]byte(ev.Available.Format(time.RFC3339Nano)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func TestRunIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Users: 60, Days: 2, Start: testStart, Scenarios: true, NoiseRecords: true}
	a, b := digest(t, cfg), digest(t, cfg)
	if a != b {
		t.Fatal("two runs with the same seed differ")
	}
	cfg.Seed = 8
	if c := digest(t, cfg); c == a {
		t.Fatal("runs with different seeds are identical")
	}
}

func TestRunTwiceOnOneSimIsIdentical(t *testing.T) {
	s, err := New(Config{Seed: 3, Users: 30, Days: 1, Start: testStart, Scenarios: true})
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	for _, buf := range []*bytes.Buffer{&first, &second} {
		if err := s.Run(func(ev Event) error { return WriteJSONL(buf, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("a second Run produced different output")
	}
}

var creationTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)

func TestEveryRecordIsWellFormed(t *testing.T) {
	run := defaultSim(t)
	tr := run.truth
	seen := map[string][]byte{}
	var copilot, noise, dups, twins int
	prev := time.Time{}
	for i, ev := range run.events {
		r := run.records[i]
		if r.ID == "" || r.ID != ev.ID {
			t.Fatalf("event %d: Id %q, Event.ID %q", i, r.ID, ev.ID)
		}
		if !creationTimeRE.MatchString(r.CreationTime) {
			t.Fatalf("record %s: CreationTime %q is not in Microsoft's form", r.ID, r.CreationTime)
		}
		ct, err := time.Parse("2006-01-02T15:04:05", r.CreationTime)
		if err != nil || !ct.Equal(ev.Time) {
			t.Fatalf("record %s: CreationTime %q, Event.Time %s", r.ID, r.CreationTime, ev.Time)
		}
		if ev.Time.Before(tr.Start) || !ev.Time.Before(tr.End) {
			t.Fatalf("record %s at %s is outside the period", r.ID, ev.Time)
		}
		if r.RecordType == 0 || r.RecordType != ev.RecordType || r.Operation != ev.Operation || r.UserID != ev.UserID {
			t.Fatalf("record %s: RecordType/Operation/UserId %d/%s/%s, event says %d/%s/%s", r.ID, r.RecordType, r.Operation, r.UserID, ev.RecordType, ev.Operation, ev.UserID)
		}
		if r.Version != 1 || r.OrganizationID != tr.TenantID {
			t.Fatalf("record %s: Version %d, OrganizationId %s", r.ID, r.Version, r.OrganizationID)
		}
		if (r.Workload == "Copilot") != ev.Copilot {
			t.Fatalf("record %s: Workload %s but Copilot=%v", r.ID, r.Workload, ev.Copilot)
		}
		if bytes.Contains(ev.Record, []byte("https://")) || bytes.Contains(ev.Record, []byte("\n")) {
			t.Fatalf("record %s: slashes not escaped as \\/ or not compact", r.ID)
		}
		if ev.Available.Before(prev) {
			t.Fatalf("record %s: available %s before the previous record's %s", r.ID, ev.Available, prev)
		}
		prev = ev.Available
		if ev.Available.Sub(ev.Time) < 20*time.Minute {
			t.Fatalf("record %s: available %s after the event", r.ID, ev.Available.Sub(ev.Time))
		}
		if earlier, ok := seen[ev.ID]; ok {
			if !ev.Duplicate || !bytes.Equal(earlier, ev.Record) {
				t.Fatalf("record %s repeats an Id without being an exact duplicate", ev.ID)
			}
			dups++
		} else if ev.Duplicate {
			t.Fatalf("record %s is marked Duplicate but its Id is new", ev.ID)
		}
		seen[ev.ID] = ev.Record
		if ev.Copilot {
			copilot++
		} else {
			noise++
		}
		if ev.twin && !ev.Duplicate {
			twins++
		}
	}
	n := len(run.events)
	if tr.Records != n || tr.CopilotRecords != copilot || tr.NoiseRecords != noise || tr.Duplicates != dups || tr.NearTwins != twins {
		t.Fatalf("truth counts %d/%d/%d/%d/%d, counted %d/%d/%d/%d/%d", tr.Records, tr.CopilotRecords, tr.NoiseRecords, tr.Duplicates, tr.NearTwins, n, copilot, noise, dups, twins)
	}
	distinctCopilot := 0
	for id := range seen {
		if run.byID[id].Workload == "Copilot" {
			distinctCopilot++
		}
	}
	if tr.DistinctCopilotIDs != distinctCopilot || tr.DistinctIDs != len(seen) {
		t.Fatalf("truth distinct %d/%d, counted %d/%d", tr.DistinctCopilotIDs, tr.DistinctIDs, distinctCopilot, len(seen))
	}
	// A 300-person tenant over three working days.
	if distinctCopilot < 4000 || distinctCopilot > 20000 {
		t.Errorf("%d distinct Copilot records in three days for 300 users", distinctCopilot)
	}
	if share := float64(copilot) / float64(n); share < 0.5 || share > 0.9 {
		t.Errorf("Copilot share %.2f", share)
	}
	if share := float64(dups) / float64(n); share < 0.01 || share > 0.06 {
		t.Errorf("duplicate share %.3f", share)
	}
	if twins == 0 || tr.LateRecords == 0 {
		t.Errorf("near twins %d, late records %d: quirks missing", twins, tr.LateRecords)
	}
	// Records arrive out of event-time order.
	inversions := 0
	for i := 1; i < n; i++ {
		if run.events[i].Time.Before(run.events[i-1].Time) {
			inversions++
		}
	}
	if inversions < n/10 {
		t.Errorf("only %d of %d records arrive before an earlier event", inversions, n)
	}
}

func TestRecordMix(t *testing.T) {
	tr := defaultSim(t).truth
	for _, name := range []string{"CopilotInteraction", "TeamCopilotInteraction", "Microsoft365CopilotScheduledPrompt", "CopilotAgentManagement",
		"CreateCopilotPlugin", "UpdateCopilotPlugin", "EnableCopilotPlugin", "DisableCopilotPlugin", "UpdateCopilotSettings",
		"CreateCopilotPromptBook", "UpdateCopilotPromptBook", "DeleteCopilotPromptBook", "PowerBIAudit", "Yammer", "MicrosoftTeams"} {
		if tr.ByRecordType[name] == 0 {
			t.Errorf("no %s record", name)
		}
	}
	for _, host := range []string{"bizchat", "Word", "Excel", "PowerPoint", "Outlook", "Teams", "OneNote", "Loop", "SharePoint", "CopilotStudio"} {
		if tr.ByAppHost[host] == 0 {
			t.Errorf("no interaction in %s", host)
		}
	}
	if tr.ByAppHost["bizchat"] < tr.ByAppHost["OneNote"] {
		t.Errorf("bizchat %d below OneNote %d", tr.ByAppHost["bizchat"], tr.ByAppHost["OneNote"])
	}
	types := map[string]int{}
	for _, a := range tr.Actors {
		types[a.UserType]++
		if a.UserType != "ServicePrincipal" && a.UserType != "Application" && a.Department == "" {
			t.Errorf("%s has no department", a.UserID)
		}
	}
	if types["Admin"] != 5 || types["Guest"] != 9 || types["Regular"] != 286 || types["Application"] != 1 || types["ServicePrincipal"] != 1 {
		t.Errorf("actor types %v", types)
	}
}

func TestWorkingHoursRhythm(t *testing.T) {
	run := defaultSim(t)
	offsets := map[string]int{}
	for _, a := range run.truth.Actors {
		offsets[a.UserID] = a.UTCOffset
	}
	var day, night int
	for i, ev := range run.events {
		r := run.records[i]
		if ev.Duplicate || r.RecordType != RecordCopilotInteraction || r.UserType != UserTypeRegular {
			continue
		}
		h := ev.Time.Add(time.Duration(offsets[r.UserID]) * time.Minute).Hour()
		switch {
		case h >= 9 && h < 17:
			day++
		case h < 6:
			night++
		}
	}
	// Eight office hours hold most activity; six night hours almost none.
	if day < 10*night || day < 2000 {
		t.Errorf("interactions by local hour: %d between 09 and 17, %d between 00 and 06", day, night)
	}
}

// keysOf returns the keys of a JSON object in document order.
func keysOf(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func member(t *testing.T, raw []byte, path ...any) []byte {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			raw = m[k]
		case int:
			var a []json.RawMessage
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			raw = a[k]
		}
	}
	return raw
}

func fixtureLines(t *testing.T, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// TestShapesMatchFixtures compares key order with the project's fixtures,
// which copy Microsoft's serialisation.
func TestShapesMatchFixtures(t *testing.T) {
	run := defaultSim(t)
	jsonl := fixtureLines(t, "copilot-interactions.jsonl")
	blob := fixtureLines(t, "management-api-blob.json")
	blobRecord := func(i int) []byte { return bytes.TrimSuffix(blob[i+1], []byte(",")) } // line 0 is "["
	find := func(pred func(r record, raw []byte) bool) []byte {
		for i, ev := range run.events {
			if pred(run.records[i], ev.Record) {
				return ev.Record
			}
		}
		t.Fatal("no generated record of the wanted kind")
		return nil
	}
	plainTeams := find(func(r record, raw []byte) bool {
		return r.RecordType == 261 && r.AgentID == "" && r.AppIdentity != "" && r.ClientRegion != nil &&
			bytes.Contains(raw, []byte(`"CopilotLogVersion"`)) && len(r.CopilotEventData.AccessedResources) > 0 && !bytes.Contains(raw, []byte(`"Size"`))
	})
	agentRec := find(func(r record, raw []byte) bool { return r.RecordType == 261 && r.AgentID != "" && r.UserType == 0 })
	labelledDoc := find(func(r record, raw []byte) bool {
		return r.CopilotEventData != nil && len(r.CopilotEventData.AccessedResources) > 0 &&
			r.CopilotEventData.AccessedResources[0].SensitivityLabelID != "" && bytes.Contains(raw, []byte(`"XPIADetected"`))
	})
	cases := []struct {
		name       string
		fixture    []byte
		generated  []byte
		path       []any
		wantPrefix bool // generated keys may continue beyond the fixture's
	}{
		{"interaction top level", jsonl[1], plainTeams, nil, false},
		{"CopilotEventData", jsonl[1], plainTeams, []any{"CopilotEventData"}, false},
		{"message", jsonl[1], plainTeams, []any{"CopilotEventData", "Messages", 0}, false},
		{"labelled document", jsonl[4], labelledDoc, []any{"CopilotEventData", "AccessedResources", 0}, false},
		{"agent interaction", jsonl[8], agentRec, nil, false},
		{"scheduled prompt", jsonl[11], find(func(r record, _ []byte) bool { return r.RecordType == 363 }), nil, false},
		{"plugin created", jsonl[12], find(func(r record, _ []byte) bool { return r.RecordType == 310 }), nil, false},
		{"plugin enabled", jsonl[13], find(func(r record, _ []byte) bool { return r.RecordType == 313 }), nil, false},
		{"resource change", jsonl[13], find(func(r record, _ []byte) bool { return r.RecordType == 313 }), []any{"Resource", 0}, false},
		{"settings", jsonl[15], find(func(r record, _ []byte) bool { return r.RecordType == 325 }), nil, false},
		{"power bi", blobRecord(1), find(func(r record, _ []byte) bool { return r.RecordType == 20 }), nil, false},
		{"yammer", blobRecord(4), find(func(r record, _ []byte) bool { return r.RecordType == 22 }), nil, false},
		{"teams message", blobRecord(7), find(func(r record, _ []byte) bool { return r.RecordType == 25 }), nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := keysOf(t, member(t, tc.fixture, tc.path...))
			got := keysOf(t, member(t, tc.generated, tc.path...))
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("keys\n got %v\nwant %v\n(record %s)", got, want, tc.generated)
			}
		})
	}
}

func sortedIDs(ids map[string]bool) []string {
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// detectors re-implement, from the records alone, what each scenario's
// detection looks for; on the simulated tenant each must find exactly the
// scenario's records, so the baseline never trips them.
func detectors(run *simRun) map[string]map[string]bool {
	home := map[string]string{}
	offsets := map[string]int{}
	for _, a := range run.truth.Actors {
		home[a.UserID] = a.Country
		offsets[a.UserID] = a.UTCOffset
	}
	found := map[string]map[string]bool{}
	flag := func(name, id string) {
		if found[name] == nil {
			found[name] = map[string]bool{}
		}
		found[name][id] = true
	}
	type timed struct {
		t time.Time
		r record
	}
	var distinct []timed
	seen := map[string]bool{}
	for i, ev := range run.events {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			distinct = append(distinct, timed{ev.Time, run.records[i]})
		}
	}
	sort.SliceStable(distinct, func(i, j int) bool { return distinct[i].t.Before(distinct[j].t) })
	byUser := map[string][]timed{}
	agentOps := map[string]int{}
	for _, d := range distinct {
		r := d.r
		byUser[r.UserID] = append(byUser[r.UserID], d)
		if ed := r.CopilotEventData; ed != nil {
			for _, m := range ed.Messages {
				if m.JailbreakDetected {
					flag(ScenarioJailbreakFirst, r.ID)
				}
			}
			for _, res := range ed.AccessedResources {
				if res.XPIADetected {
					flag(ScenarioPromptInjection, r.ID)
				}
			}
		}
		if r.ClientIP != "" && r.Workload == "Copilot" {
			if c, ok := IPCountry(netip.MustParseAddr(r.ClientIP)); !ok || c != home[r.UserID] {
				flag(ScenarioNewCountry, r.ID)
			}
		}
		switch r.RecordType {
		case RecordCreateCopilotPlugin:
			if r.UserType != UserTypeAdmin {
				flag(ScenarioNonAdminPlugin, r.ID)
			}
		case RecordDisableCopilotPlugin:
			if c := r.Resource[0]; c.Property == "FileUploads" && c.OriginalValue == "Enabled" && c.NewValue == "Disabled" {
				flag(ScenarioFileUploads, r.ID)
			}
		case RecordUpdateCopilotSettings:
			if h := d.t.Add(time.Duration(offsets[r.UserID]) * time.Minute).Hour(); h < 7 || h >= 20 {
				flag(ScenarioSettingsOffHours, r.ID)
			}
		case RecordAgentManagement:
			agentOps[r.UserID]++
		case RecordScheduledPrompt:
			for _, addr := range regexp.MustCompile(`[\w.]+@([\w.-]+)`).FindAllStringSubmatch(r.PromptText, -1) {
				if addr[1] != run.truth.Domain {
					flag(ScenarioScheduledExfil, r.ID)
				}
			}
		}
	}
	usual, most := "", 0
	for u, n := range agentOps {
		if n > most {
			usual, most = u, n
		}
	}
	for _, list := range byUser {
		for i, a := range list {
			r := a.r
			if r.RecordType == RecordAgentManagement && r.UserID != usual {
				flag(ScenarioUnusualAgent, r.ID)
			}
			// Enable and disable of a plugin by one actor and IP within 5 minutes.
			if r.RecordType == RecordEnableCopilotPlugin || r.RecordType == RecordDisableCopilotPlugin {
				for _, b := range list[i+1:] {
					if b.t.Sub(a.t) > 5*time.Minute {
						break
					}
					if b.r.ClientIP == r.ClientIP && b.r.RecordType+r.RecordType == RecordEnableCopilotPlugin+RecordDisableCopilotPlugin && b.r.RecordType != r.RecordType {
						flag(ScenarioPluginTampering, r.ID)
						flag(ScenarioPluginTampering, b.r.ID)
					}
				}
			}
			// 12 or more promptbooks deleted within 5 minutes.
			// 100 or more distinct sensitive resources within an hour.
			var deletes []string
			sensitive := map[string]bool{}
			var window []string
			for _, b := range list[i:] {
				if b.t.Sub(a.t) > time.Hour {
					break
				}
				if b.r.RecordType == RecordDeletePromptBook && b.t.Sub(a.t) <= MassDeleteWindow {
					deletes = append(deletes, b.r.ID)
				}
				if ed := b.r.CopilotEventData; ed != nil {
					hit := false
					for _, res := range ed.AccessedResources {
						if Sensitive(res.SensitivityLabelID) {
							sensitive[res.ID], hit = true, true
						}
					}
					if hit {
						window = append(window, b.r.ID)
					}
				}
			}
			if len(deletes) >= MassDeleteMin {
				for _, id := range deletes {
					flag(ScenarioPromptbookDelete, id)
				}
			}
			if len(sensitive) >= 100 {
				for _, id := range window {
					flag(ScenarioBulkAccess, id)
				}
			}
		}
	}
	return found
}

func TestScenarios(t *testing.T) {
	run := defaultSim(t)
	tr := run.truth
	want := []string{ScenarioJailbreakFirst, ScenarioJailbreakLater, ScenarioPromptInjection, ScenarioBulkAccess, ScenarioNonAdminPlugin,
		ScenarioPluginTampering, ScenarioFileUploads, ScenarioSettingsOffHours, ScenarioPromptbookDelete, ScenarioUnusualAgent,
		ScenarioScheduledExfil, ScenarioNewCountry}
	byName := map[string]Scenario{}
	for _, sc := range tr.Scenarios {
		byName[sc.Name] = sc
	}
	if len(tr.Scenarios) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(tr.Scenarios), len(want))
	}
	days := map[int]bool{}
	for _, name := range want {
		sc, ok := byName[name]
		if !ok {
			t.Fatalf("scenario %s missing", name)
		}
		if sc.Detection == "" || sc.Actor == "" || sc.Description == "" || len(sc.RecordIDs) == 0 {
			t.Errorf("scenario %s incomplete: %+v", name, sc)
		}
		if sc.Start.Before(tr.Start) || !sc.End.Before(tr.End) || sc.End.Before(sc.Start) {
			t.Errorf("scenario %s from %s to %s outside the period", name, sc.Start, sc.End)
		}
		days[int(sc.Start.Sub(tr.Start)/(24*time.Hour))] = true
		for _, id := range sc.RecordIDs {
			r, ok := run.byID[id]
			if !ok {
				t.Fatalf("scenario %s: record %s not in the output", name, id)
			}
			if r.UserID != sc.Actor {
				t.Errorf("scenario %s: record %s by %s, actor %s", name, id, r.UserID, sc.Actor)
			}
		}
	}
	if len(days) != 3 {
		t.Errorf("scenarios fall on days %v of three", days)
	}

	rec := func(name string, i int) record { return run.byID[byName[name].RecordIDs[i]] }
	if m := rec(ScenarioJailbreakFirst, 0).CopilotEventData.Messages; !m[0].JailbreakDetected {
		t.Error("first-message jailbreak: Messages[0] not flagged")
	}
	if m := rec(ScenarioJailbreakLater, 0).CopilotEventData.Messages; len(m) < 3 || m[0].JailbreakDetected || !m[2].JailbreakDetected || !m[2].IsPrompt {
		t.Errorf("later-message jailbreak: messages %+v", m)
	}
	if r := rec(ScenarioNonAdminPlugin, 0); r.RecordType != 310 || r.UserType != 0 {
		t.Errorf("non-admin plugin: RecordType %d UserType %d", r.RecordType, r.UserType)
	}
	if r := rec(ScenarioFileUploads, 0); r.RecordType != 314 || r.Resource[0].Property != "FileUploads" || r.Resource[0].NewValue != "Disabled" || r.UserType != 2 {
		t.Errorf("file uploads: %+v", r)
	}
	a, b := rec(ScenarioPluginTampering, 0), rec(ScenarioPluginTampering, 1)
	if a.RecordType != 314 || b.RecordType != 313 || a.ClientIP != b.ClientIP || byName[ScenarioPluginTampering].End.Sub(byName[ScenarioPluginTampering].Start) > 5*time.Minute {
		t.Errorf("plugin churn: %d then %d from %s and %s", a.RecordType, b.RecordType, a.ClientIP, b.ClientIP)
	}
	for _, actor := range tr.Actors {
		if actor.UserID == byName[ScenarioSettingsOffHours].Actor {
			local := byName[ScenarioSettingsOffHours].Start.Add(time.Duration(actor.UTCOffset) * time.Minute)
			if local.Hour() != 3 || rec(ScenarioSettingsOffHours, 0).RecordType != 325 {
				t.Errorf("settings change at %s local", local.Format("15:04"))
			}
		}
	}
	if sc := byName[ScenarioPromptbookDelete]; len(sc.RecordIDs) < MassDeleteMin || sc.End.Sub(sc.Start) > MassDeleteWindow {
		t.Errorf("promptbook deletion: %d records in %s", len(sc.RecordIDs), sc.End.Sub(sc.Start))
	}
	sensitive := map[string]bool{}
	for i := range byName[ScenarioBulkAccess].RecordIDs {
		for _, res := range rec(ScenarioBulkAccess, i).CopilotEventData.AccessedResources {
			if Sensitive(res.SensitivityLabelID) {
				sensitive[res.ID] = true
			}
		}
	}
	if sc := byName[ScenarioBulkAccess]; len(sensitive) < BulkMinResources || sc.End.Sub(sc.Start) > BulkWindow {
		t.Errorf("bulk access: %d distinct sensitive resources in %s", len(sensitive), sc.End.Sub(sc.Start))
	}
	if r := rec(ScenarioScheduledExfil, 0); r.RecordType != 363 || !strings.Contains(r.PromptText, "@freemail.example") {
		t.Errorf("scheduled prompt: %+v", r)
	}
	if r := rec(ScenarioNewCountry, 0); *r.ClientRegion != "BR" {
		t.Errorf("new country: ClientRegion %s", *r.ClientRegion)
	}

	checkDetectors(t, run)
}

// checkDetectors asserts that each detection, re-implemented from the
// records alone, fires on exactly its scenario's records.
func checkDetectors(t *testing.T, run *simRun) {
	t.Helper()
	found := detectors(run)
	expect := map[string]map[string]bool{}
	actors := map[string]string{}
	for _, sc := range run.truth.Scenarios {
		name := sc.Name
		if name == ScenarioJailbreakLater {
			name = ScenarioJailbreakFirst // one jailbreak detector covers both
		}
		if expect[name] == nil {
			expect[name] = map[string]bool{}
		}
		for _, id := range sc.RecordIDs {
			expect[name][id] = true
		}
		actors[name] = sc.Actor
	}
	if len(expect) != 11 {
		t.Fatalf("%d detections expected to fire, want 11", len(expect))
	}
	for name, want := range expect {
		if name == ScenarioBulkAccess {
			// A window-based detector also takes in the actor's ordinary
			// records of that hour: require the scenario's records and no
			// other actor's.
			for id := range found[name] {
				if run.byID[id].UserID == actors[name] {
					want[id] = true
				}
			}
		}
		if got := sortedIDs(found[name]); strings.Join(got, ",") != strings.Join(sortedIDs(want), ",") {
			t.Errorf("detector %s found %d records %v, scenario has %d %v", name, len(got), got, len(want), sortedIDs(want))
		}
	}
}

func TestScenariosOnOtherTenants(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 2, Users: 10, Days: 1, Start: testStart},
		{Seed: 9, Users: 25, Days: 5, Start: testStart.AddDate(0, 0, 3)}, // Thursday to Monday
		{Seed: 6, Users: 1000, Days: 2, Start: testStart},
	} {
		cfg.Scenarios, cfg.NoiseRecords = true, true
		run := runSim(t, cfg)
		if len(run.truth.Scenarios) != 12 {
			t.Fatalf("seed %d: %d scenarios", cfg.Seed, len(run.truth.Scenarios))
		}
		checkDetectors(t, run)
	}
}

func TestNoScenariosAndNoNoise(t *testing.T) {
	base := Config{Seed: 5, Users: 80, Days: 2, Start: testStart, NoiseRecords: true}
	withNoise := runSim(t, base)
	base.NoiseRecords = false
	quiet := runSim(t, base)
	if len(withNoise.truth.Scenarios) != 0 || len(quiet.truth.Scenarios) != 0 {
		t.Fatal("scenarios injected although disabled")
	}
	if quiet.truth.NoiseRecords != 0 || withNoise.truth.NoiseRecords == 0 {
		t.Fatalf("noise records: %d without noise, %d with", quiet.truth.NoiseRecords, withNoise.truth.NoiseRecords)
	}
	// Noise draws from its own random stream: the Copilot records are the
	// same, in the same order, with or without it.
	var a, b [][]byte
	for _, ev := range withNoise.events {
		if ev.Copilot {
			a = append(a, ev.Record)
		}
	}
	for _, ev := range quiet.events {
		b = append(b, ev.Record)
	}
	if !bytes.Equal(bytes.Join(a, nil), bytes.Join(b, nil)) {
		t.Fatal("turning noise off changed the Copilot records")
	}
}

func TestTruthJSONRoundTrip(t *testing.T) {
	tr := defaultSim(t).truth
	data, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Truth
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatal("ground truth changes through a JSON round trip")
	}
	if !back.Start.Equal(testStart) || len(back.Scenarios) != 12 || back.Scenarios[0].RecordIDs[0] != tr.Scenarios[0].RecordIDs[0] {
		t.Fatalf("round-tripped truth lost data: %+v", back.Scenarios[0])
	}
	if !bytes.Contains(data, []byte(`"detection":"Jailbreak attempt"`)) {
		t.Error("scenario detection not in the JSON")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{Start: testStart}, ""},
		{"too few users", Config{Users: 5, Start: testStart}, "between 10"},
		{"negative days", Config{Days: -1, Start: testStart}, "number of days"},
		{"too many days", Config{Days: 400, Start: testStart}, "number of days"},
		{"no start", Config{}, "start day"},
		{"not midnight", Config{Start: testStart.Add(time.Hour)}, "UTC midnight"},
		{"midnight elsewhere", Config{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.FixedZone("CET", 3600))}, "UTC midnight"},
		{"bad domain", Config{Start: testStart, Domain: "Contoso Ltd"}, "cannot use domain"},
		{"bad tenant", Config{Start: testStart, TenantID: "tenant-1"}, "cannot use tenant id"},
		{"tenant given", Config{Start: testStart, TenantID: "424b1fee-9709-4315-85d9-5954058b4714"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg := s.Config()
			if cfg.Users != 300 || cfg.Days != 3 || cfg.Domain != "contoso.example" || !guidRE.MatchString(cfg.TenantID) {
				t.Fatalf("defaults not filled: %+v", cfg)
			}
		})
	}
}

func TestRunStopsOnEmitError(t *testing.T) {
	s, err := New(Config{Seed: 1, Users: 20, Days: 1, Start: testStart})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	boom := os.ErrClosed
	err = s.Run(func(Event) error {
		n++
		if n == 10 {
			return boom
		}
		return nil
	})
	if n != 10 || err == nil || !strings.Contains(err.Error(), "cannot emit") {
		t.Fatalf("after %d events: %v", n, err)
	}
}

func TestIPCountry(t *testing.T) {
	cases := []struct {
		ip   string
		want string
		ok   bool
	}{
		{"198.51.100.23", "US", true},
		{"192.0.2.20", "GB", true},
		{"198.18.50.9", "DE", true},
		{"2001:db8:16::1", "IN", true},
		{"198.19.0.7", "BR", true},
		{"203.0.113.5", "US", true}, // cloud egress
		{"::ffff:192.0.2.100", "JP", true},
		{"10.0.0.1", "", false},
	}
	for _, tc := range cases {
		got, ok := IPCountry(netip.MustParseAddr(tc.ip))
		if got != tc.want || ok != tc.ok {
			t.Errorf("IPCountry(%s) = %q, %v; want %q, %v", tc.ip, got, ok, tc.want, tc.ok)
		}
	}
}

// Two periods of one seed never share a record Id, so simulated weeks can be
// imported one after another.
func TestPeriodsDoNotShareIDs(t *testing.T) {
	ids := func(start time.Time) map[string]bool {
		s, err := New(Config{Seed: 1, Users: 30, Start: start, Days: 1, Scenarios: true})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		s.Run(func(ev Event) error { out[ev.ID] = true; return nil })
		return out
	}
	a := ids(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	b := ids(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	if len(a) == 0 || len(b) == 0 {
		t.Fatal("no records")
	}
	for id := range a {
		if b[id] {
			t.Fatalf("id %s in both periods", id)
		}
	}
}
