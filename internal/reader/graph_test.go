package reader

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestGraphEntries(t *testing.T) {
	in := `{"value":[
 {"id":"g1","auditData":"{\"Id\":\"g1\",\"Name\":\"a\\\"b \u00e9\"}"},
 {"id":"g2"},
 {"id":"g3","auditData":null},
 "oops",
 {"auditData":{"Id":"g5"}, "id": 7},
 {"ID":"x","AuditData":{"Id":"g6"},"id":"g6"}
],"@odata.nextLink":"https://graph.example/next?$skiptoken=a\u0026b"}`
	r := openBytes(t, []byte(in), FormatAuto)
	if r.Format() != FormatGraph {
		t.Fatalf("format %q", r.Format())
	}
	units := readAll(t, r)
	want := []struct{ rec, hint, err, raw string }{
		{`{"Id":"g1","Name":"a\"b é"}`, "g1", "", `{"id":"g1","auditData":"{\"Id\":\"g1\",\"Name\":\"a\\\"b \u00e9\"}"}`},
		{"", "g2", errNoAuditData, `{"id":"g2"}`},
		{"", "g3", errNoAuditData, `{"id":"g3","auditData":null}`},
		{"", "", errEntryNotJSON, `"oops"`},
		{`{"Id":"g5"}`, "", "", `{"auditData":{"Id":"g5"}, "id": 7}`},
		{`{"Id":"g6"}`, "g6", "", `{"ID":"x","AuditData":{"Id":"g6"},"id":"g6"}`},
	}
	if len(units) != len(want) {
		t.Fatalf("%d units, want %d", len(units), len(want))
	}
	for i, w := range want {
		u := units[i]
		if string(u.Record) != w.rec || u.HintID != w.hint || u.Err != w.err || string(u.Raw) != w.raw || u.Loc != seq("entry", 6)[i] {
			t.Errorf("unit %d: %s rec %q hint %q err %q raw %q", i, u.Loc, u.Record, u.HintID, u.Err, u.Raw)
		}
	}
	if got := r.(PageReader).NextLink(); got != "https://graph.example/next?$skiptoken=a&b" {
		t.Errorf("NextLink %q", got)
	}
}

func TestGraphPages(t *testing.T) {
	t.Run("concatenated pages", func(t *testing.T) {
		in := `{"@odata.nextLink":"p2","value":[{"id":"a","auditData":{}}]}` + "\n" + `{"@odata.context":"c","value":[{"id":"b","auditData":{}}]}`
		r := openBytes(t, []byte(in), FormatAuto)
		units := readAll(t, r)
		if len(units) != 2 || units[1].Loc != "entry 2" || units[1].HintID != "b" {
			t.Fatalf("%+v", units)
		}
		if r.(PageReader).NextLink() != "" {
			t.Errorf("NextLink %q: the last page has none", r.(PageReader).NextLink())
		}
	})
	t.Run("value null, skipped metadata", func(t *testing.T) {
		in := `{"@odata.context":"c","@odata.count":{"x":[1,"]"]},"value":null,"@odata.nextLink":null}`
		r := openBytes(t, []byte(in), FormatAuto)
		if units := readAll(t, r); len(units) != 0 || r.(PageReader).NextLink() != "" {
			t.Fatalf("%+v %q", units, r.(PageReader).NextLink())
		}
	})
	t.Run("truncated entry", func(t *testing.T) {
		in := `{"@odata.nextLink":"n","value":[{"id":"a","auditData":{}},{"id":"b","audit`
		r := openBytes(t, []byte(in), FormatAuto)
		units := readAll(t, r)
		if len(units) != 2 || units[1].Err != errTruncated || string(units[1].Raw) != `{"id":"b","audit` || r.(PageReader).NextLink() != "n" {
			t.Fatalf("%+v", units)
		}
	})
	t.Run("ends inside page", func(t *testing.T) {
		r := openBytes(t, []byte(`{"value":[{"id":"a","auditData":{}}]`), FormatAuto)
		units, err := readUntilErr(r)
		if len(units) != 1 || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "after entry 1:") {
			t.Fatalf("%d units, err %v", len(units), err)
		}
	})
	t.Run("malformed envelope", func(t *testing.T) {
		r := openBytes(t, []byte(`{"value":[], "x" 1}`), FormatGraph)
		_, err := readUntilErr(r)
		if err == nil || !strings.Contains(err.Error(), `malformed Graph page: no ':' after key "x"`) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("garbage entry", func(t *testing.T) {
		r := openBytes(t, []byte("{\"value\":[{\"id\":\"a\",\"auditData\":{}}, ?nope\n]}"), FormatAuto)
		units := readAll(t, r)
		if len(units) != 2 || !strings.HasPrefix(units[1].Err, "not JSON: unexpected '?'") || string(units[1].Raw) != "?nope" {
			t.Fatalf("%+v", units)
		}
	})
}

// A page whose "value" is not an array, or that has none (an error body),
// is refused rather than read as an empty page.
func TestGraphPageWithoutRecords(t *testing.T) {
	for in, want := range map[string]string{
		`{"@odata.context":"c","value":{"a":1}}`:            `malformed Graph page: "value" is not an array: unexpected '{'`,
		`{"@odata.context":"c","value":"x"}`:                `malformed Graph page: "value" is not an array`,
		`{"@odata.context":"c"}`:                            `not a Graph records page: it has no "value" array`,
		`{"error":{"code":"Forbidden","message":"denied"}}`: `not a Graph records page: it has no "value" array`,
	} {
		r, err := Open(strings.NewReader(in), FormatGraph)
		if err != nil {
			t.Fatalf("%s: open: %v", in, err)
		}
		units, err := readUntilErr(r)
		if len(units) != 0 || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %d units, err %v; want %q", in, len(units), err, want)
		}
	}
}
