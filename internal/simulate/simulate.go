// Package simulate generates the audit records of an invented Microsoft
// Copilot tenant: users with departments, countries and working hours using
// Copilot across apps and agents, Security Copilot management, scheduled
// prompts, unrelated Audit.General noise, the quirks of real feeds
// (late and out-of-order availability, duplicates across content blobs,
// near-twin records) and labelled attack scenarios with their record Ids.
//
// Output is deterministic for a seed and records are byte-compatible with
// Microsoft's serialisation (compact JSON, `\/` escapes, CreationTime
// without a zone designator).
package simulate

import (
	"container/heap"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"regexp"
	"time"
)

// Config describes the tenant and period to simulate.
type Config struct {
	Seed  int64
	Users int // human accounts (admins and guests included); default 300
	// Start is the first simulated day, a UTC midnight. Required: the
	// package never reads the wall clock, so callers choose the period.
	Start        time.Time
	Days         int    // default 3
	TenantID     string // OrganizationId GUID; default derived from Seed
	Domain       string // default "contoso.example"
	Scenarios    bool   // inject the labelled attack scenarios
	NoiseRecords bool   // also emit non-Copilot Audit.General records
}

// Event is one record as a consumer of the Management API would receive it.
type Event struct {
	ID        string    // AuditData.Id
	Record    []byte    // compact AuditData JSON, Microsoft's serialisation
	Time      time.Time // event time (CreationTime, UTC)
	Available time.Time // when the record shows up in a content blob
	Copilot   bool      // false for noise records
	Duplicate bool      // repeats an earlier Event's ID with identical bytes

	RecordType int    // AuditData.RecordType
	Operation  string // AuditData.Operation
	UserID     string // AuditData.UserId

	twin    bool   // second record of a near-twin pair
	appHost string // CopilotEventData.AppHost of interactions
}

// Limits keep a simulation's memory and run time reasonable.
const (
	MinUsers = 10
	MaxUsers = 200000
	MaxDays  = 366
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
)

// Sim is a configured simulation. Run may be called more than once; each
// run produces the same events.
type Sim struct {
	cfg    Config
	end    time.Time
	tenant *tenant
	truth  Truth
}

// New validates cfg, fills defaults and builds the tenant.
func New(cfg Config) (*Sim, error) {
	if cfg.Users == 0 {
		cfg.Users = 300
	}
	if cfg.Days == 0 {
		cfg.Days = 3
	}
	if cfg.Domain == "" {
		cfg.Domain = "contoso.example"
	}
	if cfg.Users < MinUsers || cfg.Users > MaxUsers {
		return nil, fmt.Errorf("cannot simulate %d users: the number of users must be between %d and %d", cfg.Users, MinUsers, MaxUsers)
	}
	if cfg.Days < 1 || cfg.Days > MaxDays {
		return nil, fmt.Errorf("cannot simulate %d days: the number of days must be between 1 and %d", cfg.Days, MaxDays)
	}
	if cfg.Start.IsZero() {
		return nil, errors.New("cannot simulate without a start day: set Config.Start to a UTC midnight")
	}
	if s := cfg.Start.UTC(); !s.Equal(s.Truncate(24 * time.Hour)) {
		return nil, fmt.Errorf("cannot start the simulation at %s: the start must be a UTC midnight", cfg.Start.Format(time.RFC3339))
	}
	cfg.Start = cfg.Start.UTC()
	if !domainRE.MatchString(cfg.Domain) {
		return nil, fmt.Errorf("cannot use domain %q: expected a lower-case DNS name such as contoso.example", cfg.Domain)
	}
	if cfg.TenantID == "" {
		cfg.TenantID = newGUID(rand.New(rand.NewPCG(uint64(cfg.Seed), streamTenantID)))
	} else if !guidRE.MatchString(cfg.TenantID) {
		return nil, fmt.Errorf("cannot use tenant id %q: expected a lower-case GUID", cfg.TenantID)
	}
	s := &Sim{cfg: cfg, end: cfg.Start.AddDate(0, 0, cfg.Days)}
	s.tenant = newTenant(rand.New(rand.NewPCG(uint64(cfg.Seed), streamTenant)), cfg.TenantID, cfg.Domain, cfg.Users)
	return s, nil
}

// Config returns the configuration with defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Random streams: each part of the simulation draws from its own generator
// so that, for example, turning noise off does not change Copilot records.
const (
	streamTenantID uint64 = iota + 0x5eed0000
	streamTenant
	streamScenarios
	streamHour
	streamNoise
	streamQuirks
	streamBulk
)

func hourRand(seed int64, stream uint64, h int) *rand.Rand {
	f := fnv.New64a()
	fmt.Fprintf(f, "%d/%d", stream, h)
	return rand.New(rand.NewPCG(uint64(seed), f.Sum64()))
}

// pending orders events by availability, then by generation order.
type pending struct {
	ev  Event
	seq uint64
}

