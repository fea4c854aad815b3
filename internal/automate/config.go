package automate

import (
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the automation section of the configuration file.
type Config struct {
	Rules     []Rule     `yaml:"automation_rules"`
	Playbooks []Playbook `yaml:"playbooks"`
	Delivery  Delivery   `yaml:"delivery"`
	// IncidentURL links messages to the incident: {id} and {number} are
	// replaced, e.g. https://aiwatch.contoso.com/incidents/{number}.
	IncidentURL string `yaml:"incident_url"`
}

// Rule is an automation rule: when its trigger fires and all its
// conditions hold, its actions run in order.
type Rule struct {
	Name       string      `yaml:"name"`
	Order      int         `yaml:"order"`   // rules run by ascending order, ties in file order
	Enabled    *bool       `yaml:"enabled"` // default true
	Trigger    string      `yaml:"trigger"` // incident_created (default), incident_updated, both
	Conditions []Condition `yaml:"conditions"`
	Actions    []Action    `yaml:"actions"`
}

// Condition compares one incident field with a value or a list of values.
// Comparisons ignore case. On a field with several values (tactic, tag,
// entity_value …) a positive operator holds when any value matches, and
// not_equals / not_in hold when none does.
type Condition struct {
	Field    string   `yaml:"field"`
	Operator string   `yaml:"operator"`
	Value    *string  `yaml:"value"`  // equals, not_equals, contains, starts_with
	Values   []string `yaml:"values"` // in, not_in
}

// Action is one step of a rule; exactly one key is set.
type Action struct {
	AssignOwner string   `yaml:"assign_owner"`
	SetStatus   string   `yaml:"set_status"`
	SetSeverity string   `yaml:"set_severity"`
	AddTags     []string `yaml:"add_tags"`
	RunPlaybook string   `yaml:"run_playbook"`
}

// Playbook is a notification or action outside aiwatch.
type Playbook struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // webhook, teams, slack, email, command

	// webhook, teams, slack: the URL, inline or (as it usually holds a
	// token) from the environment or a file.
	URL     string `yaml:"url"`
	URLEnv  string `yaml:"url_env"`
	URLFile string `yaml:"url_file"`

	// webhook: the HMAC-SHA256 key, and extra headers; headers_env maps a
	// header to the environment variable holding its value (for tokens).
	SecretEnv  string            `yaml:"secret_env"`
	SecretFile string            `yaml:"secret_file"`
	Headers    map[string]string `yaml:"headers"`
	HeadersEnv map[string]string `yaml:"headers_env"`

	SMTP SMTP `yaml:"smtp"` // email

	// command: argv (no shell), the event JSON on stdin; env names the
	// variables passed through from aiwatch's environment besides PATH.
	Command []string `yaml:"command"`
	Env     []string `yaml:"env"`

	// Timeout bounds one attempt; default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// SMTP is an email playbook's server and message.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"` // default 587, or 465 with implicit_tls
	// StartTLS: auto (default: upgrade when the server offers it), required
	// (refuse to send otherwise), never.
	StartTLS     string   `yaml:"starttls"`
	ImplicitTLS  bool     `yaml:"implicit_tls"` // TLS from the first byte (port 465)
	Username     string   `yaml:"username"`
	PasswordEnv  string   `yaml:"password_env"`
	PasswordFile string   `yaml:"password_file"`
	From         string   `yaml:"from"`
	To           []string `yaml:"to"`
	// SubjectPrefix starts every subject; default "[aiwatch]".
	SubjectPrefix string `yaml:"subject_prefix"`
}

// Delivery is the retry policy of playbook deliveries.
type Delivery struct {
	MaxAttempts int           `yaml:"max_attempts"`
	BaseBackoff time.Duration `yaml:"base_backoff"` // first retry after about this, doubling each time
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	Concurrency int           `yaml:"concurrency"` // deliveries sent at once
}

// Trigger names, operators, fields, playbook types and values.
const (
	TriggerCreated = "incident_created"
	TriggerUpdated = "incident_updated"
	TriggerBoth    = "both"
)

