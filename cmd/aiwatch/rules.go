package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/rules"
)

func init() { rootCmd.AddCommand(newRulesCmd()) }

// ruleCatalog is the catalogue rule queries compile against.
func ruleCatalog() *kql.Catalog { return kql.DefaultCatalog() }

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check and list analytic rules (Microsoft Sentinel's analytic-rule YAML)",
	}
	cmd.AddCommand(newRulesValidateCmd(), newRulesListCmd(), newRulesTestCmd())
	return cmd
}

func newRulesValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Validate rule files and directories; print every problem",
		Long: `Validate reads each rule file once (directories: every *.yaml and *.yml under
them; a directory without any is an error), checks it the way Sentinel would,
compiles its query and checks the columns its entity mappings, custom details
and alert details name. It prints every problem on a line, then "N rules,
E errors, W warnings", and exits non-zero when there is an error. Without a
PATH it validates the built-in rule pack.`,
		Example: `  aiwatch rules validate rules/
  aiwatch rules validate Detections/CopilotJailbreak.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			l := rules.NewLoader(ruleCatalog())
			var rs []*rules.Rule
			var ps []rules.Problem
			if len(args) == 0 {
				fsys, dir := builtinRules()
				if fsys == nil {
					return fmt.Errorf("give one or more rule files or directories to validate")
				}
				l.Prefix = "builtin:"
				rs, ps = l.LoadFS(fsys, dir)
			} else {
				// Ids must not clash with the built-in pack's, which
				// detect and serve load beside these rules.
				if fsys, dir := builtinRules(); fsys != nil {
					l.Prefix = "builtin:"
					l.LoadFS(fsys, dir)
					l.Prefix = ""
				}
				rs, ps = l.LoadPaths(args)
			}
			out := cmd.OutOrStdout()
			errs, warns := 0, 0
			for _, p := range ps {
				fmt.Fprintln(out, p.Error())
				if p.Warning {
					warns++
				} else {
					errs++
				}
			}
			fmt.Fprintf(out, "%s, %s, %s\n", nounCount(len(rs), "rule"), nounCount(errs, "error"), nounCount(warns, "warning"))
			if errs > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("rule validation failed: %s", nounCount(errs, "error"))}
			}
			return nil
		},
	}
}

func nounCount(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func newRulesListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [PATH...]",
		Short: "List rules: the built-in pack, or those in the given files and directories",
		Long: `List prints one line per usable rule: id, name, severity, kind, frequency,
period, tactics, enabled and file. Files with errors are reported on stderr
(see aiwatch rules validate) and make the exit status non-zero; the other rules
are still listed.`,
		Example: `  aiwatch rules list
  aiwatch rules list rules/ --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := render.CheckFormat(format); err != nil {
				return err
			}
			l := rules.NewLoader(ruleCatalog())
			var all []*rules.Rule
			var probs []rules.Problem
			// Without a path: the built-in pack; with paths: those rules.
			if fsys, dir := builtinRules(); fsys != nil && len(args) == 0 {
				l.Prefix = "builtin:"
				rs, ps := l.LoadFS(fsys, dir)
				all, probs = append(all, rs...), append(probs, ps...)
				l.Prefix = ""
			}
			if len(args) > 0 {
				rs, ps := l.LoadPaths(args)
				all, probs = append(all, rs...), append(probs, ps...)
			}
			errs := 0
			for _, p := range probs {
				if !p.Warning {
					errs++
					fmt.Fprintln(cmd.ErrOrStderr(), p.Error())
				}
			}
			if err := writeRuleList(cmd.OutOrStdout(), format, all); err != nil {
				return err
			}
			if errs > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%s in rule files; run aiwatch rules validate for details", nounCount(errs, "error"))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	return cmd
}

// ruleRow is one line of `rules list`.
type ruleRow struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Severity  string   `json:"severity"`
	Kind      string   `json:"kind"`
	Frequency string   `json:"frequency"`
	Period    string   `json:"period"`
	Tactics   []string `json:"tactics"`
	Enabled   bool     `json:"enabled"`
	File      string   `json:"file"`
}

func writeRuleList(w io.Writer, format string, rs []*rules.Rule) error {
	rows := make([]ruleRow, 0, len(rs))
	for _, r := range rs {
		t := r.Tactics
		if t == nil {
			t = []string{}
		}
		rows = append(rows, ruleRow{r.ID, r.Name, r.Severity, r.Kind, rules.FormatDuration(r.QueryFrequency),
			rules.FormatDuration(r.QueryPeriod), t, r.Enabled, r.File})
	}
	header := []string{"id", "name", "severity", "kind", "frequency", "period", "tactics", "enabled", "file"}
	cells := func(r ruleRow) []string {
		return []string{r.ID, r.Name, r.Severity, r.Kind, r.Frequency, r.Period, strings.Join(r.Tactics, ","), strconv.FormatBool(r.Enabled), r.File}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(header)
		for _, r := range rows {
			cw.Write(cells(r))
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cells(r), "\t"))
	}
	return tw.Flush()
}
