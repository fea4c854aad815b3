package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/collect"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { rootCmd.AddCommand(newStatusCmd()) }

func newStatusCmd() *cobra.Command {
	var cfgPath, format string
	cmd := &cobra.Command{
		Use:   "status [--config FILE]",
		Short: "Show the collector's health per tenant: cursor, lag, counts, gaps, last error",
		Long: `Status prints, per tenant and content type, the collector's cursor, how far
it lags behind now, its last success, the records stored and dropped as
duplicates, retries, gaps and the last error, then the most recent gaps.

It reads the data directory. While "aiwatch collect" holds the directory
it asks that process instead, on server.listen with the server token from
the config (default 127.0.0.1:8080 without --config).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("unknown format %q: use table or json", format)
			}
			return runStatus(cmd, cfgPath, format)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (data_dir, server.listen and its token)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func runStatus(cmd *cobra.Command, cfgPath, format string) error {
	ctx := cmd.Context()
	cfg := config.Default()
	if cfgPath != "" {
		var err error
		cfg, err = config.Load(cfgPath)
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			// Status needs only data_dir and server: a tenant's secret missing
			// from this shell must not hide the collector's health.
			err = nil
		}
		if err != nil {
			return err
		}
	}
	dir := dataDirOr(cfg.DataDir)
	out := cmd.OutOrStdout()
	st, err := store.Open(ctx, dir, storeOptions(true))
	if errors.Is(err, store.ErrLocked) {
		return statusFromCollector(cmd, cfg.Server, dir, format)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := collect.ReadReport(ctx, st.Conn(), time.Now())
	if errors.Is(err, collect.ErrNoState) {
		fmt.Fprintf(out, "no collector state in %s yet: run aiwatch collect --config FILE\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	return printReport(out, rep, format)
}

// statusFromCollector asks the process that holds the data directory.
func statusFromCollector(cmd *cobra.Command, sc config.Server, dir, format string) error {
	locked := fmt.Sprintf("the data directory %s is locked by a running aiwatch process (such as collect)", dir)
	if sc.Listen == "" || sc.Listen == "off" {
		return &exitError{code: 1, msg: locked + "; set server.listen in the config to read its status"}
	}
	token, terr := sc.Token()
	rep, err := collect.FetchReport(cmd.Context(), sc.Listen, token)
	if err != nil {
		msg := fmt.Sprintf("%s, and its status endpoint cannot be read: %v", locked, err)
		if terr != nil {
			msg += fmt.Sprintf(" (server token: %v)", terr)
		}
		return &exitError{code: 1, msg: msg}
	}
	// Another collector may answer on that address: it must be ours.
	if rep.DataDir != "" && !sameDir(rep.DataDir, dir) {
		return &exitError{code: 1, msg: fmt.Sprintf("%s, but the collector answering at %s stores into %s, not %s", locked, sc.Listen, rep.DataDir, dir)}
	}
	if format == "table" {
		fmt.Fprintf(cmd.OutOrStdout(), "%s; live status from it at %s:\n", locked, sc.Listen)
	}
	return printReport(cmd.OutOrStdout(), rep, format)
}

func printReport(w io.Writer, rep collect.Report, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if len(rep.Tenants) == 0 {
		fmt.Fprintln(w, "no tenants collected yet")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(rep.Tenants) > 0 {
		fmt.Fprintln(tw, "TENANT\tCONTENT TYPE\tSTATE\tCURSOR\tLAG\tLAST SUCCESS\tBLOBS\tSTORED\tDUPLICATES\tRETRIES\tGAPS\tERRORS\tLAST ERROR")
	}
	for _, s := range rep.Tenants {
		state := "ok"
		switch {
		case !s.Healthy():
			state = "error"
		case s.LastSuccess.IsZero():
			state = "pending"
		}
		lag := "-"
		if !s.Cursor.IsZero() {
			lag = (time.Duration(s.LagSeconds * float64(time.Second))).Round(time.Second).String()
		}
		lastErr := ""
		if s.LastError != "" {
			lastErr = statusTime(s.LastErrorAt) + " " + statusLine(s.LastError, 160)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Tenant, s.ContentType, state,
			statusTime(s.Cursor), lag, statusTime(s.LastSuccess), s.Blobs, s.RecordsStored, s.Duplicates, s.Retries, s.Gaps, s.Errors, lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Gaps) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nrecent gaps (content that could not be collected):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORDED\tTENANT\tCONTENT TYPE\tKIND\tFROM\tTO\tCONTENT ID\tDETAIL")
	for _, g := range rep.Gaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", statusTime(g.RecordedAt), g.Tenant, g.ContentType, g.Kind,
			statusTime(g.WindowStart), statusTime(g.WindowEnd), statusDash(g.ContentID), statusLine(g.Detail, 120))
	}
	return tw.Flush()
}

func statusTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func statusDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func statusLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// sameDir compares two directory paths after making them absolute.
func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(aa) == filepath.Clean(bb)
}
