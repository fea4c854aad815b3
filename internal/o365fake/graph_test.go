package o365fake

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type graphRecordFixture struct {
	ID                 string          `json:"id"`
	CreatedDateTime    string          `json:"createdDateTime"`
	AuditLogRecordType string          `json:"auditLogRecordType"`
	Operation          string          `json:"operation"`
	OrganizationID     string          `json:"organizationId"`
	UserType           string          `json:"userType"`
	UserID             string          `json:"userId"`
	Service            string          `json:"service"`
	ObjectID           string          `json:"objectId"`
	UserPrincipalName  string          `json:"userPrincipalName"`
	ClientIP           *string         `json:"clientIp"`
	AuditData          json.RawMessage `json:"auditData"`
}

type graphPage struct {
	Context  string               `json:"@odata.context"`
	NextLink string               `json:"@odata.nextLink"`
	Value    []graphRecordFixture `json:"value"`
}

// fixtureGraphRecords returns G1..G5 from the two Graph fixture pages.
func fixtureGraphRecords(t *testing.T) []graphRecordFixture {
	t.Helper()
	var out []graphRecordFixture
	for _, name := range []string{"graph-auditlog-records.json", "graph-auditlog-records-page2.json"} {
		var p graphPage
		if err := json.Unmarshal(fixture(t, name), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Value...)
	}
	if len(out) != 5 {
		t.Fatalf("fixture has %d Graph records", len(out))
	}
	return out
}

// publishGraphFixtures publishes G1 as the Management blob's B1 (compact,
// "\/" escaped) and G2..G5 from the Graph fixtures' auditData.
func publishGraphFixtures(t *testing.T, e *env) []graphRecordFixture {
	t.Helper()
	fx := fixtureGraphRecords(t)
	b1 := blobRecords(t, "management-api-blob.json")[0]
	if !bytes.Contains(b1, []byte(`https:\/\/`)) {
		t.Fatal("B1 should carry escaped slashes")
	}
	recs := [][]byte{b1}
	for _, g := range fx[1:] {
		recs = append(recs, g.AuditData)
	}
	// Publish out of time order and with one unusable record: the fake sorts
	// by CreationTime and skips what it cannot read.
	e.srv.PublishGraph(tenantA, [][]byte{recs[3], recs[0], []byte(`not json`)})
	e.srv.PublishGraph(tenantA, [][]byte{recs[1], recs[2], recs[4]})
	return fx
}

func (e *env) createQuery(tok, body string) (reply, map[string]any) {
	e.t.Helper()
	r := e.do("POST", "/v1.0/security/auditLog/queries", tok, strings.NewReader(body), "Content-Type", "application/json")
	var q map[string]any
	_ = json.Unmarshal(r.body, &q)
	return r, q
}

