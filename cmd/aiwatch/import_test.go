package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtureDir = "../../testdata/fixtures/"

var allFixtures = []string{"copilot-interactions.jsonl", "management-api-blob.json", "management-api-blob-2.json",
	"graph-auditlog-records.json", "graph-auditlog-records-page2.json", "purview-export.csv",
	"classic-portal-export.csv", "search-unifiedauditlog.csv", "edge-cases.jsonl"}

func TestImportCommand(t *testing.T) {
	data := t.TempDir()
	args := []string{"import", "--data", data}
	for _, f := range allFixtures {
		args = append(args, fixtureDir+f)
	}
	out, stderr, code := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	// Totals from the fixtures README ("All files into one store").
	if want := "imported 9 file(s): read 67, stored 54, duplicates 7, conflicts 0, skipped (not Copilot) 3, quarantined 3"; !strings.Contains(out, want) {
		t.Errorf("summary missing %q in:\n%s", want, out)
	}
	// Again: nothing new; --strict fails because the bad units are quarantined again.
	out, _, code = run(t, append([]string{"import", "--strict", "--data", data}, args[3:]...)...)
	if code != 3 || !strings.Contains(out, "stored 0, duplicates 61,") {
		t.Errorf("second import exit %d:\n%s", code, out)
	}
	// stats and sql read the store.
	out, _, code = run(t, "stats", "--data", data)
	if code != 0 || !strings.Contains(out, "CopilotInteraction") || !strings.Contains(out, "(unknown 9999)") {
		t.Errorf("stats exit %d:\n%s", code, out)
	}
	out, _, code = run(t, "sql", "--data", data, "--format", "json", "SELECT RecordId, AIModelName FROM CopilotActivity WHERE RecordId = '88cf8aaf-40c6-4b5e-9b94-dac1be798bd1'")
	if code != 0 || strings.TrimSpace(out) != "[\n{\"RecordId\":\"88cf8aaf-40c6-4b5e-9b94-dac1be798bd1\",\"AIModelName\":\"DEEP_LEO\"}\n]" {
		t.Errorf("sql json exit %d: %q", code, out)
	}
	out, _, code = run(t, "sql", "--data", data, "--format", "csv", "SELECT count(*) AS n FROM Quarantine")
	if code != 0 || out != "n\n3\n" {
		t.Errorf("sql csv exit %d: %q", code, out)
	}
	// A file that doesn't exist is named, and the exit code says so.
	_, stderr, code = run(t, "import", "--data", data, filepath.Join(data, "missing.jsonl"))
	if code != 1 || !strings.Contains(stderr, "missing.jsonl") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
}

// writeRecords writes n distinct synthetic Copilot records as JSONL.
func writeRecords(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, `{"CreationTime":"%s","Id":"%08x-0000-4000-8000-%012x","Operation":"CopilotInteraction","OrganizationId":"424b1fee-9709-4315-85d9-5954058b4714","RecordType":261,"UserKey":"k%d","UserType":0,"Version":1,"Workload":"Copilot","ClientIP":"192.0.2.%d","UserId":"user%d@contoso.example","CopilotEventData":{"AppHost":"Word","Contexts":[{"Id":"https:\/\/contoso.sharepoint.example\/doc%d.docx","Type":"docx"}],"Messages":[{"Id":"%d","isPrompt":true},{"Id":"%d","isPrompt":false}],"AccessedResources":[{"Id":"https:\/\/contoso.sharepoint.example\/r%d","Name":"Resource %d.docx","Type":"docx","Action":"Read"}],"ModelTransparencyDetails":[{"ModelName":"DEEP_LEO"}]}}`+"\n",
			base.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05"), i, i, i%200, i%250, i%97, i, i*7+1, i*7+2, i%1000, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestKilledImportCompletesOnRerun kills a real import process at several
// points and checks that re-running it stores every record exactly once.
func TestKilledImportCompletesOnRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	const n = 60000
	file := filepath.Join(t.TempDir(), "big.jsonl")
	writeRecords(t, file, n)
	data := t.TempDir()
	for _, delay := range []time.Duration{300 * time.Millisecond, 700 * time.Millisecond, 1200 * time.Millisecond} {
		cmd := exec.Command(binPath, "import", "--data", data, "--batch-size", "2000", file)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
	}
	stored := queryInt(t, data, `SELECT count(*) FROM CopilotActivity`)
	t.Logf("stored before the complete run: %d of %d", stored, n)
	out, stderr, code := run(t, "import", "--data", data, file)
	if code != 0 {
		t.Fatalf("rerun exit %d: %s %s", code, out, stderr)
	}
	want := fmt.Sprintf("read %d, stored %d, duplicates %d,", n, n-stored, stored)
	if !strings.Contains(out, want) {
		t.Errorf("rerun summary: want %q in %s", want, out)
	}
	if got := queryInt(t, data, `SELECT count(*) FROM CopilotActivity`); got != n {
		t.Errorf("rows %d, want %d", got, n)
	}
	if got := queryInt(t, data, `SELECT count(DISTINCT RecordId) FROM CopilotActivity`); got != n {
		t.Errorf("distinct ids %d, want %d", got, n)
	}
}

