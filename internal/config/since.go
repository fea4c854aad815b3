package config

import (
	"fmt"
	"strings"
	"time"
)

// sinceLayouts are the absolute times ParseSince reads; a time without a
// zone is UTC, as audit records are.
var sinceLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// ParseSince reads the start of a time filter: an absolute time (RFC 3339,
// or a date, in UTC when no zone is given) or a duration back from now
// ("24h", "7d"). An empty value is the zero time. It is shared by the CLI's
// --since and the API's since parameter so both take the same values; the
// error starts with the value, for the caller to prefix with its name.
func ParseSince(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range sinceLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	d, err := ParseDuration(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a time (2026-03-01, 2026-03-01T10:00:00Z) nor a duration back from now (24h, 7d)", v)
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("%q is a negative duration; give how far back from now to start, such as 24h or 7d", v)
	}
	return now.Add(-d.D()).UTC(), nil
}
