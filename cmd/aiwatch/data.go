package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aiwatch/aiwatch/internal/server"
	"github.com/aiwatch/aiwatch/internal/store"
)

const defaultDataDir = "./aiwatch-data"

var dataDirFlag string

func init() {
	rootCmd.PersistentFlags().StringVar(&dataDirFlag, "data", "", "data directory (default $AIWATCH_DATA or "+defaultDataDir+")")
}

// dataDir resolves the data directory: flag, then AIWATCH_DATA, then the default.
func dataDir() string {
	if dataDirFlag != "" {
		return dataDirFlag
	}
	if d := os.Getenv("AIWATCH_DATA"); d != "" {
		return d
	}
	return defaultDataDir
}

// storeOptions sets DuckDB's memory limit. Writers (import, collect,
// backfill, demo) stream through small transactions and get a small limit,
// which keeps a long import's peak RSS under 300 MB (measured: 295 MB for a
// 1M-record import with 48MB and Go's 80MiB soft limit, at the same speed as
// with 96MiB). Readers run
// analysts' queries and get DuckDB's default. AIWATCH_MEMORY_LIMIT overrides both.
func storeOptions(readOnly bool) store.Options {
	mem := os.Getenv("AIWATCH_MEMORY_LIMIT")
	if mem == "" && !readOnly {
		mem = "48MB"
	}
	return store.Options{MemoryLimit: mem, ReadOnly: readOnly}
}

// detectMemory is DuckDB's memory limit for the commands that run rules
// (detect, serve, rules test): a rule over 14 days of a large tenant
// aggregates more than an import batch holds.
const detectMemory = "512MB"

// passStoreOptions is detectStoreOptions for a command that only runs a
// scheduler pass: one DuckDB thread per query costs the least CPU
// (measured on 2 cores, the pack over a 100,000-user day: 72 CPU-s against
// 93 with DuckDB's two threads per query).
func passStoreOptions() store.Options {
	o := detectStoreOptions()
	o.Threads = 1
	return o
}

// detectStoreOptions is storeOptions for the commands that run rules.
func detectStoreOptions() store.Options {
	o := storeOptions(false)
	if os.Getenv("AIWATCH_MEMORY_LIMIT") == "" {
		o.MemoryLimit = detectMemory
	}
	return o
}

func openStore(ctx context.Context, readOnly bool) (*store.Store, error) {
	return openStoreAt(ctx, dataDir(), readOnly)
}

// dataDirOr resolves the data directory of a command that read a config
// file: flag, then AIWATCH_DATA, then the file's data_dir.
func dataDirOr(configured string) string {
	if dataDirFlag != "" || os.Getenv("AIWATCH_DATA") != "" || configured == "" {
		return dataDir()
	}
	return configured
}

// openStoreAt is openStore for an explicit data directory.
func openStoreAt(ctx context.Context, dir string, readOnly bool) (*store.Store, error) {
	return openStoreWith(ctx, dir, storeOptions(readOnly))
}

// openStoreWith opens dir with the given options.
func openStoreWith(ctx context.Context, dir string, opts store.Options) (*store.Store, error) {
	st, err := store.Open(ctx, dir, opts)
	if errors.Is(err, store.ErrLocked) {
		if ep, eerr := server.ReadEndpoint(dir); eerr == nil {
			return nil, fmt.Errorf("%w: aiwatch serve holds %s (pid %d, listening on %s); stop it to run this command, or use aiwatch query, alerts and incidents, which go through it (set %s to its token)",
				store.ErrLocked, dir, ep.PID, ep.Addr, server.TokenEnv)
		}
		return nil, fmt.Errorf("%w; stop it or wait for it to finish (data directory %s)", err, dir)
	}
	return st, err
}
