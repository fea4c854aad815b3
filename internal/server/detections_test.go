package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeIncident struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   string   `json:"status"`
	Severity string   `json:"severity"`
	Owner    string   `json:"owner"`
	Tags     []string `json:"tags"`
	Comments []string `json:"comments"`
}

// fakeDetections holds one incident, INC-1, and records what it was asked.
type fakeDetections struct {
	mu        sync.Mutex
	inc       fakeIncident
	alertF    []AlertFilter
	incidentF []IncidentFilter
	updates   []IncidentUpdate
	by        []string
	rulesErr  error
}

func newFake() *fakeDetections {
	return &fakeDetections{inc: fakeIncident{ID: "INC-1", Title: "Jailbreak by user3", Status: "New", Severity: "High", Tags: []string{}, Comments: []string{}}}
}

func (f *fakeDetections) Rules(ctx context.Context) (any, error) {
	if f.rulesErr != nil {
		return nil, f.rulesErr
	}
	var none []map[string]string // a nil slice must still answer []
	return none, nil
}

func (f *fakeDetections) Alerts(ctx context.Context, af AlertFilter) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alertF = append(f.alertF, af)
	return []map[string]string{{"id": "AL-1", "severity": "High"}}, nil
}

func (f *fakeDetections) Incidents(ctx context.Context, inf IncidentFilter) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.incidentF = append(f.incidentF, inf)
	return []fakeIncident{f.inc}, nil
}

