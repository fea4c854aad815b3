package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	guid1 = "424b1fee-9709-4315-85d9-5954058b4714"
	guid2 = "0b7e3c52-91d4-4a8f-b6e1-3f2a9c8d7e60"
	app1  = "6a1f0e7c-3b2d-4c5e-9f80-112233445566"
)

func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Problems
}

func TestLoadExample(t *testing.T) {
	t.Setenv("AIWATCH_CONTOSO_SECRET", "contoso-secret")
	t.Setenv("AIWATCH_API_TOKEN", "api-token")
	cfg, err := Load("testdata/aiwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "./aiwatch-data" || len(cfg.Tenants) != 2 {
		t.Fatalf("cfg = %+v", cfg)
	}
	c, f := cfg.Tenants[0], cfg.Tenants[1]
	if c.Name != "contoso" || c.TenantID != guid1 || c.ClientID != app1 || c.ClientSecretEnv != "AIWATCH_CONTOSO_SECRET" || c.Publisher != guid1 {
		t.Errorf("contoso = %+v", c)
	}
	if f.Name != "fabrikam" || f.Cloud != "gcchigh" || f.Backfill.D() != 72*time.Hour || f.PollInterval.D() != 10*time.Minute ||
		f.Endpoints.Management != "https://manage.office365.us" {
		t.Errorf("fabrikam = %+v", f)
	}
	want := Collector{PollInterval: Duration(5 * time.Minute), Backfill: Duration(24 * time.Hour),
		Overlap: Duration(time.Hour), Concurrency: 4, ContentTypes: []string{"Audit.General"}}
	if got := cfg.Collector; got.PollInterval != want.PollInterval || got.Backfill != want.Backfill ||
		got.Overlap != want.Overlap || got.Concurrency != 4 || !slices.Equal(got.ContentTypes, want.ContentTypes) {
		t.Errorf("collector = %+v", got)
	}
	fc := cfg.Collector.ForTenant(f)
	if fc.Backfill.D() != 72*time.Hour || fc.PollInterval.D() != 10*time.Minute || fc.Overlap.D() != time.Hour {
		t.Errorf("ForTenant = %+v", fc)
	}
	if s, err := c.Secret(); err != nil || s != "contoso-secret" {
		t.Errorf("contoso secret %q %v", s, err)
	}
	// The file holds a trailing newline, which is not part of the secret.
	if s, err := f.Secret(); err != nil || s != "fabrikam-example-secret" {
		t.Errorf("fabrikam secret %q %v", s, err)
	}
	cred, err := f.Credentials()
	if err != nil || cred.ClientID != "9c4d2e1f-7a6b-4c3d-8e9f-a0b1c2d3e4f5" || cred.ClientSecret != "fabrikam-example-secret" || cred.CertKey != nil {
		t.Errorf("credentials %v %v", cred, err)
	}
	ep, err := f.ResolveEndpoints()
	if err != nil || ep != (Endpoints{Login: "https://login.microsoftonline.us", Management: "https://manage.office365.us", Graph: "https://graph.microsoft.us/v1.0"}) {
		t.Errorf("endpoints %+v %v", ep, err)
	}
	ep, _ = c.ResolveEndpoints()
	if ep != (Endpoints{Login: "https://login.microsoftonline.com", Management: "https://manage.office.com", Graph: "https://graph.microsoft.com/v1.0"}) {
		t.Errorf("contoso endpoints %+v", ep)
	}
	if tok, err := cfg.Server.Token(); err != nil || tok != "api-token" || cfg.Server.Listen != "127.0.0.1:8080" {
		t.Errorf("server token %q %v", tok, err)
	}
}

