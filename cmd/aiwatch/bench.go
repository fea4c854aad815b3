package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	return cmd
}
