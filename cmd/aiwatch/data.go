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

// storeOptions sets DuckDB's memory limit. Writers (backfill, demo, and
// import and collect with their own figures) stream through small
// transactions and get a small limit. Readers run analysts' queries and get
// DuckDB's default. AIWATCH_MEMORY_LIMIT overrides both.
func storeOptions(readOnly bool) store.Options {
	mem := os.Getenv("AIWATCH_MEMORY_LIMIT")
	if mem == "" && !readOnly {
		mem = "48MB"
	}
	return store.Options{MemoryLimit: mem, ReadOnly: readOnly}
}

// collectMemory is DuckDB's memory limit for collect. Its buffer pool fills
// up to the limit while a big blob is stored (the transaction's row groups
// wait there, or in temporary files, until they are written), so the limit is
// most of what a big blob adds to peak RSS. Measured on a 300 MB and a 600 MB
// blob: 24MB fails (DuckDB needs about 23 MB pinned at once), 32MB works at
// both sizes.
const collectMemory = "32MB"

// collectStoreOptions is storeOptions for collect; AIWATCH_MEMORY_LIMIT still wins.
// DuckDB runs on one thread, as for import: measured with a 300 MB blob,
// peak RSS 128 MB against 147-149 MB with two; on an ordinary 200,000-record
// collect, 4% less CPU and 9% less peak for 8% more time.
func collectStoreOptions() store.Options {
	o := storeOptions(false)
	if os.Getenv("AIWATCH_MEMORY_LIMIT") == "" {
		o.MemoryLimit = collectMemory
	}
	o.Threads = 1
	return o
}

// backfillStoreOptions is collectStoreOptions with room for backfill's
// many small commits (a Graph page of 100 records each), whose data waits
// in DuckDB's memory until a checkpoint writes it. Measured on a busy tenant
// (27,000 records a day): 48MB on two threads and 32MB on one fail to pin a
// block after 57 to 76 pages; 64MB stores 81,015 records over three days at
// a peak RSS of 179 MB.
func backfillStoreOptions() store.Options {
	o := collectStoreOptions()
	if os.Getenv("AIWATCH_MEMORY_LIMIT") == "" {
		o.MemoryLimit = "64MB"
	}
	return o
}

// writerSettings tune DuckDB for a long-running writer (collect, import).
// The writer's thread is not one of DuckDB's workers, which flush their
// allocator caches after each task, so without jemalloc's background threads
// the pages it frees stay resident: measured 15-40 MB resident beyond what
// jemalloc had allocated while a 300 MB blob was stored, 10-15 MB with them.
var writerSettings = []string{"SET allocator_background_threads = true"}

// applySettings runs SET statements on a freshly opened store.
func applySettings(ctx context.Context, st *store.Store, settings []string) error {
	for _, q := range settings {
		if _, err := st.Conn().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cannot apply %q: %w", q, err)
		}
	}
	return nil
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
