package backfill

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxAge is how far back the Graph audit search reaches: Audit Standard
// keeps records 180 days.
const MaxAge = 180 * 24 * time.Hour

// Interval is a span of event time [Start, End), in whole UTC seconds (the
// Graph query filter carries seconds only).
type Interval struct {
	Start, End time.Time
}

// String is the ISO 8601 interval notation, as logs and errors show it.
func (iv Interval) String() string {
	return iv.Start.UTC().Format(time.RFC3339) + "/" + iv.End.UTC().Format(time.RFC3339)
}

// Len is the interval's duration.
func (iv Interval) Len() time.Duration { return iv.End.Sub(iv.Start) }

// halves splits an interval at a whole second near its middle.
func (iv Interval) halves() (Interval, Interval) {
	mid := iv.Start.Add((iv.Len() / 2).Truncate(time.Second))
	return Interval{iv.Start, mid}, Interval{mid, iv.End}
}

// key identifies an interval in maps (time.Time compares its location too).
type key struct{ start, end int64 }

func (iv Interval) key() key { return key{iv.Start.Unix(), iv.End.Unix()} }

const dateLayout = "2006-01-02"

// ParseTime reads a --from or --to value: YYYY-MM-DD (midnight UTC; dateOnly
// is then true) or an RFC 3339 date-time.
func ParseTime(flag, s string) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, fmt.Errorf("--%s is required: give a date (YYYY-MM-DD, UTC) or an RFC 3339 date-time such as 2026-03-01T08:00:00Z", flag)
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, fmt.Errorf("--%s %q is not a date: use YYYY-MM-DD (UTC) or an RFC 3339 date-time such as 2026-03-01T08:00:00Z", flag, s)
}

// ParseRange reads the --from and --to flags and checks the range against
// now (see CheckRange). A date-only --to includes that whole day, so
// "--from 2026-03-01 --to 2026-03-01" covers one day; an RFC 3339 --to is
// the exclusive end.
func ParseRange(fromS, toS string, now time.Time) (Interval, error) {
	from, _, err := ParseTime("from", fromS)
	if err != nil {
		return Interval{}, err
	}
	to, dateOnly, err := ParseTime("to", toS)
	if err != nil {
		return Interval{}, err
	}
	if dateOnly {
		to = to.Add(24 * time.Hour)
	}
	if !from.Before(to) {
		// Name the values as typed: a date-only --to already means its day's end.
		return Interval{}, fmt.Errorf("the range is empty: --from %s is not before --to %s; give an earlier --from or a later --to",
			strings.TrimSpace(fromS), strings.TrimSpace(toS))
	}
	return CheckRange(from, to, now)
}

// CheckRange validates a backfill range and returns it in whole UTC
// seconds: from must be before to and in the past, and no more than MaxAge
// back; an end in the future is clamped to now.
func CheckRange(from, to, now time.Time) (Interval, error) {
	now = now.UTC().Truncate(time.Second)
	from = from.UTC().Truncate(time.Second)
	to = to.UTC().Truncate(time.Second)
	if !from.Before(to) {
		return Interval{}, fmt.Errorf("the range is empty: --from %s is not before --to %s; give an earlier --from or a later --to",
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if !from.Before(now) {
		return Interval{}, fmt.Errorf("--from %s is in the future (now is %s); nothing can be fetched yet",
			from.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if limit := now.Add(-MaxAge); from.Before(limit) {
		// Suggest the first whole date inside the limit.
		day := limit.Truncate(24 * time.Hour)
		if day.Before(limit) {
			day = day.Add(24 * time.Hour)
		}
		return Interval{}, fmt.Errorf("--from %s is %d days back; the Graph audit search keeps at most %d days of records: use --from %s or later",
			from.Format(time.RFC3339), int((now.Sub(from)+24*time.Hour-1)/(24*time.Hour)), int(MaxAge.Hours()/24), day.Format(dateLayout))
	}
	if to.After(now) {
		to = now
	}
	return Interval{from, to}, nil
}

// Chunks cuts the range into intervals of size, aligned to multiples of
// size (midnight UTC for a day), so runs over overlapping ranges share
// chunk boundaries; the first and last chunks are cut to the range.
func Chunks(r Interval, size time.Duration) []Interval {
	if size < time.Second {
		size = time.Second
	}
	size = size.Truncate(time.Second)
	var out []Interval
	for s := r.Start; s.Before(r.End); {
		e := s.Truncate(size).Add(size)
		if e.After(r.End) {
			e = r.End
		}
		out = append(out, Interval{s, e})
		s = e
	}
	return out
}

// coverage is a sorted union of disjoint intervals.
type coverage []Interval

// newCoverage merges intervals into a sorted union.
func newCoverage(ivs []Interval) coverage {
	sorted := slices.Clone(ivs)
	slices.SortFunc(sorted, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	var out coverage
	for _, iv := range sorted {
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// covers reports whether iv lies entirely inside the union.
func (c coverage) covers(iv Interval) bool {
	for _, u := range c {
		if !u.Start.After(iv.Start) && !u.End.Before(iv.End) {
			return true
		}
	}
	return false
}
