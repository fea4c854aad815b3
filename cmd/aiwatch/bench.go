package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

// newBenchCmd holds reference measurements for the benchmarks in the README.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "bench",
		Short:  "Reference measurements for benchmarks",
		Hidden: true,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "read-json FILE",
		Short: "Load FILE with DuckDB's own read_json into a table in a fresh database under --data (the reference point for import speed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dataDir()
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return err
			}
			path := filepath.Join(dir, "read_json.duckdb")
			os.Remove(path)
			os.Remove(path + ".wal")
			db, err := sql.Open("duckdb", path)
			if err != nil {
				return err
			}
			defer db.Close()
			start := time.Now()
			file := strings.ReplaceAll(args[0], "'", "''")
			var n int64
			if _, err := db.Exec(`CREATE TABLE t AS SELECT * FROM read_json('` + file + `', format = 'newline_delimited', maximum_object_size = 268435456)`); err != nil {
				return err
			}
			if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
				return err
			}
			if _, err := db.Exec(`CHECKPOINT`); err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(cmd.OutOrStdout(), "read_json: %d records in %.2fs, %.0f records/s\n", n, el.Seconds(), float64(n)/el.Seconds())
			return nil
		},
	})
	cmd.AddCommand(newBenchImportCmd())
	return cmd
}

func newBenchImportCmd() *cobra.Command {
	var records int
	var file string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import N generated records with 'aiwatch import' and with DuckDB's read_json, each in a fresh process; print records/s, MB/s and peak RSS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			work, err := os.MkdirTemp("", "aiwatch-bench")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if file == "" {
				file = filepath.Join(work, "records.jsonl")
				if err := runChild(self, "simulate", "--bulk", fmt.Sprint(records), "--start", "2026-03-01", "--out", file); err != nil {
					return fmt.Errorf("cannot generate records: %w", err)
				}
			}
			fi, err := os.Stat(file)
			if err != nil {
				return err
			}
			mb := float64(fi.Size()) / 1e6
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "input: %s, %d records, %.0f MB\n", file, records, mb)
			fmt.Fprintf(out, "%-28s %10s %12s %8s %12s %14s\n", "run", "seconds", "records/s", "MB/s", "CPU seconds", "peak RSS MB")
			for _, c := range []struct {
				name string
				args []string
			}{
				{"aiwatch import", []string{"import", "-q", "--data", filepath.Join(work, "import"), file}},
				{"duckdb read_json (reference)", []string{"bench", "read-json", "--data", filepath.Join(work, "readjson"), file}},
			} {
				sec, cpu, rss, err := timeChild(self, c.args...)
				if err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				fmt.Fprintf(out, "%-28s %10.2f %12.0f %8.1f %12.2f %14.0f\n", c.name, sec, float64(records)/sec, mb/sec, cpu, rss)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&records, "records", 1000000, "records to generate")
	cmd.Flags().StringVar(&file, "file", "", "use this JSONL file instead of generating one (--records must give its record count)")
	return cmd
}

func runChild(bin string, args ...string) error {
	c := exec.Command(bin, args...)
	c.Stderr = os.Stderr
	return c.Run()
}

// timeChild runs a child process and returns its wall time, CPU time (user
// plus system; on a busy machine a steadier figure than wall time) and peak
// RSS in MB.
func timeChild(bin string, args ...string) (sec, cpu, rss float64, err error) {
	c := exec.Command(bin, args...)
	c.Stderr = os.Stderr
	start := time.Now()
	if err := c.Run(); err != nil {
		return 0, 0, 0, err
	}
	sec = time.Since(start).Seconds()
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
	}
	return sec, cpu, rss, nil
}
