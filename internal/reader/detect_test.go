package reader

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Format
	}{
		{"jsonl", "{\"a\":1}\n{\"b\":2}\n", FormatJSONL},
		{"one line no newline", `{"a":{"b":[1,2]}}`, FormatJSONL},
		{"one line crlf", "{\"a\":1}\r\n", FormatJSONL},
		{"leading blank lines", "\n\n  {\"a\":1}\n", FormatJSONL},
		{"pretty object", "{\n  \"a\": 1\n}\n", FormatJSON},
		{"objects on one line", "{\"a\":1} {\"b\":2}\n", FormatJSON},
		{"array", "  \n [ ]", FormatJSON},
		{"graph compact", `{"@odata.context":"x","value":[]}`, FormatGraph},
		{"graph value first", "{\n  \"value\": [\n  ]\n}", FormatGraph},
		{"graph nextLink", `{"@odata.nextLink":"n"}`, FormatGraph},
		{"nested value is no graph", "{\"a\":{\"value\":[1]}}\n{}\n", FormatJSONL},
		{"value string is no graph", "{\"value\":\"x\"}\n", FormatJSONL},
		{"type line", "#TYPE Foo\n\"AuditData\"\n", FormatPowerShellCSV},
		{"purview header", "RecordId,AuditData\n", FormatPurviewCSV},
		{"classic header", "CreationDate,UserIds,Operations,AuditData\r\n", FormatClassicCSV},
		{"powershell 7 header", "\"RunspaceId\",\"AuditData\",\"Identity\"\n", FormatPowerShellCSV},
		{"junk then jsonl", "exported by hand\n{\"a\":1}\n", FormatJSONL},
		{"empty", "", FormatJSONL},
		{"only whitespace", " \r\n\t", FormatJSONL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per Read: detection must cope with input arriving in pieces.
			r, err := Open(iotest.OneByteReader(strings.NewReader(tc.in)), FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tc.want {
				t.Errorf("format %q, want %q", r.Format(), tc.want)
			}
		})
	}
}

func TestDetectFails(t *testing.T) {
	for _, in := range []string{"hello world\n", "a,b,c\n1,2,3\n", "<?xml version=\"1.0\"?>",
		// Binary data with a JSON-looking line further on (an executable).
		"\x7fELF\x02\x01\x01\x00\x00\x00\n{\"Id\":\"x\"}\n", "\x01\x02\x03\x04ab\n{}\n"} {
		_, err := Open(strings.NewReader(in), FormatAuto)
		if err == nil || !strings.Contains(err.Error(), "cannot detect the input format") {
			t.Errorf("%q: err %v", in, err)
		}
	}
}

// A pretty-printed object larger than the detection window is json, a
// single line that long is jsonl (see TestJSONLHugeLine).
func TestDetectBeyondWindow(t *testing.T) {
	pretty := []byte("{\n  \"Pad\": \"" + strings.Repeat("y", peekLimit+10) + "\"\n}\n")
	r := openBytes(t, pretty, FormatAuto)
	if r.Format() != FormatJSON {
		t.Fatalf("format %q", r.Format())
	}
	units := readAll(t, r)
	if len(units) != 1 || !bytes.Equal(units[0].Record, bytes.TrimSpace(pretty)) {
		t.Fatalf("%d units", len(units))
	}
}

// Detection must not consume anything: the first unit is intact even when
// the input arrives one byte at a time.
func TestDetectKeepsBytes(t *testing.T) {
	in := readFixture(t, "graph-auditlog-records.json")
	want := readAll(t, openBytes(t, in, FormatAuto))
	r, err := Open(iotest.HalfReader(bytes.NewReader(in)), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	sameUnits(t, readAll(t, r), want)
}
