package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinel rule files write durations three ways: the repository's short
// form (5m, 1h, 14d), ISO 8601 as the ARM API returns it (PT5M, P1D,
// P1DT1H30M) and .NET TimeSpan text (00:05:00, 1.00:00:00).
var (
	shortDur  = regexp.MustCompile(`^(\d+)([mhd])$`)
	isoDur    = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)
	isoYM     = regexp.MustCompile(`^P(?:\d+Y)?(?:\d+M)?`) // years or months before any T
	dotnetDur = regexp.MustCompile(`^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?$`)
)

const durationForms = "use a number with m, h or d (5m, 1h, 14d), ISO 8601 (PT5M, PT1H, P1D) or hh:mm:ss"

// maxDuration bounds each number so the sum cannot overflow
// time.Duration (about 292 years); no Sentinel limit comes near it.
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration reads a duration in any of the forms Sentinel rule files use.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration: %s", durationForms)
	}
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	if m := shortDur.FindStringSubmatch(t); m != nil {
		return scaled(s, []string{m[1]}, []time.Duration{unit[m[2]]})
	}
	up := strings.ToUpper(t)
	if strings.HasPrefix(up, "P") {
		if m := isoDur.FindStringSubmatch(up); m != nil && up != "P" && !strings.HasSuffix(up, "T") {
			return scaled(s, m[1:], []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second})
		}
		if loc := isoYM.FindString(up); len(loc) > 1 {
			return 0, fmt.Errorf("cannot parse %q: years and months have no fixed length; write days (P30D)", s)
		}
		return 0, fmt.Errorf("cannot parse %q as an ISO 8601 duration: %s", s, durationForms)
	}
	if m := dotnetDur.FindStringSubmatch(t); m != nil {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		sec := 0
		if m[4] != "" {
			sec, _ = strconv.Atoi(m[4])
		}
		if h > 23 || mi > 59 || sec > 59 {
			return 0, fmt.Errorf("cannot parse %q: hours must be below 24 and minutes and seconds below 60", s)
		}
		return scaled(s, []string{m[1], m[2], m[3], m[4]}, []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second})
	}
	return 0, fmt.Errorf("cannot parse %q: %s", s, durationForms)
}

// scaled sums numbers (empty ones skipped) times their units.
func scaled(orig string, nums []string, units []time.Duration) (time.Duration, error) {
	var d time.Duration
	for i, n := range nums {
		if n == "" {
			continue
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v > int64(maxDuration/units[i]) {
			return 0, fmt.Errorf("cannot parse %q: longer than any rule can use", orig)
		}
		d += time.Duration(v) * units[i]
		if d > maxDuration {
			return 0, fmt.Errorf("cannot parse %q: longer than any rule can use", orig)
		}
	}
	return d, nil
}

// FormatDuration writes d in the short form rule files use (5m, 1h, 14d),
// falling back to Go's form (1h30m0s) when no single unit fits.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0m"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
