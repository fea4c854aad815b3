package automate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestHelperCommand is the program command playbooks run in these tests
// (the test binary itself): it writes its stdin and environment to
// $AIWATCH_HELPER_OUT and exits with $AIWATCH_HELPER_EXIT.
func TestHelperCommand(t *testing.T) {
	if os.Getenv("AIWATCH_HELPER") != "1" {
		t.Skip("run by the command playbook tests")
	}
	stdin, _ := io.ReadAll(os.Stdin)
	out, _ := json.Marshal(map[string]any{"stdin": string(stdin), "env": os.Environ()})
	os.WriteFile(os.Getenv("AIWATCH_HELPER_OUT"), out, 0o600)
	code, _ := strconv.Atoi(os.Getenv("AIWATCH_HELPER_EXIT"))
	if code != 0 {
		fmt.Fprintln(os.Stderr, "ticket system said no")
	}
	os.Exit(code)
}

func commandConfig(t *testing.T, argv []string, timeout string) Config {
	t.Helper()
	q, _ := json.Marshal(argv)
	return parseConfig(t, `
automation_rules:
  - name: ticket
    actions: [{run_playbook: open-ticket}]
playbooks:
  - name: open-ticket
    type: command
    command: `+string(q)+`
    env: [AIWATCH_HELPER, AIWATCH_HELPER_OUT, AIWATCH_HELPER_EXIT]
    timeout: `+timeout+`
`)
}

func TestCommand(t *testing.T) {
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := []string{exe, "-test.run=^TestHelperCommand$"}
	for _, tc := range []struct {
		name    string
		argv    []string
		exit    string
		timeout string
		passes  int
		state   string
		reason  string
	}{
		{name: "stdin and environment", argv: helper, exit: "0", timeout: "10s", passes: 1, state: StateDelivered},
		{name: "failing exit retries then fails", argv: helper, exit: "3", timeout: "10s", passes: 2, state: StateFailed,
			reason: "gave up after 2 attempts: exit status 3: ticket system said no"},
		{name: "false", argv: []string{"/bin/false"}, timeout: "10s", passes: 1, state: StatePending, reason: "exit status 1"},
		{name: "timeout", argv: []string{"/bin/sleep", "5"}, timeout: "200ms", passes: 1, state: StatePending, reason: "no exit within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.argv[0]); err != nil {
				t.Skipf("%s: %v", tc.argv[0], err)
			}
			out := filepath.Join(t.TempDir(), "out.json")
			t.Setenv("AIWATCH_HELPER", "1")
			t.Setenv("AIWATCH_HELPER_OUT", out)
			t.Setenv("AIWATCH_HELPER_EXIT", tc.exit)
			t.Setenv("AIWATCH_TEST_PARENT_SECRET", "not-for-children")
			db := newStore(t)
			clock := &fakeClock{t: t0}
			eng, err := New(commandConfig(t, tc.argv, tc.timeout), db, &recUpdater{}, Options{
				Clock: clock.Now, Logger: testLogger(io.Discard), Retry: RetryPolicy{MaxAttempts: 2, BaseBackoff: time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
				t.Fatal(err)
			}
			for range tc.passes {
				if _, err := eng.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			rows, _ := ListDeliveries(ctx, db, "", 1)
			if len(rows) != 1 || rows[0].State != tc.state || rows[0].LastError != tc.reason {
				t.Fatalf("row %+v, want %s with %q", rows, tc.state, tc.reason)
			}
			if tc.state != StateDelivered {
				return
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Stdin string
				Env   []string
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			var p Payload
			if err := json.Unmarshal([]byte(got.Stdin), &p); err != nil {
				t.Fatalf("stdin is not the payload: %v\n%s", err, got.Stdin)
			}
			if p.DeliveryID != rows[0].ID || p.Incident.ID != "inc-7f3a" || p.Event != "incident_created" || p.Playbook != "open-ticket" {
				t.Errorf("payload %+v", p)
			}
			for _, want := range []string{
				"AIWATCH_DELIVERY_ID=" + rows[0].ID,
				"AIWATCH_PLAYBOOK=open-ticket",
				"AIWATCH_INCIDENT_ID=inc-7f3a",
				"AIWATCH_EVENT=incident_created",
				"AIWATCH_HELPER_EXIT=0",
				"PATH=" + os.Getenv("PATH"),
			} {
				if !slices.Contains(got.Env, want) {
					t.Errorf("environment lacks %s: %v", want, got.Env)
				}
			}
			for _, kv := range got.Env {
				if kv == "AIWATCH_TEST_PARENT_SECRET=not-for-children" {
					t.Error("the parent's environment leaked to the command")
				}
			}
		})
	}
}
