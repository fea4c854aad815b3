package reader

import (
	"bytes"
	"strings"
	"testing"
)

func TestCSVRows(t *testing.T) {
	in := "RecordId,CreationDate,AuditData\r\n" +
		"id1,d,\"{\"\"Id\"\":\"\"id1\"\"}\"\r\n" +
		"id2,d\r\n" +
		"id3,d,  \r\n" +
		"id4,d\"x,\"{}\"\r\n" +
		"\r\n" +
		"id5,d,\"{\r\n  \"\"Id\"\": \"\"id5\"\"\r\n}\"\r\n"
	r := openBytes(t, []byte(in), FormatAuto)
	if r.Format() != FormatPurviewCSV {
		t.Fatalf("format %q", r.Format())
	}
	units := readAll(t, r)
	want := []struct{ rec, raw, hint, err string }{
		{`{"Id":"id1"}`, `{"Id":"id1"}`, "id1", ""},
		{"", "id2,d", "id2", "row has 2 fields, the header has 3"},
		{"", `id3,d,"  "`, "id3", "row has an empty AuditData field"},
		{"", "id4", "id4", "CSV syntax error on line 5, column 6: bare \" in non-quoted-field"},
		{"{\n  \"Id\": \"id5\"\n}", "{\n  \"Id\": \"id5\"\n}", "id5", ""},
	}
	if len(units) != len(want) {
		t.Fatalf("%d units, want %d: %+v", len(units), len(want), units)
	}
	for i, w := range want {
		u := units[i]
		if string(u.Record) != w.rec || string(u.Raw) != w.raw || u.HintID != w.hint || u.Err != w.err || u.Loc != seq("row", 5)[i] {
			t.Errorf("unit %d: %s rec %q raw %q hint %q err %q", i, u.Loc, u.Record, u.Raw, u.HintID, u.Err)
		}
	}
}

func TestCSVTypeLineAndUnterminated(t *testing.T) {
	in := "#TYPE Some.Type\n\"Identity\",\"AuditData\"\n\"i1\",\"{}\"\n\"i2\",\"{\"\"Id\"\":"
	r := openBytes(t, []byte(in), FormatAuto)
	units := readAll(t, r)
	if r.Format() != FormatPowerShellCSV || len(units) != 2 {
		t.Fatalf("format %q, %d units", r.Format(), len(units))
	}
	if units[0].HintID != "i1" || string(units[0].Record) != "{}" {
		t.Errorf("row 1: %+v", units[0])
	}
	// The line number counts the #TYPE line: the bad row starts on line 4.
	if !strings.HasPrefix(units[1].Err, "CSV syntax error on line 4,") || units[1].Loc != "row 2" {
		t.Errorf("row 2: %+v", units[1])
	}
}

func TestCSVColumns(t *testing.T) {
	for _, tc := range []struct {
		header string
		format Format
		hint   string
	}{
		{"CreationDate,UserIds,Operations,AuditData", FormatClassicCSV, ""},
		{"RecordId,AuditData,Identity", FormatPurviewCSV, "a"},
		{"PSComputerName,RunspaceId,PSShowComputerName,RecordType,CreationDate,UserIds,Operations,AuditData,ResultIndex,ResultCount,Identity,IsValid,ObjectState", FormatPowerShellCSV, "k"},
		{" auditdata , Identity ", FormatPowerShellCSV, "b"},
		{"Foo,AuditData", FormatClassicCSV, ""},
	} {
		t.Run(tc.header, func(t *testing.T) {
			n := strings.Count(tc.header, ",") + 1
			fields := make([]string, n)
			for i := range fields {
				fields[i] = string(rune('a' + i))
			}
			// AuditData cells hold {}; every other cell its column letter.
			cols, _ := columnsOf(strings.Split(tc.header, ","), false)
			fields[cols.audit] = "{}"
			in := tc.header + "\n" + strings.Join(fields, ",") + "\n"
			r := openBytes(t, []byte(in), FormatAuto)
			units := readAll(t, r)
			if r.Format() != tc.format || len(units) != 1 || units[0].HintID != tc.hint || string(units[0].Record) != "{}" {
				t.Fatalf("format %q, units %+v", r.Format(), units)
			}
		})
	}
}

// Windows PowerShell 7 writes no #TYPE line and no BOM: columns alone decide.
func TestPowerShellWithoutTypeLine(t *testing.T) {
	ps := readFixture(t, "search-unifiedauditlog.csv")
	want := readAll(t, openBytes(t, ps, FormatAuto))
	stripped := ps[bytes.IndexByte(ps, '\n')+1:]
	r := openBytes(t, stripped, FormatAuto)
	if r.Format() != FormatPowerShellCSV {
		t.Fatalf("format %q", r.Format())
	}
	sameUnits(t, readAll(t, r), want)
}
