package server

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/aiwatch/aiwatch/internal/kql"
	"github.com/aiwatch/aiwatch/internal/render"
)

// QueryRequest is the body of POST /api/v1/query.
type QueryRequest struct {
	Query string `json:"query"`
	// Format is "json" (default) or "csv".
	Format string `json:"format,omitempty"`
	// MaxRows lowers the server's row cap for this query; 0 keeps it.
	MaxRows int `json:"maxRows,omitempty"`
}

// ResultColumn is one column of a query result; Type is the KQL type
// (string, long, int, real, bool, datetime, timespan, dynamic).
type ResultColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// QueryResult is the JSON answer of POST /api/v1/query. Each row is an
// object keyed by column name, keys in column order; datetimes are RFC 3339
// UTC, timespans KQL's [d.]hh:mm:ss[.fffffff], dynamic values embedded JSON.
// Truncated says the result had more rows than the cap. A CSV answer says
// the same in the X-Aiwatch-Truncated header.
type QueryResult struct {
	Columns   []ResultColumn    `json:"columns"`
	Rows      []json.RawMessage `json:"rows"`
	Truncated bool              `json:"truncated"`
}

// TruncatedHeader marks a capped CSV result.
const TruncatedHeader = "X-Aiwatch-Truncated"

func (a *api) query(w http.ResponseWriter, r *http.Request) {
	var req QueryRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, http.StatusBadRequest, `the request has no query: send {"query": "CopilotActivity | take 10"}`)
		return
	}
	format := req.Format
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown format %q: use json or csv", req.Format))
		return
	}
	limit := a.opts.MaxRows
	if req.MaxRows < 0 {
		writeError(w, http.StatusBadRequest, "maxRows must not be negative")
		return
	}
	if req.MaxRows > 0 && req.MaxRows < limit {
		limit = req.MaxRows
	}
	comp, err := kql.Compile(req.Query, a.opts.Catalog, kql.Options{Now: a.opts.Now()})
	if err != nil {
		var ke *kql.Error
		if errors.As(err, &ke) {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: oneLine("cannot compile the query: " + ke.Error()), Line: ke.Line, Column: ke.Column})
			return
		}
		if strings.HasPrefix(err.Error(), "internal error") {
			a.log.Error("KQL compiler failed", "err", err)
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeError(w, http.StatusBadRequest, "cannot compile the query: "+err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), a.opts.QueryTimeout)
	defer cancel()
	var body bytes.Buffer
	truncated, err := a.run(ctx, comp, format, limit, &body)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("the query ran longer than %s and was stopped; narrow it (a shorter time range, fewer columns, a take)", a.opts.QueryTimeout))
		case r.Context().Err() != nil:
			// The client went away: nobody reads the answer.
		default:
			writeError(w, http.StatusBadRequest, "the query failed: "+err.Error())
		}
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set(TruncatedHeader, strconv.FormatBool(truncated))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(body.Bytes())
}

// run executes the compiled query on a connection of its own, inside a
// read-only transaction, and writes at most limit rows to out. The store's
// own connection is not used: the collector holds write transactions on it,
// and a query there would see rows that may still roll back.
func (a *api) run(ctx context.Context, comp *kql.Compiled, format string, limit int, out *bytes.Buffer) (truncated bool, err error) {
	conn, err := a.opts.Store.DB().Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("cannot get a database connection: %w", err)
	}
	defer func() {
		// The connection goes back to the pool: it must not stay inside
		// the read-only transaction, or be discarded when that is unsure.
		if _, rerr := conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY"); err != nil {
		return false, fmt.Errorf("cannot begin a read-only transaction: %w", err)
	}
	rs, err := conn.QueryContext(ctx, comp.SQL)
	if err != nil {
		return false, err
	}
	defer rs.Close()
	cols, err := resultColumns(rs, comp)
	if err != nil {
		return false, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(out)
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		cw.Write(names)
	} else {
		b, _ := json.Marshal(cols)
		out.WriteString(`{"columns":`)
		out.Write(b)
		out.WriteString(`,"rows":[`)
	}
	dynamic := make([]bool, len(cols))
	for i, c := range cols {
		dynamic[i] = c.Type == string(kql.TDynamic)
	}
	n := 0
	for rs.Next() {
		if n == limit {
			truncated = true
			break
		}
		if err := rs.Scan(ptrs...); err != nil {
			return false, err
		}
		if cw != nil {
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = cellText(v)
				if _, ok := v.(string); ok {
					cells[i] = render.CSVText(cells[i])
				}
			}
			cw.Write(cells)
		} else {
			if n > 0 {
				out.WriteByte(',')
			}
			out.WriteString("\n{")
			for i, v := range vals {
				if i > 0 {
					out.WriteByte(',')
				}
				out.Write(jsonBytes(cols[i].Name))
				out.WriteByte(':')
				out.Write(jsonBytes(jsonValue(v, dynamic[i])))
			}
			out.WriteByte('}')
		}
		n++
	}
	if !truncated {
		if err := rs.Err(); err != nil {
			return false, err
		}
	}
	if cw != nil {
		cw.Flush()
		return truncated, cw.Error()
	}
	if n > 0 {
		out.WriteByte('\n')
	}
	fmt.Fprintf(out, `],"truncated":%t}`+"\n", truncated)
	return truncated, nil
}

