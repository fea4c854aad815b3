package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/config"
)

func init() { rootCmd.AddCommand(newConfigCmd()) }

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the aiwatch configuration file",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file and report every problem",
		Long: "Check reads FILE, rejects unknown keys, and validates every setting, including\n" +
			"that named secret variables and files exist and certificates load.\n" +
			"It prints every problem, one per line, and exits non-zero if there is any.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigCheck(cmd, args[0])
		},
	})
	return cmd
}

func runConfigCheck(cmd *cobra.Command, path string) error {
	cfg, err := config.Check(path)
	if err != nil {
		var ve *config.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		for _, p := range ve.Problems {
			fmt.Fprintln(cmd.ErrOrStderr(), p)
		}
		word := "problems"
		if len(ve.Problems) == 1 {
			word = "problem"
		}
		return &exitError{code: 1, msg: fmt.Sprintf("config %s: %d %s", path, len(ve.Problems), word)}
	}
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	word := "tenants"
	if len(names) == 1 {
		word = "tenant"
	}
	// No tenants is valid (import, query and detect need none), but say
	// what it leaves out.
	list := " (nothing to collect: collect needs one under tenants:)"
	if len(names) > 0 {
		list = " (" + strings.Join(names, ", ") + ")"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "config OK: %d %s%s, data_dir %s\n", len(names), word, list, cfg.DataDir)
	return nil
}
