package o365fake

import (
	"fmt"
	"time"

	"github.com/aiwatch/aiwatch/internal/simulate"
)

// SimulationStats says what PublishSimulation served.
type SimulationStats struct {
	Blobs, LateBlobs, Records int
	First, Last               time.Time // contentCreated of the first and last blob

	// copilotVisible is when each Copilot record's first blob becomes visible.
	copilotVisible map[string]time.Time
}

// CopilotVisibleBy counts the distinct Copilot records whose first blob is
// visible at t: what a correct collector holds after collecting at t.
func (st SimulationStats) CopilotVisibleBy(t time.Time) int {
	n := 0
	for _, v := range st.copilotVisible {
		if !v.After(t) {
			n++
		}
	}
	return n
}

// PublishSimulation serves a simulated tenant's records as Audit.General
// content blobs: records that become available in the same slot form one
// blob, created at the end of the slot; every twentieth blob becomes
// visible 45 minutes after its contentCreated, the real API's late-blob
// quirk. All records are also searchable through the Graph audit API.
func (s *Server) PublishSimulation(tenantID string, sim *simulate.Sim, slot time.Duration) (SimulationStats, error) {
	if slot <= 0 {
		slot = 15 * time.Minute
	}
	st := SimulationStats{copilotVisible: map[string]time.Time{}}
	var cur [][]byte
	var curIDs []string
	var all [][]byte
	var curSlot time.Time
	flush := func() {
		if len(cur) == 0 {
			return
		}
		created := curSlot.Add(slot)
		visible := created
		if (st.Blobs+1)%20 == 0 {
			visible = created.Add(45 * time.Minute)
			st.LateBlobs++
		}
		s.Publish(tenantID, "Audit.General", cur, created, visible)
		for _, id := range curIDs {
			if v, ok := st.copilotVisible[id]; !ok || visible.Before(v) {
				st.copilotVisible[id] = visible
			}
		}
		curIDs = nil
		if st.Blobs == 0 {
			st.First = created
		}
		st.Last = created
		st.Blobs++
		cur = nil
	}
	err := sim.Run(func(ev simulate.Event) error {
		at := ev.Available.UTC().Truncate(slot)
		if !at.Equal(curSlot) {
			flush()
			curSlot = at
		}
		cur = append(cur, ev.Record)
		if ev.Copilot {
			curIDs = append(curIDs, ev.ID)
		}
		if !ev.Duplicate {
			all = append(all, ev.Record)
		}
		st.Records++
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("cannot simulate tenant %s: %w", tenantID, err)
	}
	flush()
	s.PublishGraph(tenantID, all)
	return st, nil
}
