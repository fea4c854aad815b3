package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"5m", 5 * time.Minute, "5m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"24h", 24 * time.Hour, "24h"},
		{"2d", 48 * time.Hour, "2d"},
		{"7d", 168 * time.Hour, "7d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"167h", 167 * time.Hour, "167h"},
		{"0", 0, "0s"},
		{" 2h30m ", 150 * time.Minute, "2h30m"},
		{"-1h", -time.Hour, "-1h"},
	}
	for _, tc := range tests {
		d, err := ParseDuration(tc.in)
		if err != nil || d.D() != tc.want || d.String() != tc.str {
			t.Errorf("ParseDuration(%q) = %v (%s), %v; want %v (%s)", tc.in, d.D(), d, err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "5", "d", "7dd", "1.5d", "xd", "7 days", "5mins"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
