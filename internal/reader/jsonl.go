package reader

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// jsonlReader reads FormatJSONL: one record per line, split on '\n' with a
// trailing '\r' removed. Blank lines (only spaces, tabs) are skipped but
// counted, so Loc is the physical line number an editor shows. Any other line,
// JSON or not, becomes a unit; the normalizer judges it. Lines have no length
// limit: the window grows to hold the longest one.
type jsonlReader struct {
	w    *window
	line int  // physical lines consumed
	scan int  // bytes of the current line already searched for '\n'
	done bool // input exhausted
}

func (j *jsonlReader) Format() Format { return FormatJSONL }

func (j *jsonlReader) Next() (Unit, error) {
	w := j.w
	for !j.done {
		b := w.data()
		n := len(b) // line length if the input ends here
		if i := bytes.IndexByte(b[j.scan:], '\n'); i >= 0 {
			n = j.scan + i
		} else {
			j.scan = len(b)
			if w.more() {
				continue
			}
			if err := w.failure(); err != nil {
				j.done = true
				return Unit{}, fmt.Errorf("line %d: cannot read input: %w", j.line+1, err)
			}
			j.done = true
			if n == 0 {
				break // input ended with a newline (or was empty)
			}
		}
		j.line++
		j.scan = 0
		end := n
		if end > 0 && b[end-1] == '\r' {
			end--
		}
		if isBlank(b[:end]) {
			w.r += min(n+1, len(b))
			continue
		}
		raw := w.takeCopy(end)
		w.r += min(n+1, len(b)) - end // the terminator
		return Unit{Record: raw, Raw: raw, Loc: "line " + strconv.Itoa(j.line)}, nil
	}
	return Unit{}, io.EOF
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
