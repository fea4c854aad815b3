package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/simulate"
)

func init() { rootCmd.AddCommand(newFakeO365Cmd()) }

// fakeTenant is one simulated tenant served by a fake API.
type fakeTenant struct {
	Name, ID, ClientID, Secret string
	Stats                      o365fake.SimulationStats
	Truth                      simulate.Truth
}

// serveSimulatedTenants adds n simulated tenants (seeds seed, seed+1, …) to srv.
func serveSimulatedTenants(srv *o365fake.Server, n int, seed int64, users, days int, start time.Time) ([]fakeTenant, error) {
	var out []fakeTenant
	for i := 0; i < n; i++ {
		sim, err := simulate.New(simulate.Config{Seed: seed + int64(i), Users: users, Start: start, Days: days, Scenarios: true, NoiseRecords: true})
		if err != nil {
			return nil, err
		}
		cfg := sim.Config()
		t := fakeTenant{Name: fmt.Sprintf("sim%d", i+1), ID: cfg.TenantID, ClientID: fmt.Sprintf("a1a7c4e5-0000-4000-8000-%012d", i+1), Secret: "demo-secret-not-real"}
		srv.AddTenant(o365fake.Tenant{ID: t.ID, ClientID: t.ClientID, ClientSecret: t.Secret})
		if t.Stats, err = srv.PublishSimulation(t.ID, sim, 15*time.Minute); err != nil {
			return nil, err
		}
		t.Truth = sim.Truth()
		out = append(out, t)
	}
	return out, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// publishBigBlob serves one blob of about mb megabytes of realistic records.
func publishBigBlob(srv *o365fake.Server, tenantID string, mb int, start time.Time) (int, error) {
	var recs [][]byte
	size := 0
	stop := errors.New("enough")
	err := simulate.Bulk(99, 1<<30, start, func(ev simulate.Event) error {
		if size >= mb<<20 {
			return stop
		}
		recs = append(recs, ev.Record)
		size += len(ev.Record) + 1
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return 0, err
	}
	created := start.Add(36 * time.Hour)
	srv.Publish(tenantID, "Audit.General", recs, created, created)
	return len(recs), nil
}

// checkSimFlags validates the simulated tenants' flags.
func checkSimFlags(tenants, users int) error {
	if tenants < 1 || tenants > 50 {
		return fmt.Errorf("--tenants %d: use 1 to 50", tenants)
	}
	if users < 10 || users > 200000 {
		return fmt.Errorf("--users %d: use 10 to 200000", users)
	}
	return nil
}

// writeFakeConfig writes a collector config for the fake's tenants; the
// secret is read from the environment variable AIWATCH_DEMO_SECRET.
func writeFakeConfig(w io.Writer, baseURL, dataDir string, tenants []fakeTenant) {
	fmt.Fprintf(w, "data_dir: %s\ntenants:\n", dataDir)
	for _, t := range tenants {
		fmt.Fprintf(w, "  - name: %s\n    tenant_id: %s\n    client_id: %s\n    client_secret_env: AIWATCH_DEMO_SECRET\n    endpoints:\n      login: %s\n      management: %s\n      graph: %s/v1.0\n",
			t.Name, t.ID, t.ClientID, baseURL, baseURL, baseURL)
	}
	fmt.Fprintf(w, "collector:\n  backfill: 6d\n  poll_interval: 1m\n")
}

func newFakeO365Cmd() *cobra.Command {
	var listen string
	var seed int64
	var tenants, users, days, bigBlobMB int
	cmd := &cobra.Command{
		Use:   "fake-o365",
		Short: "Serve a simulated tenant through a fake Management Activity API and Graph audit API (for demos and tests)",
		Long: `Starts a fake Office 365 Management Activity API (and Graph audit log query
API, and token endpoint) on a loopback address, serving simulated Copilot
tenants whose records become available over the last days, as the real API
does. It prints a config for 'aiwatch collect' and runs until interrupted.`,
		Example: `  aiwatch fake-o365 --listen 127.0.0.1:8765 > fake.yaml &
  AIWATCH_DEMO_SECRET=demo-secret-not-real aiwatch collect --config fake.yaml --once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 6 {
				return fmt.Errorf("--days %d: use 1 to 6 (the Management API keeps 7 days)", days)
			}
			if err := checkSimFlags(tenants, users); err != nil {
				return err
			}
			// The fake hands out tokens to anyone who asks: keep it on loopback.
			if host, _, err := net.SplitHostPort(listen); err != nil || !isLoopback(host) {
				return fmt.Errorf("--listen %q: the fake API serves loopback only (127.0.0.1:PORT or [::1]:PORT)", listen)
			}
			srv := o365fake.New(o365fake.Options{})
			base, err := srv.Start(listen)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w", listen, err)
			}
			defer srv.Close()
			start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
			ts, err := serveSimulatedTenants(srv, tenants, seed, users, days, start)
			if err != nil {
				return err
			}
			if bigBlobMB > 0 {
				n, err := publishBigBlob(srv, ts[0].ID, bigBlobMB, start)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "tenant %s: one more blob of %d MB with %d records\n", ts[0].Name, bigBlobMB, n)
			}
			for _, t := range ts {
				fmt.Fprintf(cmd.ErrOrStderr(), "tenant %s (%s): %d records in %d blobs (%d late), %d scenarios\n",
					t.Name, t.ID, t.Stats.Records, t.Stats.Blobs, t.Stats.LateBlobs, len(t.Truth.Scenarios))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "serving on %s; client secret %q (set AIWATCH_DEMO_SECRET); config on stdout; Ctrl-C stops\n", base, ts[0].Secret)
			writeFakeConfig(cmd.OutOrStdout(), base, dataDir(), ts)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8765", "address to serve on")
	cmd.Flags().Int64Var(&seed, "seed", 1, "simulation seed")
	cmd.Flags().IntVar(&tenants, "tenants", 1, "number of simulated tenants")
	cmd.Flags().IntVar(&users, "users", 300, "people per tenant")
	cmd.Flags().IntVar(&days, "days", 3, "days of activity, ending today")
	cmd.Flags().IntVar(&bigBlobMB, "big-blob-mb", 0, "also serve the first tenant one content blob of about this many MB (memory tests)")
	cmd.Flags().MarkHidden("big-blob-mb")
	return cmd
}
