// Package reader turns audit record files into units, one per audit record,
// streaming: memory follows the largest record, not the input size. It
// detects the file format, gunzips, and drops byte order marks; it does not
// parse records (the normalizer does).
package reader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Format names an input file format.
type Format string

// The formats Open reads.
const (
	FormatAuto          Format = ""
	FormatJSON          Format = "json"           // a JSON array of AuditData objects (Management API content blob), or one or more whole JSON objects, possibly pretty-printed, concatenated
	FormatJSONL         Format = "jsonl"          // one AuditData object per line
	FormatGraph         Format = "graph"          // Microsoft Graph audit query records page: {"@odata.context":…, "@odata.nextLink":…, "value":[auditLogRecord…]}
	FormatPurviewCSV    Format = "purview-csv"    // RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames
	FormatClassicCSV    Format = "classic-csv"    // CreationDate,UserIds,Operations,AuditData
	FormatPowerShellCSV Format = "powershell-csv" // Search-UnifiedAuditLog | Export-Csv, with or without a first "#TYPE …" line, optional PSComputerName/RunspaceId/PSShowComputerName columns
)

// formats lists the valid names in the order shown to users.
var formats = []Format{FormatJSON, FormatJSONL, FormatGraph, FormatPurviewCSV, FormatClassicCSV, FormatPowerShellCSV}

// ParseFormat reads a --format flag value; "" and "auto" mean FormatAuto.
func ParseFormat(s string) (Format, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "auto" {
		return FormatAuto, nil
	}
	for _, f := range formats {
		if t == string(f) {
			return f, nil
		}
	}
	return FormatAuto, unknownFormat(s)
}

func unknownFormat(s string) error {
	names := []string{"auto"}
	for _, f := range formats {
		names = append(names, string(f))
	}
	return fmt.Errorf("unknown input format %q (valid: %s)", s, strings.Join(names, ", "))
}

func (f Format) isCSV() bool {
	return f == FormatPurviewCSV || f == FormatClassicCSV || f == FormatPowerShellCSV
}

// Unit is one record as read from the input.
//
// Record and Raw may share memory (for most formats they are the same bytes).
// Each unit owns its bytes: they stay valid after later Next calls and may
// be handed to other goroutines, which must treat them as read-only.
type Unit struct {
	Record []byte // the AuditData JSON object text to normalize. NOT validated here: may be invalid or truncated JSON (the normalizer quarantines it). Empty when Err is set.
	Raw    []byte // the bytes exactly as received, stored verbatim: the JSONL line (without the line terminator), the array element, the Graph value entry (whole entry object), the CSV AuditData cell (after CSV unquoting)
	Loc    string // where, for humans: "line 12" (JSONL, 1-based physical line), "element 3" (JSON array / concatenated objects, 1-based), "entry 2" (Graph value array, 1-based), "row 5" (CSV data row, 1-based, header excluded; the #TYPE line and header never count)
	HintID string // the record Id when the container states it (CSV RecordId or Identity column; Graph entry "id"), else ""
	Err    string // non-empty when the reader itself knows this unit cannot be a record (e.g. a CSV row without an AuditData field, a Graph entry without auditData, a JSON array element cut off by end of input); Raw still holds what was read
	// Stop says the reader gave up after this unit: what follows it in the
	// input was not read (garbage where a record should start).
	Stop bool
}

// Reader yields the units of one input.
type Reader interface {
	Next() (Unit, error) // io.EOF at the end. Any other error means the input itself is unreadable beyond this point (I/O error, corrupt gzip); wrapped with the location.
	Format() Format
}

// PageReader is implemented by readers for FormatGraph: the backfill client
// follows NextLink ("@odata.nextLink", "" on the last page). It is valid after
// Next returned io.EOF.
type PageReader interface {
	Reader
	NextLink() string
}

const bom = "\xef\xbb\xbf"

// Open detects the format (unless f != FormatAuto), transparently gunzips
// input that starts with the gzip magic, decodes UTF-16 input that starts with
// a UTF-16 byte order mark (Raw then holds the UTF-8 text), strips a UTF-8 BOM,
// and returns a streaming reader.
func Open(r io.Reader, f Format) (Reader, error) {
	if f != FormatAuto && !slices.Contains(formats, f) {
		return nil, unknownFormat(string(f))
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("cannot read gzip input: %w", err)
		}
		src = gz
	} else if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read input: %w", err)
	}
	w := newWindow(src)
	w.fill(3)
	if b := w.data(); bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}) {
		big := b[0] == 0xfe
		w.r += 2
		w = newWindow(newUTF16Reader(w, big))
		w.fill(3)
	}
	if bytes.HasPrefix(w.data(), []byte(bom)) {
		w.r += len(bom)
	}
	if err := w.failure(); err != nil && w.r == w.w {
		return nil, fmt.Errorf("cannot read input: %w", err)
	}
	if f == FormatAuto {
		var err error
		if f, err = detect(w); err != nil {
			return nil, err
		}
	}
	switch f {
	case FormatJSON:
		return &jsonReader{w: w}, nil
	case FormatJSONL:
		return &jsonlReader{w: w}, nil
	case FormatGraph:
		return &graphReader{w: w}, nil
	default:
		c, err := newCSVReader(w, f)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
