// Package config reads and validates aiwatch's YAML configuration. Secrets
// are never in the file itself: it names an environment variable or a file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aiwatch/aiwatch/internal/automate"
	"github.com/aiwatch/aiwatch/internal/o365"
	"github.com/aiwatch/aiwatch/internal/yamlerr"
)

// Config is the whole file.
type Config struct {
	DataDir   string    `yaml:"data_dir"`
	Tenants   []Tenant  `yaml:"tenants"`
	Collector Collector `yaml:"collector"`
	Server    Server    `yaml:"server"`
	Detection Detection `yaml:"detection"`
	// Automation: automation rules and playbooks run on incident changes.
	Automation automate.Config `yaml:"automation"`
}

// Detection configures the rule scheduler.
type Detection struct {
	// BuiltinRules runs the Copilot rule pack shipped in the binary.
	BuiltinRules bool `yaml:"builtin_rules"`
	// Rules are more rule files or directories (Sentinel analytic-rule YAML).
	Rules []string `yaml:"rules"`
	// Disabled turns off rules by id or name (e.g. pack rules).
	Disabled []string `yaml:"disabled_rules"`
	// Horizon: late records whose event time is older than this are not
	// evaluated again.
	Horizon Duration `yaml:"horizon"`
	// Interval between scheduler passes under aiwatch serve.
	Interval Duration `yaml:"interval"`
	// Labels name and rank sensitivity label ids (higher rank = more
	// sensitive) for rules, through the SensitivityLabel table.
	Labels []Label `yaml:"labels"`
}

// Label is one sensitivity label.
type Label struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Rank int    `yaml:"rank"`
}

// Collector tunes the Management API collector.
type Collector struct {
	PollInterval Duration `yaml:"poll_interval"`
	// Backfill is how far back a new tenant starts listing.
	Backfill Duration `yaml:"backfill"`
	// Overlap is re-listed before each cursor so late blobs are caught.
	Overlap      Duration `yaml:"overlap"`
	Concurrency  int      `yaml:"concurrency"` // blob fetches in flight per tenant
	ContentTypes []string `yaml:"content_types"`
}

