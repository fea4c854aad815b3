package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as Go durations ("90s",
// "5m", "24h") or whole days ("7d", "1d12h").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints two or more whole days as "7d" and drops zero tails
// ("5m", not "5m0s"; "24h", not "24h0m0s").
func (d Duration) String() string {
	td := time.Duration(d)
	if td >= 48*time.Hour && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration reads a Go duration with an optional leading whole-day
// part: "7d", "1d12h", "36h", "0".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := strings.HasPrefix(s, "-")
	rest := strings.TrimPrefix(s, "-")
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || days < 0 || days > 365*100 {
			return 0, badDuration(s)
		}
		total = time.Duration(days) * 24 * time.Hour
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, badDuration(s)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

func badDuration(s string) error {
	return fmt.Errorf("invalid duration %q: use a number with a unit, e.g. 30s, 5m, 24h, 7d (whole days only)", s)
}

// UnmarshalYAML reads a scalar duration, naming the line on error. The
// error is a *yaml.TypeError so decoding goes on and every problem in the
// file is reported together.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration must be a single value such as 5m or 7d", n.Line)}}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes the String form, which ParseDuration reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
