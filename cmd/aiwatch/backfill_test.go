package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/store"
)

const (
	bfTenantID = "3e5d7c9b-1a2f-4b6d-8e0c-9f8e7d6c5b4a"
	bfClientID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
	bfSecret   = "cli-backfill-secret-value"
)

func backfillIDs(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT RecordId FROM CopilotActivity WHERE SourceSystem = 'GraphAPI' ORDER BY RecordId`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func aiRecord(id string, at time.Time, recordType int) []byte {
	return fmt.Appendf(nil, `{"CreationTime":%q,"Id":%q,"Operation":"CopilotInteraction","OrganizationId":%q,"RecordType":%d,`+
		`"UserKey":"1003","UserType":0,"Version":1,"Workload":"Copilot","ClientIP":"203.0.113.9","UserId":"user2@contoso.example",`+
		`"CopilotEventData":{"AppHost":"Teams","Contexts":[],"AccessedResources":[],"Messages":[]}}`,
		at.UTC().Format("2006-01-02T15:04:05"), id, bfTenantID, recordType)
}

func TestBackfillCommand(t *testing.T) {
	fake := o365fake.New(o365fake.Options{GraphPageSize: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	fake.AddTenant(o365fake.Tenant{ID: bfTenantID, ClientID: bfClientID, ClientSecret: bfSecret})
	base, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()

	// A fixed range in the recent past, so both runs cover the same chunks.
	end := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	start := end.Add(-72 * time.Hour)
	var want []string
	var recs [][]byte
	for i, off := range []time.Duration{time.Hour, 25 * time.Hour, 26 * time.Hour, 49 * time.Hour, 50 * time.Hour} {
		id := fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", i)
		want = append(want, id)
		recs = append(recs, aiRecord(id, start.Add(off), 261))
	}
	recs = append(recs, aiRecord("c0ffee00-0000-4000-8000-999999999999", start.Add(-time.Minute), 261)) // before the range
	fake.PublishGraph(bfTenantID, recs)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "aiwatch.yaml")
	yaml := fmt.Sprintf(`data_dir: %s
tenants:
  - name: contoso
    tenant_id: %s
    client_id: %s
    client_secret_env: AIWATCH_TEST_BACKFILL_SECRET
    endpoints:
      login: %s
      management: %s
      graph: %s/v1.0
`, data, bfTenantID, bfClientID, base, base, base)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// The config's data_dir applies: no --data and no AIWATCH_DATA.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AIWATCH_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AIWATCH_TEST_BACKFILL_SECRET="+bfSecret)
	args := []string{"backfill", "--config", cfg, "--tenant", "contoso",
		"--from", start.Format(time.RFC3339), "--to", end.Format(time.RFC3339), "--poll", "5ms"}

	out, stderr, code := runEnv(t, env, args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if !strings.Contains(out, "read 5, stored 5, duplicates 0, conflicts 0, skipped (not Copilot) 0, quarantined 0; ") {
		t.Errorf("summary: %s", out)
	}
	if got := backfillIDs(t, data); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	if !strings.Contains(stderr, "tenant=contoso") || strings.Contains(stderr+out, bfSecret) {
		t.Errorf("logs: %s", stderr)
	}

	// Again: every chunk is done already.
	out, stderr, code = runEnv(t, env, args...)
	if code != 0 || !strings.Contains(out, "stored 0,") || !strings.Contains(out, "queries 0,") {
		t.Errorf("second run exit %d\n%s%s", code, out, stderr)
	}
	if n := queryInt(t, data, `SELECT count(*) FROM CopilotActivity`); n != 5 {
		t.Errorf("%d rows after the second run", n)
	}

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"empty range", []string{"--tenant", "contoso", "--from", "2026-03-05", "--to", "2026-03-04"},
			"the range is empty: --from 2026-03-05 is not before --to 2026-03-04"},
		{"too old", []string{"--tenant", "contoso", "--from", time.Now().UTC().AddDate(0, 0, -200).Format("2006-01-02"), "--to", end.Format("2006-01-02")},
			"the Graph audit search keeps at most 180 days of records: use --from "},
		{"bad date", []string{"--tenant", "contoso", "--from", "03/01/2026", "--to", "2026-03-04"},
			`--from "03/01/2026" is not a date: use YYYY-MM-DD`},
		{"unknown tenant", []string{"--tenant", "fabrikam", "--from", "2026-03-05", "--to", "2026-03-04"},
			`tenant "fabrikam" is not in ` + cfg + "; configured tenants: contoso"},
		{"no --to", []string{"--tenant", "contoso", "--from", "2026-03-05"}, `required flag(s) "to" not set`},
		{"chunk under min split", []string{"--tenant", "contoso", "--from", start.Format(time.RFC3339), "--to", end.Format(time.RFC3339),
			"--chunk", "30s"}, "--chunk 30s is smaller than --min-split 1m0s"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, env, append([]string{"backfill", "--config", cfg}, tc.args...)...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %s\nwant %q", code, stderr, tc.want)
			}
		})
	}
}

func TestBackfillCommandInterrupted(t *testing.T) {
	// Queries that never finish: the backfill polls until interrupted.
	fake := o365fake.New(o365fake.Options{GraphPollsToSucceed: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	fake.AddTenant(o365fake.Tenant{ID: bfTenantID, ClientID: bfClientID, ClientSecret: bfSecret})
	base, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "aiwatch.yaml")
	yaml := fmt.Sprintf("tenants:\n  - name: contoso\n    tenant_id: %s\n    client_id: %s\n    client_secret_env: AIWATCH_TEST_BACKFILL_SECRET\n"+
		"    endpoints: {login: %q, graph: %q}\n", bfTenantID, bfClientID, base, base+"/v1.0")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02")
	cmd := exec.Command(binPath, "backfill", "--config", cfg, "--tenant", "contoso", "--data", filepath.Join(dir, "data"),
		"--from", day, "--to", day, "--poll", "5ms")
	cmd.Env = append(os.Environ(), "AIWATCH_TEST_BACKFILL_SECRET="+bfSecret)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Interrupt once the query is being polled.
	for fake.Stats(bfTenantID).Count(o365fake.EndpointGraphGet) < 3 {
		select {
		case err := <-exited:
			t.Fatalf("exited before the interrupt: %v\nstdout %s\nstderr %s", err, out.String(), errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = <-exited
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(errb.String(), "interrupted; the pages stored so far are kept") {
		t.Fatalf("wait: %v\nstdout %s\nstderr %s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "read 0, stored 0") {
		t.Errorf("summary: %s", out.String())
	}
}
