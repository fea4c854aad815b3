package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/render"
	"github.com/aiwatch/aiwatch/internal/server"
)

func init() { rootCmd.AddCommand(newQueryCmd()) }

func newQueryCmd() *cobra.Command {
	var format, file string
	var explain bool
	cmd := &cobra.Command{
		Use:   "query 'KQL'",
		Short: "Run a KQL query on the store (compiled to DuckDB SQL, read-only)",
		Long: `Compiles a KQL query over CopilotActivity to DuckDB SQL and runs it read-only.
The query comes from the argument, from a file with -f, or from stdin when the
argument is "-". --explain prints the SQL instead of running it.`,
		Example: `  aiwatch query 'CopilotActivity | summarize count() by RecordType'
  aiwatch query -f jailbreak.kql --format json
  echo 'CopilotActivity | take 5' | aiwatch query -
  aiwatch query --explain 'CopilotActivity | where ActorName has "user1"'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := render.CheckFormat(format); err != nil {
				return err
			}
			text, err := queryText(cmd, file, args)
			if err != nil {
				return err
			}
			comp, err := kql.Compile(text, kql.DefaultCatalog(), kql.Options{})
			if err != nil {
				return fmt.Errorf("cannot compile the query: %w", err)
			}
			if explain {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), comp.SQL)
				return err
			}
			st, client, err := openOrServer(cmd.Context(), true)
			if err != nil {
				return err
			}
			if client != nil {
				return remoteQuery(cmd, client, text, format)
			}
			defer st.Close()
			rs, err := st.DB().QueryContext(cmd.Context(), comp.SQL)
			if err != nil {
				return fmt.Errorf("query failed: %w", err)
			}
			defer rs.Close()
			_, err = render.Rows(cmd.OutOrStdout(), format, rs)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the query from this file")
	cmd.Flags().BoolVar(&explain, "explain", false, "print the SQL instead of running it")
	return cmd
}

// queryText takes the query from -f, from stdin ("-"), or from the argument.
func queryText(cmd *cobra.Command, file string, args []string) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", fmt.Errorf("give the query either as an argument or with -f, not both")
	case file != "" && file != "-":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("cannot read query file: %w", err)
		}
		// Windows editors start a UTF-8 file with a byte order mark.
		return strings.TrimPrefix(string(b), "\ufeff"), nil
	case file == "-" || len(args) == 1 && args[0] == "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return "", fmt.Errorf("cannot read the query from stdin: %w", err)
		}
		return strings.TrimPrefix(string(b), "\ufeff"), nil
	case len(args) == 1:
		return args[0], nil
	}
	return "", fmt.Errorf("no query: give it as an argument, with -f FILE, or on stdin with -")
}

// remoteQuery runs the query through aiwatch serve and prints it as a
// local run would.
func remoteQuery(cmd *cobra.Command, c *server.Client, text, format string) error {
	res, err := c.Query(cmd.Context(), text)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	if res.Truncated {
		fmt.Fprintln(cmd.ErrOrStderr(), "the server returned only the first rows (its row cap); narrow the query")
	}
	return res.Write(cmd.OutOrStdout(), format)
}
