package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/aiwatch/aiwatch/internal/audit"
)

// idFilter is a Bloom filter over the IdHash of every row of
// CopilotActivityData: a RecordId it has not seen is certainly not stored,
// so a group of new records needs no duplicate query, which scans the whole
// IdHash column each time (on 1,000,000 records, a sixth of the import's
// time, growing with the table). A hit only means the query runs for the
// rows that hit. Rows rolled back or deleted stay in the filter:
// that costs queries, never a missed duplicate.
//
// Blocks are one cache line: a lookup reads one line per segment. Segments
// double in capacity as ids are added, so memory follows the table at about
// 4-8 bytes a row, up to maxFilterCap; past that the filter is dropped and
// every group is queried again.
type idFilter struct {
	mu   sync.Mutex
	segs []idSegment
	off  bool // full: dropped
}

type idSegment struct {
	blocks []idBlock
	n, cap int
}

type idBlock [8]uint64

const (
	// idBits is the filter's size per id. With 16 bits set per id (two in
	// each word of the block), a lookup of an absent id in a full filter
	// hits about once in 50,000: one group of 2048 new records in 25 is
	// queried.
	idBits        = 32
	minFilterIDs  = 1 << 17
	maxFilterCap  = 1 << 23 // ids in all segments: 32 MB
	blockBits     = 8 * 64
	idFilterMixer = 0x9e3779b97f4a7c15
)

func newSegment(capacity int) idSegment {
	return idSegment{blocks: make([]idBlock, (capacity*idBits+blockBits-1)/blockBits), cap: capacity}
}

// bits returns the block of h and the two bits h sets in each of its words.
func (s *idSegment) bits(h uint64) (*idBlock, uint64, uint64) {
	h = audit.Mix(h)
	b := &s.blocks[(h>>32)*uint64(len(s.blocks))>>32]
	return b, audit.Mix(h ^ idFilterMixer), audit.Mix(h + idFilterMixer)
}

func (s *idSegment) add(h uint64) {
	b, x, y := s.bits(h)
	for j := range b {
		b[j] |= 1<<(x>>(6*j)&63) | 1<<(y>>(6*j)&63)
	}
	s.n++
}

func (s *idSegment) has(h uint64) bool {
	b, x, y := s.bits(h)
	for j := range b {
		m := uint64(1)<<(x>>(6*j)&63) | uint64(1)<<(y>>(6*j)&63)
		if b[j]&m != m {
			return false
		}
	}
	return true
}

// mayHave reports whether id hash h may be stored. Call with f.mu held.
func (f *idFilter) mayHave(h int64) bool {
	for i := range f.segs {
		if f.segs[i].has(uint64(h)) {
			return true
		}
	}
	return false
}

// add records id hash h as stored; false once the filter is full and
// must no longer be used. Call with f.mu held.
func (f *idFilter) add(h int64) bool {
	if f.off {
		return false
	}
	last := len(f.segs) - 1
	if f.segs[last].n == f.segs[last].cap {
		c := 2 * f.segs[last].cap
		if f.capacity()+c > maxFilterCap {
			f.off, f.segs = true, nil
			return false
		}
		f.segs = append(f.segs, newSegment(c))
		last++
	}
	f.segs[last].add(uint64(h))
	return true
}

func (f *idFilter) capacity() int {
	c := 0
	for i := range f.segs {
		c += f.segs[i].cap
	}
	return c
}

// useIDFilter makes the store keep an idFilter, seeded with the IdHash of
// every stored row, when the table is small enough. Import calls it;
// other writers (collect) keep querying and spend no memory on it. Every
// transaction adds its rows to the filter once it exists, so it never
// misses a row stored in this process; DuckDB lets no other process write.
func (s *Store) useIDFilter(ctx context.Context, conn *sql.Conn) error {
	s.mu.Lock()
	began := s.began
	skip := s.ids != nil || len(s.open) > 0
	s.mu.Unlock()
	if skip {
		return nil
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData`).Scan(&n); err != nil {
		return fmt.Errorf("cannot count stored records: %w", err)
	}
	if 2*n > maxFilterCap/2 {
		return nil
	}
	f := &idFilter{segs: []idSegment{newSegment(max(minFilterIDs, 2*n))}}
	rows, err := conn.QueryContext(ctx, `SELECT IdHash FROM CopilotActivityData WHERE IdHash IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("cannot read stored record ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("cannot read stored record ids: %w", err)
		}
		f.add(h)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read stored record ids: %w", err)
	}
	s.mu.Lock()
	// A transaction begun meanwhile may hold rows the seed did not see.
	if s.began == began && len(s.open) == 0 && s.ids == nil {
		s.ids = f
	}
	s.mu.Unlock()
	return nil
}
