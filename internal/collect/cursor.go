package collect

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Cursor is the saved listing position of one tenant and content type (see
// the package comment). It is stored as JSON in SourceCursor.
type Cursor struct {
	// Start: every blob listed with contentCreated before Start has been
	// committed or recorded as a gap.
	Start time.Time `json:"start"`
	// A listing of [WindowStart, WindowEnd) in progress whose pages before
	// the NextPageUri Next are committed. Empty Next: none.
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	Next        string    `json:"next,omitempty"`
}

func (c Cursor) equal(o Cursor) bool {
	return c.Start.Equal(o.Start) && c.WindowStart.Equal(o.WindowStart) && c.WindowEnd.Equal(o.WindowEnd) && c.Next == o.Next
}

func (c Cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of times and a string cannot fail
	return string(b)
}

func decodeCursor(s string) (Cursor, error) {
	var c Cursor
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Cursor{}, fmt.Errorf("invalid collector cursor %q: %w", s, err)
	}
	if c.Start.IsZero() {
		return Cursor{}, fmt.Errorf("invalid collector cursor %q: no start", s)
	}
	if c.Next != "" && !c.WindowStart.Before(c.WindowEnd) {
		// A link without a sane window cannot be resumed safely; listing the
		// windows from Start again covers it.
		c.Next, c.WindowStart, c.WindowEnd = "", time.Time{}, time.Time{}
	}
	c.Start, c.WindowStart, c.WindowEnd = c.Start.UTC(), c.WindowStart.UTC(), c.WindowEnd.UTC()
	return c, nil
}

// Gap kinds recorded in CollectorGap.
const (
	GapContentGone       = "content_gone"       // AF20050/AF20051: a listed blob could not be fetched
	GapContentIncomplete = "content_incomplete" // a blob's JSON array ends early; what was read is stored
	GapWindowExpired     = "window_expired"     // the cursor fell more than 7 days behind
	GapNextPageExpired   = "next_page_expired"  // a saved next-page link fell more than 7 days behind
)

// gapRange is a span of contentCreated that was skipped.
type gapRange struct {
	kind       string
	start, end time.Time
	detail     string
}

// plan is where one poll starts listing.
type plan struct {
	cursor Cursor // the cursor after clamping, to save if it changed
	// resume, when set, continues the window [cursor.WindowStart,
	// cursor.WindowEnd) from cursor.Next before listing from listFrom.
	resume   bool
	listFrom time.Time // first window start after any resumed window
	gaps     []gapRange
}

// planPoll clamps the saved cursor (hasCursor false: first run) against
// now: the listing never starts before lower (7 days minus a margin back);
// a cursor or saved link older than that is moved up and the skipped span
// returned as a gap. Fresh windows start overlap before the cursor so blobs
// that became visible late are listed again.
func planPoll(cur Cursor, hasCursor bool, now, lower time.Time, backfill, overlap time.Duration) plan {
	var p plan
	if !hasCursor {
		cur = Cursor{Start: now.Add(-backfill)}
		if cur.Start.Before(lower) {
			cur.Start = lower
		}
	}
	if cur.Next != "" && cur.WindowStart.Before(lower) {
		// The link's own start would answer AF20055 forever.
		if cur.Start.Before(lower) {
			p.gaps = append(p.gaps, gapRange{kind: GapNextPageExpired, start: cur.Start, end: lower,
				detail: "a saved next-page link was older than the 7 days the API keeps; it was dropped"})
			cur.Start = lower
		}
		cur.Next, cur.WindowStart, cur.WindowEnd = "", time.Time{}, time.Time{}
	}
	if cur.Start.Before(lower) {
		p.gaps = append(p.gaps, gapRange{kind: GapWindowExpired, start: cur.Start, end: lower,
			detail: "the cursor was older than the 7 days the API keeps"})
		cur.Start = lower
	}
	p.cursor = cur
	if cur.Next != "" {
		p.resume = true
		p.listFrom = cur.WindowEnd
		return p
	}
	p.listFrom = cur.Start.Add(-overlap)
	if p.listFrom.Before(lower) {
		p.listFrom = lower
	}
	return p
}

// nextWindow returns the window starting at start: at most 24 hours, ending
// no later than now. ok is false when start is not before now.
func nextWindow(start, now time.Time) (end time.Time, ok bool) {
	if !start.Before(now) {
		return time.Time{}, false
	}
	end = start.Add(maxWindow)
	if end.After(now) {
		end = now
	}
	return end, true
}

// page is one listing page whose blobs are being stored.
type page struct {
	ws, we  time.Time // its window
	next    string    // its NextPageUri; "" on a window's last page
	pending int       // blobs dispatched and not yet committed
}

// tracker orders pages and computes how far the cursor may move: past a
// page only when it and every page listed before it have no blob pending.
// The lister adds pages; the writer completes blobs.
type tracker struct {
	mu       sync.Mutex
	pages    []*page // the oldest incomplete page first
	computed Cursor  // the cursor the completed pages allow
	saved    Cursor  // the cursor last committed
}

func newTracker(saved Cursor) *tracker { return &tracker{computed: saved, saved: saved} }

// after returns c moved past page p.
func (p *page) after(c Cursor) Cursor {
	if p.next != "" {
		return Cursor{Start: c.Start, WindowStart: p.ws, WindowEnd: p.we, Next: p.next}
	}
	start := c.Start
	if p.we.After(start) {
		start = p.we
	}
	return Cursor{Start: start}
}

// add appends a page whose pending count is final.
func (t *tracker) add(p *page) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pages = append(t.pages, p)
	t.computed, t.pages = advance(t.computed, t.pages, nil)
}

// advance pops the complete pages at the head; done (when set) holds
// blobs to count as committed, one entry per blob.
func advance(c Cursor, pages []*page, done []*page) (Cursor, []*page) {
	for len(pages) > 0 {
		p := pages[0]
		n := p.pending
		for _, d := range done {
			if d == p {
				n--
			}
		}
		if n > 0 {
			break
		}
		c = p.after(c)
		pages = pages[1:]
	}
	return c, pages
}

// ifDone returns the cursor to save if one blob of each of pages (one entry
// per blob) is committed now, and whether it differs from the saved one.
func (t *tracker) ifDone(pages []*page) (Cursor, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, _ := advance(t.computed, t.pages, pages)
	return c, !c.equal(t.saved)
}

// done records that one blob of each of pages was committed, with the
// cursor that commit saved (or nil when it saved none).
func (t *tracker) done(pages []*page, saved *Cursor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range pages {
		p.pending--
	}
	t.computed, t.pages = advance(t.computed, t.pages, nil)
	if saved != nil {
		t.saved = *saved
	}
}

// unsaved returns the computed cursor when it differs from the saved one.
func (t *tracker) unsaved() (Cursor, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.computed, !t.computed.equal(t.saved)
}

// markSaved notes a cursor committed outside a blob's transaction.
func (t *tracker) markSaved(c Cursor) {
	t.mu.Lock()
	t.saved = c
	t.mu.Unlock()
}
