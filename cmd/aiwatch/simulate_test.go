package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSimulate runs a fresh simulate command, so flag values never leak
// from one invocation into the next.
func runSimulate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newSimulateCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

type simulateTruth struct {
	Records        int
	CopilotRecords int
	NoiseRecords   int
	Duplicates     int
	Scenarios      []struct {
		Name      string
		RecordIDs []string `json:"recordIds"`
	}
}

func readTruth(t *testing.T, path string) simulateTruth {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr simulateTruth
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("truth file is not JSON: %v", err)
	}
	return tr
}

func TestSimulateCommandJSONL(t *testing.T) {
	dir := t.TempDir()
	out, truth := filepath.Join(dir, "records.jsonl"), filepath.Join(dir, "truth.json")
	args := []string{"--seed", "3", "--users", "20", "--days", "1", "--start", "2026-03-02", "--out", out, "--truth", truth}
	stdout, stderr, err := runSimulate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" {
		t.Fatalf("records went to stdout although --out was given: %.100q", stdout)
	}
	tr := readTruth(t, truth)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != tr.Records || tr.Records == 0 || tr.NoiseRecords == 0 || len(tr.Scenarios) != 12 {
		t.Fatalf("%d lines, truth %+v", len(lines), tr)
	}
	ids := map[string]bool{}
	for i, line := range lines {
		var rec struct{ Id string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Id == "" {
			t.Fatalf("line %d: %v", i+1, err)
		}
		ids[rec.Id] = true
	}
	for _, sc := range tr.Scenarios {
		for _, id := range sc.RecordIDs {
			if !ids[id] {
				t.Fatalf("scenario %s record %s not in the output", sc.Name, id)
			}
		}
	}
	for _, want := range []string{"simulated", "records", "copilot", "noise", "duplicates", "12 scenarios"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary %q lacks %q", stderr, want)
		}
	}
	// The same flags give the same file.
	if _, _, err := runSimulate(t, args...); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatal("a second run with the same seed wrote different records")
	}
}

func TestSimulateCommandPurviewCSV(t *testing.T) {
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.json")
	stdout, _, err := runSimulate(t, "--seed", "4", "--users", "15", "--days", "1", "--start", "2026-03-03",
		"--format", "purview-csv", "--no-scenarios", "--no-noise", "--truth", truth)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tr := readTruth(t, truth)
	if len(rows) != tr.Records+1 || tr.NoiseRecords != 0 || len(tr.Scenarios) != 0 || tr.CopilotRecords != tr.Records {
		t.Fatalf("%d rows, truth %+v", len(rows), tr)
	}
	if strings.Join(rows[0], ",") != "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames" {
		t.Fatalf("header %v", rows[0])
	}
	if !strings.HasPrefix(rows[1][1], "2026-03-03T") || !strings.HasSuffix(rows[1][1], ".0000000Z ") {
		t.Fatalf("CreationDate %q", rows[1][1])
	}
}

func TestSimulateCommandRejectsBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--start", "03/01/2026"}, "--start"},
		{[]string{"--format", "xml"}, "jsonl or purview-csv"},
		{[]string{"--users", "3"}, "number of users"},
		{[]string{"--days", "-2"}, "number of days"},
		{[]string{"--out", filepath.Join(t.TempDir(), "missing", "x.jsonl")}, "cannot create output file"},
	}
	for _, tc := range cases {
		_, _, err := runSimulate(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
