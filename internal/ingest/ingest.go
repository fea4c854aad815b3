// Package ingest runs the import pipeline: units from a reader are
// normalized in parallel, kept in input order, and committed to the store in
// batches, each batch one transaction.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/reader"
	"github.com/aiwatch/aiwatch/internal/store"
)

// Options tune an import.
type Options struct {
	BatchSize    int // units per transaction; default 131072 (about one DuckDB row group)
	CheckSize    int // units per duplicate check inside a transaction; default 8192
	Workers      int // normalizing goroutines; default GOMAXPROCS
	Registry     *audit.Registry
	SourceSystem string // default "Import"
	// OnCommit is called after each committed batch (progress, metrics).
	OnCommit func(Summary)
}

// Summary counts what happened to the units of one or more inputs.
type Summary struct {
	Read        int // units read
	Stored      int // new records stored
	Duplicates  int // same Id and content as a stored record
	Conflicts   int // same Id, different content: first kept, this one in RecordConflict
	Skipped     int // valid records that are not Copilot activity
	Quarantined int // units that cannot be stored
}

// Add sums summaries.
func (s *Summary) Add(o Summary) {
	s.Read += o.Read
	s.Stored += o.Stored
	s.Duplicates += o.Duplicates
	s.Conflicts += o.Conflicts
	s.Skipped += o.Skipped
	s.Quarantined += o.Quarantined
}

func (s Summary) String() string {
	return fmt.Sprintf("read %d, stored %d, duplicates %d, conflicts %d, skipped (not Copilot) %d, quarantined %d",
		s.Read, s.Stored, s.Duplicates, s.Conflicts, s.Skipped, s.Quarantined)
}

const chunkSize = 256

type chunk struct {
	seq   int
	units []reader.Unit
	rows  []store.Row
	quar  []store.QuarantineRow
	skip  int
}

// Import reads every unit of rd (named source, e.g. the file path) into st.
// A unit that cannot be stored is quarantined with its location and reason;
// the rest of the input still lands. An error is returned only when the
// input becomes unreadable or the store fails; what was committed stays.
func Import(ctx context.Context, st *store.Store, source string, rd reader.Reader, opts Options) (Summary, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 131072
	}
	if opts.CheckSize <= 0 {
		opts.CheckSize = 8192
	}
	if opts.CheckSize > opts.BatchSize {
		opts.CheckSize = opts.BatchSize
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.SourceSystem == "" {
		opts.SourceSystem = "Import"
	}
	reg := opts.Registry
	if reg == nil {
		reg = audit.NewRegistry(audit.Numbering371)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	todo := make(chan *chunk, opts.Workers*2)
	done := make(chan *chunk, opts.Workers*2)
	var readErr error
	go func() {
		defer close(todo)
		seq := 0
		c := &chunk{seq: seq}
		for {
			u, err := rd.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				break
			}
			c.units = append(c.units, u)
			if len(c.units) == chunkSize {
				select {
				case todo <- c:
				case <-ctx.Done():
					return
				}
				seq++
				c = &chunk{seq: seq}
			}
		}
		if len(c.units) > 0 {
			select {
			case todo <- c:
			case <-ctx.Done():
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := audit.NewNormalizer(reg)
			for c := range todo {
				normalize(n, source, c)
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	var sum Summary
	var tx *store.Tx
	var rows []store.Row
	var quar []store.QuarantineRow
	inTx := 0
	add := func() error {
		if len(rows) == 0 && len(quar) == 0 {
			return nil
		}
		if tx == nil {
			var err error
			if tx, err = st.Begin(ctx, opts.SourceSystem); err != nil {
				return fmt.Errorf("cannot store records from %s: %w", source, err)
			}
		}
		if err := tx.Add(ctx, rows, quar); err != nil {
			tx = nil
			return fmt.Errorf("cannot store records from %s: %w", source, err)
		}
		inTx += len(rows) + len(quar)
		rows, quar = rows[:0], quar[:0]
		return nil
	}
	commit := func() error {
		if err := add(); err != nil {
			return err
		}
		if tx == nil {
			return nil
		}
		res, err := tx.Commit(ctx)
		tx, inTx = nil, 0
		if err != nil {
			return fmt.Errorf("cannot store records from %s: %w", source, err)
		}
		sum.Stored += res.Stored
		sum.Duplicates += res.Duplicates
		sum.Conflicts += res.Conflicts
		sum.Quarantined += res.Quarantined
		if opts.OnCommit != nil {
			opts.OnCommit(sum)
		}
		return nil
	}
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	// Chunks come back out of order; store them in input order so the first
	// copy of a record in the file is the one kept.
	pending := map[int]*chunk{}
	next := 0
	for c := range done {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			sum.Read += len(c.units)
			sum.Skipped += c.skip
			rows = append(rows, c.rows...)
			quar = append(quar, c.quar...)
			if len(rows)+len(quar) >= opts.CheckSize {
				if err := add(); err != nil {
					return sum, err
				}
				if inTx >= opts.BatchSize {
					if err := commit(); err != nil {
						return sum, err
					}
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := commit(); err != nil {
		return sum, err
	}
	if readErr != nil {
		return sum, fmt.Errorf("cannot read %s: %w", source, readErr)
	}
	return sum, nil
}

func normalize(n *audit.Normalizer, source string, c *chunk) {
	for _, u := range c.units {
		if u.Err != "" {
			c.quar = append(c.quar, store.QuarantineRow{Source: source, Loc: u.Loc, RecordID: u.HintID, Reason: u.Err, Raw: u.Raw})
			continue
		}
		r, rej := n.Normalize(u.Record, u.Raw)
		if rej != nil {
			id := rej.ID
			if id == "" {
				id = u.HintID
			}
			c.quar = append(c.quar, store.QuarantineRow{Source: source, Loc: u.Loc, RecordID: id, Reason: rej.Reason, Raw: u.Raw})
			continue
		}
		if !r.Copilot {
			c.skip++
			continue
		}
		c.rows = append(c.rows, store.Row{Record: r, Source: source, Loc: u.Loc})
	}
}
