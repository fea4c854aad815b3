package reader

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// psMarkers are columns only Search-UnifiedAuditLog objects carry.
var psMarkers = []string{"identity", "resultindex", "resultcount", "runspaceid", "pscomputername", "psshowcomputername", "isvalid", "objectstate"}

// csvColumns locates the columns a CSV export is read by. Any CSV with an
// AuditData column works; the record Id hint comes from RecordId (Purview) or
// Identity (PowerShell). Names match case-insensitively, ignoring spaces.
type csvColumns struct {
	n     int // header fields
	audit int
	id    int // -1 when the export states no record Id
	kind  Format
}

func columnsOf(header []string, sawType bool) (csvColumns, bool) {
	c := csvColumns{n: len(header), audit: -1, id: -1, kind: FormatClassicCSV}
	names := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, bom)))
		if _, dup := names[h]; !dup {
			names[h] = i
		}
	}
	i, ok := names["auditdata"]
	if !ok {
		return c, false
	}
	c.audit = i
	if i, ok := names["recordid"]; ok {
		c.id = i
	} else if i, ok := names["identity"]; ok {
		c.id = i
	}
	switch {
	case sawType:
		c.kind = FormatPowerShellCSV
	case hasKey(names, "recordid"):
		c.kind = FormatPurviewCSV
	default:
		for _, m := range psMarkers {
			if hasKey(names, m) {
				c.kind = FormatPowerShellCSV
				break
			}
		}
	}
	return c, true
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// csvReader reads the CSV exports. Row numbers count data rows (header and
// "#TYPE" line excluded). encoding/csv folds CRLF to LF, also inside quoted
// cells, so a multi-line AuditData cell's Raw has LF line ends.
//
// Per-row problems become units with Err and reading continues: a field count
// that differs from the header's, an empty AuditData, a CSV syntax error (a
// bare or stray quote; encoding/csv resumes at the next line, an unterminated
// quote at the end of input ends the file).
type csvReader struct {
	cr       *csv.Reader
	cols     csvColumns
	format   Format
	row      int
	lineBase int // physical lines before the header row's reader started
}

func (c *csvReader) Format() Format { return c.format }

// hasTypeLine reports whether b starts with the "#TYPE " line Windows
// PowerShell's Export-Csv writes.
func hasTypeLine(b []byte) bool { return bytes.HasPrefix(b, []byte("#TYPE ")) }

// newCSVReader reads the header (after an optional "#TYPE" line) from w.
// forced, when it is a CSV format, overrides the format the header suggests.
func newCSVReader(w *window, forced Format) (*csvReader, error) {
	c := &csvReader{}
	w.skipSpace()
	w.fill(len("#TYPE "))
	sawType := hasTypeLine(w.data())
	if sawType {
		for {
			if i := bytes.IndexByte(w.data(), '\n'); i >= 0 {
				w.r += i + 1
				break
			}
			w.r = w.w
			if !w.more() {
				break
			}
		}
		c.lineBase = 1
	}
	c.cr = csv.NewReader(w)
	c.cr.FieldsPerRecord = -1
	c.cr.ReuseRecord = true
	header, err := c.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("CSV input has no header row")
		}
		return nil, fmt.Errorf("cannot read the CSV header row: %w", err)
	}
	cols, ok := columnsOf(header, sawType)
	if !ok {
		return nil, fmt.Errorf("CSV header has no AuditData column (columns: %s)", strings.Join(header, ", "))
	}
	c.cols = cols
	c.format = cols.kind
	if forced.isCSV() {
		c.format = forced
	}
	return c, nil
}

func (c *csvReader) Next() (Unit, error) {
	rec, err := c.cr.Read()
	if err == io.EOF {
		return Unit{}, io.EOF
	}
	c.row++
	u := Unit{Loc: "row " + strconv.Itoa(c.row)}
	if c.cols.id >= 0 && c.cols.id < len(rec) {
		u.HintID = strings.TrimSpace(rec[c.cols.id])
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote)) {
			u.Raw = joinRow(rec)
			u.Err = fmt.Sprintf("CSV syntax error on line %d, column %d: %v", pe.Line+c.lineBase, pe.Column, pe.Err)
			return u, nil
		}
		return Unit{}, fmt.Errorf("%s: cannot read input: %w", u.Loc, err)
	}
	switch {
	case len(rec) != c.cols.n:
		u.Raw = joinRow(rec)
		u.Err = fmt.Sprintf("row has %d fields, the header has %d", len(rec), c.cols.n)
	case strings.TrimSpace(rec[c.cols.audit]) == "":
		u.Raw = joinRow(rec)
		u.Err = "row has an empty AuditData field"
	default:
		b := []byte(rec[c.cols.audit])
		u.Record, u.Raw = b, b
	}
	return u, nil
}

// joinRow renders a row back as one CSV line for Raw.
func joinRow(rec []string) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(rec) // writes to a bytes.Buffer cannot fail
	cw.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
