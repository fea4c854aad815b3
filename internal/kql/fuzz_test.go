package kql

import (
	"strings"
	"testing"
	"time"
)

// FuzzCompile checks that no input makes the parser or emitter panic.
// Run: go test ./internal/kql -fuzz FuzzCompile -fuzztime 30s
func FuzzCompile(f *testing.F) {
	for _, c := range interactionQueries {
		f.Add(c.q)
	}
	for _, c := range operators2Queries {
		f.Add(c.q)
	}
	f.Add(`CopilotActivity | where x == @"a""b" | mv-expand y = dynamic([1, {"a": -2.5}, null]) to typeof(long)`)
	f.Add("let a = 1h; let T = union CopilotActivity; T | top 3 by a nulls first | render piechart with (x = (1))")
	cat := DefaultCatalog()
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		comp, err := Compile(q, cat, Options{Now: now})
		if err == nil && comp.SQL == "" {
			t.Errorf("no SQL and no error for %q", q)
		}
		if err != nil && strings.HasPrefix(err.Error(), "internal error") {
			t.Errorf("%q: %v", q, err)
		}
	})
}
