package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/rules"
	"github.com/aiwatch/aiwatch/internal/simulate"
	"github.com/aiwatch/aiwatch/internal/store"
)

// bench.go's init has made the bench command (files initialise in name order).
func init() {
	for _, c := range rootCmd.Commands() {
		if c.Name() == "bench" {
			c.AddCommand(newBenchRulesCmd())
		}
	}
}

// simLabels ranks the simulated tenant's sensitivity labels, as a user
// would in detection.labels.
func simLabels() []detect.Label {
	var out []detect.Label
	for i, l := range simulate.Labels() {
		out = append(out, detect.Label{ID: l.ID, Name: l.Name, Rank: i + 1})
	}
	return out
}

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func newBenchRulesCmd() *cobra.Command {
	var rf ruleFlags
	var seedList, start string
	var users, days int
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Run the rules through the scheduler over simulated tenants: recall and precision against the injected scenarios, and CPU time",
		Long: `For each seed, simulates a tenant (with its attack scenarios), imports it into a
scratch store, runs one scheduler pass of the rules (the built-in pack, or
--rules with --no-builtin) and compares the alerts with the simulator's truth:
a scenario is found when an alert covers one of its records (or, for alerts
without records, names its actor within an hour of it); an alert is right when
it belongs to a scenario. Prints recall, precision and the pass's CPU seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, rs, bad, err := rf.load(cmd)
			if err != nil {
				return err
			}
			if bad > 0 {
				return fmt.Errorf("%d rule files have errors", bad)
			}
			day, err := time.Parse("2006-01-02", start)
			if err != nil {
				return fmt.Errorf("--start %q: use YYYY-MM-DD", start)
			}
			out := cmd.OutOrStdout()
			var found, scenarios, right, alerts int
			var cpu float64
			perRule := map[string][2]int{} // rule → alerts, right
			missed := map[string]int{}
			for _, f := range strings.Split(seedList, ",") {
				seed, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				if err != nil {
					return fmt.Errorf("--seeds: %v", err)
				}
				res, err := benchSeed(cmd.Context(), cfg, rs, seed, users, days, day)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "seed %d: %d records, %d scenarios, %d found; %d alerts, %d on scenarios; %d incidents; pass %.1f CPU-s (%d windows)\n",
					seed, res.records, res.scenarios, res.found, res.alerts, res.right, res.incidents, res.cpu, res.windows)
				found, scenarios, right, alerts, cpu = found+res.found, scenarios+res.scenarios, right+res.right, alerts+res.alerts, cpu+res.cpu
				for k, v := range res.perRule {
					p := perRule[k]
					perRule[k] = [2]int{p[0] + v[0], p[1] + v[1]}
				}
				for _, m := range res.missed {
					missed[m]++
				}
			}
			fmt.Fprintf(out, "recall %d/%d = %.1f%%, precision %d/%d = %.1f%%, %.1f CPU-s in scheduler passes\n",
				found, scenarios, pct(found, scenarios), right, alerts, pct(right, alerts), cpu)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tALERTS\tON SCENARIOS")
			names := make([]string, 0, len(perRule))
			for k := range perRule {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(tw, "%s\t%d\t%d\n", k, perRule[k][0], perRule[k][1])
			}
			tw.Flush()
			for m, n := range missed {
				fmt.Fprintf(out, "missed: %s (%d seeds)\n", m, n)
			}
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVar(&seedList, "seeds", "1,2,3", "simulator seeds")
	cmd.Flags().IntVar(&users, "users", 60, "people in each simulated tenant")
	cmd.Flags().IntVar(&days, "days", 3, "simulated days")
	cmd.Flags().StringVar(&start, "start", "2026-03-02", "first simulated day")
	return cmd
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

type seedResult struct {
	records, scenarios, found, alerts, right, incidents, windows int
	cpu                                                          float64
	perRule                                                      map[string][2]int
	missed                                                       []string
}

func benchSeed(ctx context.Context, cfg config.Config, rs []*rules.Rule, seed int64, users, days int, day time.Time) (seedResult, error) {
	var res seedResult
	sim, err := simulate.New(simulate.Config{Seed: seed, Users: users, Days: days, Start: day, Scenarios: true})
	if err != nil {
		return res, err
	}
	var buf bytes.Buffer
	if err := sim.Run(func(ev simulate.Event) error { return simulate.WriteJSONL(&buf, ev) }); err != nil {
		return res, err
	}
	truth := sim.Truth()
	dir, err := os.MkdirTemp("", "aiwatch-bench-rules-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, dir, passStoreOptions())
	if err != nil {
		return res, err
	}
	defer st.Close()
	rd, err := reader.Open(io.Reader(&buf), reader.FormatJSONL)
	if err != nil {
		return res, err
	}
	sum, err := ingest.Import(ctx, st, "simulated", rd, ingest.Options{SourceSystem: "Import"})
	if err != nil {
		return res, err
	}
	res.records = sum.Stored
	labels := labelsOf(cfg)
	if len(labels) == 0 {
		labels = simLabels()
	}
	// The pass runs now, after the simulated period: every record has
	// arrived (the simulator's late ones included).
	eng, err := detect.New(st, rs, detect.Options{Labels: labels, Logger: quietLogger()})
	if err != nil {
		return res, err
	}
	before := cpuSeconds()
	s, err := eng.RunOnce(ctx)
	res.cpu = cpuSeconds() - before
	res.windows = s.Windows
	if err != nil {
		return res, err
	}
	desk := detect.NewDesk(st, nil)
	as, err := desk.Alerts(ctx, detect.AlertFilter{})
	if err != nil {
		return res, err
	}
	incs, err := desk.Incidents(ctx, detect.IncidentFilter{})
	if err != nil {
		return res, err
	}
	res.incidents = len(incs)
	res.alerts = len(as)
	res.perRule = map[string][2]int{}
	for _, sc := range truth.Scenarios {
		res.scenarios++
		ok := false
		for _, a := range as {
			if alertCovers(a, sc) {
				ok = true
				break
			}
		}
		if ok {
			res.found++
		} else {
			res.missed = append(res.missed, sc.Name)
		}
	}
	for _, a := range as {
		p := res.perRule[a.RuleName]
		p[0]++
		for _, sc := range truth.Scenarios {
			if alertCovers(a, sc) {
				p[1]++
				res.right++
				break
			}
		}
		res.perRule[a.RuleName] = p
	}
	return res, nil
}

func accountOf(e detect.Entity) string {
	if v := e.Fields["FullName"]; v != "" {
		return v
	}
	if e.Fields["UPNSuffix"] != "" {
		return e.Fields["Name"] + "@" + e.Fields["UPNSuffix"]
	}
	return e.Fields["Name"]
}

// alertCovers tells whether an alert belongs to a simulated scenario: it
// covers one of the scenario's records or, having no records, names the
// scenario's actor within an hour of it.
func alertCovers(a detect.Alert, sc simulate.Scenario) bool {
	for _, id := range a.Records {
		if slices.Contains(sc.RecordIDs, id) {
			return true
		}
	}
	if len(a.Records) > 0 {
		return false
	}
	for _, e := range a.Entities {
		if e.Type == "Account" && strings.EqualFold(accountOf(e), sc.Actor) &&
			!a.End.Before(sc.Start.Add(-time.Hour)) && !a.Start.After(sc.End.Add(time.Hour)) {
			return true
		}
	}
	return false
}
