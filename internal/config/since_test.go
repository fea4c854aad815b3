package config

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"", time.Time{}, ""},
		{"24h", now.Add(-24 * time.Hour), ""},
		{" 7d ", now.Add(-7 * 24 * time.Hour), ""},
		{"0", now, ""},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-12-01 10:30", time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC), ""},
		{"2026-12-01T10:30:05", time.Date(2026, 12, 1, 10, 30, 5, 0, time.UTC), ""},
		{"2026-12-01T10:30:00+02:00", time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC), ""},
		{"2026-12-01T10:30:00.5Z", time.Date(2026, 12, 1, 10, 30, 0, 5e8, time.UTC), ""},
		{"-1h", time.Time{}, `"-1h" is a negative duration; give how far back from now to start, such as 24h or 7d`},
		{"yesterday", time.Time{}, `"yesterday" is neither a time (2026-03-01, 2026-03-01T10:00:00Z) nor a duration back from now (24h, 7d)`},
		{"2026-13-01", time.Time{}, `"2026-13-01" is neither a time (2026-03-01, 2026-03-01T10:00:00Z) nor a duration back from now (24h, 7d)`},
	}
	for _, tc := range tests {
		got, err := ParseSince(tc.in, now)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if !got.Equal(tc.want) || msg != tc.err {
			t.Errorf("ParseSince(%q) = %v, %q; want %v, %q", tc.in, got, msg, tc.want, tc.err)
		}
	}
}
