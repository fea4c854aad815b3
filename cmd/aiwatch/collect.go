package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { rootCmd.AddCommand(newCollectCmd()) }

func newCollectCmd() *cobra.Command {
	var cfgPath, listen, numbering string
	var once bool
	cmd := &cobra.Command{
		Use:   "collect --config FILE [--once]",
		Short: "Collect Copilot audit records from the Office 365 Management Activity API",
		Long: `Collect polls the Management Activity API of every configured tenant,
stores the Copilot/AI records in the CopilotActivity table and keeps each
tenant's listing cursor in the same transactions, so an interruption at any
point repeats work and never loses a record.

With --once it collects everything available now and exits: non-zero if any
tenant failed, with a summary line per tenant. Otherwise it polls every
poll_interval until SIGINT or SIGTERM. While it runs it serves /metrics
(Prometheus) and /status on server.listen (--listen overrides; "off" turns
them off), behind server.token_env / token_file when set; "aiwatch status"
reads them while the data directory is locked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollect(cmd, cfgPath, listen, numbering, once)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	cmd.Flags().BoolVar(&once, "once", false, "collect what is available now, then exit")
	cmd.Flags().StringVar(&listen, "listen", "", `address for /metrics and /status (default server.listen; "off" disables)`)
	cmd.Flags().StringVar(&numbering, "record-type-numbering", "371", "numbering of the disputed record types: 371 or 373")
	cmd.MarkFlagRequired("config")
	return cmd
}

// loadConfig reads the file, printing every validation problem.
func loadConfig(cmd *cobra.Command, path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) && ve.OnlyCredentials() {
			// The other tenants still run; these fail on their own, each poll.
			for _, p := range ve.Problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "aiwatch: warning: %s; that tenant will fail until it is fixed\n", p)
			}
			return cfg, nil
		}
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintln(cmd.ErrOrStderr(), p)
			}
			return cfg, &exitError{code: 2, msg: fmt.Sprintf("config %s is not valid (see aiwatch config check %s)", path, path)}
		}
		return cfg, err
	}
	return cfg, nil
}

func runCollect(cmd *cobra.Command, cfgPath, listen, numbering string, once bool) error {
	num, err := audit.ParseNumbering(numbering)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cmd, cfgPath)
	if err != nil {
		return err
	}
	if len(cfg.Tenants) == 0 {
		return fmt.Errorf("config %s lists no tenants; add one under tenants:", cfgPath)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := openStoreWith(ctx, dataDirOr(cfg.DataDir), collectStoreOptions())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := applySettings(ctx, st, writerSettings); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	c, err := newCollector(ctx, st, cfg, num, reg)
	if err != nil {
		return err
	}
	defer c.Close()

	if listen == "" {
		listen = cfg.Server.Listen
	}
	if listen != "" && listen != "off" {
		srv, err := serveStatus(listen, cfg.Server, c, reg)
		if err != nil {
			// Collecting matters more than its metrics: go on without them.
			slog.Error("cannot serve /metrics and /status; collecting without them", "listen", listen, "err", err)
		} else {
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
		}
	}

	if !once {
		slog.Info("collecting", "tenants", len(cfg.Tenants), "poll_interval", cfg.Collector.PollInterval.String())
		c.Run(ctx)
		slog.Info("stopped")
		return nil
	}
	results := c.Once(ctx)
	if ctx.Err() != nil {
		// The tenants stopped because they were asked to, not because they failed.
		for i := range results {
			if err := results[i].Err; err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx))) {
				results[i].Err = errInterrupted
			}
		}
	}
	failed := printSummary(cmd.OutOrStdout(), results)
	if ctx.Err() != nil {
		return &exitError{code: 130, msg: "interrupted; the next run continues where this one stopped"}
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d tenant(s) failed", failed, len(cfg.Tenants))}
	}
	return nil
}

// errInterrupted replaces a tenant's error when a signal stopped the run.
var errInterrupted = errors.New("interrupted")

// serveStatus starts the /metrics and /status server.
func serveStatus(listen string, sc config.Server, c *collect.Collector, reg *prometheus.Registry) (*http.Server, error) {
	token, err := sc.Token()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: collect.Handler(c.Report, reg, token), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("status server failed", "err", err)
		}
	}()
	slog.Info("serving /metrics and /status", "addr", ln.Addr().String(), "token", token != "")
	return srv, nil
}

// printSummary writes one line per tenant and returns how many failed.
func printSummary(w io.Writer, results []collect.Result) int {
	type agg struct {
		blobs, gaps int
		sum         ingest.Summary
		cursor      time.Time
		errs        []string
		interrupted bool
	}
	by := map[string]*agg{}
	var names []string
	for _, r := range results {
		a := by[r.Tenant]
		if a == nil {
			a = &agg{}
			by[r.Tenant] = a
			names = append(names, r.Tenant)
		}
		a.blobs += r.Blobs
		a.gaps += r.Gaps
		a.sum.Add(r.Summary)
		if a.cursor.IsZero() || (!r.Cursor.IsZero() && r.Cursor.Before(a.cursor)) {
			a.cursor = r.Cursor
		}
		switch {
		case errors.Is(r.Err, errInterrupted):
			a.interrupted = true
		case r.Err != nil:
			a.errs = append(a.errs, r.ContentType+": "+r.Err.Error())
		}
	}
	sort.Strings(names)
	failed := 0
	for _, n := range names {
		a := by[n]
		state := "ok"
		switch {
		case len(a.errs) > 0:
			state = "FAILED"
			failed++
		case a.interrupted:
			// Stopped by the signal: the next run continues from the cursor.
			state = "interrupted"
		}
		cursor := "-"
		if !a.cursor.IsZero() {
			cursor = a.cursor.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s: %s: %d blobs, %s, gaps %d, cursor %s\n", n, state, a.blobs, a.sum, a.gaps, cursor)
		for _, e := range a.errs {
			fmt.Fprintf(w, "%s: error: %s\n", n, strings.TrimSpace(e))
		}
	}
	return failed
}

// newCollector sets up the collectors of every tenant in cfg, with their
// metrics on reg.
func newCollector(ctx context.Context, st *store.Store, cfg config.Config, num audit.Numbering, reg prometheus.Registerer) (*collect.Collector, error) {
	return collect.New(ctx, collect.Options{
		Store:    st,
		Tenants:  cfg.Tenants,
		Settings: cfg.Collector,
		Metrics:  collect.NewMetrics(reg),
		Log:      slog.Default(),
		Registry: audit.NewRegistry(num),
	})
}
