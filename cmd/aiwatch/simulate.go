package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aiwatch/aiwatch/internal/simulate"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newSimulateCmd()) }

func newSimulateCmd() *cobra.Command {
	var (
		seed        int64
		users, days int
		startFlag   string
		format      string
		outPath     string
		truthPath   string
		tenantID    string
		domain      string
		noScenarios bool
		noNoise     bool
		bulk        int
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Generate the audit records of a simulated Copilot tenant",
		Long: `Generate realistic Copilot audit records (AuditData, as the Office 365
Management Activity API serves them) for an invented tenant, with labelled
attack scenarios, unrelated Audit.General noise, duplicates and late records.
Records are written in the order they would become available. With --truth,
the ground truth (scenarios and their record Ids, counts) is written as JSON.`,
		Example: `  aiwatch simulate --seed 1 --days 3 --out records.jsonl --truth truth.json
  aiwatch simulate --format purview-csv --start 2026-03-01 --out export.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
			if startFlag != "" {
				var err error
				if start, err = time.Parse("2006-01-02", startFlag); err != nil {
					return fmt.Errorf("cannot read --start %q: expected a date such as 2026-03-01", startFlag)
				}
			}
			if format != "jsonl" && format != "purview-csv" {
				return fmt.Errorf("cannot write format %q: use jsonl or purview-csv", format)
			}
			sim, err := simulate.New(simulate.Config{
				Seed: seed, Users: users, Start: start, Days: days, TenantID: tenantID, Domain: domain,
				Scenarios: !noScenarios, NoiseRecords: !noNoise,
			})
			if err != nil {
				return err
			}
			var out io.Writer = cmd.OutOrStdout()
			var file *os.File
			if outPath != "" && outPath != "-" {
				if file, err = os.Create(outPath); err != nil {
					return fmt.Errorf("cannot create output file: %w", err)
				}
				defer file.Close()
				out = file
			}
			bw := bufio.NewWriterSize(out, 1<<20)
			write := func(ev simulate.Event) error { return simulate.WriteJSONL(bw, ev) }
			var csvw *simulate.PurviewCSVWriter
			if format == "purview-csv" {
				csvw = simulate.NewPurviewCSVWriter(bw)
				write = csvw.Write
			}
			if bulk > 0 {
				// Benchmark input: n realistic records fast, without the tenant's day-by-day story.
				err = simulate.Bulk(seed, bulk, start, write)
			} else {
				err = sim.Run(write)
			}
			if err != nil {
				return err
			}
			if csvw != nil {
				if err := csvw.Close(); err != nil {
					return err
				}
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("cannot write simulated records: %w", err)
			}
			if file != nil {
				if err := file.Close(); err != nil {
					return fmt.Errorf("cannot close output file: %w", err)
				}
			}
			if bulk > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "generated %d bulk records\n", bulk)
				return nil
			}
			truth := sim.Truth()
			if truthPath != "" {
				if err := writeTruthFile(truthPath, truth); err != nil {
					return err
				}
			}
			cfg := sim.Config()
			fmt.Fprintf(cmd.ErrOrStderr(), "simulated %d records (%d copilot, %d noise, %d duplicates, %d distinct copilot ids), %d scenarios, %d users, %s to %s\n",
				truth.Records, truth.CopilotRecords, truth.NoiseRecords, truth.Duplicates, truth.DistinctCopilotIDs,
				len(truth.Scenarios), cfg.Users, cfg.Start.Format("2006-01-02"), truth.End.Add(-time.Second).Format("2006-01-02"))
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&seed, "seed", 1, "random seed; the same seed gives the same records")
	f.IntVar(&users, "users", 300, "number of people in the tenant (admins and guests included)")
	f.IntVar(&days, "days", 3, "number of days to simulate")
	f.StringVar(&startFlag, "start", "", "first simulated day, YYYY-MM-DD in UTC (default: three days before today)")
	f.StringVar(&format, "format", "jsonl", "output format: jsonl or purview-csv")
	f.StringVar(&outPath, "out", "", "output file (default: standard output)")
	f.StringVar(&truthPath, "truth", "", "also write the ground truth as JSON to this file")
	f.StringVar(&tenantID, "tenant-id", "", "OrganizationId GUID (default: derived from the seed)")
	f.StringVar(&domain, "domain", "contoso.example", "the tenant's domain")
	f.BoolVar(&noScenarios, "no-scenarios", false, "do not inject attack scenarios")
	f.BoolVar(&noNoise, "no-noise", false, "emit Copilot records only (no Power BI, Yammer or Teams records)")
	f.IntVar(&bulk, "bulk", 0, "instead, write this many realistic records quickly (benchmark input; no scenarios, noise or truth)")
	return cmd
}

func writeTruthFile(path string, truth simulate.Truth) error {
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode ground truth: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write ground truth: %w", err)
	}
	return nil
}
