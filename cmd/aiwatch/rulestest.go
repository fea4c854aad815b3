package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/store"
)

func newRulesTestCmd() *cobra.Command {
	var rf ruleFlags
	var records []string
	var maxRows int
	var expect string
	cmd := &cobra.Command{
		Use:   "test RULE",
		Short: "Run one rule over stored or given records, window by window, storing nothing",
		Long: `test evaluates one rule the way the scheduler does — window by window on the grid
of its queryFrequency, each window seeing queryPeriod of event time with now() at
its end — over the records of the data directory, or over the files given with
--records (imported into a scratch directory that is removed afterwards). It
prints, for each window with results, the rows and whether the trigger fires.
RULE is a rule file, or the id or name of a rule from the built-in pack,
--rules or the config. --expect fire|quiet makes the exit status say whether
the rule behaved so (for CI of your own rules).`,
		Example: `  aiwatch rules test my-rules/jailbreak.yaml --records samples.jsonl --expect fire
  aiwatch rules test "Copilot jailbreak detected on any message"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if expect != "" && expect != "fire" && expect != "quiet" {
				return fmt.Errorf("--expect %q: use fire or quiet", expect)
			}
			cfg, rs, _, err := rf.load(cmd)
			if err != nil {
				return err
			}
			rule, err := pickRule(args[0], rs, labelsOf(cfg))
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var st *store.Store
			if len(records) > 0 {
				tmp, err := os.MkdirTemp("", "aiwatch-rules-test-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				if st, err = store.Open(ctx, tmp, detectStoreOptions()); err != nil {
					return err
				}
				defer st.Close()
				for _, p := range records {
					sum, err := importOne(ctx, cmd, st, p, reader.FormatAuto, ingest.Options{SourceSystem: "Import"}, false)
					if err != nil {
						return err
					}
					if sum.Quarantined > 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d records could not be read (see aiwatch import for details)\n", p, sum.Quarantined)
					}
				}
			} else {
				if st, err = openStore(ctx, true); err != nil {
					return err
				}
				defer st.Close()
			}
			eng, err := detect.New(st, nil, detect.Options{Labels: labelsOf(cfg), Logger: quietLogger()})
			if err != nil {
				return err
			}
			results, err := eng.Test(ctx, rule)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fired := 0
			for _, w := range results {
				mark := "no alert"
				if w.Triggered {
					mark = "FIRES"
					fired++
				}
				fmt.Fprintf(out, "window %s – %s: %d rows, %s\n", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), len(w.Rows), mark)
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				var names []string
				for _, c := range w.Columns {
					names = append(names, c.Name)
				}
				fmt.Fprintln(tw, "  "+strings.Join(names, "\t"))
				for i, r := range w.Rows {
					if i == maxRows {
						fmt.Fprintf(tw, "  … %d more rows\n", len(w.Rows)-maxRows)
						break
					}
					cells := make([]string, len(r))
					for j, v := range r {
						cells[j] = render.Cell(render.Text(v))
						if len(cells[j]) > 80 {
							cells[j] = cells[j][:77] + "..."
						}
					}
					fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
				}
				tw.Flush()
			}
			fmt.Fprintf(out, "%s: fires in %d of %d windows with results\n", rule.Name, fired, len(results))
			switch {
			case expect == "fire" && fired == 0:
				return &exitError{code: 1, msg: "expected the rule to fire; it did not"}
			case expect == "quiet" && fired > 0:
				return &exitError{code: 1, msg: fmt.Sprintf("expected the rule to stay quiet; it fired in %d windows", fired)}
			}
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringSliceVar(&records, "records", nil, "record files to test on (any format aiwatch import reads) instead of the data directory")
	cmd.Flags().IntVar(&maxRows, "max-rows", 20, "rows to print per window")
	cmd.Flags().StringVar(&expect, "expect", "", "fire or quiet: exit 1 unless the rule behaves so")
	return cmd
}

// pickRule finds a rule by file path, id or name.
func pickRule(arg string, rs []*rules.Rule, labels []detect.Label) (*rules.Rule, error) {
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		cat, err := detect.Catalog(labels)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		r, ps := rules.Parse(arg, data, cat)
		for _, p := range ps {
			fmt.Fprintln(os.Stderr, p.Error())
		}
		if r == nil {
			return nil, fmt.Errorf("%s is not a usable rule (see above)", arg)
		}
		return r, nil
	}
	for _, r := range rs {
		if r.ID == arg || strings.EqualFold(r.Name, arg) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no rule file, id or name %q (aiwatch rules list shows the rules)", arg)
}