func TestLoadExampleMissingSecrets(t *testing.T) {
	t.Setenv("AIWATCH_CONTOSO_SECRET", "")
	t.Setenv("AIWATCH_API_TOKEN", "")
	_, err := Load("testdata/aiwatch.yaml")
	want := []string{
		`tenants[0] (name "contoso"): client_secret_env "AIWATCH_CONTOSO_SECRET" is not set in the environment`,
		`server.token_env "AIWATCH_API_TOKEN" is not set in the environment, or is empty`,
	}
	if got := problems(t, err); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(err.Error(), "config testdata/aiwatch.yaml: 2 problems:\n") {
		t.Errorf("Error() = %q", err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaultsAndEmptyFile(t *testing.T) {
	cfg, err := Load(writeFile(t, "empty.yaml", ""))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if cfg.DataDir != "./aiwatch-data" || cfg.Collector.PollInterval.D() != 5*time.Minute || cfg.Collector.Backfill.D() != 24*time.Hour ||
		cfg.Collector.Overlap.D() != time.Hour || cfg.Collector.Concurrency != 4 || !slices.Equal(cfg.Collector.ContentTypes, []string{"Audit.General"}) ||
		cfg.Server.Listen != "127.0.0.1:8080" || cfg.DataDir != d.DataDir {
		t.Fatalf("defaults = %+v", cfg)
	}
	// A partial collector section keeps the other defaults.
	cfg, err = Load(writeFile(t, "c.yaml", "collector:\n  backfill: 7d\n  poll_interval: 90s\n"))
	if got := problems(t, err); !slices.Equal(got, []string{"collector.backfill 7d exceeds the 7 days the Management API keeps; at most 167h"}) {
		t.Fatalf("problems %q", got)
	}
	if cfg.Collector.Backfill.D() != 168*time.Hour || cfg.Collector.PollInterval.D() != 90*time.Second || cfg.Collector.Concurrency != 4 {
		t.Fatalf("collector = %+v", cfg.Collector)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	path := writeFile(t, "bad.yaml", `data_dir: /tmp/x
tenants:
  - name: contoso
    tenant_id: 424b1fee-9709-4315-85d9-5954058b4714
    client_id: 6a1f0e7c-3b2d-4c5e-9f80-112233445566
    client_secret: hunter2
    endpoints:
      manage: https://x.example
collector:
  pollinterval: 5m
`)
	_, err := Load(path)
	want := []string{
		`line 6: unknown key "client_secret" in a tenants entry; valid keys: name, tenant_id, client_id, client_secret_env, client_secret_file, certificate_file, key_file, cloud, endpoints, backfill, poll_interval, publisher_identifier, content_types`,
		`line 8: unknown key "manage" in a tenant's endpoints; valid keys: login, management, graph`,
		`line 10: unknown key "pollinterval" in collector; valid keys: poll_interval, backfill, overlap, concurrency, content_types`,
		// The rest of the file is still validated.
		`tenants[0] (name "contoso"): set exactly one of client_secret_env, client_secret_file, certificate_file`,
	}
	if got := problems(t, err); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal("error repeats a value from the file")
	}

	_, err = Load(writeFile(t, "top.yaml", "datadir: x\n"))
	// Only the unknown key: the defaults are valid.
	if got := problems(t, err); len(got) != 1 || !strings.HasPrefix(got[0], `line 1: unknown key "datadir" at the top level; valid keys: data_dir, tenants, collector, server`) {
		t.Fatalf("problems %q", got)
	}
}

func TestLoadBadValues(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"collector:\n  backfill: 7 days\n", `line 2: invalid duration "7 days"`},
		{"collector:\n  overlap: 300\n", `line 2: invalid duration "300"`},
		{"collector:\n  concurrency: many\n", "line 2: cannot unmarshal !!str `many` into int"},
		{"tenants: [\n", "did not find expected node content"},
	}
	for _, tc := range tests {
		_, err := Load(writeFile(t, "v.yaml", tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to contain %q", tc.yaml, err, tc.want)
		}
	}
	// Bad values do not stop the decoder: every one is reported.
	_, err := Load(writeFile(t, "many.yaml", "collector:\n  backfill: 7 days\n  overlap: 300\n  concurrency: many\n"))
	want := []string{
		`line 2: invalid duration "7 days": use a number with a unit, e.g. 30s, 5m, 24h, 7d (whole days only)`,
		`line 3: invalid duration "300": use a number with a unit, e.g. 30s, 5m, 24h, 7d (whole days only)`,
		"line 4: cannot unmarshal !!str `many` into int",
	}
	if got := problems(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.HasPrefix(err.Error(), "cannot read config: ") {
		t.Errorf("missing file: %v", err)
	}
}

func validTenant(name, id string) Tenant {
	return Tenant{Name: name, TenantID: id, ClientID: app1, ClientSecretEnv: "AIWATCH_TEST_SECRET"}
}

func TestValidateMessages(t *testing.T) {
	t.Setenv("AIWATCH_TEST_SECRET", "x")
	t.Setenv("AIWATCH_UNSET", "")
	secretDir := t.TempDir()
	emptySecret := filepath.Join(secretDir, "empty.txt")
	if err := os.WriteFile(emptySecret, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(secretDir, "nope.txt")

	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"valid", func(c *Config) {}, nil},
		{"tenant id not a GUID", func(c *Config) { c.Tenants[1].TenantID = "abc" },
			[]string{`tenants[1] (name "fabrikam"): tenant_id "abc" is not a GUID`}},
		{"missing ids and name", func(c *Config) { c.Tenants[0] = Tenant{ClientSecretEnv: "AIWATCH_TEST_SECRET"} },
			[]string{
				`tenants[0]: name is missing; give each tenant a short unique name`,
				`tenants[0]: tenant_id is missing; it is the directory (tenant) GUID from Entra ID`,
				`tenants[0]: client_id is missing; it is the application (client) GUID of the Entra ID app`,
			}},
		{"bad name, bad client id", func(c *Config) { c.Tenants[0].Name = "con toso"; c.Tenants[0].ClientID = "app" },
			[]string{
				`tenants[0] (name "con toso"): name "con toso" may hold only letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`tenants[0] (name "con toso"): client_id "app" is not a GUID`,
			}},
		{"no credential", func(c *Config) { c.Tenants[0].ClientSecretEnv = "" },
			[]string{`tenants[0] (name "contoso"): set exactly one of client_secret_env, client_secret_file, certificate_file`}},
		{"two credentials", func(c *Config) { c.Tenants[0].ClientSecretFile = "/run/secret" },
			[]string{`tenants[0] (name "contoso"): set exactly one of client_secret_env, client_secret_file, certificate_file`}},
		{"env not set", func(c *Config) { c.Tenants[0].ClientSecretEnv = "AIWATCH_UNSET" },
			[]string{`tenants[0] (name "contoso"): client_secret_env "AIWATCH_UNSET" is not set in the environment`}},
		{"detection values", func(c *Config) {
			c.Detection.Horizon = Duration(time.Minute)
			c.Detection.Interval = 0
			c.Detection.Rules = []string{missing}
			c.Detection.Labels = []Label{{ID: "a1", Name: "General", Rank: 1}, {ID: "A1", Name: "Secret", Rank: 3}, {Name: "x"}, {ID: "b2"}}
		}, []string{
			"detection.horizon 1m must be between 1h and 180d",
			"detection.interval 0s must be between 1s and 24h",
			`detection.rules[0] "` + missing + `" cannot be read: no such file or directory`,
			"detection.labels[1]: id A1 is listed twice",
			"detection.labels[2] has no id; give the sensitivity label's GUID",
			"detection.labels[3] (id b2) has no name",
		}},
		{"secret file missing", func(c *Config) { c.Tenants[0].ClientSecretEnv = ""; c.Tenants[0].ClientSecretFile = missing },
			[]string{`tenants[0] (name "contoso"): client_secret_file "` + missing + `" cannot be read: no such file or directory`}},
		{"secret file empty", func(c *Config) { c.Tenants[0].ClientSecretEnv = ""; c.Tenants[0].ClientSecretFile = emptySecret },
			[]string{`tenants[0] (name "contoso"): client_secret_file "` + emptySecret + `" is empty`}},
		{"key file alone", func(c *Config) { c.Tenants[0].KeyFile = "/k.pem" },
			[]string{`tenants[0] (name "contoso"): key_file is set without certificate_file`}},
		{"backfill 9d", func(c *Config) { c.Collector.Backfill = Duration(9 * 24 * time.Hour) },
			[]string{`collector.backfill 9d exceeds the 7 days the Management API keeps; at most 167h`}},
		{"backfill 167h ok", func(c *Config) { c.Collector.Backfill = Duration(167 * time.Hour) }, nil},
		{"tenant backfill 168h", func(c *Config) { c.Tenants[1].Backfill = Duration(168 * time.Hour) },
			[]string{`tenants[1] (name "fabrikam"): backfill 7d exceeds the 7 days the Management API keeps; at most 167h`}},
		{"duplicates", func(c *Config) { c.Tenants = append(c.Tenants, validTenant("contoso", strings.ToUpper(guid2))) },
			[]string{
				`tenants[2] (name "contoso"): name "contoso" is also used by tenants[0]`,
				`tenants[2] (name "contoso"): tenant_id "0B7E3C52-91D4-4A8F-B6E1-3F2A9C8D7E60" is also used by tenants[1]`,
			}},
		{"unknown cloud", func(c *Config) { c.Tenants[0].Cloud = "azurechina" },
			[]string{`tenants[0] (name "contoso"): cloud "azurechina" is unknown; use one of commercial, gcc, gcchigh, dod`}},
		{"endpoints", func(c *Config) {
			c.Tenants[0].Endpoints = Endpoints{Login: "login.example", Management: "ftp://m.example", Graph: "http://127.0.0.1:9000/v1.0"}
		}, []string{
			`tenants[0] (name "contoso"): endpoints.login "login.example" must be an absolute http(s) URL such as https://manage.office.com`,
			`tenants[0] (name "contoso"): endpoints.management "ftp://m.example" must be an absolute http(s) URL such as https://manage.office.com`,
		}},
		{"publisher", func(c *Config) { c.Tenants[0].Publisher = "me" },
			[]string{`tenants[0] (name "contoso"): publisher_identifier "me" is not a GUID; use your own tenant's GUID`}},
		{"collector limits", func(c *Config) {
			c.Collector.PollInterval = 0
			c.Collector.Overlap = Duration(25 * time.Hour)
			c.Collector.Concurrency = 0
			c.Collector.ContentTypes = []string{"Audit.General", "Audit.Copilot", "Audit.General"}
		}, []string{
			`collector.poll_interval 0s must be at least 1s`,
			`collector.overlap 25h must be between 0 and 24h`,
			`collector.concurrency 0 must be between 1 and 64`,
			`collector.content_types: content type "Audit.Copilot" is unknown; use one of Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All`,
			`collector.content_types: content type "Audit.General" is listed twice`,
		}},
		{"no content types", func(c *Config) { c.Collector.ContentTypes = nil },
			[]string{`collector.content_types is empty; Copilot records arrive in Audit.General`}},
		{"data dir", func(c *Config) { c.DataDir = " " },
			[]string{`data_dir is empty; set the directory that holds the database`}},
		{"server", func(c *Config) { c.Server.Listen = "8080" },
			[]string{`server.listen "8080" is not host:port, e.g. 127.0.0.1:8080, or off`}},
		{"server open without token", func(c *Config) { c.Server.Listen = "0.0.0.0:8080" },
			[]string{`server.listen "0.0.0.0:8080" is not a loopback address; set server.token_env or server.token_file so the API requires a token`}},
		{"server open with token", func(c *Config) { c.Server.Listen = ":8080"; c.Server.TokenEnv = "AIWATCH_TEST_SECRET" }, nil},
		{"server two tokens", func(c *Config) { c.Server.TokenEnv = "A"; c.Server.TokenFile = "/b" },
			[]string{`server: set at most one of token_env, token_file`}},
		{"server token file missing", func(c *Config) { c.Server.TokenFile = missing },
			[]string{`server.token_file "` + missing + `" cannot be read: no such file or directory`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Tenants = []Tenant{validTenant("contoso", guid1), validTenant("fabrikam", guid2)}
			tc.modify(&c)
			got := problems(t, c.Validate())
			if !slices.Equal(got, tc.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestSecretFromFileTrimsOneNewline(t *testing.T) {
	for content, want := range map[string]string{
		"abc\n":      "abc",
		"abc\r\n":    "abc",
		"abc":        "abc",
		"a b c \n\n": "a b c ",
	} {
		tn := Tenant{ClientSecretFile: writeFile(t, "s", content)}
		if got, err := tn.Secret(); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", content, got, err, want)
		}
	}
	if _, err := (Tenant{CertificateFile: "x.pem"}).Secret(); err == nil {
		t.Error("certificate tenant returned a secret")
	}
}

// Whitespace around a token in its file (an editor's trailing space) is not
// part of it; a file of whitespace is empty.
func TestServerTokenTrimmed(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{"tok123 \n": "tok123", "\ttok123\r\n": "tok123", "   \n": ""} {
		f := filepath.Join(dir, "token")
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Server{TokenFile: f}.Token()
		if want == "" {
			if err == nil || !strings.Contains(err.Error(), "is empty") {
				t.Errorf("%q: token %q, err %v; want it refused as empty", content, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: token %q, err %v; want %q", content, got, err, want)
		}
	}
}

// server.listen "off" is valid: collect then serves no /metrics or /status.
func TestListenOff(t *testing.T) {
	c := Default()
	c.Server.Listen = "off"
	if err := c.Validate(); err != nil {
		t.Errorf("listen off: %v", err)
	}
}

// Check refuses a file without settings, which Load accepts (commands run
// on the defaults); a file with only data_dir, for import-only use, passes
// both.
func TestCheckNoSettings(t *testing.T) {
	const none = "the file holds no settings; add tenants to collect from, or at least data_dir to import and query without collecting"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "", []string{none}},
		{"only comments", "# aiwatch\n\n# todo\n", []string{none}},
		{"document marker", "---\n", []string{none}},
		{"null", "~\n", []string{none}},
		{"empty mapping", "{}\n", []string{none}},
		{"only data_dir", "data_dir: ./imports\n", nil},
		{"no tenants", "tenants: []\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tc.yaml)
			if _, err := Load(path); err != nil {
				t.Fatalf("Load: %v", err)
			}
			cfg, err := Check(path)
			if got := problems(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
			if err != nil && err.Error() != "config "+path+": "+none {
				t.Fatalf("err %q", err)
			}
			if cfg.Collector.Concurrency != Default().Collector.Concurrency {
				t.Fatalf("defaults not kept: %+v", cfg.Collector)
			}
		})
	}
}

// A syntax error names the file and the line to fix, not the start of the
// block the YAML parser was in.
func TestLoadSyntaxErrorLine(t *testing.T) {
	const indent = " (check this line's indentation against the lines above)"
	tests := []struct{ name, yaml, want string }{
		{"tenant key one space short", "data_dir: ./x\ntenants:\n  - name: contoso\n   tenant_id: 424b1fee-9709-4315-85d9-5954058b4714\n",
			"line 4: did not find expected '-' indicator" + indent},
		{"collector key one space short", "collector:\n  poll_interval: 5m\n  overlap: 1h\n backfill: 24h\n",
			"line 4: did not find expected key" + indent},
		{"tab", "collector:\n\tbackfill: 24h\n",
			"line 2: found character that cannot start any token (this line is indented with a tab; YAML indents with spaces only)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tc.yaml)
			_, err := Load(path)
			if err == nil || err.Error() != "config "+path+": "+tc.want {
				t.Fatalf("err = %v, want %q", err, "config "+path+": "+tc.want)
			}
		})
	}
}

// Settings in a second YAML document are named, not silently dropped; a
// trailing --- with nothing after it is fine.
func TestSecondDocument(t *testing.T) {
	const second = "line 3: this is in a second YAML document (after a ---), which aiwatch does not read: put every setting in the first"
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"second document", "data_dir: ./d\n---\ndata_dir: ./e\n", []string{second}},
		{"trailing marker", "data_dir: ./d\n---\n", nil},
		{"leading marker", "---\ndata_dir: ./d\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, "c.yaml", tc.yaml))
			if got := problems(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
			if cfg.DataDir != "./d" {
				t.Fatalf("data_dir %q, want ./d", cfg.DataDir)
			}
		})
	}
}
