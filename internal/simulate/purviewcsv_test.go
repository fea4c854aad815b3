package simulate

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The fixture's first row is jsonl line 1 exported by Purview; writing that
// record must give the same bytes.
func TestPurviewCSVMatchesFixtureRow(t *testing.T) {
	line := fixtureLines(t, "copilot-interactions.jsonl")[0]
	ev := Event{
		ID:         "ec077ad4-aec7-44b1-a8b4-406c0190f12c",
		Record:     line,
		Time:       time.Date(2026, 3, 2, 8, 3, 11, 0, time.UTC),
		RecordType: 261,
		Operation:  "CopilotInteraction",
		UserID:     "user1@contoso.example",
	}
	var buf bytes.Buffer
	w := NewPurviewCSVWriter(&buf)
	if err := w.Write(ev); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "purview-export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfterN(fixture, []byte("\r\n"), 3)
	want := append(append([]byte{}, lines[0]...), lines[1]...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

func TestPurviewCSVParses(t *testing.T) {
	s, err := New(Config{Seed: 4, Users: 40, Days: 1, Start: testStart, Scenarios: true, NoiseRecords: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var events []Event
	w := NewPurviewCSVWriter(&buf)
	if err := s.Run(func(ev Event) error {
		events = append(events, ev)
		return w.Write(ev)
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\r\n")); n != len(events)+1 {
		t.Fatalf("%d CRLF line ends for %d rows and a header", n, len(events))
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(events)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(events)+1)
	}
	if got := join(rows[0]); got != PurviewCSVHeader {
		t.Fatalf("header %q", got)
	}
	for i, ev := range events {
		row := rows[i+1]
		if len(row) != 8 {
			t.Fatalf("row %d has %d fields", i+1, len(row))
		}
		if row[0] != ev.ID || row[5] != string(ev.Record) || row[2] != strconv.Itoa(ev.RecordType) || row[3] != ev.Operation || row[4] != ev.UserID || row[6] != "" || row[7] != "" {
			t.Fatalf("row %d: %q", i+1, row[:5])
		}
		if want := ev.Time.Format("2006-01-02T15:04:05") + ".0000000Z "; row[1] != want {
			t.Fatalf("row %d: CreationDate %q, want %q", i+1, row[1], want)
		}
	}
}

func join(fields []string) string {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f)
	}
	return b.String()
}

func TestCSVFieldQuoting(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{" lead", `" lead"`},
		{"trail ", `"trail "`},
		{"two\r\nlines", "\"two\r\nlines\""},
		{"user1@contoso.example", "user1@contoso.example"},
	}
	for _, tc := range cases {
		if got := string(appendCSVField(nil, tc.in)); got != tc.want {
			t.Errorf("appendCSVField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPurviewCSVEmptyHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := NewPurviewCSVWriter(&buf).Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != PurviewCSVHeader+"\r\n" {
		t.Fatalf("got %q", got)
	}
}

func TestWriteJSONL(t *testing.T) {
	var buf bytes.Buffer
	for _, rec := range []string{`{"Id":"a"}`, `{"Id":"b"}`} {
		if err := WriteJSONL(&buf, Event{ID: "x", Record: []byte(rec)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.String(); got != "{\"Id\":\"a\"}\n{\"Id\":\"b\"}\n" {
		t.Fatalf("got %q", got)
	}
}
