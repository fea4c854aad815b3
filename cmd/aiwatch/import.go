package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/ingest"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { rootCmd.AddCommand(newImportCmd()) }

func newImportCmd() *cobra.Command {
	var format, numbering string
	var strict, quiet bool
	var batchSize, writers int
	cmd := &cobra.Command{
		Use:   "import [--data DIR] FILE…",
		Short: "Import Copilot audit records from files (JSON, JSONL, Graph pages, Purview/classic/PowerShell CSV; .gz; - for stdin)",
		Long: `Import reads audit records from export files and stores the Copilot/AI
activity in the CopilotActivity table, exactly once: records already stored
are counted as duplicates, records of other workloads are counted and
skipped, and units that cannot be stored go to the Quarantine table with
their location and reason. The format is detected from the first bytes;
--format forces one of: json, jsonl, graph, purview-csv, classic-csv, powershell-csv.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := reader.ParseFormat(format)
			if err != nil {
				return err
			}
			num, err := audit.ParseNumbering(numbering)
			if err != nil {
				return err
			}
			// Ctrl-C stops reading; what was committed stays and a re-run completes the rest.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			importMemory()
			st, err := openStoreWith(ctx, dataDir(), importStoreOptions())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := applySettings(ctx, st, writerSettings); err != nil {
				return err
			}
			reg := audit.NewRegistry(num)
			var sample quarantineSample
			showBar := !quiet && term.IsTerminal(int(os.Stderr.Fd()))
			var total ingest.Summary
			failed := 0
			for _, path := range args {
				if ctx.Err() != nil {
					break
				}
				sum, err := importOne(ctx, cmd, st, path, f, ingest.Options{Registry: reg, BatchSize: batchSize, Writers: writers, OnQuarantine: sample.add}, showBar)
				total.Add(sum)
				if sum.Read > 1 && sum.Quarantined == sum.Read {
					hint := "is it an audit export?"
					if f != reader.FormatAuto {
						hint = fmt.Sprintf("is --format %s right for it?", f)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "aiwatch: every one of the %d units of %s was quarantined: %s\n", sum.Read, path, hint)
				}
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "aiwatch: %v\n", err)
					continue
				}
				if len(args) > 1 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", path, sum)
				}
			}
			if ctx.Err() != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "interrupted: %s (stored counts what was committed)\n", total)
				return &exitError{code: 130, msg: "interrupted; run the same command again to import the rest (what is stored comes back as duplicates)"}
			}
			if failed > 0 {
				// What came before a break in a file is stored and counted.
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d of %d file(s) completely: %s\n", len(args)-failed, len(args), total)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d file(s): %s\n", len(args), total)
			}
			if total.Quarantined > 0 {
				sample.show(cmd, total.Quarantined)
			}
			if failed > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d file(s) could not be read completely", failed, len(args))}
			}
			if strict && total.Quarantined > 0 {
				return &exitError{code: 3, msg: fmt.Sprintf("--strict: %d unit(s) quarantined", total.Quarantined)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "input format (default: detect)")
	cmd.Flags().StringVar(&numbering, "record-type-numbering", "371", "numbering of the disputed record types: 371 (371/389/390) or 373 (373/383/384)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit non-zero (3) if any unit was quarantined")
	cmd.Flags().IntVar(&batchSize, "batch-size", 0, "units per transaction (default about one DuckDB row group)")
	cmd.Flags().MarkHidden("batch-size")
	cmd.Flags().IntVar(&writers, "writers", 0, "parallel store connections (default 1)")
	cmd.Flags().MarkHidden("writers")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

// Import's memory split, measured on 1,000,000 records: DuckDB gets enough
// for the row groups being written (less makes it spill them to temporary
// files and read them back), Go enough that its collector is not forced to
// run constantly. Together they keep peak RSS under 300 MB.
const (
	importDuckDBMemory = "64MB"
	importGoMemory     = 100 << 20
)

// importStoreOptions is storeOptions for import; AIWATCH_MEMORY_LIMIT still wins.
// DuckDB runs on one thread: the appends come from one connection anyway,
// and a second worker only adds scheduling and compresses row groups beside
// the Go goroutines that parse (measured on 1,000,000 records, 2 cores:
// 23% less CPU, 13% less time, and with writerSettings 6% less peak memory).
func importStoreOptions() store.Options {
	o := storeOptions(false)
	if os.Getenv("AIWATCH_MEMORY_LIMIT") == "" {
		o.MemoryLimit = importDuckDBMemory
	}
	o.Threads = 1
	return o
}

// importMemory raises Go's soft memory limit for an import unless GOMEMLIMIT is set.
func importMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importGoMemory)
	}
}

// countingReader counts bytes for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func importOne(ctx context.Context, cmd *cobra.Command, st *store.Store, path string, f reader.Format, opts ingest.Options, showBar bool) (ingest.Summary, error) {
	var in io.Reader
	size := int64(-1)
	if path == "-" {
		in = os.Stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return ingest.Summary{}, fmt.Errorf("cannot open input: %w", err)
		}
		defer fh.Close()
		if fi, err := fh.Stat(); err == nil {
			size = fi.Size()
		}
		in = fh
	}
	cr := &countingReader{r: in}
	rd, err := reader.Open(cr, f)
	if err != nil {
		return ingest.Summary{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var stop chan struct{}
	var bar *progressbar.ProgressBar
	if showBar {
		bar = progressbar.NewOptions64(size,
			progressbar.OptionSetDescription(path),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		stop = make(chan struct{})
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					bar.Set64(cr.n.Load())
				case <-stop:
					return
				}
			}
		}()
	}
	sum, err := ingest.Import(ctx, st, path, rd, opts)
	if bar != nil {
		close(stop)
		bar.Finish()
	}
	return sum, err
}

// quarantineSample keeps the first units quarantined, to name them.
type quarantineSample struct {
	rows []store.QuarantineRow
}

func (q *quarantineSample) add(r store.QuarantineRow) {
	if len(q.rows) < 5 {
		q.rows = append(q.rows, r)
	}
}

// show names the first units this run quarantined, with where and why.
func (q *quarantineSample) show(cmd *cobra.Command, n int) {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "quarantined %d unit(s):\n", n)
	for _, r := range q.rows {
		id := ""
		if r.RecordID != "" {
			id = " (Id " + r.RecordID + ")"
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", r.Source, r.Loc, id, r.Reason)
	}
	if n > len(q.rows) {
		fmt.Fprintf(w, "  … all of them: aiwatch sql \"SELECT SourceName, SourceLocation, RecordId, Reason FROM Quarantine\"\n")
	}
}
