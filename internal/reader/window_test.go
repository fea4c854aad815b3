package reader

import (
	"io"
	"slices"
	"testing"
)

// genReader produces n copies of a record followed by sep, without ever
// holding the whole input, so the test sees the reader's own memory use.
type genReader struct {
	rec, sep []byte
	n        int
	pos      int // offset in the current copy of rec+sep
	prefix   []byte
	suffix   []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		switch {
		case len(g.prefix) > 0:
			c := copy(p, g.prefix)
			g.prefix = g.prefix[c:]
			p, total = p[c:], total+c
		case g.n > 0:
			unit := slices.Concat(g.rec, g.sep)
			c := copy(p, unit[g.pos:])
			g.pos += c
			if g.pos == len(unit) {
				g.pos = 0
				g.n--
			}
			p, total = p[c:], total+c
		case len(g.suffix) > 0:
			c := copy(p, g.suffix)
			g.suffix = g.suffix[c:]
			p, total = p[c:], total+c
		default:
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
	}
	return total, nil
}

// Memory must follow the largest record, not the input: after streaming
// ~40 MB the window is still its initial size.
func TestWindowStaysSmall(t *testing.T) {
	rec := readFixture(t, "copilot-interactions.jsonl")[:902] // line 1
	const n = 20000
	for _, tc := range []struct {
		name   string
		g      *genReader
		window func(Reader) *window
	}{
		{"jsonl", &genReader{rec: rec, sep: []byte("\n"), n: n}, func(r Reader) *window { return r.(*jsonlReader).w }},
		{"array", &genReader{rec: rec, sep: []byte(",\n"), n: n, prefix: []byte("["), suffix: []byte("{}]")}, func(r Reader) *window { return r.(*jsonReader).w }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(tc.g, FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			units := 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				units++
			}
			if units < n {
				t.Fatalf("%d units", units)
			}
			if got := len(tc.window(r).buf); got != initialWindow {
				t.Errorf("window grew to %d bytes", got)
			}
		})
	}
}
