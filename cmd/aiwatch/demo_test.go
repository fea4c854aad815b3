package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/store"
)

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, stderr, code := run(t, "demo", "--data", dir, "--tenants", "2", "--users", "40", "--days", "1", "--seed", "7")
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s\n%s", code, out, stderr)
	}
	// Each tenant's line states the stored count equals the count the
	// simulator says is available; the demo computes both independently.
	re := regexp.MustCompile(`(?m)^(sim[12]): (\d+) of (\d+) distinct Copilot records available now are stored \(nothing lost, nothing doubled\)`)
	m := re.FindAllStringSubmatch(out, -1)
	if len(m) != 2 {
		t.Fatalf("want a verdict line per tenant:\n%s", out)
	}
	total := 0
	for _, x := range m {
		if x[2] != x[3] || x[2] == "0" {
			t.Errorf("%s stored %s of %s", x[1], x[2], x[3])
		}
		n, _ := strconv.Atoi(x[2])
		total += n
	}
	if got := queryInt(t, dir, `SELECT count(*) FROM CopilotActivity`); got != total {
		t.Errorf("store holds %d rows, demo reported %d", got, total)
	}
	if got := queryInt(t, dir, `SELECT count(DISTINCT TenantId) FROM CopilotActivity`); got != 2 {
		t.Errorf("tenants %d", got)
	}
	// Running it again starts afresh in the directory it made.
	if _, _, code := run(t, "demo", "--data", dir, "--tenants", "1", "--users", "40", "--days", "1"); code != 0 {
		t.Errorf("second demo exit %d", code)
	}
	// It never wipes a directory it did not make.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "keep.txt"), []byte("mine"), 0o600)
	_, stderr, code = run(t, "demo", "--data", other)
	if code == 0 || !strings.Contains(stderr, "was not made by the demo") {
		t.Errorf("demo over a foreign directory: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(other, "keep.txt")); err != nil {
		t.Error("demo deleted a file it did not make")
	}
}

// The demo does not wipe a directory that another process holds open.
func TestFreshDemoDirRefusesHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := freshDemoDir(dir); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Another process holds the file (this test binary, run as a helper).
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldStore$")
	holder.Env = append(os.Environ(), "AIWATCH_HOLD_STORE="+dir)
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	err = freshDemoDir(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another aiwatch process") {
		t.Errorf("held directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Errorf("the held database was removed: %v", err)
	}
}

// TestHoldStore is the helper process of the test above: it opens the store
// named by AIWATCH_HOLD_STORE, says so, and waits to be killed.
func TestHoldStore(t *testing.T) {
	dir := os.Getenv("AIWATCH_HOLD_STORE")
	if dir == "" {
		t.Skip("helper process only")
	}
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fmt.Println("holding")
	time.Sleep(time.Minute)
}