type pendingHeap []pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if !h[i].ev.Available.Equal(h[j].ev.Available) {
		return h[i].ev.Available.Before(h[j].ev.Available)
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Quirk rates.
const (
	duplicateRate = 0.03  // share of records that arrive in a second blob
	twinRate      = 0.006 // share of Copilot turns logged under two Ids
	tailRate      = 0.03  // share of Copilot records delayed by 1-3 days
)

// latency draws how long after the event Microsoft makes a record available.
func latency(r *rand.Rand, copilot bool) time.Duration {
	if copilot && r.Float64() < tailRate {
		return 24*time.Hour + time.Duration(r.Int64N(int64(48*time.Hour/time.Second)))*time.Second
	}
	max := 100.0
	if !copilot {
		max = 70
	}
	m := min(max, r.ExpFloat64()*25)
	return 20*time.Minute + time.Duration(m*60)*time.Second
}

// Run streams the simulated events to emit in the order they become
// available (not event-time order), generating hour by hour so that memory
// grows with the number of users, not with the number of records.
func (s *Sim) Run(emit func(Event) error) error {
	t := s.tenant
	g := &gen{t: t, twinP: twinRate}
	s.truth = Truth{
		Seed: s.cfg.Seed, TenantID: s.cfg.TenantID, Domain: s.cfg.Domain, Start: s.cfg.Start, End: s.end,
		ByRecordType: map[string]int{}, ByAppHost: map[string]int{}, Actors: t.actors(), Labels: maps.Clone(sensitivityLabels),
	}
	var plan *scenarioPlan
	if s.cfg.Scenarios {
		plan = s.planScenarios(g)
		s.truth.Scenarios = plan.scenarios
	}
	budget := map[*user]labelBudget{}
	g.labelOK = func(u *user, at time.Time) bool {
		h := at.Unix() / 3600
		b := budget[u]
		if b.hour != h {
			b = labelBudget{hour: h}
		}
		if b.n >= labelBudgetPerHour {
			return false
		}
		b.n++
		budget[u] = b
		return true
	}
	base := &baseline{sim: s, g: g, lastToggle: map[*user]time.Time{}, lastDelete: map[*user]time.Time{}}
	var q pendingHeap
	var seq uint64
	push := func(r *rand.Rand, evs []Event) {
		for _, ev := range evs {
			ev.Available = ev.Time.Add(latency(r, ev.Copilot))
			seq++
			heap.Push(&q, pending{ev, seq})
			if r.Float64() < duplicateRate {
				dup := ev
				dup.Duplicate, dup.twin = true, false
				dup.Available = ev.Available.Add(15*time.Minute + time.Duration(r.Int64N(int64(6*time.Hour/time.Second)))*time.Second)
				seq++
				heap.Push(&q, pending{dup, seq})
			}
		}
	}
	send := func(ev Event) error {
		s.truth.count(ev)
		if err := emit(ev); err != nil {
			return fmt.Errorf("cannot emit simulated record %s: %w", ev.ID, err)
		}
		return nil
	}
	hours := s.cfg.Days * 24
	for h := 0; h < hours; h++ {
		hs := s.cfg.Start.Add(time.Duration(h) * time.Hour)
		he := hs.Add(time.Hour)
		r := hourRand(s.cfg.Seed, streamHour, s.absHour(h))
		g.out = g.out[:0]
		base.hour(r, hs, plan)
		if plan != nil {
			for len(plan.events) > 0 && plan.events[0].Time.Before(he) {
				g.out = append(g.out, plan.events[0])
				plan.events = plan.events[1:]
			}
		}
		push(hourRand(s.cfg.Seed, streamQuirks, s.absHour(h)), g.out)
		if s.cfg.NoiseRecords {
			rn := hourRand(s.cfg.Seed, streamNoise, s.absHour(h))
			g.out = g.out[:0]
			for _, u := range t.humans {
				for k := poisson(rn, u.noiseRate*activity(u, hs)); k > 0; k-- {
					g.emitNoise(rn, u, hs.Add(time.Duration(rn.IntN(3600))*time.Second))
				}
			}
			push(rn, g.out)
		}
		// Anything generated later has an event time at or after he, and so
		// becomes available after he: everything before he is final.
		for q.Len() > 0 && q[0].ev.Available.Before(he) {
			if err := send(heap.Pop(&q).(pending).ev); err != nil {
				return err
			}
		}
	}
	for q.Len() > 0 {
		if err := send(heap.Pop(&q).(pending).ev); err != nil {
			return err
		}
	}
	return nil
}

type labelBudget struct {
	hour int64
	n    int
}

// labelBudgetPerHour caps the labelled resources one user's ordinary Copilot
// use reaches in an hour, so that only the bulk-access scenario crosses the
// bulk-access threshold.
const labelBudgetPerHour = 25

// Truth returns the ground truth of the last Run.
func (s *Sim) Truth() Truth { return s.truth }

// absHour numbers simulated hours from the Unix epoch, so two periods of
// one seed draw the same records for the hours they share and different
// ones elsewhere (record Ids never repeat across periods).
func (s *Sim) absHour(h int) int { return int(s.cfg.Start.Unix()/3600) + h }
