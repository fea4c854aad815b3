package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// fixtureLines reads a JSONL fixture; line numbers are 1-based.
func fixtureLines(t *testing.T, name string) map[int][]byte {
	t.Helper()
	f, err := os.Open("../../testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	out := map[int][]byte{}
	for n := 1; sc.Scan(); n++ {
		out[n] = append([]byte(nil), sc.Bytes()...)
	}
	return out
}

func mustNormalize(t *testing.T, n *Normalizer, b []byte) Record {
	t.Helper()
	r, rej := n.Normalize(b, b)
	if rej != nil {
		t.Fatalf("rejected: %s", rej.Reason)
	}
	return r
}

// llm decodes LLMEventData so tests can walk it like KQL's dynamic.
func llm(t *testing.T, r Record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.LLMEventData, &m); err != nil {
		t.Fatalf("LLMEventData of %s is not a JSON object: %v: %s", r.RecordId, err, r.LLMEventData)
	}
	return m
}

func TestInteractionColumns(t *testing.T) {
	lines := fixtureLines(t, "copilot-interactions.jsonl")
	n := NewNormalizer(nil)
	// Expected values from testdata/fixtures/README.md.
	r1 := mustNormalize(t, n, lines[1])
	want := map[string]string{
		"RecordId": "ec077ad4-aec7-44b1-a8b4-406c0190f12c", "RecordType": "CopilotInteraction",
		"ActorName": "user1@contoso.example", "ActorUserId": "70ad2ccd-03bb-405b-a04f-14a7b6d801b2",
		"ActorUserType": "Regular", "SrcIpAddr": "198.51.100.23", "ClientRegion": "US", "AppHost": "Word",
		"AppIdentity": "", "AIModelName": "", "LogVersion": "", "Workload": "Copilot",
		"OrganizationId": "424b1fee-9709-4315-85d9-5954058b4714",
	}
	got := map[string]string{
		"RecordId": r1.RecordId, "RecordType": r1.RecordType, "ActorName": r1.ActorName, "ActorUserId": r1.ActorUserId,
		"ActorUserType": r1.ActorUserType, "SrcIpAddr": r1.SrcIpAddr, "ClientRegion": r1.ClientRegion, "AppHost": r1.AppHost,
		"AppIdentity": r1.AppIdentity, "AIModelName": r1.AIModelName, "LogVersion": r1.LogVersion, "Workload": r1.Workload,
		"OrganizationId": r1.OrganizationId,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("line 1 %s = %q, want %q", k, got[k], v)
		}
	}
	if want := time.Date(2026, 3, 2, 8, 3, 11, 0, time.UTC); !r1.TimeGenerated.Equal(want) {
		t.Errorf("TimeGenerated = %v, want %v", r1.TimeGenerated, want)
	}
	if !r1.Copilot || r1.RecordTypeNumber != 261 {
		t.Errorf("line 1 copilot=%v number=%d", r1.Copilot, r1.RecordTypeNumber)
	}

	r2 := mustNormalize(t, n, lines[2])
	if r2.AppHost != "Teams" || r2.AppIdentity != "Copilot.M365Copilot.Bizchat" || r2.AIModelName != "DEEP_LEO" ||
		r2.LogVersion != "1.0.0.0" || r2.SrcIpAddr != "2001:db8:10::25" {
		t.Errorf("line 2: %+v", r2)
	}
	r5 := mustNormalize(t, n, lines[5])
	if r5.AppHost != "bizchat" || r5.AIModelVersion != "2025-10" {
		t.Errorf("line 5 AppHost %q version %q", r5.AppHost, r5.AIModelVersion)
	}
	r6 := llm(t, mustNormalize(t, n, lines[6]))
	res := r6["AccessedResources"].([]any)
	if res[0].(map[string]any)["XPIADetected"] != true || res[1].(map[string]any)["XPIADetected"] != false {
		t.Errorf("line 6 XPIADetected: %v", res)
	}
	r8 := llm(t, mustNormalize(t, n, lines[8]))
	msgs := r8["Messages"].([]any)
	if msgs[2].(map[string]any)["JailbreakDetected"] != true || msgs[0].(map[string]any)["JailbreakDetected"] == true {
		t.Errorf("line 8 jailbreak must be on Messages[2] only: %v", msgs)
	}
	r9 := mustNormalize(t, n, lines[9])
	if r9.AgentName != "Travel Helper" || !strings.HasPrefix(r9.AgentId, "CopilotStudio.Declarative.T_") ||
		!strings.HasPrefix(r9.AppIdentity, "Copilot.Studio.") || r9.AIModelName != "gpt-4o" {
		t.Errorf("line 9: agent %q %q %q model %q", r9.AgentName, r9.AgentId, r9.AppIdentity, r9.AIModelName)
	}
	r10 := mustNormalize(t, n, lines[10])
	if r10.LogVersion != "2024-11-30" || r10.ClientRegion != "" || r10.AIModelVersion != "2025-10" {
		t.Errorf("line 10: %q %q %q", r10.LogVersion, r10.ClientRegion, r10.AIModelVersion)
	}
	r11 := mustNormalize(t, n, lines[11])
	if r11.RecordType != "TeamCopilotInteraction" || r11.AppIdentity != "Copilot.TeamCopilot.Message" || r11.AppHost != "Teams" {
		t.Errorf("line 11: %q %q %q", r11.RecordType, r11.AppIdentity, r11.AppHost)
	}
	r12 := mustNormalize(t, n, lines[12])
	if r12.RecordType != "Microsoft365CopilotScheduledPrompt" || r12.Operation != "ScheduledPromptExecute" || r12.SrcIpAddr != "" {
		t.Errorf("line 12: %q %q %q", r12.RecordType, r12.Operation, r12.SrcIpAddr)
	}
	sp := llm(t, r12)
	for _, k := range []string{"ScenarioType", "PromptText", "AutomationId", "TriggerMode"} {
		if _, ok := sp[k]; !ok {
			t.Errorf("line 12 LLMEventData lacks %s: %v", k, sp)
		}
	}
	if sp["TriggerMode"] != "0 7 * * 1" {
		t.Errorf("TriggerMode = %v", sp["TriggerMode"])
	}
	r13 := mustNormalize(t, n, lines[13])
	m13 := llm(t, r13)
	if r13.ActorUserType != "Regular" || m13["Resource"].([]any)[0].(map[string]any)["Property"] != "Contoso Threat Feed" ||
		m13["Workspace"].(map[string]any)["Name"] != "Contoso SOC" {
		t.Errorf("line 13: %s %s", r13.ActorUserType, r13.LLMEventData)
	}
	if r14 := mustNormalize(t, n, lines[14]); r14.ActorUserType != "Admin" || r14.SrcIpAddr != "192.0.2.50" {
		t.Errorf("line 14: %q %q", r14.ActorUserType, r14.SrcIpAddr)
	}
	m17 := llm(t, mustNormalize(t, n, lines[17]))
	if m17["Resource"].([]any)[0].(map[string]any)["Property"] != "0cfc115b-ce8c-4235-94b8-975a3c04186a" {
		t.Errorf("line 17 promptbook id: %v", m17["Resource"])
	}
}

