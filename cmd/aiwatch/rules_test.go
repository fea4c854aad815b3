package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const ruleTestdata = "../../internal/rules/testdata/"

func TestRulesValidateCommand(t *testing.T) {
	// testdata/mixed: two good files and one whose queryFrequency is "often".
	out, stderr, code := run(t, "rules", "validate", ruleTestdata+"mixed")
	wantLine := `../../internal/rules/testdata/mixed/b-bad.yaml:6: rule 290ceaa7-5ce6-4ae6-b7a3-7847b3db925c: queryFrequency: cannot parse "often"`
	if code == 0 || !strings.HasPrefix(out, wantLine) || !strings.HasSuffix(out, "\n2 rules, 1 error, 0 warnings\n") ||
		!strings.Contains(stderr, "rule validation failed: 1 error") {
		t.Errorf("mixed: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = run(t, "rules", "validate", ruleTestdata+"sentinel")
	if code != 0 || out != "4 rules, 0 errors, 0 warnings\n" {
		t.Errorf("sentinel: exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestRulesListCommand(t *testing.T) {
	out, stderr, code := run(t, "rules", "list", "--format", "csv", ruleTestdata+"sentinel/copilot-plugin-toggled-quickly.yaml", ruleTestdata+"sentinel/copilot-jailbreak-first-message.yaml")
	want := "id,name,severity,kind,frequency,period,tactics,enabled,file\n" +
		"2830d366-572e-4e47-91e7-6c38746179a8,Copilot plugin enabled and disabled within five minutes,Medium,Scheduled,5m,5m,\"Discovery,DefenseEvasion\",true," + ruleTestdata + "sentinel/copilot-plugin-toggled-quickly.yaml\n" +
		"95a15bd2-2d68-4fda-891d-e2165fbe3b10,Copilot jailbreak flagged on the first message,High,Scheduled,5m,5m,\"InitialAccess,CredentialAccess,Impact\",true," + ruleTestdata + "sentinel/copilot-jailbreak-first-message.yaml\n"
	if code != 0 || out != want {
		t.Errorf("csv: exit %d\n%s\n%s", code, out, stderr)
	}
	// A bad file is reported on stderr, the good ones are still listed, the exit status says so.
	out, stderr, code = run(t, "rules", "list", "--format", "json", ruleTestdata+"mixed")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[0]["id"] != "493a7691-915a-4da5-a5fd-28e4bdf622ca" ||
		rows[1]["frequency"] != "1h" || code != 1 || !strings.Contains(stderr, `queryFrequency: cannot parse "often"`) {
		t.Errorf("json: exit %d %v\n%s\n%s", code, err, out, stderr)
	}
}

func TestRulesValidateDistinctAndEmpty(t *testing.T) {
	empty := t.TempDir()
	file := ruleTestdata + "sentinel/copilot-jailbreak-first-message.yaml"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"same file twice", []string{file, file, "./" + file}, 0, "1 rule, 0 errors, 0 warnings\n"},
		{"empty directory", []string{empty}, 1,
			empty + ": no rule files found in this directory (looked for *.yaml and *.yml files, in subdirectories too)\n0 rules, 1 error, 0 warnings\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := run(t, append([]string{"rules", "validate"}, tc.args...)...)
			if code != tc.code || out != tc.stdout {
				t.Fatalf("exit %d, stdout %q (stderr %q); want exit %d, %q", code, out, stderr, tc.code, tc.stdout)
			}
		})
	}
}
