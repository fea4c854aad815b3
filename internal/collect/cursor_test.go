package collect

import (
	"testing"
	"time"
)

func TestPlanPoll(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	lower := now.Add(-(7*24 - 1) * time.Hour) // 2026-03-03 13:00
	h := time.Hour
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name      string
		cur       Cursor
		has       bool
		backfill  time.Duration
		wantCur   Cursor
		resume    bool
		listFrom  time.Time
		wantGaps  []string // kind start..end
		overlapIn time.Duration
	}{
		{name: "first run", backfill: 24 * h, overlapIn: h,
			wantCur: Cursor{Start: at("2026-03-09T12:00:00Z")}, listFrom: at("2026-03-09T11:00:00Z")},
		{name: "first run, backfill beyond the limit is clamped without a gap", backfill: 10 * 24 * h, overlapIn: h,
			wantCur: Cursor{Start: lower}, listFrom: lower},
		{name: "saved cursor, overlap", has: true, cur: Cursor{Start: at("2026-03-10T11:00:00Z")}, overlapIn: 2 * h,
			wantCur: Cursor{Start: at("2026-03-10T11:00:00Z")}, listFrom: at("2026-03-10T09:00:00Z")},
		{name: "overlap never reaches past the limit", has: true, cur: Cursor{Start: lower.Add(30 * time.Minute)}, overlapIn: h,
			wantCur: Cursor{Start: lower.Add(30 * time.Minute)}, listFrom: lower},
		{name: "cursor older than 7 days: gap", has: true, cur: Cursor{Start: at("2026-03-01T00:00:00Z")}, overlapIn: h,
			wantCur: Cursor{Start: lower}, listFrom: lower,
			wantGaps: []string{"window_expired 2026-03-01T00:00:00Z..2026-03-03T13:00:00Z"}},
		{name: "saved link resumed", has: true, overlapIn: h,
			cur:     Cursor{Start: at("2026-03-10T00:00:00Z"), WindowStart: at("2026-03-09T23:00:00Z"), WindowEnd: at("2026-03-10T10:00:00Z"), Next: "L"},
			wantCur: Cursor{Start: at("2026-03-10T00:00:00Z"), WindowStart: at("2026-03-09T23:00:00Z"), WindowEnd: at("2026-03-10T10:00:00Z"), Next: "L"},
			resume:  true, listFrom: at("2026-03-10T10:00:00Z")},
		{name: "stale link dropped with a gap", has: true, overlapIn: h,
			cur:     Cursor{Start: at("2026-03-01T00:00:00Z"), WindowStart: at("2026-03-01T00:00:00Z"), WindowEnd: at("2026-03-02T00:00:00Z"), Next: "L"},
			wantCur: Cursor{Start: lower}, listFrom: lower,
			wantGaps: []string{"next_page_expired 2026-03-01T00:00:00Z..2026-03-03T13:00:00Z"}},
		{name: "stale link of an overlap window: dropped, no gap", has: true, overlapIn: h,
			cur:     Cursor{Start: lower.Add(10 * time.Minute), WindowStart: lower.Add(-50 * time.Minute), WindowEnd: lower.Add(23 * h), Next: "L"},
			wantCur: Cursor{Start: lower.Add(10 * time.Minute)}, listFrom: lower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planPoll(tt.cur, tt.has, now, lower, tt.backfill, tt.overlapIn)
			if !p.cursor.equal(tt.wantCur) {
				t.Errorf("cursor %+v, want %+v", p.cursor, tt.wantCur)
			}
			if p.resume != tt.resume || !p.listFrom.Equal(tt.listFrom) {
				t.Errorf("resume %v listFrom %s, want %v %s", p.resume, p.listFrom, tt.resume, tt.listFrom)
			}
			var gaps []string
			for _, g := range p.gaps {
				gaps = append(gaps, g.kind+" "+g.start.Format(time.RFC3339)+".."+g.end.Format(time.RFC3339))
			}
			if len(gaps) != len(tt.wantGaps) || (len(gaps) > 0 && gaps[0] != tt.wantGaps[0]) {
				t.Errorf("gaps %v, want %v", gaps, tt.wantGaps)
			}
		})
	}
}

