package backfill

import (
	"strings"
	"testing"
	"time"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseRange(t *testing.T) {
	now := ts("2026-03-10T15:30:00Z")
	tests := []struct {
		name, from, to string
		want           Interval
		err            string // substring of the error
	}{
		{name: "dates, to inclusive", from: "2026-03-01", to: "2026-03-03",
			want: Interval{ts("2026-03-01T00:00:00Z"), ts("2026-03-04T00:00:00Z")}},
		{name: "one day", from: "2026-03-05", to: "2026-03-05",
			want: Interval{ts("2026-03-05T00:00:00Z"), ts("2026-03-06T00:00:00Z")}},
		{name: "RFC 3339 with zone, to exclusive", from: "2026-03-01T10:00:00+02:00", to: "2026-03-01T12:00:00.9Z",
			want: Interval{ts("2026-03-01T08:00:00Z"), ts("2026-03-01T12:00:00Z")}},
		{name: "to today clamped to now", from: "2026-03-09", to: "2026-03-10",
			want: Interval{ts("2026-03-09T00:00:00Z"), now}},
		{name: "to in the future clamped", from: "2026-03-09", to: "2027-01-01T00:00:00Z",
			want: Interval{ts("2026-03-09T00:00:00Z"), now}},
		{name: "exactly 180 days back", from: "2025-09-11T15:30:00Z", to: "2025-09-12",
			want: Interval{ts("2025-09-11T15:30:00Z"), ts("2025-09-13T00:00:00Z")}},
		{name: "more than 180 days back", from: "2025-09-11", to: "2025-09-12",
			err: "--from 2025-09-11T00:00:00Z is 181 days back; the Graph audit search keeps at most 180 days of records: use --from 2025-09-12 or later"},
		{name: "a year back", from: "2025-03-01", to: "2025-03-02", err: "is 375 days back"},
		{name: "from after to", from: "2026-03-05", to: "2026-03-04",
			err: "the range is empty: --from 2026-03-05 is not before --to 2026-03-04; give an earlier --from or a later --to"},
		{name: "from equal to", from: "2026-03-05T00:00:00Z", to: "2026-03-05T00:00:00Z", err: "the range is empty"},
		{name: "from in the future", from: "2026-03-11", to: "2026-03-12", err: "--from 2026-03-11T00:00:00Z is in the future"},
		{name: "missing from", from: "", to: "2026-03-12", err: "--from is required"},
		{name: "bad date", from: "2026-13-01", to: "2026-03-12", err: `--from "2026-13-01" is not a date: use YYYY-MM-DD`},
		{name: "bad to", from: "2026-03-01", to: "yesterday", err: `--to "yesterday" is not a date`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRange(tc.from, tc.to, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(tc.want.Start) || !got.End.Equal(tc.want.End) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	tests := []struct {
		name string
		r    Interval
		size time.Duration
		want []string
	}{
		{"whole days", Interval{ts("2026-03-01T00:00:00Z"), ts("2026-03-03T00:00:00Z")}, 24 * time.Hour,
			[]string{"2026-03-01T00:00:00Z/2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z/2026-03-03T00:00:00Z"}},
		{"cut to the range, aligned to midnight", Interval{ts("2026-03-01T18:00:00Z"), ts("2026-03-03T06:30:00Z")}, 24 * time.Hour,
			[]string{"2026-03-01T18:00:00Z/2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z/2026-03-03T00:00:00Z",
				"2026-03-03T00:00:00Z/2026-03-03T06:30:00Z"}},
		{"six hours", Interval{ts("2026-03-01T05:00:00Z"), ts("2026-03-01T13:00:00Z")}, 6 * time.Hour,
			[]string{"2026-03-01T05:00:00Z/2026-03-01T06:00:00Z", "2026-03-01T06:00:00Z/2026-03-01T12:00:00Z",
				"2026-03-01T12:00:00Z/2026-03-01T13:00:00Z"}},
		{"shorter than a chunk", Interval{ts("2026-03-01T05:00:00Z"), ts("2026-03-01T05:00:10Z")}, 24 * time.Hour,
			[]string{"2026-03-01T05:00:00Z/2026-03-01T05:00:10Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Chunks(tc.r, tc.size) {
				got = append(got, c.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestHalves(t *testing.T) {
	a, b := Interval{ts("2026-03-01T10:00:00Z"), ts("2026-03-01T10:03:45Z")}.halves()
	if a.String() != "2026-03-01T10:00:00Z/2026-03-01T10:01:52Z" || b.String() != "2026-03-01T10:01:52Z/2026-03-01T10:03:45Z" {
		t.Fatalf("halves %s %s", a, b)
	}
}

func TestCoverage(t *testing.T) {
	c := newCoverage([]Interval{
		{ts("2026-03-02T12:00:00Z"), ts("2026-03-03T00:00:00Z")},
		{ts("2026-03-01T00:00:00Z"), ts("2026-03-02T00:00:00Z")},
		{ts("2026-03-02T00:00:00Z"), ts("2026-03-02T12:00:00Z")}, // joins the two others
		{ts("2026-03-05T00:00:00Z"), ts("2026-03-06T00:00:00Z")},
	})
	if len(c) != 2 {
		t.Fatalf("merged into %v", c)
	}
	tests := []struct {
		iv   Interval
		want bool
	}{
		{Interval{ts("2026-03-01T00:00:00Z"), ts("2026-03-03T00:00:00Z")}, true},
		{Interval{ts("2026-03-02T06:00:00Z"), ts("2026-03-02T18:00:00Z")}, true},
		{Interval{ts("2026-03-02T06:00:00Z"), ts("2026-03-03T00:00:01Z")}, false},
		{Interval{ts("2026-03-04T00:00:00Z"), ts("2026-03-05T00:00:00Z")}, false},
		{Interval{ts("2026-03-05T00:00:00Z"), ts("2026-03-06T00:00:00Z")}, true},
	}
	for _, tc := range tests {
		if got := c.covers(tc.iv); got != tc.want {
			t.Errorf("covers(%s) = %v, want %v", tc.iv, got, tc.want)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"AIAppInteraction": "aiAppInteraction", "CopilotInteraction": "copilotInteraction",
		"TeamCopilotInteraction": "teamCopilotInteraction", "AIInteractionsExport": "aiInteractionsExport",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}
