package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/server"
	"github.com/aiwatch/aiwatch/internal/simulate"
	"github.com/aiwatch/aiwatch/internal/store"
)

// alertKeys lists alerts as "rule | window end | records", sorted.
func alertKeys(as []detect.Alert) []string {
	var out []string
	for _, a := range as {
		recs := slices.Clone(a.Records)
		sort.Strings(recs)
		out = append(out, a.RuleName+" | "+a.WindowEnd.Format(time.RFC3339)+" | "+strings.Join(recs, ","))
	}
	sort.Strings(out)
	return out
}

// serve is killed (SIGKILL) in the middle of its first scheduler pass and
// started again: in the end it has raised exactly the alerts one
// uninterrupted pass raises — no window skipped, no alert doubled — and
// the CLI reaches the alerts through it while it holds the data.
func TestServeRestartMidSchedule(t *testing.T) {
	dir := t.TempDir()
	recs := filepath.Join(dir, "records.jsonl")
	truthFile := filepath.Join(dir, "truth.json")
	if _, stderr, code := run(t, "simulate", "--seed", "7", "--users", "60", "--days", "2", "--start", "2026-03-01",
		"--out", recs, "--truth", truthFile); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	rulesDir, _ := filepath.Abs("../../internal/rules/testdata/sentinel")
	ref, live := filepath.Join(dir, "ref"), filepath.Join(dir, "live")
	for _, d := range []string{ref, live} {
		if _, stderr, code := run(t, "import", "--data", d, recs); code != 0 {
			t.Fatalf("import: %s", stderr)
		}
	}
	if _, stderr, code := run(t, "detect", "--data", ref, "--no-builtin", "--rules", rulesDir); code != 0 {
		t.Fatalf("reference detect: %s", stderr)
	}
	out, _, _ := run(t, "alerts", "--data", ref, "--format", "json", "--limit", "0")
	var refAlerts []detect.Alert
	if err := json.Unmarshal([]byte(out), &refAlerts); err != nil {
		t.Fatal(err)
	}
	want := alertKeys(refAlerts)
	// The simulator's truth: the jailbreak-on-the-first-message scenario is
	// what Microsoft's jailbreak rule exists for.
	var truth simulate.Truth
	b, _ := os.ReadFile(truthFile)
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	for _, sc := range truth.Scenarios {
		if sc.Name != simulate.ScenarioJailbreakFirst {
			continue
		}
		found := false
		for _, a := range refAlerts {
			if a.RuleName == "Copilot jailbreak flagged on the first message" && slices.Contains(sc.RecordIDs, a.Records[0]) {
				found = true
			}
		}
		if !found {
			t.Fatalf("no jailbreak alert for the scenario's records %v", sc.RecordIDs)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the reference pass raised %d alerts; the test needs several", len(want))
	}

	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("restart-token\n"), 0o600)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+live+"\nserver:\n  listen: 127.0.0.1:0\n  token_file: "+tokenFile+
		"\ndetection:\n  builtin_rules: false\n  interval: 1s\n  rules: ["+rulesDir+"]\n"), 0o600)

	count := func(p *serveProc) int {
		c := server.NewClient(p.ep.URL(), "restart-token")
		raw, err := c.Alerts(context.Background(), server.AlertFilter{Limit: 10000})
		if err != nil {
			return -1
		}
		var as []detect.Alert
		json.Unmarshal(raw, &as)
		return len(as)
	}
	p := startServe(t, cfg, live)
	deadline := time.Now().Add(60 * time.Second)
	for count(p) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no alert within 60 s:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.cmd.Process.Kill()
	<-p.exited
	os.Remove(filepath.Join(live, "serve.json")) // a killed process leaves it; a dead pid is ignored anyway

	p = startServe(t, cfg, live)
	deadline = time.Now().Add(60 * time.Second)
	for count(p) < len(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// The scheduler's metrics are served with the others, once each rule's
	// first pass after the restart has ended; then the alerts are final.
	var metrics []byte
	deadline = time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", p.ep.URL()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer restart-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		// All four rules have finished a pass since the restart.
		if strings.Count(string(metrics), "\naiwatch_rule_runs_total{rule=") == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack the scheduler's:\n%s", metrics)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The CLI goes through the server that holds the data directory.
	out, stderr, code := runEnv(t, []string{"AIWATCH_TOKEN=restart-token"}, "alerts", "--data", live, "--format", "json", "--limit", "0")
	if code != 0 {
		t.Fatalf("alerts through serve: %s", stderr)
	}
	var got []detect.Alert
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if g := alertKeys(got); !slices.Equal(g, want) {
		t.Fatalf("after the restart:\n got  %q\n want %q", g, want)
	}
	if _, stderr, code := run(t, "sql", "--data", live, "SELECT 1"); code == 0 || !strings.Contains(stderr, "aiwatch serve holds") {
		t.Fatalf("sql while serve runs: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "alerts", "--data", live); code == 0 || !strings.Contains(stderr, "AIWATCH_TOKEN") {
		t.Fatalf("alerts without a token while serve runs: exit %d, %s", code, stderr)
	}
}

// The API's error bodies for the desk's refusals are one line holding the
// desk's message, over a real store and a real HTTP server.
func TestServeDetectionErrorBodies(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := server.New(server.Options{Store: st, Token: "tok", Detections: &detections{desk: detect.NewDesk(st, nil)},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/api/v1/incidents/99", "", 404, `{"error":"incident 99: no such incident"}` + "\n"},
		{"PATCH", "/api/v1/incidents/99", `{"status":"Active"}`, 404, `{"error":"incident 99: no such incident"}` + "\n"},
		{"POST", "/api/v1/incidents/99/comments", `{"message":"x"}`, 404, `{"error":"incident 99: no such incident"}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || string(b) != tc.want {
				t.Fatalf("HTTP %d %q; want %d %q", resp.StatusCode, b, tc.code, tc.want)
			}
		})
	}
}
