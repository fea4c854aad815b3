// Package render prints query results as a table, JSON or CSV.
package render

import (
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// DynamicColumns are columns that hold JSON text (KQL's dynamic) without
// DuckDB's JSON type; JSON output embeds them as JSON.
var DynamicColumns = map[string]bool{"LLMEventData": true}

// Formats lists the accepted --format values.
var Formats = []string{"table", "json", "csv"}

// CheckFormat validates a --format value.
func CheckFormat(f string) error {
	for _, x := range Formats {
		if f == x {
			return nil
		}
	}
	return fmt.Errorf("unknown format %q: use one of %s", f, strings.Join(Formats, ", "))
}

// Rows writes every row of rs in the format and returns the row count.
// JSON is an array of objects keyed by column name; times are RFC 3339 UTC.
func Rows(w io.Writer, format string, rs *sql.Rows) (int, error) {
	cols, err := rs.Columns()
	if err != nil {
		return 0, err
	}
	isJSON := make([]bool, len(cols))
	if types, err := rs.ColumnTypes(); err == nil {
		for i, t := range types {
			isJSON[i] = strings.EqualFold(t.DatabaseTypeName(), "JSON") || DynamicColumns[t.Name()]
		}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var tw *tabwriter.Writer
	var cw *csv.Writer
	switch format {
	case "table":
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	case "csv":
		cw = csv.NewWriter(w)
		cw.Write(cols)
	case "json":
		io.WriteString(w, "[")
	default:
		return 0, CheckFormat(format)
	}
	n := 0
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return n, err
		}
		switch format {
		case "table":
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = Cell(Text(v))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		case "csv":
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = csvCell(v)
			}
			cw.Write(cells)
		case "json":
			if n > 0 {
				io.WriteString(w, ",")
			}
			io.WriteString(w, "\n{")
			for i, v := range vals {
				if i > 0 {
					io.WriteString(w, ",")
				}
				w.Write(marshal(cols[i]))
				io.WriteString(w, ":")
				w.Write(marshal(jsonValue(v, isJSON[i])))
			}
			io.WriteString(w, "}")
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return n, err
	}
	switch format {
	case "table":
		return n, tw.Flush()
	case "csv":
		cw.Flush()
		return n, cw.Error()
	default:
		if n > 0 {
			io.WriteString(w, "\n")
		}
		_, err := io.WriteString(w, "]\n")
		return n, err
	}
}

// Text renders one value as text.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return "base64:" + base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.999999Z")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// marshal encodes without HTML escaping (URLs keep their '&').
func marshal(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		enc.Encode(fmt.Sprint(v))
	}
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

func jsonValue(v any, isJSON bool) any {
	switch x := v.(type) {
	case []byte:
		return Text(x)
	case time.Time:
		return Text(x)
	case string:
		// JSON columns arrive as text; embed them as JSON, not as a quoted string.
		if isJSON && json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
		return x
	default:
		return x
	}
}

// Cell makes text safe for one cell of a terminal table: tabs and line
// breaks become spaces, and other control characters (escape sequences in
// audit record fields could repaint an analyst's terminal) and bidirectional
// overrides (which could show a file name or address reversed) become '?'.
func Cell(s string) string {
	clean := true
	for _, r := range s {
		if unsafeInCell(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unsafeInCell(r):
			return '?'
		}
		return r
	}, s)
}

func unsafeInCell(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// csvCell is the text of a value for CSV output. Text that a spreadsheet
// would run as a formula (=, +, -, @, or a leading tab or carriage return:
// audit fields are attacker-controlled) gets a leading apostrophe, as OWASP
// advises; numbers and times are written as they are.
func csvCell(v any) string {
	switch v.(type) {
	case string, []byte:
		return CSVText(Text(v))
	}
	return Text(v)
}

// CSVText is text for a CSV cell, defused as csvCell does.
func CSVText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