// Server is the HTTP API.
type Server struct {
	Listen    string `yaml:"listen"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

// Limits and defaults.
const (
	// MaxBackfill keeps a margin under the 7 days the Management API keeps
	// content, so a window computed now is still valid when it is sent.
	MaxBackfill    = 7*24*time.Hour - time.Hour
	MaxOverlap     = 24 * time.Hour
	MaxConcurrency = 64
	MinPoll        = time.Second
)

// ContentTypes are the Management API's content types.
var ContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

// Default is the configuration before the file is applied.
func Default() Config {
	return Config{
		DataDir: "./aiwatch-data",
		Collector: Collector{
			PollInterval: Duration(5 * time.Minute),
			Backfill:     Duration(24 * time.Hour),
			Overlap:      Duration(time.Hour),
			Concurrency:  4,
			ContentTypes: []string{"Audit.General"},
		},
		Server: Server{Listen: "127.0.0.1:8080"},
		Detection: Detection{
			BuiltinRules: true,
			Horizon:      Duration(7 * 24 * time.Hour),
			Interval:     Duration(time.Minute),
		},
		Automation: automate.Default(),
	}
}

// ForTenant returns the collector settings with t's overrides applied.
func (c Collector) ForTenant(t Tenant) Collector {
	if t.Backfill != 0 {
		c.Backfill = t.Backfill
	}
	if t.PollInterval != 0 {
		c.PollInterval = t.PollInterval
	}
	if len(t.ContentTypes) > 0 {
		c.ContentTypes = slices.Clone(t.ContentTypes)
	}
	return c
}

// Token reads the API bearer token from token_env or token_file ("" when
// neither is set).
func (s Server) Token() (string, error) {
	switch {
	case s.TokenEnv != "":
		// Whitespace around a token is a copy-and-paste slip, never part of it.
		v := strings.TrimSpace(os.Getenv(s.TokenEnv))
		if v == "" {
			return "", fmt.Errorf("server.token_env %q is not set in the environment, or is empty", s.TokenEnv)
		}
		return v, nil
	case s.TokenFile != "":
		b, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return "", fmt.Errorf("server.token_file %q cannot be read: %s", s.TokenFile, pathErr(err))
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("server.token_file %q is empty", s.TokenFile)
		}
		return v, nil
	}
	return "", nil
}

// ValidationError lists every problem found, each one actionable.
type ValidationError struct {
	Problems []string
	// Credentials are the problems (also in Problems) of a tenant's secret
	// or certificate that cannot be read. A collector can run without that
	// tenant: it fails on its own, as a tenant whose secret is refused does.
	Credentials []string
}

// OnlyCredentials reports whether every problem is a credential problem.
func (e *ValidationError) OnlyCredentials() bool {
	return len(e.Problems) > 0 && len(e.Credentials) == len(e.Problems)
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d problems:\n%s", len(e.Problems), strings.Join(e.Problems, "\n"))
}

// Load reads path over Default, rejects unknown keys, and validates.
// Relative paths inside the file are relative to the working directory.
// A file without settings is valid: commands run on the defaults.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("cannot read config: %w", err)
	}
	return load(path, data)
}

// Check is Load for aiwatch config check, which also refuses a file that
// holds no settings: checking one is most likely checking the wrong file.
func Check(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("cannot read config: %w", err)
	}
	cfg, err := load(path, data)
	if err == nil && noSettings(data) {
		err = fmt.Errorf("config %s: %w", path, &ValidationError{Problems: []string{
			"the file holds no settings; add tenants to collect from, or at least data_dir to import and query without collecting"}})
	}
	return cfg, err
}

// noSettings reports whether data is YAML without a value: empty, only
// comments, null or an empty mapping.
func noSettings(data []byte) bool {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return errors.Is(err, io.EOF)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return (n.Kind == yaml.MappingNode && len(n.Content) == 0) || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func load(path string, data []byte) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var problems []string
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var ve *ValidationError
		if !errors.As(yamlError(err), &ve) {
			return Config{}, fmt.Errorf("config %s: %w", path, yamlerr.Syntax(data, err))
		}
		// Type errors leave the rest of the file decoded: validate it too, so
		// the user sees every problem in one run.
		problems = ve.Problems
	}
	// A second document would otherwise be ignored without a word.
	var next yaml.Node
	if err := dec.Decode(&next); err == nil && len(next.Content) > 0 && !(next.Content[0].Kind == yaml.ScalarNode && next.Content[0].Tag == "!!null") {
		problems = append(problems, fmt.Sprintf("line %d: this is in a second YAML document (after a ---), which aiwatch does not read: put every setting in the first", next.Content[0].Line))
	}
	var ve *ValidationError
	var cred []string
	if errors.As(cfg.Validate(), &ve) {
		problems = append(problems, ve.Problems...)
		cred = ve.Credentials
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("config %s: %w", path, &ValidationError{Problems: problems, Credentials: cred})
	}
	return cfg, nil
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type ((?:config|automate)\.\w+)$`)

// sections names where each struct sits in the file, for messages.
var sections = map[string]struct {
	where string
	typ   reflect.Type
}{
	"config.Config":      {"at the top level", reflect.TypeFor[Config]()},
	"config.Tenant":      {"in a tenants entry", reflect.TypeFor[Tenant]()},
	"config.Endpoints":   {"in a tenant's endpoints", reflect.TypeFor[Endpoints]()},
	"config.Collector":   {"in collector", reflect.TypeFor[Collector]()},
	"config.Server":      {"in server", reflect.TypeFor[Server]()},
	"config.Detection":   {"in detection", reflect.TypeFor[Detection]()},
	"config.Label":       {"in a detection.labels entry", reflect.TypeFor[Label]()},
	"automate.Config":    {"in automation", reflect.TypeFor[automate.Config]()},
	"automate.Rule":      {"in an automation.automation_rules entry", reflect.TypeFor[automate.Rule]()},
	"automate.Condition": {"in an automation rule's conditions", reflect.TypeFor[automate.Condition]()},
	"automate.Action":    {"in an automation rule's actions", reflect.TypeFor[automate.Action]()},
	"automate.Playbook":  {"in an automation.playbooks entry", reflect.TypeFor[automate.Playbook]()},
	"automate.SMTP":      {"in a playbook's smtp", reflect.TypeFor[automate.SMTP]()},
	"automate.Delivery":  {"in automation.delivery", reflect.TypeFor[automate.Delivery]()},
}

