package simulate

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBulk(t *testing.T) {
	const n = 20000
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	ids := map[string]bool{}
	types := map[int]int{}
	hosts := map[string]bool{}
	var bytesTotal, labelled, withResources int
	h := sha256.New()
	err := Bulk(1, n, start, func(ev Event) error {
		var r record
		if err := json.Unmarshal(ev.Record, &r); err != nil {
			t.Fatalf("record %d is not JSON: %v", len(ids), err)
		}
		if r.ID != ev.ID || r.RecordType != ev.RecordType || r.Workload != "Copilot" || !ev.Copilot || ev.Duplicate {
			t.Fatalf("record %s: %+v", ev.ID, ev)
		}
		if !creationTimeRE.MatchString(r.CreationTime) || ev.Time.Before(start) || ev.Available.Before(ev.Time) {
			t.Fatalf("record %s: CreationTime %s, available %s", r.ID, r.CreationTime, ev.Available)
		}
		if ids[ev.ID] {
			t.Fatalf("Id %s repeated", ev.ID)
		}
		ids[ev.ID] = true
		types[r.RecordType]++
		bytesTotal += len(ev.Record)
		h.Write(ev.Record)
		if ed := r.CopilotEventData; ed != nil {
			hosts[ed.AppHost] = true
			if len(ed.AccessedResources) > 0 {
				withResources++
			}
			for _, res := range ed.AccessedResources {
				if res.SensitivityLabelID != "" {
					labelled++
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("%d records, want %d", len(ids), n)
	}
	interactions := types[RecordCopilotInteraction] + types[RecordTeamCopilotInteraction]
	if share := float64(interactions) / n; share < 0.8 || share > 0.9 {
		t.Errorf("interaction share %.3f", share)
	}
	for _, rt := range []int{310, 311, 313, 314, 316, 320, 321, 334, 363, 390} {
		if types[rt] == 0 {
			t.Errorf("no record of type %d", rt)
		}
	}
	if avg := bytesTotal / n; avg < 1000 || avg > 1600 {
		t.Errorf("average record size %d bytes", avg)
	}
	if len(hosts) < 8 || labelled == 0 || withResources < n/4 {
		t.Errorf("%d AppHosts, %d records with labelled resources, %d with resources", len(hosts), labelled, withResources)
	}

	// Deterministic for a seed, different across seeds.
	digest := func(seed int64) [32]byte {
		h := sha256.New()
		if err := Bulk(seed, n, start, func(ev Event) error { h.Write(ev.Record); return nil }); err != nil {
			t.Fatal(err)
		}
		var d [32]byte
		copy(d[:], h.Sum(nil))
		return d
	}
	var first [32]byte
	copy(first[:], h.Sum(nil))
	if digest(1) != first {
		t.Error("Bulk is not deterministic")
	}
	if digest(2) == first {
		t.Error("Bulk ignores the seed")
	}
}

func TestBulkEdges(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	count := 0
	if err := Bulk(1, 0, start, func(Event) error { count++; return nil }); err != nil || count != 0 {
		t.Fatalf("n=0: %d records, %v", count, err)
	}
	if err := Bulk(1, 1, start, func(Event) error { count++; return nil }); err != nil || count != 1 {
		t.Fatalf("n=1: %d records, %v", count, err)
	}
	if err := Bulk(1, -1, start, func(Event) error { return nil }); err == nil {
		t.Fatal("negative n accepted")
	}
	if err := Bulk(1, 5, time.Time{}, func(Event) error { return nil }); err == nil {
		t.Fatal("zero start accepted")
	}
	stop := Bulk(1, 100, start, func(ev Event) error {
		if ev.RecordType != 0 {
			return errStop
		}
		return nil
	})
	if stop == nil || !strings.Contains(stop.Error(), "cannot emit bulk record 0") {
		t.Fatalf("emit error not returned: %v", stop)
	}
}

var errStop = errorString("stop")

type errorString string

func (e errorString) Error() string { return string(e) }