// runQuery creates a query, polls it to success and returns its id.
func (e *env) runQuery(tok, body string) (string, map[string]any) {
	e.t.Helper()
	r, q := e.createQuery(tok, body)
	if r.status != 201 {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	id, _ := q["id"].(string)
	var got map[string]any
	for range 2 {
		g := e.do("GET", "/v1.0/security/auditLog/queries/"+id, tok, nil)
		got = map[string]any{}
		_ = json.Unmarshal(g.body, &got)
	}
	if got["status"] != "succeeded" {
		e.t.Fatalf("query not succeeded after 2 polls: %v", got)
	}
	return id, got
}

// allRecords follows @odata.nextLink and returns every page.
func (e *env) allRecords(tok, id string) []graphPage {
	e.t.Helper()
	var pages []graphPage
	link := "/v1.0/security/auditLog/queries/" + id + "/records"
	for link != "" && len(pages) < 20 {
		r := e.do("GET", link, tok, nil)
		if r.status != 200 {
			e.t.Fatalf("records: %d %s", r.status, r.body)
		}
		var p graphPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			e.t.Fatalf("page: %v", err)
		}
		pages = append(pages, p)
		link = p.NextLink
	}
	return pages
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

const queryMarch = `{"displayName":"aiwatch backfill","filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z"}`

func TestGraphCreatePollPage(t *testing.T) {
	e := newEnv(t, Options{GraphPageSize: 4})
	tok := e.graphToken()
	fx := publishGraphFixtures(t, e)

	r, q := e.createQuery(tok, queryMarch)
	if r.status != 201 || q["status"] != "notStarted" || q["displayName"] != "aiwatch backfill" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id, _ := q["id"].(string)
	if !isGUID(id) || r.header.Get("Location") != e.base+"/v1.0/security/auditLog/queries/"+id {
		t.Errorf("id %q, Location %q", id, r.header.Get("Location"))
	}
	// Records are not readable before the query succeeds.
	if r := e.do("GET", "/v1.0/security/auditLog/queries/"+id+"/records", tok, nil); r.status != 400 {
		t.Errorf("records before success: %d", r.status)
	}
	for i, want := range []string{"running", "succeeded", "succeeded"} {
		g := e.do("GET", "/v1.0/security/auditLog/queries/"+id, tok, nil)
		var got map[string]any
		_ = json.Unmarshal(g.body, &got)
		if g.status != 200 || got["status"] != want || got["isRecordCountLimitExceeded"] != false {
			t.Fatalf("poll %d: %d %s", i+1, g.status, g.body)
		}
	}

	pages := e.allRecords(tok, id)
	if len(pages) != 2 || len(pages[0].Value) != 4 || len(pages[1].Value) != 1 {
		t.Fatalf("pages: %d", len(pages))
	}
	if !strings.HasPrefix(pages[0].NextLink, e.base+"/v1.0/security/auditLog/queries/"+id+"/records?$skiptoken=") || pages[1].NextLink != "" {
		t.Errorf("nextLinks %q %q", pages[0].NextLink, pages[1].NextLink)
	}
	if pages[0].Context != e.base+"/v1.0/$metadata#security/auditLog/queries('"+id+"')/records" {
		t.Errorf("context %s", pages[0].Context)
	}
	got := append(pages[0].Value, pages[1].Value...)
	for i, w := range fx {
		g := got[i]
		gd, wd := g.AuditData, w.AuditData
		g.AuditData, w.AuditData = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i+1, g, w)
		}
		if !jsonEqual(t, gd, wd) {
			t.Errorf("record %d auditData differs", i+1)
		}
	}
	// Graph shows slashes unescaped.
	raw := e.do("GET", "/v1.0/security/auditLog/queries/"+id+"/records", tok, nil)
	if bytes.Contains(raw.body, []byte(`\/`)) || !bytes.Contains(raw.body, []byte(`"Id": "https://contoso-my.sharepoint.example/personal/user2_contoso_example/`)) {
		t.Errorf("auditData slashes not as Graph shows them")
	}
}