func TestEdgeCases(t *testing.T) {
	lines := fixtureLines(t, "edge-cases.jsonl")
	n := NewNormalizer(nil)
	r := func(i int) Record { return mustNormalize(t, n, lines[i]) }

	if x := r(1); x.RecordType != "CopilotInteraction" || x.RecordTypeNumber != 261 {
		t.Errorf("line 1: %q %d", x.RecordType, x.RecordTypeNumber)
	}
	if x := r(2); !x.TimeGenerated.Equal(time.Date(2026, 3, 6, 8, 1, 2, 123456000, time.UTC)) {
		t.Errorf("line 2 TimeGenerated %v", x.TimeGenerated)
	}
	ips := []struct {
		line     int
		src, raw string
	}{{3, "2001:db8::2", "[2001:db8::2]:22222"}, {4, "192.0.2.4", "192.0.2.4:40231"},
		{5, "10.11.0.229", "ffff:10.11.0.229"}, {6, "", ""}, {7, "", ""}}
	for _, c := range ips {
		if x := r(c.line); x.SrcIpAddr != c.src || x.ClientIP != c.raw {
			t.Errorf("line %d: SrcIpAddr %q ClientIP %q, want %q %q", c.line, x.SrcIpAddr, x.ClientIP, c.src, c.raw)
		}
	}
	x8 := r(8)
	m8 := llm(t, x8)
	if x8.AppHost != "bizchat" || x8.AIModelName != "DEEP_LEO" || m8["Messages"].([]any)[0].(map[string]any)["JailbreakDetected"] != true {
		t.Errorf("line 8 (string CopilotEventData): %q %q %s", x8.AppHost, x8.AIModelName, x8.LLMEventData)
	}
	m9 := llm(t, r(9))
	if arr, ok := m9["AccessedResources"].([]any); !ok || len(arr) != 0 {
		t.Errorf("line 9 AccessedResources = %#v, want empty array", m9["AccessedResources"])
	}
	x10 := r(10)
	if x10.AppHost != "Word" || !strings.Contains(string(x10.LLMEventData), `"appHost":"Outlook"`) ||
		!strings.Contains(string(x10.LLMEventData), `"AppHost":"Word"`) {
		t.Errorf("line 10: AppHost %q LLMEventData %s", x10.AppHost, x10.LLMEventData)
	}
	if x := r(11); x.RecordTypeNumber != 9999 || x.RecordType != "" || !x.Copilot {
		t.Errorf("line 11: %d %q copilot %v", x.RecordTypeNumber, x.RecordType, x.Copilot)
	}
	if _, rej := n.Normalize(lines[12], lines[12]); rej == nil || rej.Reason != "no Id" {
		t.Errorf("line 12: %v", rej)
	}
	x13 := r(13)
	m13 := llm(t, x13)
	if name := m13["AccessedResources"].([]any)[0].(map[string]any)["Name"]; name != "Budget \uFFFD\uFFFD\uFFFD( Q1.docx" {
		t.Errorf("line 13 name %q", name)
	}
	if string(x13.Raw) != string(lines[13]) {
		t.Error("line 13 raw bytes changed")
	}
	if m := llm(t, r(14)); len(m["AccessedResources"].([]any)) != 300 {
		t.Errorf("line 14: %d resources", len(m["AccessedResources"].([]any)))
	}
	if _, rej := n.Normalize(lines[15], lines[15]); rej == nil || !strings.HasPrefix(rej.Reason, "not JSON") {
		t.Errorf("line 15: %v", rej)
	}
}

