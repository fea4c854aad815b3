package automate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// exampleConfig is the shape documented for users.
const exampleConfig = `
incident_url: https://aiwatch.contoso.com/incidents/{number}
delivery:
  max_attempts: 12
  base_backoff: 30s
  max_backoff: 15m
automation_rules:
  - name: copilot-jailbreaks-to-tier1
    order: 10
    trigger: incident_created
    conditions:
      - {field: rule_name, operator: contains, value: jailbreak}
      - {field: severity, operator: in, values: [High, Medium]}
    actions:
      - assign_owner: soc-tier1@contoso.com
      - set_status: Active
      - add_tags: [copilot, jailbreak]
      - run_playbook: soc-teams
      - run_playbook: siem-webhook
  - name: page-on-high
    order: 20
    trigger: both
    enabled: false
    conditions:
      - {field: severity, operator: equals, value: High}
      - {field: tag, operator: not_in, values: [test]}
    actions:
      - run_playbook: mail-soc
      - run_playbook: open-ticket
playbooks:
  - name: siem-webhook
    type: webhook
    url: https://siem.contoso.com/hooks/aiwatch
    secret_env: AIWATCH_CFG_SECRET
    headers: {X-Source: aiwatch}
    timeout: 10s
  - name: soc-teams
    type: teams
    url_env: AIWATCH_CFG_TEAMS_URL
  - name: soc-slack
    type: slack
    url_file: %SLACKFILE%
  - name: mail-soc
    type: email
    smtp:
      host: smtp.contoso.com
      port: 587
      starttls: required
      username: aiwatch@contoso.com
      password_file: %PWFILE%
      from: aiwatch <aiwatch@contoso.com>
      to: [soc@contoso.com]
  - name: open-ticket
    type: command
    command: [/bin/cat, --]
    env: [TICKET_API_TOKEN]
    timeout: 1m
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func exampleText(t *testing.T) string {
	t.Setenv("AIWATCH_CFG_SECRET", "s3cr3t-value")
	t.Setenv("AIWATCH_CFG_TEAMS_URL", "https://contoso.webhook.office.com/webhookb2/abc")
	slack := writeFile(t, "slack.url", "https://hooks.slack.com/services/T0/B0/xyz\n")
	pw := writeFile(t, "smtp.pw", "mail-password\n")
	return strings.NewReplacer("%SLACKFILE%", slack, "%PWFILE%", pw).Replace(exampleConfig)
}

func TestExampleConfig(t *testing.T) {
	cfg := parseConfig(t, exampleText(t))
	if err := cfg.Validate(); err != nil {
		t.Fatalf("example config: %v", err)
	}
	if cfg.Delivery.MaxAttempts != 12 || cfg.Delivery.BaseBackoff != 30*time.Second || cfg.Delivery.Concurrency != DefaultConcurrency {
		t.Errorf("delivery %+v", cfg.Delivery)
	}
	if cfg.Rules[1].IsEnabled() || !cfg.Rules[0].IsEnabled() {
		t.Error("enabled flags wrong")
	}
	if cfg.Playbooks[0].Timeout != 10*time.Second || cfg.Playbooks[1].timeout() != DefaultTimeout {
		t.Error("timeouts wrong")
	}
	// Secrets resolve from the environment and from files, newline trimmed.
	for _, tc := range []struct{ book, url, secret, password string }{
		{"siem-webhook", "https://siem.contoso.com/hooks/aiwatch", "s3cr3t-value", ""},
		{"soc-teams", "https://contoso.webhook.office.com/webhookb2/abc", "", ""},
		{"soc-slack", "https://hooks.slack.com/services/T0/B0/xyz", "", ""},
		{"mail-soc", "", "", "mail-password"},
	} {
		var pb Playbook
		for _, p := range cfg.Playbooks {
			if p.Name == tc.book {
				pb = p
			}
		}
		b, err := resolve(pb)
		if err != nil {
			t.Fatalf("%s: %v", tc.book, err)
		}
		if b.url != tc.url || b.secret != tc.secret || b.password != tc.password {
			t.Errorf("%s resolved to url %q secret %q password %q", tc.book, b.url, b.secret, b.password)
		}
	}
}

func TestValidateProblems(t *testing.T) {
	base := exampleText(t)
	for _, tc := range []struct {
		name, from, to string
		want           string
	}{
		{"bad trigger", "trigger: incident_created", "trigger: created",
			`automation.automation_rules[0] (name "copilot-jailbreaks-to-tier1"): trigger "created" is unknown; use incident_created, incident_updated, both`},
		{"bad field", "field: rule_name", "field: rule",
			`automation.automation_rules[0] (name "copilot-jailbreaks-to-tier1"): conditions[0]: field "rule" is unknown; use one of severity, status, owner, classification, title, description, rule_id, rule_name, tactic, technique, tag, entity_type, entity_value`},
		{"bad operator", "operator: contains", "operator: like",
			`conditions[0]: operator "like" is unknown; use one of equals, not_equals, contains, starts_with, in, not_in`},
		{"list for equals", "{field: severity, operator: in, values: [High, Medium]}", "{field: severity, operator: equals, values: [High]}",
			`conditions[1]: operator equals needs value (for a list use operator in)`},
		{"severity typo", "values: [High, Medium]", "values: [High, Meduim]",
			`conditions[1]: severity "Meduim" is unknown; use one of High, Medium, Low, Informational`},
		{"two keys in one action", "- set_status: Active", "- {set_status: Active, add_tags: [x]}",
			`actions[1]: set exactly one of assign_owner, set_status, set_severity, add_tags, run_playbook in each action (write one action per list item)`},
		{"closing", "set_status: Active", "set_status: Closed",
			`set_status "Closed" is not allowed; use New or Active`},
		{"unknown playbook", "run_playbook: soc-teams", "run_playbook: soc-team",
			`actions[3]: run_playbook "soc-team" names no playbook; defined playbooks: siem-webhook, soc-teams, soc-slack, mail-soc, open-ticket`},
		{"missing secret env", "secret_env: AIWATCH_CFG_SECRET", "secret_env: AIWATCH_CFG_NOPE",
			`playbooks[0] (name "siem-webhook"): secret_env "AIWATCH_CFG_NOPE" is not set in the environment; receivers check X-Aiwatch-Signature with this shared secret`},
		{"no url", "    url_env: AIWATCH_CFG_TEAMS_URL\n", "",
			`playbooks[1] (name "soc-teams"): set exactly one of url, url_env, url_file (the teams incoming-webhook URL; it holds a token, so prefer url_env or url_file)`},
		{"reserved header", "X-Source: aiwatch", "X-Aiwatch-Signature: forged",
			`headers: X-Aiwatch-Signature is set by aiwatch and cannot be overridden`},
		{"shell", "command: [/bin/cat, --]", "command: [/bin/sh, -c, 'curl x']",
			`command[0] "/bin/sh" is a shell; playbooks run a program directly: put the logic in a script and name the script`},
		{"relative command", "command: [/bin/cat, --]", "command: [cat]",
			`command[0] "cat" must be an absolute path (it runs without a shell or PATH lookup)`},
		{"missing command", "command: [/bin/cat, --]", "command: [/nonexistent/ticket]",
			`command[0] "/nonexistent/ticket": no such file`},
		{"smtp without password", "      password_file: ", "      password_nope: ", ""}, // a YAML error, below
		{"bad from", "from: aiwatch <aiwatch@contoso.com>", "from: not an address",
			`smtp.from "not an address" is not an email address`},
		{"duplicate playbook", "name: soc-slack", "name: soc-teams",
			`playbooks[2] (name "soc-teams"): name "soc-teams" is also used by playbooks[1]`},
		{"bad backoff", "max_backoff: 15m", "max_backoff: 10s",
			`automation.delivery.max_backoff 10s must not be less than base_backoff 30s`},
		{"bad incident url", "incident_url: https://aiwatch", "incident_url: aiwatch",
			`automation.incident_url must be an absolute http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, tc.from, tc.to, 1)
			if text == base {
				t.Fatalf("%q not in the example", tc.from)
			}
			cfg := Default()
			dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err != nil {
				if tc.want != "" || !strings.Contains(err.Error(), "field password_nope not found in type automate.SMTP") {
					t.Fatalf("decode: %v", err)
				}
				return
			}
			err := cfg.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			found := false
			for _, p := range ve.Problems {
				if strings.Contains(p, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %q\nlack %q", ve.Problems, tc.want)
			}
		})
	}
}

// A problem message never shows a URL's value: it may hold a token.
func TestBadURLNotEchoed(t *testing.T) {
	t.Setenv("AIWATCH_CFG_BAD_URL", "hooks.slack.com/services/T0/B0/SECRETPART")
	cfg := Config{Playbooks: []Playbook{{Name: "s", Type: "slack", URLEnv: "AIWATCH_CFG_BAD_URL"}}}
	err := cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "SECRETPART") || !strings.Contains(err.Error(), "not an absolute http(s) URL") {
		t.Fatalf("Validate() = %v", err)
	}
}