var (
	triggers   = []string{TriggerCreated, TriggerUpdated, TriggerBoth}
	fields     = []string{"severity", "status", "owner", "classification", "title", "description", "rule_id", "rule_name", "tactic", "technique", "tag", "entity_type", "entity_value"}
	listOps    = []string{"in", "not_in"}
	valueOps   = []string{"equals", "not_equals", "contains", "starts_with"}
	types      = []string{"webhook", "teams", "slack", "email", "command"}
	severities = []string{"High", "Medium", "Low", "Informational"}
	// Automation may open or reactivate an incident; closing needs a
	// classification, which Change does not carry.
	settableStatuses = []string{"New", "Active"}
	statuses         = []string{"New", "Active", "Closed"}
	starttlsModes    = []string{"auto", "required", "never"}
	// Shells are refused as a command: a playbook runs one program with
	// fixed arguments, so incident text can never become shell code.
	shells = []string{"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash", "busybox", "cmd", "cmd.exe", "powershell", "powershell.exe", "pwsh", "pwsh.exe"}
	// reserved headers are set by the webhook itself.
	reserved = []string{"Content-Type", "Content-Length", "Host", "User-Agent", HeaderDelivery, HeaderEvent, HeaderTimestamp, HeaderSignature}
)

// Defaults.
const (
	DefaultMaxAttempts = 20
	DefaultBaseBackoff = 10 * time.Second
	DefaultMaxBackoff  = 30 * time.Minute
	DefaultConcurrency = 4
	DefaultTimeout     = 30 * time.Second
	MaxTimeout         = 10 * time.Minute
)

// Default is the automation section before the file is applied.
func Default() Config {
	return Config{Delivery: Delivery{
		MaxAttempts: DefaultMaxAttempts,
		BaseBackoff: DefaultBaseBackoff,
		MaxBackoff:  DefaultMaxBackoff,
		Concurrency: DefaultConcurrency,
	}}
}

// withDefaults fills zero values, so a Config not made by Default works.
func (c Config) withDefaults() Config {
	d := Default().Delivery
	if c.Delivery.MaxAttempts == 0 {
		c.Delivery.MaxAttempts = d.MaxAttempts
	}
	if c.Delivery.BaseBackoff == 0 {
		c.Delivery.BaseBackoff = d.BaseBackoff
	}
	if c.Delivery.MaxBackoff == 0 {
		c.Delivery.MaxBackoff = d.MaxBackoff
	}
	if c.Delivery.Concurrency == 0 {
		c.Delivery.Concurrency = d.Concurrency
	}
	return c
}