func (f *fakeDetections) Incident(ctx context.Context, id string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.inc.ID {
		return nil, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	return f.inc, nil
}

func (f *fakeDetections) UpdateIncident(ctx context.Context, id string, u IncidentUpdate, by string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.inc.ID {
		return nil, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if u.Status != nil && *u.Status == "Closed" && u.Classification == nil {
		return nil, Invalid("closing an incident needs a classification")
	}
	f.updates = append(f.updates, u)
	f.by = append(f.by, by)
	if u.Status != nil {
		f.inc.Status = *u.Status
	}
	if u.Owner != nil {
		f.inc.Owner = *u.Owner
	}
	f.inc.Tags = append(f.inc.Tags, u.AddTags...)
	if u.Comment != "" {
		f.inc.Comments = append(f.inc.Comments, by+": "+u.Comment)
	}
	return f.inc, nil
}

func TestIncidentEndpoints(t *testing.T) {
	fake := newFake()
	srv := startServer(t, Options{Store: fixtureStore(t), Detections: fake, MaxRows: 500})
	base := srv.URL + "/api/v1/incidents"

	code, _, body := call(t, "GET", base+"/INC-1", testToken, "")
	if code != 200 || body != `{"id":"INC-1","title":"Jailbreak by user3","status":"New","severity":"High","owner":"","tags":[],"comments":[]}`+"\n" {
		t.Fatalf("get: HTTP %d %s", code, body)
	}
	code, _, body = call(t, "GET", base+"/INC-404", testToken, "")
	if code != 404 || errorOf(t, body).Error != "incident INC-404: not found" {
		t.Fatalf("missing: HTTP %d %s", code, body)
	}

	cases := []struct {
		name, id, body string
		want           int
		says           string
	}{
		{"unknown status", "INC-1", `{"status":"Resolved"}`, 400, `unknown status "Resolved": use one of New, Active, Closed`},
		{"unknown severity", "INC-1", `{"severity":"urgent"}`, 400, `unknown severity "urgent"`},
		{"unknown field", "INC-1", `{"state":"Active"}`, 400, `unknown field "state"`},
		{"empty update", "INC-1", `{}`, 400, "the update changes nothing"},
		{"empty tag", "INC-1", `{"addTags":[" "]}`, 400, "a tag is empty"},
		{"engine refuses", "INC-1", `{"status":"closed"}`, 400, "closing an incident needs a classification"},
		{"missing incident", "INC-404", `{"status":"Active"}`, 404, "incident INC-404: not found"},
		{"accepted", "INC-1", `{"status":"active","owner":"soc@contoso.example","addTags":["jailbreak"],"comment":"looking"}`, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := call(t, "PATCH", base+"/"+c.id, testToken, c.body, UserHeader, "alice@contoso.example")
			if code != c.want {
				t.Fatalf("HTTP %d, want %d: %s", code, c.want, body)
			}
			if c.says != "" && !strings.Contains(errorOf(t, body).Error, c.says) {
				t.Fatalf("error %s, want %q", body, c.says)
			}
		})
	}
	// Only the accepted update reached the engine, spelled as Sentinel does.
	if len(fake.updates) != 1 || *fake.updates[0].Status != "Active" || *fake.updates[0].Owner != "soc@contoso.example" ||
		!reflect.DeepEqual(fake.updates[0].AddTags, []string{"jailbreak"}) || fake.by[0] != "alice@contoso.example" {
		t.Fatalf("updates %+v by %v", fake.updates, fake.by)
	}

	code, _, body = call(t, "POST", base+"/INC-1/comments", testToken, `{"message":"escalated to IR"}`)
	if code != 201 {
		t.Fatalf("comment: HTTP %d %s", code, body)
	}
	var inc fakeIncident
	if err := json.Unmarshal([]byte(body), &inc); err != nil || inc.Status != "Active" ||
		!reflect.DeepEqual(inc.Comments, []string{"alice@contoso.example: looking", "api: escalated to IR"}) {
		t.Fatalf("comment answer: %v %s", err, body)
	}
	if code, _, body := call(t, "POST", base+"/INC-1/comments", testToken, `{"message":""}`); code != 400 {
		t.Fatalf("empty comment: HTTP %d %s", code, body)
	}
}

func TestListEndpoints(t *testing.T) {
	fake := newFake()
	srv := startServer(t, Options{Store: fixtureStore(t), Detections: fake, MaxRows: 500})
	api := srv.URL + "/api/v1"

	code, _, body := call(t, "GET", api+"/rules", testToken, "")
	if code != 200 || body != "[]\n" {
		t.Fatalf("rules: HTTP %d %q", code, body)
	}
	code, _, body = call(t, "GET", api+"/alerts?since=36h&severity=high&rule=copilot-jailbreak&limit=5", testToken, "")
	if code != 200 || body != `[{"id":"AL-1","severity":"High"}]`+"\n" {
		t.Fatalf("alerts: HTTP %d %s", code, body)
	}
	// 36 hours before the server's clock (2026-03-05T12:00Z).
	want := AlertFilter{Since: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), Severity: "High", Rule: "copilot-jailbreak", Limit: 5}
	if !reflect.DeepEqual(fake.alertF, []AlertFilter{want}) {
		t.Fatalf("alert filter %+v, want %+v", fake.alertF, want)
	}
	call(t, "GET", api+"/alerts?since=2026-03-01T06:30:00%2B01:00", testToken, "")
	if got := fake.alertF[1]; !got.Since.Equal(time.Date(2026, 3, 1, 5, 30, 0, 0, time.UTC)) || got.Limit != DefaultListLimit {
		t.Fatalf("alert filter %+v", got)
	}
	// 0 is as many as the server allows (500 here).
	call(t, "GET", api+"/alerts?limit=0", testToken, "")
	if got := fake.alertF[2]; got.Limit != 500 {
		t.Fatalf("limit=0 gave filter %+v, want Limit 500", got)
	}
	call(t, "GET", api+"/incidents?status=closed&severity=LOW", testToken, "")
	if want := (IncidentFilter{Status: "Closed", Severity: "Low", Limit: DefaultListLimit}); len(fake.incidentF) != 1 || fake.incidentF[0] != want {
		t.Fatalf("incident filter %+v", fake.incidentF)
	}

	for _, bad := range []string{
		"/alerts?since=yesterday", "/alerts?severity=critical", "/alerts?limit=-1", "/alerts?limit=501", "/alerts?limit=ten",
		"/incidents?status=Resolved", "/incidents?limit=-1",
	} {
		code, _, body := call(t, "GET", api+bad, testToken, "")
		if code != 400 {
			t.Fatalf("%s: HTTP %d %s", bad, code, body)
		}
		errorOf(t, body)
	}
	if len(fake.alertF) != 3 || len(fake.incidentF) != 1 {
		t.Fatalf("refused requests reached the engine: %d alert, %d incident calls", len(fake.alertF), len(fake.incidentF))
	}

	// An engine failure is a 500 with its message.
	fake.rulesErr = errors.New("rules table is missing")
	if code, _, body := call(t, "GET", api+"/rules", testToken, ""); code != 500 || errorOf(t, body).Error != "rules table is missing" {
		t.Fatalf("engine failure: HTTP %d %s", code, body)
	}
}