// resultColumns names the result's columns with the compiler's KQL types;
// should the two ever disagree, the database's names and types win.
func resultColumns(rs *sql.Rows, comp *kql.Compiled) ([]ResultColumn, error) {
	types, err := rs.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := make([]ResultColumn, len(types))
	same := len(comp.Columns) == len(types)
	for i, t := range types {
		cols[i] = ResultColumn{Name: t.Name(), Type: strings.ToLower(t.DatabaseTypeName())}
		if same && comp.Columns[i].Name == t.Name() {
			cols[i].Type = string(comp.Columns[i].Type)
		} else if strings.EqualFold(t.DatabaseTypeName(), "JSON") {
			cols[i].Type = string(kql.TDynamic)
		}
	}
	return cols, nil
}

// jsonValue turns a scanned value into what the JSON answer holds.
func jsonValue(v any, dynamic bool) any {
	switch x := v.(type) {
	case time.Time, []byte:
		return render.Text(x)
	case string:
		if dynamic && json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
		return x
	case duckdb.Interval:
		return timespan(x)
	case duckdb.Decimal:
		return json.RawMessage(decimalText(x))
	case *big.Int:
		if x == nil {
			return nil
		}
		return json.RawMessage(x.String())
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case float32:
		return jsonValue(float64(x), dynamic)
	case duckdb.UUID:
		return x.String()
	}
	return v
}

// cellText is one CSV cell: render's text, with the DuckDB types render
// does not know spelled the way the JSON answer spells them.
func cellText(v any) string {
	switch x := v.(type) {
	case duckdb.Interval:
		return timespan(x)
	case duckdb.Decimal:
		return decimalText(x)
	case duckdb.UUID:
		return x.String()
	}
	return render.Text(v)
}

// jsonBytes encodes without HTML escaping (URLs keep their '&').
func jsonBytes(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		enc.Encode(fmt.Sprint(v))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// timespan writes an interval as KQL does: [-][d.]hh:mm:ss[.fffffff]. A
// month counts 30 days (KQL timespans have no months).
func timespan(iv duckdb.Interval) string {
	micros := (int64(iv.Months)*30+int64(iv.Days))*24*int64(time.Hour/time.Microsecond) + iv.Micros
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	d := time.Duration(micros) * time.Microsecond
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	frac := (d % time.Second) / 100 // KQL shows ticks of 100 ns
	var b strings.Builder
	b.WriteString(sign)
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if frac > 0 {
		fmt.Fprintf(&b, ".%07d", frac)
	}
	return b.String()
}

// decimalText writes a DECIMAL exactly, as a JSON number.
func decimalText(d duckdb.Decimal) string {
	if d.Value == nil {
		return "null"
	}
	s := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	if d.Scale == 0 {
		return sign + s
	}
	sc := int(d.Scale)
	if len(s) <= sc {
		s = strings.Repeat("0", sc-len(s)+1) + s
	}
	return sign + s[:len(s)-sc] + "." + s[len(s)-sc:]
}
