package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errb)
	rootCmd.SetArgs(args)
	t.Cleanup(func() { rootCmd.SetOut(nil); rootCmd.SetErr(nil); rootCmd.SetArgs(nil) })
	err = rootCmd.Execute()
	return out.String(), errb.String(), err
}

func TestConfigCheckOK(t *testing.T) {
	t.Setenv("AIWATCH_CONTOSO_SECRET", "x")
	t.Setenv("AIWATCH_API_TOKEN", "y")
	// The example names its secret file relative to the config package.
	t.Chdir("../../internal/config")
	out, _, err := runCLI(t, "config", "check", "testdata/aiwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out != "config OK: 2 tenants (contoso, fabrikam), data_dir ./aiwatch-data\n" {
		t.Fatalf("stdout = %q", out)
	}
}

func TestConfigCheckProblems(t *testing.T) {
	t.Setenv("AIWATCH_NOPE", "")
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`data_dir: /var/lib/aiwatch
tenants:
  - name: fabrikam
    tenant_id: abc
    client_id: 6a1f0e7c-3b2d-4c5e-9f80-112233445566
    client_secret_env: AIWATCH_NOPE
collector:
  backfill: 9d
`), 0o600)
	out, stderr, err := runCLI(t, "config", "check", path)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || ee.msg != "config "+path+": 3 problems" {
		t.Fatalf("err = %#v", err)
	}
	want := strings.Join([]string{
		`collector.backfill 9d exceeds the 7 days the Management API keeps; at most 167h`,
		`tenants[0] (name "fabrikam"): tenant_id "abc" is not a GUID`,
		`tenants[0] (name "fabrikam"): client_secret_env "AIWATCH_NOPE" is not set in the environment`,
	}, "\n") + "\n"
	if out != "" || stderr != want {
		t.Fatalf("stdout %q\nstderr:\n%s\nwant:\n%s", out, stderr, want)
	}
}

func TestConfigCheckUnreadable(t *testing.T) {
	_, _, err := runCLI(t, "config", "check", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "cannot read config: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigCheckNoSettingsOrTenants(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml     string
		stdout, stderr string
		code           int // 0: no error
	}{
		{"empty", "", "", "the file holds no settings; add tenants to collect from, or at least data_dir to import and query without collecting\n", 1},
		{"only comments", "# later\n", "", "the file holds no settings; add tenants to collect from, or at least data_dir to import and query without collecting\n", 1},
		{"only data_dir", "data_dir: ./imports\n", "config OK: 0 tenants (nothing to collect: collect needs one under tenants:), data_dir ./imports\n", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := runCLI(t, "config", "check", path)
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
				if ee.msg != "config "+path+": 1 problem" {
					t.Fatalf("exit message %q", ee.msg)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || out != tc.stdout || stderr != tc.stderr {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