// yamlError turns yaml's type errors into one problem per line, naming the
// unknown key, where it is, and the keys allowed there.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	problems := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		m := unknownField.FindStringSubmatch(e)
		if m == nil {
			problems = append(problems, e)
			continue
		}
		s, ok := sections[m[3]]
		if !ok {
			problems = append(problems, e)
			continue
		}
		problems = append(problems, fmt.Sprintf("line %s: unknown key %q %s; valid keys: %s", m[1], m[2], s.where, strings.Join(yamlKeys(s.typ), ", ")))
	}
	return &ValidationError{Problems: problems}
}

func yamlKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate returns every problem at once as a *ValidationError. It also
// checks that named secrets exist and certificates load, without keeping
// their values.
func (c Config) Validate() error {
	var p, cred []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir is empty; set the directory that holds the database")
	}
	col := c.Collector
	checkPoll(add, "collector.poll_interval", col.PollInterval)
	checkBackfill(add, "collector.backfill", col.Backfill)
	if col.Overlap < 0 || col.Overlap.D() > MaxOverlap {
		add("collector.overlap %s must be between 0 and %s", col.Overlap, Duration(MaxOverlap))
	}
	if col.Concurrency < 1 || col.Concurrency > MaxConcurrency {
		add("collector.concurrency %d must be between 1 and %d", col.Concurrency, MaxConcurrency)
	}
	if len(col.ContentTypes) == 0 {
		add("collector.content_types is empty; Copilot records arrive in Audit.General")
	}
	checkTypes(add, "collector.content_types", col.ContentTypes)

	names := map[string]int{}
	ids := map[string]int{}
	now := time.Now()
	for i, t := range c.Tenants {
		at := fmt.Sprintf("tenants[%d]", i)
		if t.Name != "" {
			at += fmt.Sprintf(" (name %q)", t.Name)
		}
		tadd := func(format string, args ...any) { add(at+": "+format, args...) }
		// A credential that cannot be read fails that tenant only.
		cadd := func(err error) {
			tadd("%v", err)
			cred = append(cred, p[len(p)-1])
		}

		switch {
		case t.Name == "":
			tadd("name is missing; give each tenant a short unique name")
		case !nameRE.MatchString(t.Name):
			tadd("name %q may hold only letters, digits, '.', '_' and '-', starting with a letter or digit", t.Name)
		default:
			if j, dup := names[t.Name]; dup {
				tadd("name %q is also used by tenants[%d]", t.Name, j)
			} else {
				names[t.Name] = i
			}
		}
		switch {
		case t.TenantID == "":
			tadd("tenant_id is missing; it is the directory (tenant) GUID from Entra ID")
		case !guidRE.MatchString(t.TenantID):
			tadd("tenant_id %q is not a GUID", t.TenantID)
		default:
			k := strings.ToLower(t.TenantID)
			if j, dup := ids[k]; dup {
				tadd("tenant_id %q is also used by tenants[%d]", t.TenantID, j)
			} else {
				ids[k] = i
			}
		}
		switch {
		case t.ClientID == "":
			tadd("client_id is missing; it is the application (client) GUID of the Entra ID app")
		case !guidRE.MatchString(t.ClientID):
			tadd("client_id %q is not a GUID", t.ClientID)
		}

		set := 0
		for _, v := range []string{t.ClientSecretEnv, t.ClientSecretFile, t.CertificateFile} {
			if v != "" {
				set++
			}
		}
		switch {
		case set != 1:
			tadd("set exactly one of client_secret_env, client_secret_file, certificate_file")
		case t.CertificateFile != "":
			if err := t.checkCertificate(now); err != nil {
				cadd(err)
			}
		default:
			if _, err := t.Secret(); err != nil {
				cadd(err)
			}
		}
		if t.KeyFile != "" && t.CertificateFile == "" {
			tadd("key_file is set without certificate_file")
		}

		if _, _, err := o365.Endpoints(o365.Cloud(t.Cloud)); err != nil {
			tadd("cloud %q is unknown; use one of commercial, gcc, gcchigh, dod", t.Cloud)
		}
		for _, e := range []struct{ key, val string }{
			{"endpoints.login", t.Endpoints.Login},
			{"endpoints.management", t.Endpoints.Management},
			{"endpoints.graph", t.Endpoints.Graph},
		} {
			if e.val != "" && !absHTTP(e.val) {
				tadd("%s %q must be an absolute http(s) URL such as https://manage.office.com", e.key, e.val)
			}
		}
		if t.Publisher != "" && !guidRE.MatchString(t.Publisher) {
			tadd("publisher_identifier %q is not a GUID; use your own tenant's GUID", t.Publisher)
		}
		if t.Backfill != 0 {
			checkBackfill(tadd, "backfill", t.Backfill)
		}
		if t.PollInterval != 0 {
			checkPoll(tadd, "poll_interval", t.PollInterval)
		}
		checkTypes(tadd, "content_types", t.ContentTypes)
	}

	srv := c.Server
	// "off": collect serves no /metrics or /status (serve refuses it).
	host, _, err := "127.0.0.1", "", error(nil)
	if srv.Listen != "off" {
		if host, _, err = net.SplitHostPort(srv.Listen); err != nil {
			add("server.listen %q is not host:port, e.g. 127.0.0.1:8080, or off", srv.Listen)
		}
	}
	switch {
	case srv.TokenEnv != "" && srv.TokenFile != "":
		add("server: set at most one of token_env, token_file")
	case srv.TokenEnv != "" || srv.TokenFile != "":
		if _, err := srv.Token(); err != nil {
			add("%v", err)
		}
	case err == nil && !loopback(host):
		add("server.listen %q is not a loopback address; set server.token_env or server.token_file so the API requires a token", srv.Listen)
	}

	det := c.Detection
	if det.Horizon.D() < time.Hour || det.Horizon.D() > 180*24*time.Hour {
		add("detection.horizon %s must be between 1h and 180d", det.Horizon)
	}
	if det.Interval.D() < time.Second || det.Interval.D() > 24*time.Hour {
		add("detection.interval %s must be between 1s and 24h", det.Interval)
	}
	for i, r := range det.Rules {
		if _, err := os.Stat(r); err != nil {
			add("detection.rules[%d] %q cannot be read: %s", i, r, pathErr(err))
		}
	}
	labelIDs := map[string]bool{}
	for i, l := range det.Labels {
		switch {
		case strings.TrimSpace(l.ID) == "":
			add("detection.labels[%d] has no id; give the sensitivity label's GUID", i)
		case labelIDs[strings.ToLower(l.ID)]:
			add("detection.labels[%d]: id %s is listed twice", i, l.ID)
		}
		labelIDs[strings.ToLower(l.ID)] = true
		if strings.TrimSpace(l.Name) == "" {
			add("detection.labels[%d] (id %s) has no name", i, l.ID)
		}
	}

	if err := c.Automation.Validate(); err != nil {
		var ae *automate.ValidationError
		if errors.As(err, &ae) {
			p = append(p, ae.Problems...)
		} else {
			add("%v", err)
		}
	}

	if len(p) > 0 {
		return &ValidationError{Problems: p, Credentials: cred}
	}
	return nil
}

type addFunc func(format string, args ...any)

func checkBackfill(add addFunc, field string, d Duration) {
	if d < 0 {
		add("%s %s must not be negative", field, d)
	} else if d.D() > MaxBackfill {
		add("%s %s exceeds the 7 days the Management API keeps; at most %s", field, d, Duration(MaxBackfill))
	}
}

func checkPoll(add addFunc, field string, d Duration) {
	if d.D() < MinPoll {
		add("%s %s must be at least %s", field, d, Duration(MinPoll))
	}
}

func checkTypes(add addFunc, field string, types []string) {
	seen := map[string]bool{}
	for _, ct := range types {
		if !slices.Contains(ContentTypes, ct) {
			add("%s: content type %q is unknown; use one of %s", field, ct, strings.Join(ContentTypes, ", "))
		} else if seen[ct] {
			add("%s: content type %q is listed twice", field, ct)
		}
		seen[ct] = true
	}
}

func absHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