func TestContentHash(t *testing.T) {
	n := NewNormalizer(nil)
	a := `{"Id":"x","CreationTime":"2026-01-01T00:00:00","RecordType":261,"ClientIP":"https:\/\/a","CopilotEventData":{"AppHost":"Word","Messages":[{"Id":"1"}]}}`
	cases := []struct {
		name string
		b    string
		same bool
	}{
		{"reordered and pretty", "{\n  \"RecordType\": 261,\n \"CopilotEventData\": {\"Messages\":[{\"Id\":\"1\"}],\"AppHost\":\"Word\"},\"ClientIP\":\"https://a\",\"Id\":\"x\",\"CreationTime\":\"2026-01-01T00:00:00\"}", true},
		{"graph metadata", `{"@odata.type":"#microsoft.graph.x","Id":"x","CreationTime":"2026-01-01T00:00:00","RecordType":261,"ClientIP":"https://a","CopilotEventData":{"AppHost":"Word","Messages":[{"Id":"1"}]}}`, true},
		{"nested as string", `{"Id":"x","CreationTime":"2026-01-01T00:00:00","RecordType":261,"ClientIP":"https://a","CopilotEventData":"{\"AppHost\":\"Word\",\"Messages\":[{\"Id\":\"1\"}]}"}`, true},
		{"different value", `{"Id":"x","CreationTime":"2026-01-01T00:00:00","RecordType":261,"ClientIP":"https://a","CopilotEventData":{"AppHost":"Excel","Messages":[{"Id":"1"}]}}`, false},
		{"array order", `{"Id":"x","CreationTime":"2026-01-01T00:00:00","RecordType":261,"ClientIP":"https://a","CopilotEventData":{"AppHost":"Word","Messages":[{"Id":"1"},{"Id":"2"}]}}`, false},
	}
	h := mustNormalize(t, n, []byte(a)).ContentHash
	for _, c := range cases {
		if got := mustNormalize(t, n, []byte(c.b)).ContentHash == h; got != c.same {
			t.Errorf("%s: same=%v, want %v", c.name, got, c.same)
		}
	}
}