func TestNextWindow(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		start time.Time
		end   time.Time
		ok    bool
	}{
		{now.Add(-72 * time.Hour), now.Add(-48 * time.Hour), true}, // a full 24 hours
		{now.Add(-5 * time.Hour), now, true},                       // ends at now
		{now.Add(-time.Second), now, true},
		{now, time.Time{}, false}, // start must be before end
		{now.Add(time.Hour), time.Time{}, false},
	}
	for _, tt := range tests {
		end, ok := nextWindow(tt.start, now)
		if ok != tt.ok || !end.Equal(tt.end) {
			t.Errorf("nextWindow(%s) = %s %v, want %s %v", tt.start, end, ok, tt.end, tt.ok)
		}
	}
}

// TestTrackerMovesOnlyPastCompletePrefix: the cursor passes a page only
// when it and all earlier pages are committed.
func TestTrackerMovesOnlyPastCompletePrefix(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	w1s, w1e := t0, t0.Add(24*time.Hour)
	w2e := w1e.Add(5 * time.Hour)
	start := Cursor{Start: t0.Add(time.Hour)} // the first window is an overlap window
	tr := newTracker(start)
	p1 := &page{ws: w1s, we: w1e, next: "L2", pending: 2}
	p2 := &page{ws: w1s, we: w1e, next: "", pending: 1}
	p3 := &page{ws: w1e, we: w2e, next: "", pending: 0}
	tr.add(p1)
	tr.add(p2)
	tr.add(p3)

	// p2's blob first: nothing moves, p1 still pending.
	if c, moved := tr.ifDone([]*page{p2}); moved {
		t.Fatalf("cursor would move to %+v before page 1 is done", c)
	}
	tr.done([]*page{p2}, nil)
	if c, ok := tr.unsaved(); ok {
		t.Fatalf("unsaved cursor %+v", c)
	}
	// One of p1's two blobs: still nothing.
	if _, moved := tr.ifDone([]*page{p1}); moved {
		t.Fatal("moved with a blob of page 1 pending")
	}
	tr.done([]*page{p1}, nil)
	// p1's last blob completes p1, p2 and the empty p3: past window 2.
	c, moved := tr.ifDone([]*page{p1})
	if want := (Cursor{Start: w2e}); !moved || !c.equal(want) {
		t.Fatalf("cursor %+v moved %v, want %+v", c, moved, want)
	}
	tr.done([]*page{p1}, &c)
	if _, ok := tr.unsaved(); ok {
		t.Fatal("saved cursor reported unsaved")
	}

	// A page with a next link leaves the cursor inside its window, and the
	// start where it was.
	p4 := &page{ws: w2e, we: w2e.Add(time.Hour), next: "L5", pending: 1}
	tr.add(p4)
	c, moved = tr.ifDone([]*page{p4})
	if want := (Cursor{Start: w2e, WindowStart: w2e, WindowEnd: w2e.Add(time.Hour), Next: "L5"}); !moved || !c.equal(want) {
		t.Fatalf("cursor %+v, want %+v", c, want)
	}
	// Pages whose blobs were all known move the cursor in memory only.
	tr.done([]*page{p4}, &c)
	tr.add(&page{ws: w2e, we: w2e.Add(time.Hour), pending: 0})
	if c, ok := tr.unsaved(); !ok || !c.equal(Cursor{Start: w2e.Add(time.Hour)}) {
		t.Fatalf("unsaved %+v %v", c, ok)
	}
}

func TestDecodeCursor(t *testing.T) {
	c := Cursor{Start: time.Date(2026, 3, 10, 1, 2, 3, 0, time.UTC), WindowStart: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC),
		WindowEnd: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), Next: "https://x/y?nextpage=1"}
	got, err := decodeCursor(c.encode())
	if err != nil || !got.equal(c) {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if s := (Cursor{Start: c.Start}).encode(); s != `{"start":"2026-03-10T01:02:03Z"}` {
		t.Fatalf("encoded %s", s)
	}
	for _, bad := range []string{"", "{}", "not json", `{"start":"yesterday"}`} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
	// A link without a window is dropped, the start kept.
	got, err = decodeCursor(`{"start":"2026-03-10T01:02:03Z","next":"L"}`)
	if err != nil || got.Next != "" || !got.Start.Equal(c.Start) {
		t.Fatalf("link without window: %+v %v", got, err)
	}
}
