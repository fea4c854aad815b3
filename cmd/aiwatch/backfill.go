package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/backfill"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/o365"
)

func init() { rootCmd.AddCommand(newBackfillCmd()) }

type backfillFlags struct {
	config, tenant, from, to string
	numbering, recordTypes   string
	chunk, minSplit, poll    time.Duration
	ahead                    int
	again, quiet             bool
}

func newBackfillCmd() *cobra.Command {
	var f backfillFlags
	cmd := &cobra.Command{
		Use:   "backfill --config FILE --tenant NAME --from DATE --to DATE [--data DIR]",
		Short: "Fetch past Copilot/AI audit records (up to 180 days) through the Microsoft Graph audit search",
		Long: `Backfill reaches beyond the 7 days the Management API keeps: it runs Microsoft
Graph audit log queries (permission AuditLogsQuery.Read.All) over the range,
one chunk at a time, filtered on the Copilot/AI record types, and stores the
records in CopilotActivity exactly once.

DATE is YYYY-MM-DD (UTC; --to includes that whole day) or an RFC 3339
date-time (--to is then exclusive). --from may be at most 180 days back; a
--to in the future means now.

Each page of records is committed together with the position reached, so an
interrupted backfill resumes where it stopped when the same command runs
again, and chunks already done are skipped (--again fetches them anew). A
query that reports more records than Graph returns is split in halves down to
--min-split; an interval still over the cap there is stored as far as Graph
returns it and reported as a gap.

The data directory is --data, else $AIWATCH_DATA, else the config's data_dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBackfill(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration file (required)")
	fl.StringVar(&f.tenant, "tenant", "", "name of the tenant in the configuration (required)")
	fl.StringVar(&f.from, "from", "", "start: YYYY-MM-DD (UTC) or RFC 3339 (required)")
	fl.StringVar(&f.to, "to", "", "end: YYYY-MM-DD (UTC, that day included) or RFC 3339 (exclusive) (required)")
	fl.DurationVar(&f.chunk, "chunk", backfill.DefaultChunk, "time span of one audit query")
	fl.DurationVar(&f.minSplit, "min-split", backfill.DefaultMinSplit, "smallest span a query over the record cap is split to")
	fl.DurationVar(&f.poll, "poll", o365.DefaultQueryPoll, "how often a running query's status is checked")
	fl.IntVar(&f.ahead, "ahead", 2, "queries created and awaited at once (records are stored oldest chunk first)")
	fl.BoolVar(&f.again, "again", false, "fetch chunks already backfilled again (duplicates are counted, not stored)")
	fl.StringVar(&f.numbering, "record-type-numbering", "371", "numbering of the disputed record types: 371 (371/389/390) or 373 (373/383/384)")
	fl.StringVar(&f.recordTypes, "record-types", "", "comma-separated Graph recordTypeFilters (default: every Copilot/AI record type, e.g. copilotInteraction)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	for _, name := range []string{"config", "tenant", "from", "to"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runBackfill(cmd *cobra.Command, f backfillFlags) error {
	cfg, err := loadConfig(cmd, f.config)
	if err != nil {
		return err
	}
	ti := slices.IndexFunc(cfg.Tenants, func(t config.Tenant) bool { return t.Name == f.tenant })
	if ti < 0 {
		names := make([]string, len(cfg.Tenants))
		for i, t := range cfg.Tenants {
			names[i] = t.Name
		}
		return fmt.Errorf("tenant %q is not in %s; configured tenants: %s", f.tenant, f.config, strings.Join(names, ", "))
	}
	tenant := cfg.Tenants[ti]
	// Check the range before touching the network or the store.
	rng, err := backfill.ParseRange(f.from, f.to, time.Now())
	if err != nil {
		return err
	}
	switch {
	case f.minSplit < time.Second:
		return fmt.Errorf("--min-split %s is under one second, the precision of Graph's time filter", f.minSplit)
	case f.chunk < f.minSplit:
		return fmt.Errorf("--chunk %s is smaller than --min-split %s", f.chunk, f.minSplit)
	case f.poll <= 0:
		return fmt.Errorf("--poll %s must be positive, e.g. 30s", f.poll)
	case f.ahead < 1:
		return fmt.Errorf("--ahead %d must be at least 1", f.ahead)
	}
	num, err := audit.ParseNumbering(f.numbering)
	if err != nil {
		return err
	}
	var types []string
	for _, s := range strings.Split(f.recordTypes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			types = append(types, s)
		}
	}

	showBar := !f.quiet && term.IsTerminal(int(os.Stderr.Fd()))
	level := slog.LevelInfo
	if showBar {
		level = slog.LevelWarn // the bar shows progress; keep the terminal for problems
	}
	// The job adds the tenant's name to its logs, the Graph client its id.
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	graph, err := graphClient(tenant, log)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenant.Name, err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openStoreWith(ctx, dataDirOr(cfg.DataDir), backfillStoreOptions())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := applySettings(ctx, st, writerSettings); err != nil {
		return err
	}

	var bar *progressbar.ProgressBar
	if showBar {
		bar = progressbar.NewOptions(len(backfill.Chunks(rng, f.chunk)),
			progressbar.OptionSetDescription(tenant.Name),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	job := &backfill.Job{
		Graph: graph, Store: st, TenantID: tenant.TenantID, TenantName: tenant.Name,
		ChunkSize: f.chunk, MinSplit: f.minSplit, Poll: f.poll, Ahead: f.ahead,
		RecordTypes: types, Registry: audit.NewRegistry(num), Again: f.again, Log: log,
		OnProgress: func(p backfill.Progress) {
			if bar != nil {
				bar.Describe(fmt.Sprintf("%s: %d stored, chunk %s", tenant.Name, p.Summary.Stored, p.Chunk.Start.Format("2006-01-02 15:04")))
				_ = bar.Set(p.Summary.ChunksDone)
			}
		},
	}
	sum, runErr := job.Run(ctx, rng.Start, rng.End)
	if bar != nil {
		_ = bar.Finish()
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "backfill %s %s: %s\n", tenant.Name, rng, sum)
	if sum.Gaps > 0 {
		fmt.Fprintf(out, "gaps: %d interval(s) held more records than one query returns even at --min-split %s; "+
			"see aiwatch sql \"SELECT * FROM BackfillInterval WHERE Status = 'capped'\"\n", sum.Gaps, f.minSplit)
	}
	if sum.Quarantined > 0 {
		fmt.Fprintf(out, "quarantined units: aiwatch sql \"SELECT SourceName, SourceLocation, RecordId, Reason FROM Quarantine WHERE SourceName LIKE 'graph:%%'\"\n")
	}
	switch {
	case runErr == nil:
		return nil
	case errors.Is(runErr, context.Canceled) && ctx.Err() != nil:
		return &exitError{code: 130, msg: "interrupted; the pages stored so far are kept: run the same command again to resume"}
	}
	if sum.ChunksDone < sum.Chunks {
		return &exitError{code: 1, msg: runErr.Error() + "; run the same command again to resume"}
	}
	return &exitError{code: 1, msg: runErr.Error()}
}

// graphClient builds the tenant's Graph audit query client.
func graphClient(t config.Tenant, log *slog.Logger) (*o365.Graph, error) {
	ep, err := t.ResolveEndpoints()
	if err != nil {
		return nil, err
	}
	cred, err := t.Credentials()
	if err != nil {
		return nil, err
	}
	resource, err := graphResource(o365.Cloud(t.Cloud))
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	hc := &http.Client{Transport: tr}
	ts := o365.NewTokenSource(hc, ep.Login, t.TenantID, resource, cred, nil)
	ts.Log = log
	return &o365.Graph{HTTP: hc, BaseURL: ep.Graph, TenantID: t.TenantID, Tokens: ts, Log: log}, nil
}

// graphResource is the token audience: the cloud's Graph host, whatever
// host (proxy, test server) the requests go to.
func graphResource(c o365.Cloud) (string, error) {
	base, err := o365.GraphEndpoint(c)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bad Graph endpoint %q: %w", base, err)
	}
	return u.Scheme + "://" + u.Host, nil
}
