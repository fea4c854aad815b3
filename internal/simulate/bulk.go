package simulate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// BulkUsers is the size of the tenant Bulk draws its records from.
const BulkUsers = 2000

// Bulk emits n records of a realistic, Copilot-heavy tenant as fast as it
// can, for benchmarks: about 85% interactions (across AppHosts and agents,
// 0-30 accessed resources, some labelled), the rest Security Copilot
// management, scheduled prompts and agent management. Records average
// 1-1.5 KB, Ids are unique, output is deterministic for a seed and streamed
// in generation order (event times roughly ascending from start); there
// are no noise records and no duplicates. Event.Record stays valid after
// emit returns.
func Bulk(seed int64, n int, start time.Time, emit func(Event) error) error {
	if n < 0 {
		return fmt.Errorf("cannot generate %d records: the count must not be negative", n)
	}
	if start.IsZero() {
		return errors.New("cannot generate bulk records without a start time")
	}
	org := newGUID(rand.New(rand.NewPCG(uint64(seed), streamTenantID)))
	t := newTenant(rand.New(rand.NewPCG(uint64(seed), streamTenant)), org, "contoso.example", BulkUsers)
	r := rand.New(rand.NewPCG(uint64(seed), streamBulk))
	g := &gen{t: t, twinP: twinRate}
	b := &baseline{sim: &Sim{tenant: t}, g: g, lastToggle: map[*user]time.Time{}, lastDelete: map[*user]time.Time{}}
	clock := start.UTC().Truncate(time.Second)
	far := clock.AddDate(100, 0, 0)
	// A tenant of this size produces roughly 2-3 records a second at peak.
	const meanGap = 400 * time.Millisecond
	for done := 0; done < n; {
		hw := hourWeights[(clock.Hour()+19)%24] * 24 // the US workday shapes the stream
		gap := time.Duration(r.ExpFloat64() * float64(meanGap) / max(hw, 0.2))
		clock = clock.Add(gap)
		at := clock.Truncate(time.Second)
		g.out = g.out[:0]
		switch p := r.Float64(); {
		case p < 0.78: // sessions average about 2.2 records
			u := t.licensed[r.IntN(len(t.licensed))]
			if r.IntN(60) == 0 {
				u = t.sps[r.IntN(len(t.sps))]
			}
			g.runSession(r, u, at, far)
		case p < 0.86:
			u := t.admins[1+r.IntN(len(t.admins)-1)]
			m := management{h: header{t: at, id: newGUID(r), u: u, userType: UserTypeAdmin, clientIP: u.officeIP}, workspace: t.workspaces[0]}
			b.adminChange(r, u, &m)
			g.emitManagement(&m)
		case p < 0.92:
			u := t.socs[r.IntN(len(t.socs))]
			m := management{h: header{t: at, id: newGUID(r), u: u, userType: UserTypeRegular, clientIP: u.officeIP}, workspace: t.workspaces[0]}
			b.promptbookChange(r, u, &m)
			g.emitManagement(&m)
		case p < 0.97:
			u := t.licensed[r.IntN(len(t.licensed))]
			g.emitScheduled(newScheduledRun(r, u, automations[r.IntN(len(automations))], at))
		default:
			u := t.admins[0]
			m := management{h: header{t: at, id: newGUID(r), u: u, userType: UserTypeAdmin, clientIP: u.officeIP}}
			b.agentChange(r, &m)
			g.emitManagement(&m)
		}
		for _, ev := range g.out {
			if done == n {
				break
			}
			ev.Available = ev.Time.Add(latency(r, true))
			if err := emit(ev); err != nil {
				return fmt.Errorf("cannot emit bulk record %d (%s): %w", done, ev.ID, err)
			}
			done++
		}
	}
	return nil
}
