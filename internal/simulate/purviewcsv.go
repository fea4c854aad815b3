package simulate

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PurviewCSVHeader is the header line of a Purview portal audit export.
const PurviewCSVHeader = "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames"

// PurviewCSVWriter writes events as a Purview portal audit export (2026
// shape): CRLF line ends, minimal quoting (a field is quoted only when it
// holds a comma, a quote, CR or LF, or starts or ends with a space),
// CreationDate as "2026-01-24T06:54:24.0000000Z " with its trailing space,
// RecordType as a number and the admin-unit columns empty.
type PurviewCSVWriter struct {
	w      *bufio.Writer
	header bool
	line   []byte
}

// NewPurviewCSVWriter returns a writer; call Close to flush it.
func NewPurviewCSVWriter(w io.Writer) *PurviewCSVWriter {
	return &PurviewCSVWriter{w: bufio.NewWriterSize(w, 1<<16)}
}

func (p *PurviewCSVWriter) writeHeader() error {
	if p.header {
		return nil
	}
	p.header = true
	if _, err := p.w.WriteString(PurviewCSVHeader + "\r\n"); err != nil {
		return fmt.Errorf("cannot write Purview CSV header: %w", err)
	}
	return nil
}

// Write appends one row for ev.
func (p *PurviewCSVWriter) Write(ev Event) error {
	if err := p.writeHeader(); err != nil {
		return err
	}
	b := p.line[:0]
	b = appendCSVField(b, ev.ID)
	b = append(b, ',')
	b = appendCSVField(b, ev.Time.UTC().Format("2006-01-02T15:04:05.0000000Z "))
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(ev.RecordType), 10)
	b = append(b, ',')
	b = appendCSVField(b, ev.Operation)
	b = append(b, ',')
	b = appendCSVField(b, ev.UserID)
	b = append(b, ',')
	b = appendCSVField(b, string(ev.Record))
	b = append(b, ",,\r\n"...)
	p.line = b
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("cannot write Purview CSV row for record %s: %w", ev.ID, err)
	}
	return nil
}

// Close writes the header if no row was written and flushes; it does not
// close the underlying writer.
func (p *PurviewCSVWriter) Close() error {
	if err := p.writeHeader(); err != nil {
		return err
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("cannot flush Purview CSV: %w", err)
	}
	return nil
}

func appendCSVField(b []byte, s string) []byte {
	quote := strings.ContainsAny(s, ",\"\r\n") ||
		len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ')
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}
