package o365fake

import (
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/simulate"
)

func TestPublishSimulation(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sim, err := simulate.New(simulate.Config{Seed: 3, Users: 40, Start: start, Days: 1, Scenarios: true, NoiseRecords: true})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Now: func() time.Time { return start.AddDate(0, 0, 3) }})
	tenant := "11111111-2222-4333-8444-555555555555"
	s.AddTenant(Tenant{ID: tenant, ClientID: "c", ClientSecret: "x"})
	st, err := s.PublishSimulation(tenant, sim, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	truth := sim.Truth()
	if st.Records != truth.Records || st.Blobs == 0 || st.LateBlobs != st.Blobs/20 {
		t.Errorf("stats %+v, truth records %d", st, truth.Records)
	}
	// Collected after everything is visible, the distinct Copilot records are the truth's.
	if got := st.CopilotVisibleBy(start.AddDate(1, 0, 0)); got != truth.DistinctCopilotIDs {
		t.Errorf("visible copilot ids %d, truth %d", got, truth.DistinctCopilotIDs)
	}
	if st.CopilotVisibleBy(start) != 0 {
		t.Error("records visible before the simulated day began")
	}
	// Every blob is created at a slot boundary, after its records became available.
	if st.First.Sub(start) < 15*time.Minute || st.First.Truncate(15*time.Minute) != st.First {
		t.Errorf("first blob created %v", st.First)
	}
}
