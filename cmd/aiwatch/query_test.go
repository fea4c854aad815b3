package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestQueryCommand(t *testing.T) {
	data := t.TempDir()
	if out, stderr, code := run(t, "import", "--data", data, fixtureDir+"copilot-interactions.jsonl"); code != 0 {
		t.Fatalf("import exit %d: %s %s", code, out, stderr)
	}
	// README: distinct ActorName 7 in copilot-interactions.jsonl.
	out, stderr, code := run(t, "query", "--data", data, "--format", "csv", "CopilotActivity | summarize dcount(ActorName)")
	if code != 0 || out != "dcount_ActorName\n7\n" {
		t.Errorf("csv: exit %d, %q %s", code, out, stderr)
	}
	// README: jailbreak on any message in 2 records (lines 7 and 8), as JSON objects.
	q := `CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) | distinct RecordId | sort by RecordId asc`
	out, stderr, code = run(t, "query", "--data", data, "--format", "json", q)
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 ||
		rows[0]["RecordId"] != "4e814558-4e74-4a98-9267-9fad350f5e18" || rows[1]["RecordId"] != "e59c80b3-e6f4-42b3-a363-15d97b9c3f08" {
		t.Errorf("json: exit %d, %s %s", code, out, stderr)
	}
	// From a file with -f.
	f := filepath.Join(t.TempDir(), "q.kql")
	// It starts with the byte order mark Windows editors write.
	if err := os.WriteFile(f, []byte("\ufeff// admins\nCopilotActivity\n| where ActorUserType == 'Admin'\n| count\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code = run(t, "query", "--data", data, "--format", "csv", "-f", f); code != 0 || out != "Count\n3\n" {
		t.Errorf("-f: exit %d, %q %s", code, out, stderr)
	}
	// From stdin with "-".
	cmd := exec.Command(binPath, "query", "--data", data, "--format", "csv", "-")
	cmd.Stdin = strings.NewReader("CopilotActivity | where AppHost =~ 'bizchat' | project AppHost")
	var sout bytes.Buffer
	cmd.Stdout = &sout
	if err := cmd.Run(); err != nil || sout.String() != "AppHost\nbizchat\n" {
		t.Errorf("stdin: %v %q", err, sout.String())
	}
	// --explain prints SQL and needs no store.
	out, _, code = run(t, "query", "--data", filepath.Join(data, "none"), "--explain", "CopilotActivity | take 1")
	if code != 0 || !strings.HasPrefix(out, "WITH\n") || !strings.Contains(out, "LIMIT 1") {
		t.Errorf("explain: exit %d, %s", code, out)
	}
	// A refused construct: named, with its position and a caret.
	_, stderr, code = run(t, "query", "--data", data, "CopilotActivity\n| make-series count() on TimeGenerated step 1h")
	if code == 0 || !strings.Contains(stderr, `line 2, column 3: unsupported operator "make-series"`) || !strings.Contains(stderr, "\n    ^") {
		t.Errorf("error: exit %d, %s", code, stderr)
	}
}
