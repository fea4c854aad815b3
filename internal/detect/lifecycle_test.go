package detect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

// An incident goes New → Active → Closed (with a classification) and can
// be reopened; bad changes are refused with a reason; every change is an
// event handed to automation once, except automation's own changes.
func TestIncidentLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.ingest("2026-03-01T10:03:00Z", rec{id: "A", user: "alice@contoso.example", ts: "2026-03-01T10:02:00Z", jail: true})
	e.run(e.engine(jailbreakRule()), "2026-03-01T10:06:00Z")
	desk := NewDesk(e.st, e.clk.now)
	incs, err := desk.Incidents(ctx, IncidentFilter{Status: "new"})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents %v, %v; want one New", incs, err)
	}
	inc := incs[0]
	if inc.Number != 1 || inc.Title != "Jailbreak on any message" || inc.Severity != "High" || !slices.Equal(inc.Tactics, []string{"InitialAccess"}) {
		t.Fatalf("incident %+v", inc)
	}
	id := "1" // by number, as an analyst types it

	bad := []struct {
		u    Update
		want string
	}{
		{Update{Status: ptr("Done")}, `status "Done" is not one of New, Active, Closed`},
		{Update{Status: ptr("Closed")}, "closing an incident needs a classification"},
		{Update{Status: ptr("Closed"), Classification: ptr("Maybe")}, `classification "Maybe" is not one of`},
		{Update{Status: ptr("Closed"), Classification: ptr("FalsePositive")}, `classification reason "" does not go with FalsePositive`},
		{Update{Classification: ptr("TruePositive")}, "can only be given when closing"},
		{Update{Severity: ptr("Urgent")}, `severity "Urgent" is not one of`},
	}
	for _, b := range bad {
		_, err := desk.UpdateIncident(ctx, id, b.u, "analyst@contoso.example")
		var ue *UpdateError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("update %+v: error %v, want one containing %q", b.u, err, b.want)
		}
	}
	if _, err := desk.UpdateIncident(ctx, "999", Update{Status: ptr("Active")}, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown incident: %v, want ErrNotFound", err)
	}

	e.clk.t = at("2026-03-01T11:00:00Z")
	inc, err = desk.UpdateIncident(ctx, id, Update{Status: ptr("Active"), Owner: ptr("soc@contoso.example"), AddTags: []string{"copilot", "triage"}, Comment: "looking"}, "analyst@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	e.clk.t = at("2026-03-01T12:00:00Z")
	inc, err = desk.UpdateIncident(ctx, id, Update{Status: ptr("Closed"), Classification: ptr("TruePositive"), ClassificationComment: ptr("confirmed"), RemoveTags: []string{"triage"}}, "analyst@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	inc, _, err = desk.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != "Closed" || inc.Classification != "TruePositive" || inc.ClassificationReason != "SuspiciousActivity" ||
		inc.ClassificationComment != "confirmed" || inc.Owner != "soc@contoso.example" || !slices.Equal(inc.Tags, []string{"copilot"}) ||
		len(inc.Comments) != 1 || inc.Comments[0].Message != "looking" || inc.Comments[0].Author != "analyst@contoso.example" ||
		inc.Closed == nil || !inc.Closed.Equal(at("2026-03-01T12:00:00Z")) {
		t.Fatalf("closed incident %+v", inc)
	}
	inc, err = desk.UpdateIncident(ctx, id, Update{Status: ptr("Active")}, "automation:reopen")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != "Active" || inc.Classification != "" || inc.Closed != nil {
		t.Fatalf("reopened incident %+v", inc)
	}

	var seen []string
	n, err := desk.Dispatch(ctx, func(_ context.Context, ev Event, inc Incident) error {
		seen = append(seen, ev.Kind+" "+strings.Join(ev.Changed, "+")+" by "+ev.Actor)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"created  by rule:Jailbreak on any message",
		"updated Owner+Labels+Comments+Status by analyst@contoso.example",
		"updated Labels+Status+Classification by analyst@contoso.example",
	}
	if n != 3 || !slices.Equal(seen, want) {
		t.Fatalf("dispatched %d:\n got  %q\n want %q", n, seen, want)
	}
	if n, _ := desk.Dispatch(ctx, func(context.Context, Event, Incident) error { return nil }); n != 0 {
		t.Fatalf("a second dispatch handed over %d events again", n)
	}
	_ = time.Second
}

// Analysts updating one incident at once all succeed, and no change is lost:
// DuckDB fails all but one of concurrent writers, and the desk retries them.
func TestConcurrentIncidentUpdates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.ingest("2026-03-01T10:03:00Z", rec{id: "A", user: "alice@contoso.example", ts: "2026-03-01T10:02:00Z", jail: true})
	e.run(e.engine(jailbreakRule()), "2026-03-01T10:06:00Z")
	desk := NewDesk(e.st, e.clk.now)
	const n = 12
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := desk.UpdateIncident(ctx, "1", Update{AddTags: []string{fmt.Sprintf("t%02d", i)}, Comment: "c"}, "analyst")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update failed: %v", err)
		}
	}
	inc, _, err := desk.Incident(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Tags) != n {
		t.Errorf("%d tags kept of %d: %v", len(inc.Tags), n, inc.Tags)
	}
}
