package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

const (
	defaultDemoDir = "./aiwatch-demo"
	demoMarker     = ".aiwatch-demo" // marks a directory the demo may wipe
	demoSecretEnv  = "AIWATCH_DEMO_SECRET"
)

func newDemoCmd() *cobra.Command {
	var tenants, users, days int
	var seed int64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Collect simulated Copilot tenants through a fake Management API on loopback, end to end, with no setup",
		Long: `The demo needs no tenant and no setup. It simulates Copilot tenants (people,
admins, guests, agents, daily rhythms, late and duplicated records, labelled
attack scenarios), serves them through a fake Office 365 Management Activity
API on loopback, collects them with the real collector into a fresh data
directory (./aiwatch-demo unless --data says otherwise), checks that every
record arrived exactly once, and prints what was collected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 6 {
				return fmt.Errorf("--days %d: use 1 to 6 (the Management API keeps 7 days)", days)
			}
			if err := checkSimFlags(tenants, users); err != nil {
				return err
			}
			dir := defaultDemoDir
			if dataDirFlag != "" {
				dir = dataDirFlag
			}
			if err := freshDemoDir(dir); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx := cmd.Context()

			srv := o365fake.New(o365fake.Options{})
			base, err := srv.Start("127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("cannot start the fake Management API on loopback: %w", err)
			}
			defer srv.Close()
			start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
			ts, err := serveSimulatedTenants(srv, tenants, seed, users, days, start)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Simulated %d tenant(s), %d people each, %s to %s, served by a fake Management API at %s\n",
				tenants, users, start.Format("2006-01-02"), start.AddDate(0, 0, days-1).Format("2006-01-02"), base)

			cfg := config.Default()
			cfg.DataDir = dir
			cfg.Collector.Backfill = config.Duration(config.MaxBackfill)
			for _, t := range ts {
				cfg.Tenants = append(cfg.Tenants, config.Tenant{Name: t.Name, TenantID: t.ID, ClientID: t.ClientID,
					ClientSecretEnv: demoSecretEnv, Endpoints: config.Endpoints{Login: base, Management: base, Graph: base + "/v1.0"}})
			}
			os.Setenv(demoSecretEnv, ts[0].Secret)
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("demo config: %w", err)
			}
			st, err := openStoreWith(ctx, dir, detectStoreOptions())
			if err != nil {
				return err
			}
			defer st.Close()
			// The collector's info logs would drown the summary; warnings still show.
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			c, err := collect.New(ctx, collect.Options{Store: st, Tenants: cfg.Tenants, Settings: cfg.Collector,
				Log: log, Registry: audit.NewRegistry(audit.Numbering371)})
			if err != nil {
				return err
			}
			began := time.Now()
			results := c.Once(ctx)
			c.Close()
			fmt.Fprintf(out, "\nCollected in %.1fs:\n", time.Since(began).Seconds())
			failed := printSummary(out, results)

			// Check against the simulator's ground truth: what a correct collector holds now.
			now := time.Now()
			fmt.Fprintln(out)
			mismatch := 0
			for _, t := range ts {
				var stored, distinct int
				if err := st.Conn().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT RecordId) FROM CopilotActivity WHERE TenantId = $1`, t.ID).Scan(&stored, &distinct); err != nil {
					return err
				}
				want := t.Stats.CopilotVisibleBy(now)
				verdict := "nothing lost, nothing doubled"
				if stored != want || distinct != want {
					verdict = "MISMATCH"
					mismatch++
				}
				fmt.Fprintf(out, "%s: %d of %d distinct Copilot records available now are stored (%s); %d more become available later (Copilot records arrive up to days late); %d labelled attack scenarios in the data\n",
					t.Name, distinct, want, verdict, t.Truth.DistinctCopilotIDs-want, len(t.Truth.Scenarios))
			}
			for _, q := range statsQueries[1:3] {
				fmt.Fprintf(out, "\n== %s\n", q.title)
				rs, err := st.Conn().QueryContext(ctx, q.sql)
				if err != nil {
					return err
				}
				_, err = render.Rows(out, "table", rs)
				rs.Close()
				if err != nil {
					return err
				}
			}
			if err := demoDetect(ctx, out, st, ts); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nExplore it: aiwatch stats --data %s\n            aiwatch query --data %s 'CopilotActivity | mv-expand M = LLMEventData.Messages | where tobool(M.JailbreakDetected) | summarize Jailbreaks = dcount(RecordId) by ActorName'\n            aiwatch incidents list --data %s; aiwatch incidents show 1 --data %s\n", dir, dir, dir, dir)
			if failed > 0 || mismatch > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("demo failed: %d tenant(s) failed, %d mismatch(es)", failed, mismatch)}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&tenants, "tenants", 2, "simulated tenants (an MSSP watches many)")
	cmd.Flags().IntVar(&users, "users", 300, "people per tenant")
	cmd.Flags().IntVar(&days, "days", 3, "days of activity, ending today (1 to 6)")
	cmd.Flags().Int64Var(&seed, "seed", 1, "simulation seed")
	return cmd
}

// freshDemoDir empties dir if an earlier demo made it, creates it otherwise,
// and refuses to touch a directory the demo did not make.
func freshDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", dir, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("%s exists and was not made by the demo; pass --data with a new directory", dir)
		}
		// A process still using the earlier demo's data (serve, collect)
		// would go on writing into a deleted file.
		if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
			st, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true})
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%s is in use by another aiwatch process; stop it, or pass --data with a new directory", dir)
			}
			if err == nil {
				st.Close()
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("cannot clear %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by aiwatch demo; the next demo run empties this directory\n"), 0o640)
}
