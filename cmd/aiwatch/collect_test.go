package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/store"
)

const (
	crashTenantA = "424b1fee-9709-4315-85d9-5954058b4714"
	crashClientA = "11111111-2222-4333-8444-555555555555"
	crashTenantB = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
	crashClientB = "66666666-7777-4888-9999-aaaaaaaaaaaa"
)

// startFakeAPI starts the fake Management API on loopback (real clock) with
// tenants A and B, their secrets in the environment the binary inherits.
func startFakeAPI(t *testing.T, opts o365fake.Options) (*o365fake.Server, string) {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	f := o365fake.New(opts)
	f.AddTenant(o365fake.Tenant{ID: crashTenantA, ClientID: crashClientA, ClientSecret: "secret-a"})
	f.AddTenant(o365fake.Tenant{ID: crashTenantB, ClientID: crashClientB, ClientSecret: "secret-b"})
	base, err := f.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	t.Setenv("AIWATCH_TEST_SECRET_A", "secret-a")
	t.Setenv("AIWATCH_TEST_SECRET_B", "secret-b")
	return f, base
}

// collectConfig writes a config for tenant A (and B when two) against base.
func collectConfig(t *testing.T, base, dataDir, listen string, two bool) string {
	t.Helper()
	tenant := func(name, id, client, env string) string {
		return fmt.Sprintf(`  - name: %s
    tenant_id: %s
    client_id: %s
    client_secret_env: %s
    endpoints:
      login: %s
      management: %s
`, name, id, client, env, base, base)
	}
	cfg := "data_dir: " + dataDir + "\ntenants:\n" + tenant("contoso", crashTenantA, crashClientA, "AIWATCH_TEST_SECRET_A")
	if two {
		cfg += tenant("fabrikam", crashTenantB, crashClientB, "AIWATCH_TEST_SECRET_B")
	}
	cfg += fmt.Sprintf(`collector:
  poll_interval: 1s
  backfill: 48h
  overlap: 1h
  concurrency: 4
server:
  listen: %s
  token_env: AIWATCH_TEST_API_TOKEN
`, listen)
	t.Setenv("AIWATCH_TEST_API_TOKEN", "api-token")
	path := filepath.Join(t.TempDir(), "aiwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// publishSet publishes blobs of per records spread over the last hours
// (every 5th record noise, each blob repeating a record of the one before)
// and returns the RecordIds that must be stored.
func publishSet(f *o365fake.Server, tenant, prefix string, blobs, per int, now time.Time) map[string]bool {
	want := map[string]bool{}
	var prev []byte
	for b := range blobs {
		created := now.Add(-40 * time.Hour).Add(time.Duration(b) * 39 * time.Hour / time.Duration(blobs))
		recs := make([][]byte, 0, per+1)
		var first []byte
		for i := range per {
			id := fmt.Sprintf("%s-%04d-%03d", prefix, b, i)
			ts := created.Add(-time.Duration(i) * time.Second).UTC().Format("2006-01-02T15:04:05")
			if i%5 == 4 {
				recs = append(recs, fmt.Appendf(nil, `{"CreationTime":%q,"Id":%q,"Operation":"UserLoggedIn","RecordType":15,"Workload":"AzureActiveDirectory","UserId":"u2@contoso.example"}`, ts, id))
				continue
			}
			r := fmt.Appendf(nil, `{"CreationTime":%q,"Id":%q,"Operation":"CopilotInteraction","OrganizationId":%q,"RecordType":261,"UserType":0,"Workload":"Copilot","UserId":"u1@contoso.example","CopilotEventData":{"AppHost":"Teams","Messages":[{"Id":"1","isPrompt":true}],"Contexts":[]}}`, ts, id, tenant)
			if first == nil {
				first = r
			}
			recs = append(recs, r)
			want[id] = true
		}
		if prev != nil {
			recs = append(recs, prev)
		}
		prev = first
		f.Publish(tenant, "Audit.General", recs, created, time.Time{})
	}
	return want
}

// collectedIDs reads every RecordId (the directory must be free).
func collectedIDs(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, err := st.DB().Query(`SELECT RecordId FROM CopilotActivity`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// collectCursor reads a saved cursor (the directory must be free).
func collectCursor(t *testing.T, dir, name string) string {
	t.Helper()
	st, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, _, err := st.Cursor(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func assertCollected(t *testing.T, got []string, want map[string]bool) {
	t.Helper()
	exp := make([]string, 0, len(want))
	for id := range want {
		exp = append(exp, id)
	}
	sort.Strings(exp)
	if slices.Equal(got, exp) {
		return
	}
	seen := map[string]int{}
	var doubled, extra []string
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			doubled = append(doubled, id)
		}
		if !want[id] {
			extra = append(extra, id)
		}
	}
	missing := 0
	for _, id := range exp {
		if seen[id] == 0 {
			missing++
		}
	}
	t.Fatalf("stored %d RecordIds, want %d: %d missing, %d doubled %v, extra %v", len(got), len(exp), missing, len(doubled), doubled, extra)
}

// TestCollectSurvivesKills runs `aiwatch collect --once` as a process and
// SIGKILLs it at varied points (listing, downloading, storing), then lets it
// finish: the stored RecordIds must be exactly the published Copilot ones.
func TestCollectSurvivesKills(t *testing.T) {
	f, base := startFakeAPI(t, o365fake.Options{PageSize: 8})
	const blobs = 480
	want := publishSet(f, crashTenantA, "k", blobs, 40, time.Now())
	// Slow bodies keep downloads in flight when a kill lands.
	f.SetFaults(crashTenantA, o365fake.Faults{SlowBody: 15 * time.Millisecond})
	dir := t.TempDir()
	cfg := collectConfig(t, base, dir, "127.0.0.1:0", false)

	rng := rand.New(rand.NewPCG(7, 11))
	partial, midWindow, prev := 0, 0, 0
	for i := range 8 {
		delay := time.Duration(250+rng.IntN(600)) * time.Millisecond
		cmd := exec.Command(binPath, "collect", "--once", "--config", cfg)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err == nil {
			t.Logf("run %d finished before the kill", i)
		}
		n := len(collectedIDs(t, dir))
		if n < prev {
			t.Fatalf("kill %d: stored records went down from %d to %d", i, prev, n)
		}
		if n > 0 && n < len(want) {
			partial++
		}
		cur := collectCursor(t, dir, collect.CursorName(crashTenantA, "Audit.General"))
		if strings.Contains(cur, `"next"`) {
			midWindow++
		}
		t.Logf("kill %d after %s: %d of %d records stored; cursor %s", i, delay, n, len(want), cur)
		prev = n
	}
	if partial < 3 {
		t.Fatalf("only %d kills landed mid-collection; the test needs more data or earlier kills", partial)
	}
	if midWindow == 0 {
		t.Fatal("no kill left a cursor inside a listing window (with a next-page link)")
	}
	out, errOut, code := run(t, "collect", "--once", "--config", cfg)
	if code != 0 {
		t.Fatalf("final run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "contoso: ok: ") {
		t.Fatalf("summary: %q", out)
	}
	assertCollected(t, collectedIDs(t, dir), want)
	if n := queryInt(t, dir, `SELECT count(*) FROM FetchedContent`); n != blobs {
		t.Fatalf("FetchedContent rows = %d, want %d", n, blobs)
	}
	// A run after completion fetches nothing.
	before := f.Stats(crashTenantA).Count(o365fake.EndpointBlob)
	if _, _, code := run(t, "collect", "--once", "--config", cfg); code != 0 {
		t.Fatalf("extra run: exit %d", code)
	}
	if after := f.Stats(crashTenantA).Count(o365fake.EndpointBlob); after != before {
		t.Fatalf("extra run fetched %d blobs", after-before)
	}
}

// TestCollectOnceSummaryAndStatus: one tenant fails (auditing off), the
// other is collected; the exit code and status say which.
func TestCollectOnceSummaryAndStatus(t *testing.T) {
	f, base := startFakeAPI(t, o365fake.Options{})
	f.AddTenant(o365fake.Tenant{ID: crashTenantB, ClientID: crashClientB, ClientSecret: "secret-b", AuditingOff: true})
	want := publishSet(f, crashTenantA, "s", 6, 10, time.Now())
	dir := t.TempDir()
	cfg := collectConfig(t, base, dir, "127.0.0.1:0", true)
	out, errOut, code := run(t, "collect", "--once", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	// 6 blobs of 10: 8 Copilot + 2 noise each, plus 5 repeats.
	if !strings.Contains(out, "contoso: ok: 6 blobs, read 65, stored 48, duplicates 5, conflicts 0, skipped (not Copilot) 12, quarantined 0, gaps 0") ||
		!strings.Contains(out, "fabrikam: FAILED:") || !strings.Contains(out, "AF20012") {
		t.Fatalf("summary:\n%s", out)
	}
	if !strings.Contains(errOut, "1 of 2 tenant(s) failed") {
		t.Fatalf("stderr: %s", errOut)
	}
	assertCollected(t, collectedIDs(t, dir), want)

	out, errOut, code = run(t, "status", "--config", cfg)
	if code != 0 {
		t.Fatalf("status: exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TENANT") {
		t.Fatalf("status:\n%s", out)
	}
	ok := strings.Fields(lines[1])
	bad := strings.Fields(lines[2])
	// TENANT CONTENT TYPE STATE CURSOR LAG LAST SUCCESS BLOBS STORED DUPLICATES RETRIES GAPS ERRORS
	if ok[0] != "contoso" || ok[2] != "ok" || ok[6] != "6" || ok[7] != "48" || ok[8] != "5" || ok[11] != "0" {
		t.Fatalf("contoso row: %q", lines[1])
	}
	if bad[0] != "fabrikam" || bad[2] != "error" || bad[7] != "0" || bad[11] != "1" || !strings.Contains(lines[2], "AF20012") {
		t.Fatalf("fabrikam row: %q", lines[2])
	}
}

// TestStatusWhileCollecting: while collect holds the data directory,
// status reads the collector's /status; after SIGTERM the collector stops
// cleanly and status reads the database.
func TestStatusWhileCollecting(t *testing.T) {
	f, base := startFakeAPI(t, o365fake.Options{})
	want := publishSet(f, crashTenantA, "w", 5, 10, time.Now())
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	cfg := collectConfig(t, base, dir, addr, false)

	cmd := exec.Command(binPath, "collect", "--config", cfg)
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rep, err := collect.FetchReport(context.Background(), addr, "api-token")
		if err == nil && len(rep.Tenants) == 1 && rep.Tenants[0].RecordsStored == int64(len(want)) && !rep.Tenants[0].LastSuccess.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector not ready: %v %+v\n%s", err, rep, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, errOut, code := run(t, "status", "--config", cfg)
	if code != 0 || !strings.Contains(out, "is locked by a running aiwatch process") || !strings.Contains(out, "live status from it at "+addr) {
		t.Fatalf("status while running: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "contoso") || !strings.Contains(out, " ok ") {
		t.Fatalf("status while running:\n%s", out)
	}
	// Without the API token the live status is refused, and status says why.
	t.Setenv("AIWATCH_TEST_API_TOKEN", "wrong")
	_, errOut, code = run(t, "status", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "locked") || !strings.Contains(errOut, "401") {
		t.Fatalf("status with a wrong token: exit %d %s", code, errOut)
	}
	t.Setenv("AIWATCH_TEST_API_TOKEN", "api-token")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("collector did not stop cleanly on SIGTERM: %v\n%s", err, errb.String())
	}
	assertCollected(t, collectedIDs(t, dir), want)
	out, _, code = run(t, "status", "--config", cfg, "--format", "json")
	var rep collect.Report
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("status json: exit %d %s", code, out)
	}
	if rep.Source != "database" || len(rep.Tenants) != 1 || rep.Tenants[0].RecordsStored != int64(len(want)) ||
		rep.Tenants[0].Blobs != 5 || rep.Tenants[0].Errors != 0 {
		t.Fatalf("status json: %+v", rep)
	}
}

// TestStatusLockedWithoutServer: collect runs without its status server;
// status says the directory is locked and that it cannot ask.
func TestStatusLockedWithoutServer(t *testing.T) {
	_, base := startFakeAPI(t, o365fake.Options{})
	dir := t.TempDir()
	addr := freeLoopbackAddr(t)
	cfg := collectConfig(t, base, dir, addr, false)
	cmd := exec.Command(binPath, "collect", "--config", cfg, "--listen", "off")
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	// Wait until it holds the store: a status run before that could take
	// the file first and make collect fail.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "collecting") {
		if time.Now().After(deadline) {
			t.Fatalf("collect did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, errOut, code := run(t, "status", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "is locked by a running aiwatch process") ||
		!strings.Contains(errOut, "status endpoint cannot be read") {
		t.Fatalf("status: exit %d %s", code, errOut)
	}
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A tenant whose secret cannot be read at all (its variable unset) fails on
// its own: collect warns, collects the other tenant, and exits 1. config
// check still calls it an error.
func TestCollectWithOneUnreadableSecret(t *testing.T) {
	f, base := startFakeAPI(t, o365fake.Options{})
	want := publishSet(f, crashTenantA, "u", 3, 10, time.Now())
	t.Setenv("AIWATCH_TEST_SECRET_B", "")
	dir := t.TempDir()
	cfg := collectConfig(t, base, dir, "127.0.0.1:0", true)
	out, errOut, code := run(t, "collect", "--once", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, `warning: tenants[1] (name "fabrikam"): client_secret_env "AIWATCH_TEST_SECRET_B" is not set in the environment`) ||
		!strings.Contains(out, "contoso: ok: 3 blobs") || !strings.Contains(out, "fabrikam: FAILED:") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	assertCollected(t, collectedIDs(t, dir), want)
	if _, errOut, code := run(t, "config", "check", cfg); code == 0 || !strings.Contains(errOut, "AIWATCH_TEST_SECRET_B") {
		t.Errorf("config check: exit %d %s", code, errOut)
	}
}

// A tenant stopped by the interrupt reads "interrupted", not FAILED, and
// does not count as failed.
func TestPrintSummaryInterrupted(t *testing.T) {
	var b strings.Builder
	failed := printSummary(&b, []collect.Result{
		{Tenant: "a", ContentType: "Audit.General", Err: errInterrupted},
		{Tenant: "b", ContentType: "Audit.General", Err: errors.New("token refused")},
		{Tenant: "c", ContentType: "Audit.General"},
	})
	want := "a: interrupted: 0 blobs, read 0, stored 0, duplicates 0, conflicts 0, skipped (not Copilot) 0, quarantined 0, gaps 0, cursor -\n" +
		"b: FAILED: 0 blobs, read 0, stored 0, duplicates 0, conflicts 0, skipped (not Copilot) 0, quarantined 0, gaps 0, cursor -\n" +
		"b: error: Audit.General: token refused\n" +
		"c: ok: 0 blobs, read 0, stored 0, duplicates 0, conflicts 0, skipped (not Copilot) 0, quarantined 0, gaps 0, cursor -\n"
	if failed != 1 || b.String() != want {
		t.Errorf("failed %d, printed:\n%s\nwant:\n%s", failed, b.String(), want)
	}
}