func TestGraphFilters(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.graphToken()
	publishGraphFixtures(t, e)
	G := map[string]string{
		"G1": "a187e0b6-7407-4f03-ac3a-259daa1a1ce1", "G2": "b9fa353a-ba05-41b6-9b3a-73fad463d238",
		"G3": "5698aef9-d903-4547-a472-bd0afb76b87a", "G4": "27d982fa-063f-4b7b-b50b-801b098b4d62",
		"G5": "fde6c267-2184-4733-b28a-30640f064898",
	}
	cases := []struct {
		name string
		body string
		want []string
	}{
		{"all of March 4-5", queryMarch, []string{"G1", "G2", "G3", "G4", "G5"}},
		{"team copilot only", `{"filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z","recordTypeFilters":["teamCopilotInteraction"]}`, []string{"G4"}},
		{"copilot interactions", `{"filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z","recordTypeFilters":["copilotInteraction"]}`, []string{"G1", "G2", "G5"}},
		{"two types", `{"filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z","recordTypeFilters":["updateCopilotSettings","teamCopilotInteraction"]}`, []string{"G3", "G4"}},
		{"start inclusive end exclusive", `{"filterStartDateTime":"2026-03-05T08:30:30Z","filterEndDateTime":"2026-03-05T09:31:59Z"}`, []string{"G3", "G4"}},
		{"operation", `{"filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z","operationFilters":["updatetenantsettings"]}`, []string{"G3"}},
		{"user", `{"filterStartDateTime":"2026-03-04T00:00:00Z","filterEndDateTime":"2026-03-06T00:00:00Z","userPrincipalNameFilters":["USER2@contoso.example"]}`, []string{"G1", "G4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, _ := e.runQuery(tok, tc.body)
			var got []string
			for _, p := range e.allRecords(tok, id) {
				for _, v := range p.Value {
					got = append(got, v.ID)
				}
			}
			var want []string
			for _, k := range tc.want {
				want = append(want, G[k])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGraphCapAndBadRecords(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.graphToken()
	fx := publishGraphFixtures(t, e)

	e.srv.SetFaults(tenantA, Faults{GraphRecordCap: 3})
	id, q := e.runQuery(tok, queryMarch)
	if q["isRecordCountLimitExceeded"] != true {
		t.Errorf("cap: %v", q)
	}
	pages := e.allRecords(tok, id)
	if len(pages) != 1 || len(pages[0].Value) != 3 || pages[0].Value[2].ID != fx[2].ID {
		t.Fatalf("capped result: %+v", pages)
	}

	e.srv.SetFaults(tenantA, Faults{GraphBadRecordEvery: 2})
	id, q = e.runQuery(tok, queryMarch)
	if q["isRecordCountLimitExceeded"] != false {
		t.Errorf("uncapped: %v", q)
	}
	vals := e.allRecords(tok, id)[0].Value
	if len(vals) != 5 {
		t.Fatalf("%d records", len(vals))
	}
	for i, v := range vals {
		isObject := len(v.AuditData) > 0 && v.AuditData[0] == '{'
		if wantBad := (i+1)%2 == 0; wantBad == isObject {
			t.Errorf("record %d: auditData %.40s…", i+1, v.AuditData)
		}
		if v.ID != fx[i].ID {
			t.Errorf("record %d id %s", i+1, v.ID)
		}
	}
	var s string
	if err := json.Unmarshal(vals[1].AuditData, &s); err != nil || !strings.HasPrefix(s, `{"@odata.type":"#microsoft.graph.security.auditData","CreationTime":"2026-03-05T08:05:00"`) {
		t.Errorf("bad record text %.80q (%v)", s, err)
	}
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) == nil {
		t.Error("the bad record parses")
	}
	st := e.srv.Stats(tenantA)
	if st.Faults[FaultGraphCap] != 1 || st.Faults[FaultGraphBadRecord] != 2 {
		t.Errorf("faults %v", st.Faults)
	}
}

func TestGraphAuthAndErrors(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.graphToken()
	manageTok := e.manageToken()
	tokB := e.token(tenantB, clientB, secretB, "https://graph.microsoft.com")
	publishGraphFixtures(t, e)
	id, _ := e.runQuery(tok, queryMarch)

	graphCode := func(r reply) string { return afCode(t, r.body) }
	if r, _ := e.createQuery(manageTok, queryMarch); r.status != 401 || graphCode(r) != "InvalidAuthenticationToken" {
		t.Errorf("management token on Graph: %d %s", r.status, r.body)
	}
	if r, _ := e.createQuery("", queryMarch); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/security/auditLog/queries/"+id, tokB, nil); r.status != 404 || graphCode(r) != "ResourceNotFound" {
		t.Errorf("other tenant's query: %d %s", r.status, r.body)
	}
	if r, _ := e.createQuery(tok, `{"filterStartDateTime":"2026-03-06T00:00:00Z","filterEndDateTime":"2026-03-04T00:00:00Z"}`); r.status != 400 {
		t.Errorf("reversed range: %d", r.status)
	}
	if r, _ := e.createQuery(tok, `{"displayName":"x"}`); r.status != 400 {
		t.Errorf("no range: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/security/auditLog/queries/"+id+"/records?$skiptoken=garbage", tok, nil); r.status != 400 {
		t.Errorf("bad skiptoken: %d", r.status)
	}
	// Beta serves the same API.
	if r := e.do("GET", "/beta/security/auditLog/queries/"+id, tok, nil); r.status != 200 {
		t.Errorf("beta: %d", r.status)
	}
	// Faults reach Graph too; both throttle knobs answer 429 there.
	e.srv.SetFaults(tenantA, Faults{Throttle403Every: 1})
	if r := e.do("GET", "/v1.0/security/auditLog/queries/"+id, tok, nil); r.status != 429 || graphCode(r) != "TooManyRequests" {
		t.Errorf("throttled Graph: %d %s", r.status, r.body)
	}
	e.srv.SetFaults(tenantA, Faults{Fail5xxEvery: 1})
	if r := e.do("GET", "/v1.0/security/auditLog/queries/"+id, tok, nil); r.status != 500 {
		t.Errorf("5xx Graph: %d %s", r.status, r.body)
	}
	st := e.srv.Stats(tenantA)
	if st.Requests[RequestKey{EndpointGraphCreate, 201}] != 1 || st.Requests[RequestKey{EndpointGraphGet, 429}] != 1 {
		t.Errorf("requests %v", st.Requests)
	}
}
