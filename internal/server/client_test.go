package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/collect"
)

func TestClient(t *testing.T) {
	fake := newFake()
	srv := startServer(t, Options{Store: fixtureStore(t), Detections: fake,
		Status: func() collect.Report { return collect.Report{Source: "collector", DataDir: "/d"} }})
	ctx := context.Background()
	c := NewClient(srv.URL+"/", testToken)
	c.User = "bob"

	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Status(ctx); err != nil || rep.DataDir != "/d" {
		t.Fatalf("status %+v %v", rep, err)
	}

	res, err := c.Query(ctx, "CopilotActivity | where ActorName == 'user1@contoso.example' | project RecordId, AppHost | order by RecordId asc")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Truncated || !reflect.DeepEqual(res.Columns, []ResultColumn{{"RecordId", "string"}, {"AppHost", "string"}}) {
		t.Fatalf("query %+v", res)
	}
	// The three outputs of "aiwatch query", from the same two rows
	// (copilot-interactions.jsonl lines 4 and 1).
	outputs := map[string]string{
		"json": "[\n" + `{"RecordId":"0d989b32-588e-4fd3-b045-a3f920e1929c","AppHost":"Bing"}` + ",\n" +
			`{"RecordId":"ec077ad4-aec7-44b1-a8b4-406c0190f12c","AppHost":"Word"}` + "\n]\n",
		"csv": "RecordId,AppHost\n0d989b32-588e-4fd3-b045-a3f920e1929c,Bing\nec077ad4-aec7-44b1-a8b4-406c0190f12c,Word\n",
		"table": "RecordId                              AppHost\n" +
			"0d989b32-588e-4fd3-b045-a3f920e1929c  Bing\n" +
			"ec077ad4-aec7-44b1-a8b4-406c0190f12c  Word\n",
	}
	for format, want := range outputs {
		var b bytes.Buffer
		if err := res.Write(&b, format); err != nil || b.String() != want {
			t.Errorf("%s output (%v):\n%q\nwant\n%q", format, err, b.String(), want)
		}
	}
	var empty bytes.Buffer
	(&QueryResult{}).Write(&empty, "json")
	if empty.String() != "[]\n" {
		t.Errorf("empty json output %q", empty.String())
	}

	rc, err := c.QueryRaw(ctx, "CopilotActivity | count", "csv")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	if string(raw) != "Count\n17\n" {
		t.Fatalf("raw csv %q", raw)
	}

	_, err = c.Query(ctx, "CopilotActivity\n| where Nope == 1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Line != 2 || ae.Column != 9 {
		t.Fatalf("compile error %#v", err)
	}

	if _, err := c.Incident(ctx, "INC-2"); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Fatalf("missing incident: %v", err)
	}
	if got, err := c.Incident(ctx, "INC-1"); err != nil || !strings.Contains(string(got), `"id":"INC-1"`) {
		t.Fatalf("incident %s %v", got, err)
	}
	closed := "Closed"
	if _, err := c.UpdateIncident(ctx, "INC-1", IncidentUpdate{Status: &closed}); !errors.As(err, &ae) || ae.StatusCode != 400 ||
		ae.Message != "closing an incident needs a classification" {
		t.Fatalf("refused update: %v", err)
	}
	owner := ""
	if _, err := c.UpdateIncident(ctx, "INC-1", IncidentUpdate{Owner: &owner, AddTags: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	// A pointer to "" reaches the engine as "clear the owner".
	if u := fake.updates[0]; u.Owner == nil || *u.Owner != "" || u.Status != nil || fake.by[0] != "bob" {
		t.Fatalf("update %+v by %v", u, fake.by)
	}
	if got, err := c.AddComment(ctx, "INC-1", "done"); err != nil || !strings.Contains(string(got), `"bob: done"`) {
		t.Fatalf("comment %s %v", got, err)
	}
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := c.Alerts(ctx, AlertFilter{Since: since, Severity: "Medium", Rule: "r 1&2", Limit: 7}); err != nil {
		t.Fatal(err)
	}
	if got := fake.alertF[0]; !reflect.DeepEqual(got, AlertFilter{Since: since, Severity: "Medium", Rule: "r 1&2", Limit: 7}) {
		t.Fatalf("alert filter %+v", got)
	}
	if _, err := c.Incidents(ctx, IncidentFilter{Status: "New"}); err != nil {
		t.Fatal(err)
	}
	// Limit 0 is all, as the CLI's --limit 0: as many as the server allows.
	if got := fake.incidentF[0]; got != (IncidentFilter{Status: "New", Limit: DefaultMaxRows}) {
		t.Fatalf("incident filter %+v", got)
	}
	if got, err := c.Rules(ctx); err != nil || string(got) != "[]" {
		t.Fatalf("rules %s %v", got, err)
	}

	bad := NewClient(srv.URL, "wrong")
	_, err = bad.Query(ctx, "CopilotActivity | count")
	if !errors.As(err, &ae) || ae.StatusCode != 401 || !strings.Contains(err.Error(), "check AIWATCH_TOKEN") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong token: %v", err)
	}
	// Health needs no token.
	if err := NewClient(srv.URL, "").Health(ctx); err != nil {
		t.Fatal(err)
	}
}
