package simulate

import (
	"time"
)

// Truth is what a correct consumer of a simulation's output should find.
type Truth struct {
	Seed     int64     `json:"seed"`
	TenantID string    `json:"tenantId"`
	Domain   string    `json:"domain"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"` // exclusive end of the event-time period

	Records            int `json:"records"`            // events emitted, duplicates included
	CopilotRecords     int `json:"copilotRecords"`     // Copilot events emitted, duplicates included
	NoiseRecords       int `json:"noiseRecords"`       // non-Copilot events emitted, duplicates included
	Duplicates         int `json:"duplicates"`         // events repeating an earlier event byte for byte
	DistinctIDs        int `json:"distinctIds"`        // distinct record Ids (Copilot and noise)
	DistinctCopilotIDs int `json:"distinctCopilotIds"` // what a deduplicating Copilot store ends up with
	NearTwins          int `json:"nearTwins"`          // Copilot turns logged a second time under another Id
	LateRecords        int `json:"lateRecords"`        // distinct records available more than a day after their event

	ByRecordType map[string]int `json:"byRecordType"` // distinct records per RecordType name
	ByAppHost    map[string]int `json:"byAppHost"`    // distinct interaction records per AppHost

	Scenarios []Scenario        `json:"scenarios"`
	Actors    []Actor           `json:"actors"`
	Labels    map[string]string `json:"labels"` // sensitivity label id → name
}

// Scenario is one injected attack and the detection expected to catch it.
type Scenario struct {
	Name        string    `json:"name"`
	Detection   string    `json:"detection"`
	RecordIDs   []string  `json:"recordIds"`
	Actor       string    `json:"actor"`
	Description string    `json:"description"`
	Start       time.Time `json:"start"` // event time of the first record
	End         time.Time `json:"end"`   // event time of the last record
}

func (t *Truth) count(ev Event) {
	t.Records++
	if ev.Copilot {
		t.CopilotRecords++
	} else {
		t.NoiseRecords++
	}
	if ev.Duplicate {
		t.Duplicates++
		return
	}
	t.DistinctIDs++
	if ev.Available.Sub(ev.Time) > 24*time.Hour {
		t.LateRecords++
	}
	name := recordTypeNames[ev.RecordType]
	t.ByRecordType[name]++
	if !ev.Copilot {
		return
	}
	t.DistinctCopilotIDs++
	if ev.twin {
		t.NearTwins++
	}
	if ev.appHost != "" {
		t.ByAppHost[ev.appHost]++
	}
}