// IsEnabled reports whether the rule runs (rules are enabled unless
// enabled: false).
func (r Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

func (r Rule) trigger() string {
	if r.Trigger == "" {
		return TriggerCreated
	}
	return r.Trigger
}

func (p Playbook) timeout() time.Duration {
	if p.Timeout == 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

// ValidationError lists every problem found, each one actionable.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d problems:\n%s", len(e.Problems), strings.Join(e.Problems, "\n"))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]*$`)
var headerRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate returns every problem at once as a *ValidationError. It also
// checks that named secrets are set and readable, without keeping them.
func (c Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	c = c.withDefaults()

	d := c.Delivery
	if d.MaxAttempts < 1 || d.MaxAttempts > 1000 {
		add("automation.delivery.max_attempts %d must be between 1 and 1000", d.MaxAttempts)
	}
	if d.BaseBackoff < time.Millisecond {
		add("automation.delivery.base_backoff %s must be at least 1ms", d.BaseBackoff)
	}
	if d.MaxBackoff < d.BaseBackoff {
		add("automation.delivery.max_backoff %s must not be less than base_backoff %s", d.MaxBackoff, d.BaseBackoff)
	}
	if d.Concurrency < 1 || d.Concurrency > 64 {
		add("automation.delivery.concurrency %d must be between 1 and 64", d.Concurrency)
	}
	if c.IncidentURL != "" && !absHTTP(c.IncidentURL) {
		add("automation.incident_url must be an absolute http(s) URL, e.g. https://aiwatch.contoso.com/incidents/{number}")
	}

	books := map[string]int{}
	for i, pb := range c.Playbooks {
		at := fmt.Sprintf("automation.playbooks[%d]", i)
		if pb.Name != "" {
			at += fmt.Sprintf(" (name %q)", pb.Name)
		}
		padd := func(format string, args ...any) { add(at+": "+format, args...) }
		switch {
		case pb.Name == "":
			padd("name is missing; rules run a playbook by its name")
		case !nameRE.MatchString(pb.Name):
			padd("name %q may hold only letters, digits, spaces, '.', '_' and '-', starting with a letter or digit", pb.Name)
		default:
			if j, dup := books[pb.Name]; dup {
				padd("name %q is also used by playbooks[%d]", pb.Name, j)
			} else {
				books[pb.Name] = i
			}
		}
		if pb.Timeout < 0 || pb.Timeout > MaxTimeout {
			padd("timeout %s must be between 0 (default %s) and %s", pb.Timeout, DefaultTimeout, MaxTimeout)
		}
		pb.validate(padd)
	}

	names := map[string]int{}
	for i, r := range c.Rules {
		at := fmt.Sprintf("automation.automation_rules[%d]", i)
		if r.Name != "" {
			at += fmt.Sprintf(" (name %q)", r.Name)
		}
		radd := func(format string, args ...any) { add(at+": "+format, args...) }
		switch {
		case r.Name == "":
			radd("name is missing; give each rule a short unique name (it is logged and recorded as the changer)")
		default:
			if j, dup := names[r.Name]; dup {
				radd("name %q is also used by automation_rules[%d]", r.Name, j)
			} else {
				names[r.Name] = i
			}
		}
		if !slices.Contains(triggers, r.trigger()) {
			radd("trigger %q is unknown; use %s", r.Trigger, strings.Join(triggers, ", "))
		}
		for j, cond := range r.Conditions {
			cond.validate(func(format string, args ...any) { radd(fmt.Sprintf("conditions[%d]: ", j)+format, args...) })
		}
		if len(r.Actions) == 0 {
			radd("actions is empty; give at least one of assign_owner, set_status, set_severity, add_tags, run_playbook")
		}
		for j, a := range r.Actions {
			aadd := func(format string, args ...any) { radd(fmt.Sprintf("actions[%d]: ", j)+format, args...) }
			a.validate(aadd)
			if a.RunPlaybook != "" {
				if _, ok := books[a.RunPlaybook]; !ok {
					aadd("run_playbook %q names no playbook; defined playbooks: %s", a.RunPlaybook, listOrNone(c.playbookNames()))
				}
			}
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

func (c Config) playbookNames() []string {
	var n []string
	for _, pb := range c.Playbooks {
		if pb.Name != "" {
			n = append(n, pb.Name)
		}
	}
	return n
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func (cond Condition) validate(add func(string, ...any)) {
	if !slices.Contains(fields, cond.Field) {
		add("field %q is unknown; use one of %s", cond.Field, strings.Join(fields, ", "))
	}
	switch {
	case slices.Contains(valueOps, cond.Operator):
		if cond.Value == nil {
			add("operator %s needs value (for a list use operator in)", cond.Operator)
		}
		if len(cond.Values) > 0 {
			add("operator %s takes value, not values (for a list use operator in or not_in)", cond.Operator)
		}
	case slices.Contains(listOps, cond.Operator):
		if len(cond.Values) == 0 {
			add("operator %s needs values, a list such as [High, Medium]", cond.Operator)
		}
		if cond.Value != nil {
			add("operator %s takes values (a list), not value", cond.Operator)
		}
	default:
		add("operator %q is unknown; use one of %s", cond.Operator, strings.Join(append(slices.Clone(valueOps), listOps...), ", "))
		return
	}
	// Equality on a field with a closed set of values catches typos.
	var known []string
	switch cond.Field {
	case "severity":
		known = severities
	case "status":
		known = statuses
	}
	if known != nil && cond.Operator != "contains" && cond.Operator != "starts_with" {
		vals := cond.Values
		if cond.Value != nil {
			vals = []string{*cond.Value}
		}
		for _, v := range vals {
			if !containsFold(known, v) {
				add("%s %q is unknown; use one of %s", cond.Field, v, strings.Join(known, ", "))
			}
		}
	}
}

func (a Action) validate(add func(string, ...any)) {
	set := 0
	if a.AssignOwner != "" {
		set++
	}
	if a.SetStatus != "" {
		set++
		if !containsFold(settableStatuses, a.SetStatus) {
			add("set_status %q is not allowed; use %s (closing needs a classification: close incidents by hand or through the API)", a.SetStatus, strings.Join(settableStatuses, " or "))
		}
	}
	if a.SetSeverity != "" {
		set++
		if !containsFold(severities, a.SetSeverity) {
			add("set_severity %q is unknown; use one of %s", a.SetSeverity, strings.Join(severities, ", "))
		}
	}
	if a.AddTags != nil {
		set++
		if len(a.AddTags) == 0 {
			add("add_tags is empty; list the tags to add")
		}
		for _, t := range a.AddTags {
			if strings.TrimSpace(t) == "" {
				add("add_tags holds an empty tag")
			}
		}
	}
	if a.RunPlaybook != "" {
		set++
	}
	if set != 1 {
		add("set exactly one of assign_owner, set_status, set_severity, add_tags, run_playbook in each action (write one action per list item)")
	}
}

func (pb Playbook) validate(add func(string, ...any)) {
	if !slices.Contains(types, pb.Type) {
		add("type %q is unknown; use one of %s", pb.Type, strings.Join(types, ", "))
		return
	}
	isHTTP := pb.Type == "webhook" || pb.Type == "teams" || pb.Type == "slack"
	if !isHTTP {
		if pb.URL != "" || pb.URLEnv != "" || pb.URLFile != "" {
			add("url, url_env and url_file apply to webhook, teams and slack playbooks, not %s", pb.Type)
		}
	}
	if pb.Type != "webhook" && (pb.SecretEnv != "" || pb.SecretFile != "" || len(pb.Headers) > 0 || len(pb.HeadersEnv) > 0) {
		add("secret_env, secret_file, headers and headers_env apply to webhook playbooks only")
	}
	if pb.Type != "email" && !reflectZeroSMTP(pb.SMTP) {
		add("smtp applies to email playbooks only")
	}
	if pb.Type != "command" && (len(pb.Command) > 0 || len(pb.Env) > 0) {
		add("command and env apply to command playbooks only")
	}
	switch pb.Type {
	case "webhook", "teams", "slack":
		if _, err := pb.resolveURL(); err != nil {
			add("%v", err)
		}
	}
	switch pb.Type {
	case "webhook":
		if _, err := readSecret("secret", pb.SecretEnv, pb.SecretFile); err != nil {
			add("%v; receivers check X-Aiwatch-Signature with this shared secret", err)
		}
		for _, h := range sortedKeys(pb.Headers) {
			checkHeader(add, "headers", h, pb.Headers[h])
		}
		for _, h := range sortedKeys(pb.HeadersEnv) {
			if _, dup := pb.Headers[h]; dup {
				add("header %q is in both headers and headers_env", h)
			}
			checkHeader(add, "headers_env", h, "")
			if pb.HeadersEnv[h] == "" {
				add("headers_env %q names no environment variable", h)
			} else if os.Getenv(pb.HeadersEnv[h]) == "" {
				add("headers_env %q: environment variable %q is not set", h, pb.HeadersEnv[h])
			}
		}
	case "email":
		pb.SMTP.validate(add)
	case "command":
		if len(pb.Command) == 0 {
			add("command is empty; give the program and its arguments as a list, e.g. [/usr/local/bin/open-ticket, --queue, soc]")
			break
		}
		prog := pb.Command[0]
		base := strings.ToLower(filepath.Base(prog))
		switch {
		case !filepath.IsAbs(prog):
			add("command[0] %q must be an absolute path (it runs without a shell or PATH lookup)", prog)
		case slices.Contains(shells, base):
			add("command[0] %q is a shell; playbooks run a program directly: put the logic in a script and name the script", prog)
		default:
			if st, err := os.Stat(prog); err != nil {
				add("command[0] %q: %s", prog, pathErr(err))
			} else if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
				add("command[0] %q is not an executable file", prog)
			}
		}
		for _, n := range pb.Env {
			if n == "" || strings.ContainsAny(n, "=\x00") {
				add("env %q is not an environment variable name", n)
			}
		}
	}
}

func reflectZeroSMTP(s SMTP) bool {
	return s.Host == "" && s.Port == 0 && s.StartTLS == "" && !s.ImplicitTLS && s.Username == "" &&
		s.PasswordEnv == "" && s.PasswordFile == "" && s.From == "" && len(s.To) == 0 && s.SubjectPrefix == ""
}

func checkHeader(add func(string, ...any), key, name, value string) {
	if !headerRE.MatchString(name) {
		add("%s: %q is not a valid header name", key, name)
	}
	for _, r := range reserved {
		if strings.EqualFold(r, name) {
			add("%s: %s is set by aiwatch and cannot be overridden", key, r)
		}
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		add("%s: the value of %s holds a line break", key, name)
	}
}

func (s SMTP) validate(add func(string, ...any)) {
	if s.Host == "" {
		add("smtp.host is missing; name the mail server, e.g. smtp.office365.com")
	} else if strings.ContainsAny(s.Host, "/: ") && !strings.HasPrefix(s.Host, "[") {
		add("smtp.host %q must be a host name or address without port (set smtp.port)", s.Host)
	}
	if s.Port < 0 || s.Port > 65535 {
		add("smtp.port %d must be between 1 and 65535", s.Port)
	}
	if s.StartTLS != "" && !slices.Contains(starttlsModes, s.StartTLS) {
		add("smtp.starttls %q is unknown; use auto, required or never", s.StartTLS)
	}
	if s.ImplicitTLS && s.StartTLS != "" && s.StartTLS != "auto" {
		add("smtp.starttls does not apply with implicit_tls: the connection is TLS from the start")
	}
	if s.From == "" {
		add("smtp.from is missing; give the sender address")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		add("smtp.from %q is not an email address", s.From)
	}
	if len(s.To) == 0 {
		add("smtp.to is empty; list the recipients")
	}
	for _, t := range s.To {
		if _, err := mail.ParseAddress(t); err != nil {
			add("smtp.to %q is not an email address", t)
		}
	}
	if strings.ContainsAny(s.SubjectPrefix, "\r\n") {
		add("smtp.subject_prefix holds a line break")
	}
	hasPw := s.PasswordEnv != "" || s.PasswordFile != ""
	switch {
	case s.Username == "" && hasPw:
		add("smtp: password_env or password_file is set without username")
	case s.Username != "" && !hasPw:
		add("smtp.username is set: set password_env or password_file too")
	case s.Username != "":
		if _, err := readSecret("smtp.password", s.PasswordEnv, s.PasswordFile); err != nil {
			add("%v", err)
		}
	}
}

func (s SMTP) port() int {
	switch {
	case s.Port != 0:
		return s.Port
	case s.ImplicitTLS:
		return 465
	}
	return 587
}

// resolveURL returns the playbook's URL from url, url_env or url_file.
// Errors never contain the URL: it often holds a token.
func (pb Playbook) resolveURL() (string, error) {
	set := 0
	for _, v := range []string{pb.URL, pb.URLEnv, pb.URLFile} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return "", fmt.Errorf("set exactly one of url, url_env, url_file (the %s incoming-webhook URL; it holds a token, so prefer url_env or url_file)", pb.Type)
	}
	var u string
	switch {
	case pb.URL != "":
		u = pb.URL
	default:
		v, err := readSecret("url", pb.URLEnv, pb.URLFile)
		if err != nil {
			return "", err
		}
		u = v
	}
	u = strings.TrimSpace(u)
	if !absHTTP(u) {
		return "", errors.New("the url is not an absolute http(s) URL (its value is not shown: it may hold a token)")
	}
	return u, nil
}

// readSecret reads a value from the environment variable or file named
// (trailing newlines trimmed). key names the setting in messages; the value
// never appears in them.
func readSecret(key, env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", fmt.Errorf("set one of %s_env and %s_file, not both", key, key)
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s_env %q is not set in the environment", key, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file %q cannot be read: %s", key, file, pathErr(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file %q is empty", key, file)
		}
		return v, nil
	}
	return "", fmt.Errorf("set %s_env or %s_file", key, key)
}

func pathErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func absHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}

// canonical returns the list's spelling of v ("high" → "High").
func canonical(list []string, v string) string {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return s
		}
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}
