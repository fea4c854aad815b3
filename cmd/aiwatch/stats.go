package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/render"
)

func init() { rootCmd.AddCommand(newStatsCmd()) }

// statsQueries are the sections of `aiwatch stats`, in order.
var statsQueries = []struct{ title, sql string }{
	{"Totals", `SELECT (SELECT count(*) FROM CopilotActivity) AS Records,
		(SELECT count(DISTINCT RecordId) FROM CopilotActivity) AS DistinctRecordIds,
		(SELECT count(*) FROM Quarantine) AS Quarantined,
		(SELECT count(*) FROM RecordConflict) AS Conflicts,
		(SELECT min(TimeGenerated) FROM CopilotActivity) AS FirstEvent,
		(SELECT max(TimeGenerated) FROM CopilotActivity) AS LastEvent`},
	{"By RecordType", `SELECT coalesce(nullif(RecordType, ''), '(unknown ' || RecordTypeNumber || ')') AS RecordType, count(*) AS Records
		FROM CopilotActivity GROUP BY 1 ORDER BY Records DESC, 1`},
	{"By AppHost", `SELECT coalesce(nullif(AppHost, ''), '(none)') AS AppHost, count(*) AS Records
		FROM CopilotActivity GROUP BY 1 ORDER BY Records DESC, 1`},
	{"By day (UTC)", `SELECT strftime(date_trunc('day', TimeGenerated), '%Y-%m-%d') AS Day, count(*) AS Records
		FROM CopilotActivity GROUP BY 1 ORDER BY 1`},
	{"By tenant", `SELECT coalesce(nullif(TenantId, ''), '(none)') AS TenantId, count(*) AS Records, count(DISTINCT ActorName) AS Actors
		FROM CopilotActivity GROUP BY 1 ORDER BY Records DESC, 1`},
	{"Quarantine by reason", `SELECT Reason, count(*) AS Units FROM Quarantine GROUP BY 1 ORDER BY Units DESC, 1`},
}

func newStatsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Summarize the store: records by RecordType, AppHost, day and tenant; quarantine size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := render.CheckFormat(format); err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			out := cmd.OutOrStdout()
			// JSON is one object keyed by section; table and CSV print sections in turn.
			if format == "json" {
				fmt.Fprint(out, "{")
			}
			for i, q := range statsQueries {
				switch format {
				case "table":
					if i > 0 {
						fmt.Fprintln(out)
					}
					fmt.Fprintf(out, "== %s\n", q.title)
				case "json":
					if i > 0 {
						fmt.Fprint(out, ",")
					}
					fmt.Fprintf(out, "\n%q: ", q.title)
				}
				rs, err := st.DB().QueryContext(cmd.Context(), q.sql)
				if err != nil {
					return fmt.Errorf("stats %s: %w", q.title, err)
				}
				_, err = render.Rows(out, format, rs)
				rs.Close()
				if err != nil {
					return err
				}
			}
			if format == "json" {
				fmt.Fprintln(out, "}")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	return cmd
}
