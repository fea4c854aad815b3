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
	var st SimulationStats
	var cur [][]byte
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