// Standard input and gzip: the same records, detected the same way.
func TestImportStdinAndGzip(t *testing.T) {
	data := t.TempDir()
	raw, err := os.ReadFile(fixtureDir + "purview-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "export.csv.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(gz, buf.Bytes(), 0o600)

	cmd := exec.Command(binPath, "import", "--data", data, "-")
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.Output()
	// Fixtures README: purview-export.csv reads 9, stores 7, 1 duplicate, 1 quarantined.
	if err != nil || !strings.Contains(string(out), "read 9, stored 7, duplicates 1, conflicts 0, skipped (not Copilot) 0, quarantined 1") {
		t.Fatalf("stdin import: %v %s", err, out)
	}
	stdout, _, code := run(t, "import", "--data", data, gz)
	if code != 0 || !strings.Contains(stdout, "read 9, stored 0, duplicates 8,") {
		t.Errorf("gzip import exit %d: %s", code, stdout)
	}
	// A forced wrong format quarantines what it cannot read, says where and why,
	// and fails: the rest of the file was not read.
	_, stderr, code := run(t, "import", "--data", data, "--format", "graph", fixtureDir+"purview-export.csv")
	if code != 1 || !strings.Contains(stderr, "purview-export.csv entry 1") || !strings.Contains(stderr, "not a Graph records page") ||
		!strings.Contains(stderr, "the rest of the input was not read") {
		t.Errorf("forced wrong format: exit %d %s", code, stderr)
	}
}

// Ctrl-C stops an import with exit 130 and a summary; a re-run completes it.
func TestInterruptedImport(t *testing.T) {
	if testing.Short() {
		t.Skip("signals real processes")
	}
	const n = 40000
	file := filepath.Join(t.TempDir(), "big.jsonl")
	writeRecords(t, file, n)
	data := t.TempDir()
	cmd := exec.Command(binPath, "import", "--data", data, "--batch-size", "2000", file)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(out.String(), "interrupted: read") {
		t.Skipf("the import finished before the signal (exit %v): %s", err, out.String())
	}
	stored := queryInt(t, data, `SELECT count(*) FROM CopilotActivity`)
	stdout, _, code := run(t, "import", "--data", data, file)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("stored %d, duplicates %d,", n-stored, stored)) {
		t.Errorf("re-run exit %d: %s (stored before %d)", code, stdout, stored)
	}
	if got := queryInt(t, data, `SELECT count(DISTINCT RecordId) FROM CopilotActivity`); got != n {
		t.Errorf("distinct ids %d, want %d", got, n)
	}
}

// A CSV forced as JSONL is read line by line, every line quarantined: the
// import says so and points at --format; a truncated .gz stores what came
// before the break, exits 1 and says how many files were read completely.
func TestImportWrongFormatAndTruncatedGzip(t *testing.T) {
	data := t.TempDir()
	out, stderr, code := run(t, "import", "-q", "--data", data, "--format", "jsonl", fixtureDir+"purview-export.csv")
	if code != 0 || !strings.Contains(out, "read 63, stored 0") || !strings.Contains(stderr, "every one of the 63 units of "+fixtureDir+"purview-export.csv was quarantined: is --format jsonl right for it?") {
		t.Errorf("exit %d:\n%s\n%s", code, out, stderr)
	}
	raw, err := os.ReadFile(fixtureDir + "copilot-interactions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	cut := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	if err := os.WriteFile(cut, gz.Bytes()[:gz.Len()*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = run(t, "import", "-q", "--data", data, cut)
	if code != 1 || !strings.Contains(out, "imported 0 of 1 file(s) completely: read ") || strings.Contains(out, "read 0,") ||
		!strings.Contains(stderr, ": cannot read input: unexpected EOF") {
		t.Errorf("exit %d:\n%s\n%s", code, out, stderr)
	}
}