func TestRejections(t *testing.T) {
	n := NewNormalizer(nil)
	cases := []struct{ in, prefix string }{
		{`{"Id":"a","CreationTime":"2026-01-01T00:00:00","AccessedResources":[{"Na`, "AuditData is not valid JSON (truncated"},
		{`[1,2]`, "not a JSON object"},
		{`{"Id":"","CreationTime":"2026-01-01T00:00:00"}`, "no Id"},
		{`{"Id":"a"}`, "no CreationTime"},
		{`{"Id":"a","CreationTime":"yesterday"}`, "CreationTime \"yesterday\" is not"},
		{`System.Object[]`, "not JSON"},
	}
	for _, c := range cases {
		_, rej := n.Normalize([]byte(c.in), nil)
		if rej == nil || !strings.HasPrefix(rej.Reason, c.prefix) {
			t.Errorf("%s: got %v, want reason starting %q", c.in, rej, c.prefix)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(Numbering371)
	for num, name := range map[int]string{261: "CopilotInteraction", 334: "TeamCopilotInteraction", 363: "Microsoft365CopilotScheduledPrompt",
		371: "OutlookCopilotAutomation", 389: "CopilotForSecurityTrigger", 390: "CopilotAgentManagement", 454: "DragonCopilotAdmin", 325: "UpdateCopilotSettings"} {
		if got := r.Name(num); got != name {
			t.Errorf("371 numbering: %d = %q, want %q", num, got, name)
		}
	}
	if r.Name(384) != "" || !r.IsAI(390, "") {
		t.Error("371 numbering must not know 384 and must treat 390 as AI")
	}
	// The other numbering's numbers stay AI records (fixtures README: the AI
	// set is 371/373, 383/384/389/390), just without a name.
	for _, num := range []int{371, 373, 383, 384, 389, 390} {
		if !r.IsAI(num, "") || !NewRegistry(Numbering373).IsAI(num, "") {
			t.Errorf("%d is not in the AI set", num)
		}
	}
	r2 := NewRegistry(Numbering373)
	if r2.Name(384) != "CopilotAgentManagement" || r2.Name(390) != "" || r2.Name(373) != "OutlookCopilotAutomation" {
		t.Error("373 numbering wrong")
	}
	if r.IsAI(20, "PowerBIAudit") || !IsCopilotWorkload("aiapp") {
		t.Error("AI set wrong")
	}
	if UserTypeName(10) != "Guest" || UserTypeName(6) != "ServicePrincipal" || UserTypeName(42) != "42" {
		t.Error("user types wrong")
	}
}

func TestGraphRecordUnwrapped(t *testing.T) {
	n := NewNormalizer(nil)
	b := []byte(`{"id":"g1","createdDateTime":"2026-03-04T10:02:14Z","auditData":{"@odata.type":"#x","CreationTime":"2026-03-04T10:02:14","Id":"g1","RecordType":261,"Workload":"Copilot","CopilotEventData":{"AppHost":"Word"}}}`)
	r := mustNormalize(t, n, b)
	plain := mustNormalize(t, n, []byte(`{"CreationTime":"2026-03-04T10:02:14","Id":"g1","RecordType":261,"Workload":"Copilot","CopilotEventData":{"AppHost":"Word"}}`))
	if r.RecordId != "g1" || r.AppHost != "Word" || r.ContentHash != plain.ContentHash || string(r.LLMEventData) != `{"AppHost":"Word"}` {
		t.Errorf("graph record: %+v", r)
	}
}

// A RecordType that is a number but no int is kept as written, as an
// unknown name is; the Workload still says whether it is Copilot activity.
func TestRecordTypeNotAnInt(t *testing.T) {
	n := NewNormalizer(nil)
	for in, want := range map[string]string{`261.5`: "261.5", `99999999999999999999999`: "99999999999999999999999", `2.61e2`: "2.61e2"} {
		b := []byte(`{"Id":"x","CreationTime":"2026-03-01T00:00:00","RecordType":` + in + `,"Workload":"Copilot"}`)
		r := mustNormalize(t, n, b)
		if r.RecordType != want || r.RecordTypeNumber != 0 || !r.Copilot {
			t.Errorf("RecordType %s: %q %d copilot %v", in, r.RecordType, r.RecordTypeNumber, r.Copilot)
		}
	}
}

// Text fastjson reads but DuckDB's JSON functions refuse is quarantined
// with the record's Id rather than stored, where it would break every query
// over LLMEventData.
func TestEventDataMustBeJSON(t *testing.T) {
	n := NewNormalizer(nil)
	head := `{"Id":"r1","CreationTime":"2026-03-01T10:00:00Z","RecordType":261,"Operation":"CopilotInteraction","UserId":"u@contoso.example","Workload":"Copilot",`
	for _, tc := range []struct {
		name, rest string
		ok         bool
	}{
		{"valid", `"CopilotEventData":{"AppHost":"Word","Messages":[{"Id":"1","JailbreakDetected":false}],"n":-0.5e+10}}`, true},
		{"unknown escape", `"CopilotEventData":{"AppHost":"Word","x":"a\qb"}}`, false},
		{"short unicode escape", `"CopilotEventData":{"AppHost":"Word","x":"\u12"}}`, false},
		{"control character", "\"CopilotEventData\":{\"AppHost\":\"Word\",\"x\":\"a\x01b\"}}", false},
		{"leading zero", `"CopilotEventData":{"AppHost":"Word","x":01}}`, false},
		{"plus sign", `"CopilotEventData":{"AppHost":"Word","x":+1}}`, false},
		{"two points", `"CopilotEventData":{"AppHost":"Word","x":1.2.3}}`, false},
		{"no exponent digits", `"CopilotEventData":{"AppHost":"Word","x":1e}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(head + tc.rest)
			r, rej := n.Normalize(b, b)
			if tc.ok {
				if rej != nil || !json.Valid(r.LLMEventData) {
					t.Fatalf("rejected %v, LLMEventData %s", rej, r.LLMEventData)
				}
				return
			}
			if rej == nil || rej.ID != "r1" || !strings.HasPrefix(rej.Reason, "CopilotEventData is not valid JSON: ") {
				t.Fatalf("got %+v, %+v; want a rejection of r1 for its CopilotEventData", r, rej)
			}
		})
	}
}
