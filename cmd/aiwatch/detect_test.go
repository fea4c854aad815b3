package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Microsoft's four Copilot rules, written out by us in Sentinel's format,
// run unchanged through the scheduler over the fixture and raise exactly
// the alerts the fixtures README names; a second pass raises nothing; the
// incidents can be listed, shown and closed.
func TestDetectSentinelRulesOnFixture(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, stderr, code := run(t, "import", "--data", data, "../../testdata/fixtures/copilot-interactions.jsonl"); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	rulesDir := "../../internal/rules/testdata/sentinel"
	stdout, stderr, code := run(t, "detect", "--data", data, "--no-builtin", "--rules", rulesDir, "--json")
	if code != 0 {
		t.Fatalf("detect exit %d: %s", code, stderr)
	}
	var sum struct{ Rules, Alerts, Incidents, Duplicates int }
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if sum.Rules != 4 || sum.Alerts != 4 || sum.Incidents != 4 {
		t.Fatalf("summary %+v, want 4 rules, 4 alerts, 4 incidents", sum)
	}
	stdout, _, _ = run(t, "alerts", "--data", data, "--format", "json")
	var alerts []struct {
		Name    string
		Records []string
	}
	if err := json.Unmarshal([]byte(stdout), &alerts); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, a.Name+": "+strings.Join(a.Records, ","))
	}
	sort.Strings(got)
	// From the fixtures README (copilot-interactions.jsonl): line 15 turns
	// file uploads off, line 7 is the jailbreak on Messages[0], line 13 a
	// plugin made by a Regular user; lines 14+15 are the tampering pair
	// (an aggregate: no single record behind it).
	want := []string{
		"Copilot file uploads turned off: 7826f49a-9109-42c6-9a1d-110d9ad87ab2",
		"Copilot jailbreak flagged on the first message: 4e814558-4e74-4a98-9267-9fad350f5e18",
		"Copilot plugin created by a non-admin: db504901-3959-4e43-89f3-a0e3cdcf038e",
		"Copilot plugin enabled and disabled within five minutes: ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("alerts:\n got  %q\n want %q", got, want)
	}

	stdout, _, _ = run(t, "detect", "--data", data, "--no-builtin", "--rules", rulesDir, "--json")
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Alerts != 0 {
		t.Fatalf("second pass %q, want 0 alerts", stdout)
	}

	stdout, _, _ = run(t, "incidents", "list", "--data", data, "--status", "New")
	if n := strings.Count(stdout, "\n"); n != 5 {
		t.Fatalf("incidents list: %d lines, want a header and 4:\n%s", n, stdout)
	}
	if _, stderr, code := run(t, "incidents", "update", "1", "--data", data, "--status", "Closed"); code != 2 || !strings.Contains(stderr, "needs a classification") {
		t.Fatalf("closing without classification: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "incidents", "update", "1", "--data", data, "--status", "Closed", "--classification", "BenignPositive", "--comment", "planned change", "--by", "ana"); code != 0 {
		t.Fatalf("close: %s", stderr)
	}
	stdout, _, _ = run(t, "incidents", "show", "1", "--data", data)
	for _, s := range []string{"status      Closed", "BenignPositive (SuspiciousButExpected)", "ana: planned change", "Alerts (1):"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("incidents show lacks %q:\n%s", s, stdout)
		}
	}
}

// A rule named in detection.disabled_rules that does not exist is an
// error, not silently ignored; a filter value that can match nothing too.
func TestDetectRefusesUnknownNames(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "aiwatch.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\ndetection:\n  disabled_rules: [\"Copilot jailbreak on any message\"]\n"), 0o600)
	_, stderr, code := run(t, "detect", "--config", cfg)
	if code == 0 || !strings.Contains(stderr, `detection.disabled_rules: no rule has the id or name "Copilot jailbreak on any message"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "alerts", "--data", filepath.Join(dir, "data"), "--severity", "Critical"); code == 0 || !strings.Contains(stderr, `--severity "Critical": use one of Informational, Low, Medium, High`) {
		t.Fatalf("alerts --severity Critical: exit %d: %s", code, stderr)
	}
}

// An update without a change is refused before the data directory is
// opened, naming the flags that make one; a flag that does change something
// gets past the check (and here finds no incident).
func TestIncidentsUpdateNeedsAChange(t *testing.T) {
	const nothing = "aiwatch: incidents update 7 changes nothing: give at least one of --status, --severity, --owner, " +
		"--classification, --reason, --classification-comment, --comment, --add-tag, --remove-tag\n"
	tests := []struct {
		name     string
		flags    []string
		code     int
		contains string
	}{
		{"no flags", nil, 2, nothing},
		{"only who", []string{"--by", "ana"}, 2, nothing},
		{"empty comment", []string{"--comment", ""}, 2, nothing},
		{"unassign owner", []string{"--owner", ""}, 1, "no such incident"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"incidents", "update", "7", "--data", data}, tc.flags...)
			stdout, stderr, code := run(t, args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.contains) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tc.code, tc.contains)
			}
		})
	}
}

// alerts and incidents list refuse filters that would silently select
// nothing or everything, saying what they expect; --since takes a date as
// the API's since does.
func TestListFlagsChecked(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := run(t, "import", "--data", data, "../../testdata/fixtures/copilot-interactions.jsonl"); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"alerts", "--since", "-1h"}, 1, `aiwatch: --since "-1h" is a negative duration; give how far back from now to start, such as 24h or 7d` + "\n"},
		{[]string{"alerts", "--since", "last week"}, 1, `aiwatch: --since "last week" is neither a time (2026-03-01, 2026-03-01T10:00:00Z) nor a duration back from now (24h, 7d)` + "\n"},
		{[]string{"alerts", "--limit", "-5"}, 1, "aiwatch: --limit -5 is negative; give the most rows to list, or 0 for all\n"},
		{[]string{"incidents", "list", "--limit", "-5"}, 1, "aiwatch: --limit -5 is negative; give the most rows to list, or 0 for all\n"},
		{[]string{"alerts", "--since", "2026-12-01", "--format", "json"}, 0, ""},
		{[]string{"alerts", "--since", "24h", "--limit", "0", "--format", "json"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := run(t, append(tc.args, "--data", data)...)
			if code != tc.code || stderr != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want exit %d, %q", code, stderr, tc.code, tc.stderr)
			}
			if code == 0 && stdout != "[]\n" {
				t.Fatalf("stdout %q, want no alerts", stdout)
			}
		})
	}
}