func TestWithoutDetectionsOrStatus(t *testing.T) {
	srv := startServer(t, Options{Store: fixtureStore(t)})
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/rules", ""}, {"GET", "/api/v1/alerts", ""}, {"GET", "/api/v1/incidents", ""},
		{"GET", "/api/v1/incidents/INC-1", ""}, {"PATCH", "/api/v1/incidents/INC-1", `{"status":"Active"}`},
		{"POST", "/api/v1/incidents/INC-1/comments", `{"message":"x"}`}, {"GET", "/api/v1/status", ""},
	} {
		code, _, body := call(t, c.method, srv.URL+c.path, testToken, c.body)
		if code != 503 || !strings.Contains(errorOf(t, body).Error, "not available") {
			t.Fatalf("%s %s: HTTP %d %s", c.method, c.path, code, body)
		}
	}
}

// since takes what the CLI's --since takes (they share the parser): a
// date, an RFC 3339 time or a duration back from now; a negative duration
// or other text is a 400 saying what is expected.
func TestAlertsSince(t *testing.T) {
	fake := newFake()
	srv := startServer(t, Options{Store: fixtureStore(t), Detections: fake, MaxRows: 500})
	api := srv.URL + "/api/v1/alerts?since="
	tests := []struct {
		since string
		code  int
		want  time.Time // the filter the engine got
		err   string
	}{
		{"2026-03-01", 200, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-03-01T06:30:00Z", 200, time.Date(2026, 3, 1, 6, 30, 0, 0, time.UTC), ""},
		{"7d", 200, time.Date(2026, 2, 26, 12, 0, 0, 0, time.UTC), ""},
		{"-1h", 400, time.Time{}, `since "-1h" is a negative duration; give how far back from now to start, such as 24h or 7d`},
		{"yesterday", 400, time.Time{}, `since "yesterday" is neither a time (2026-03-01, 2026-03-01T10:00:00Z) nor a duration back from now (24h, 7d)`},
	}
	for _, tc := range tests {
		t.Run(tc.since, func(t *testing.T) {
			fake.alertF = nil
			code, _, body := call(t, "GET", api+tc.since, testToken, "")
			if code != tc.code {
				t.Fatalf("HTTP %d, want %d: %s", code, tc.code, body)
			}
			if tc.err != "" {
				if got := errorOf(t, body).Error; got != tc.err || len(fake.alertF) != 0 {
					t.Fatalf("error %q (engine called %d times), want %q", got, len(fake.alertF), tc.err)
				}
				return
			}
			if len(fake.alertF) != 1 || !fake.alertF[0].Since.Equal(tc.want) {
				t.Fatalf("filters %+v, want since %v", fake.alertF, tc.want)
			}
		})
	}
}

// Every error body is one line of JSON, whatever the message it carries.
func TestErrorBodiesOneLine(t *testing.T) {
	fake := newFake()
	srv := startServer(t, Options{Store: fixtureStore(t), Detections: fake, MaxRows: 500})
	tests := []struct {
		name, path string
		rulesErr   error
		code       int
		want       string
	}{
		{"unknown path", "/api/v1/nothing", nil, 404, `{"error":"no API endpoint /api/v1/nothing"}`},
		{"newline in the path", "/api/v1/a%0Ab", nil, 404, `{"error":"no API endpoint /api/v1/a; b"}`},
		{"missing incident", "/api/v1/incidents/INC-9", nil, 404, `{"error":"incident INC-9: not found"}`},
		{"multi-line engine error", "/api/v1/rules", errors.New("Binder Error: no column x\n\nLINE 1: SELECT x\r\n"), 500,
			`{"error":"Binder Error: no column x; LINE 1: SELECT x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.rulesErr = tc.rulesErr
			code, _, body := call(t, "GET", srv.URL+tc.path, testToken, "")
			if code != tc.code || body != tc.want+"\n" {
				t.Fatalf("HTTP %d %q; want %d %q", code, body, tc.code, tc.want+"\n")
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"a\nb":               "a; b",
		"a\r\n\r\n  b  \n":   "a; b",
		"\n":                 "",
		"not found\nINC-1 x": "not found; INC-1 x",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
