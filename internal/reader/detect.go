package reader

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"unicode/utf8"
)

// peekLimit bounds how much input format detection may look at.
const peekLimit = 1 << 20

// detect picks the format from the first bytes (after gzip, BOM) without
// consuming them. The rule, on the bytes after leading whitespace:
//
//   - "#TYPE " → powershell-csv (Windows PowerShell Export-Csv).
//   - '[' → json (an array, e.g. a Management API content blob).
//   - '{' → walk the first object:
//     a top-level "@odata.context" or "@odata.nextLink" key, or a top-level
//     "value" key holding an array → graph;
//     else, when the object ends on its first line and only a line end (or the
//     end of input) follows → jsonl;
//     else (it spans lines, or another value follows on the same line) → json;
//     if it has not ended within peekLimit: jsonl without a newline so far
//     (one very long line), json with one.
//   - otherwise the first line is read as a CSV header: with an AuditData
//     column → a CSV format chosen by columns (RecordId → purview-csv;
//     Identity, ResultIndex, RunspaceId, PSComputerName… → powershell-csv;
//     else classic-csv).
//   - otherwise, if a later line starts with '{' → jsonl (a JSONL file whose
//     first line is junk; that line becomes a unit the normalizer rejects).
//   - empty input → jsonl (no units).
//   - anything else → an error asking for an explicit format.
//
// Detection re-examines the buffered bytes after each read, so it answers as
// soon as the first record (or header) is in, which keeps piped input flowing.
func detect(w *window) (Format, error) {
	for {
		b := w.data()
		final := w.err != nil || len(b) >= peekLimit
		if len(b) > peekLimit {
			b = b[:peekLimit]
		}
		if err := w.failure(); err != nil {
			// The input broke off (a truncated .gz): what came before it
			// is read as far as it goes, and the reader reports the break
			// where it is met.
			if f, ok, derr := decide(b, true); derr == nil && ok && len(bytes.TrimSpace(b)) > 0 {
				return f, nil
			}
			return FormatAuto, fmt.Errorf("cannot read input: %w", err)
		}
		if f, ok, err := decide(b, final); err != nil || ok {
			return f, err
		}
		if final {
			return FormatAuto, errors.New("cannot detect the input format")
		}
		w.more()
	}
}

// decide applies the rule to b; ok is false when it needs more bytes (never
// when final is set).
func decide(b []byte, final bool) (f Format, ok bool, err error) {
	i := skipWS(b, 0)
	if i == len(b) {
		return FormatJSONL, final, nil
	}
	rest := b[i:]
	switch rest[0] {
	case '[':
		return FormatJSON, true, nil
	case '{':
		return decideObject(rest, final)
	}
	if len(rest) < len("#TYPE ") && !final && bytes.HasPrefix([]byte("#TYPE "), rest) {
		return FormatAuto, false, nil
	}
	if hasTypeLine(rest) {
		return FormatPowerShellCSV, true, nil
	}
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 && !final {
		return FormatAuto, false, nil
	}
	first := rest
	if nl >= 0 {
		first = rest[:nl]
	}
	cr := csv.NewReader(bytes.NewReader(first))
	cr.FieldsPerRecord = -1
	if header, err := cr.Read(); err == nil {
		if cols, ok := columnsOf(header, false); ok {
			return cols.kind, true, nil
		}
	}
	if looksBinary(first) {
		// JSON Lines may start with a bad line, but not with machine code.
		return FormatAuto, false, fmt.Errorf("cannot detect the input format: it starts with binary data (%q…), not an audit export; name the format explicitly if it is one", snippet(b[i:]))
	}
	for nl >= 0 {
		rest = rest[nl+1:]
		if j := skipWS(rest, 0); j < len(rest) && rest[j] == '{' {
			return FormatJSONL, true, nil
		}
		nl = bytes.IndexByte(rest, '\n')
	}
	if !final {
		return FormatAuto, false, nil
	}
	return FormatAuto, false, fmt.Errorf("cannot detect the input format: it starts with %q, which is no JSON, JSON Lines, Graph page or CSV with an AuditData column; name the format explicitly", snippet(b[i:]))
}

// decideObject handles input starting with '{' (see detect).
func decideObject(b []byte, final bool) (Format, bool, error) {
	depth, p, newline := 0, 0, false
	for p < len(b) {
		switch b[p] {
		case '\n':
			newline = true
			p++
		case '"':
			n := valueEnd(b[p:])
			if n < 0 {
				p = len(b) // the string continues beyond what is buffered
				continue
			}
			if depth == 1 {
				if q := skipWS(b, p+n); q < len(b) && b[q] == ':' {
					key, _ := unquote(b[p : p+n])
					switch string(key) {
					case "@odata.context", "@odata.nextLink":
						return FormatGraph, true, nil
					case "value":
						if q = skipWS(b, q+1); q < len(b) && b[q] == '[' {
							return FormatGraph, true, nil
						}
					}
				}
			}
			p += n
		case '{', '[':
			depth++
			p++
		case '}', ']':
			depth--
			p++
			if depth > 0 {
				continue
			}
			if newline {
				return FormatJSON, true, nil
			}
			q := p
			for q < len(b) && (b[q] == ' ' || b[q] == '\t') {
				q++
			}
			switch {
			case q == len(b):
				return FormatJSONL, final, nil
			case b[q] == '\r' || b[q] == '\n':
				return FormatJSONL, true, nil
			default:
				return FormatJSON, true, nil
			}
		default:
			p++
		}
	}
	if !final {
		return FormatAuto, false, nil
	}
	if newline {
		return FormatJSON, true, nil
	}
	return FormatJSONL, true, nil
}

// snippet is the start of b for an error message.
func snippet(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > 40 {
		n := 40
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return b
}

// looksBinary reports whether a first line is binary data: it holds a NUL
// byte, or control bytes are more than an eighth of it.
func looksBinary(line []byte) bool {
	ctl := 0
	for _, c := range line {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\r' && c != '\f':
			ctl++
		}
	}
	return ctl > 0 && ctl*8 > len(line)
}
