package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// detect with an automation rule: every incident it creates is tagged and
// posted, signed, to a webhook on loopback.
func TestDetectRunsAutomation(t *testing.T) {
	var mu sync.Mutex
	var titles []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write([]byte(r.Header.Get("X-Aiwatch-Timestamp") + "." + string(body)))
		if r.Header.Get("X-Aiwatch-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct {
			Event    string `json:"event"`
			Incident struct {
				Title string   `json:"title"`
				Tags  []string `json:"tags"`
			} `json:"incident"`
		}
		json.Unmarshal(body, &p)
		mu.Lock()
		titles = append(titles, p.Event+": "+p.Incident.Title+" "+strings.Join(p.Incident.Tags, ","))
		mu.Unlock()
	}))
	defer srv.Close()

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, stderr, code := run(t, "import", "--data", data, "../../testdata/fixtures/copilot-interactions.jsonl"); code != 0 {
		t.Fatal(stderr)
	}
	rulesDir, _ := filepath.Abs("../../internal/rules/testdata/sentinel")
	cfg := filepath.Join(dir, "aiwatch.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+data+`
detection:
  builtin_rules: false
  rules: [`+rulesDir+`]
automation:
  automation_rules:
    - name: high-to-soc
      conditions:
        - {field: severity, operator: equals, value: High}
      actions:
        - add_tags: [soc]
        - run_playbook: hook
  playbooks:
    - name: hook
      type: webhook
      url: `+srv.URL+`
      secret_env: AIWATCH_TEST_HOOK_SECRET
`), 0o600)
	stdout, stderr, code := runEnv(t, []string{"AIWATCH_TEST_HOOK_SECRET=hook-secret"}, "detect", "--config", cfg)
	if code != 0 {
		t.Fatalf("detect: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "automation: 4 incident events handled, 3 playbook deliveries sent") {
		t.Fatalf("detect output:\n%s", stdout)
	}
	// The delivery log is a table KQL can read.
	out, stderr, code := run(t, "query", "--data", data, "--format", "csv", "AutomationDelivery | summarize n = count() by State, Playbook")
	if code != 0 || out != "State,Playbook,n\ndelivered,hook,3\n" {
		t.Fatalf("delivery log: exit %d\n%s\n%s", code, out, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Strings(titles)
	// Three of Microsoft's four rules are High (the tampering rule is Medium).
	want := []string{
		"incident_created: Copilot file uploads turned off soc",
		"incident_created: Copilot jailbreak flagged on the first message soc",
		"incident_created: Copilot plugin created by a non-admin soc",
	}
	if !slices.Equal(titles, want) {
		t.Fatalf("webhook got:\n %q\nwant\n %q", titles, want)
	}
}
