package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/render"
)

func init() { rootCmd.AddCommand(newSQLCmd()) }

func newSQLCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "sql 'SELECT …'",
		Short: "Run one read-only SQL SELECT on the store (power-user escape hatch)",
		Long: `Runs one SELECT statement on the data directory's DuckDB database. The
database is opened read-only and without file or network access; other
statements are refused. Tables: CopilotActivity (a view), Quarantine,
RecordConflict, SourceCursor, FetchedContent, CollectorState, CollectorGap,
BackfillInterval.`,
		Example: `  aiwatch sql "SELECT RecordType, count(*) FROM CopilotActivity GROUP BY ALL"
  aiwatch sql --format json "SELECT RecordId, LLMEventData FROM CopilotActivity LIMIT 2"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := render.CheckFormat(format); err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := st.Query(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("query failed: %w", err)
			}
			defer rs.Close()
			_, err = render.Rows(cmd.OutOrStdout(), format, rs)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	return cmd
}
