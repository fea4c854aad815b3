package o365

import (
	"testing"
	"time"
)

func TestRetryPolicyWait(t *testing.T) {
	exact := func(d time.Duration) time.Duration { return d }
	tests := []struct {
		name       string
		p          RetryPolicy
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"defaults first", RetryPolicy{Jitter: exact}, 1, 0, time.Second},
		{"defaults fourth", RetryPolicy{Jitter: exact}, 4, 0, 8 * time.Second},
		{"defaults capped at 1m", RetryPolicy{Jitter: exact}, 30, 0, time.Minute},
		{"custom base", RetryPolicy{Base: 250 * time.Millisecond, Max: time.Second, Jitter: exact}, 3, 0, time.Second},
		{"jitter halves", RetryPolicy{Jitter: func(d time.Duration) time.Duration { return d / 2 }}, 2, 0, time.Second},
		{"jitter clamped", RetryPolicy{Jitter: func(d time.Duration) time.Duration { return 10 * d }}, 1, 0, time.Second},
		{"retry-after wins", RetryPolicy{Jitter: exact}, 1, 90 * time.Second, 90 * time.Second},
		{"retry-after capped", RetryPolicy{Jitter: exact}, 1, time.Hour, 15 * time.Minute},
		{"retry-after custom cap", RetryPolicy{MaxRetryAfter: time.Minute}, 1, time.Hour, time.Minute},
	}
	for _, tc := range tests {
		if got := tc.p.Wait(tc.n, tc.retryAfter); got != tc.want {
			t.Errorf("%s: Wait = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Full jitter without an injected function stays within [0, ceiling].
	for range 100 {
		if got := (RetryPolicy{}).Wait(3, 0); got < 0 || got > 4*time.Second {
			t.Fatalf("random wait %v outside [0, 4s]", got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-5", 0},
		{"Thu, 05 Mar 2026 12:00:45 GMT", 45 * time.Second},
		{"Thu, 05 Mar 2026 11:59:00 GMT", 0}, // in the past
		{"soon", 0},
	}
	for _, tc := range tests {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
