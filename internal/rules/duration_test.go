package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"5m", 5 * time.Minute, ""},
		{"1h", time.Hour, ""},
		{"14d", 14 * day, ""},
		{" 90m ", 90 * time.Minute, ""},
		{"0m", 0, ""},
		{"PT5M", 5 * time.Minute, ""},
		{"pt1h", time.Hour, ""},
		{"P1D", day, ""},
		{"P1DT1H30M", day + 90*time.Minute, ""},
		{"PT1H30M15S", time.Hour + 30*time.Minute + 15*time.Second, ""},
		{"P2W", 14 * day, ""},
		{"00:05:00", 5 * time.Minute, ""},
		{"1.00:00:00", day, ""},
		{"14.00:00:00", 14 * day, ""},
		{"5:30", 5*time.Hour + 30*time.Minute, ""},
		{"", 0, "empty duration"},
		{"5x", 0, `cannot parse "5x": use a number with m, h or d`},
		{"5", 0, `cannot parse "5"`},
		{"5 m", 0, `cannot parse "5 m"`},
		{"-5m", 0, `cannot parse "-5m"`},
		{"1.5h", 0, `cannot parse "1.5h"`},
		{"P", 0, "as an ISO 8601 duration"},
		{"PT", 0, "as an ISO 8601 duration"},
		{"P1DT", 0, "as an ISO 8601 duration"},
		{"P1M", 0, "years and months have no fixed length"},
		{"P1Y2D", 0, "years and months have no fixed length"},
		{"PT5X", 0, "as an ISO 8601 duration"},
		{"25:00:00", 0, "hours must be below 24"},
		{"00:61:00", 0, "minutes and seconds below 60"},
		{"99999999999999999999d", 0, "longer than any rule can use"},
		{"P40000D", 0, "longer than any rule can use"},
	} {
		got, err := ParseDuration(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Minute, "5m"}, {time.Hour, "1h"}, {90 * time.Minute, "90m"}, {14 * 24 * time.Hour, "14d"},
		{36 * time.Hour, "36h"}, {0, "0m"}, {90 * time.Second, "1m30s"},
	} {
		if got := FormatDuration(c.in); got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
