package reader

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestJSONLLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		locs []string
		recs []string
	}{
		{"blank lines count", "\n{\"a\":1}\n\n \t\n{\"b\":2}", []string{"line 2", "line 5"}, []string{`{"a":1}`, `{"b":2}`}},
		{"crlf", "{\"a\":1}\r\n{\"b\":2}\r\n\r\n", []string{"line 1", "line 2"}, []string{`{"a":1}`, `{"b":2}`}},
		{"not json kept", "{\"a\":1}\nhello, world\n", []string{"line 1", "line 2"}, []string{`{"a":1}`, `hello, world`}},
		{"lone cr kept inside", "{\"a\":1}\n{\"b\":\"x\ry\"}\n", []string{"line 1", "line 2"}, []string{`{"a":1}`, "{\"b\":\"x\ry\"}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			units := readAll(t, openBytes(t, []byte(tc.in), FormatJSONL))
			if len(units) != len(tc.locs) {
				t.Fatalf("%d units, want %d", len(units), len(tc.locs))
			}
			for i, u := range units {
				if u.Loc != tc.locs[i] || string(u.Record) != tc.recs[i] || string(u.Raw) != tc.recs[i] || u.Err != "" {
					t.Errorf("unit %d: %s %q %q", i, u.Loc, u.Record, u.Err)
				}
			}
		})
	}
}

func TestJSONLCRLFFixture(t *testing.T) {
	lf := readFixture(t, "copilot-interactions.jsonl")
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	want := readAll(t, openBytes(t, lf, FormatAuto))
	r := openBytes(t, crlf, FormatAuto)
	if r.Format() != FormatJSONL {
		t.Fatalf("format %q", r.Format())
	}
	sameUnits(t, readAll(t, r), want)
}

// bigRecord is one JSONL record of about n bytes (a long string field).
func bigRecord(n int) []byte {
	return []byte(`{"Id":"big","Pad":"` + strings.Repeat("x", n) + `"}`)
}

func TestJSONLHugeLine(t *testing.T) {
	big := bigRecord(5 << 20)
	for _, tc := range []struct {
		name  string
		lines [][]byte
	}{
		{"middle", [][]byte{[]byte(`{"Id":"a"}`), big, []byte(`{"Id":"c"}`)}},
		// A first line longer than the detection window must still be JSONL.
		{"first", [][]byte{big, []byte(`{"Id":"c"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append(bytes.Join(tc.lines, []byte("\n")), '\n')
			r := openBytes(t, in, FormatAuto)
			if r.Format() != FormatJSONL {
				t.Fatalf("format %q", r.Format())
			}
			units := readAll(t, r)
			if len(units) != len(tc.lines) {
				t.Fatalf("%d units", len(units))
			}
			for i, u := range units {
				if !bytes.Equal(u.Record, tc.lines[i]) || u.Loc != seq("line", len(tc.lines))[i] {
					t.Errorf("unit %d: %s, %d bytes, want %d", i, u.Loc, len(u.Record), len(tc.lines[i]))
				}
			}
		})
	}
}

func TestJSONLReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader("{\"a\":1}\n{\"b\":"), iotest.ErrReader(boom))
	r, err := Open(src, FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	units, err := readUntilErr(r)
	if len(units) != 1 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "line 2: cannot read input") {
		t.Fatalf("%d units, err %v", len(units), err)
	}
}

// A .gz cut short whose whole remaining text arrives with the error in one
// read (a small file) is still detected and read up to the break.
func TestTruncatedSmallGzip(t *testing.T) {
	var lines strings.Builder
	for i := range 40 {
		fmt.Fprintf(&lines, "{\"Id\":\"r%02d\",\"Pad\":\"%s\"}\n", i, strings.Repeat("x", i*37%101))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(lines.String()))
	zw.Close()
	cut := gz.Bytes()[:gz.Len()*2/3]
	r, err := Open(bytes.NewReader(cut), FormatAuto)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	units, err := readUntilErr(r)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(units) < 10 {
		t.Fatalf("%d units, err %v", len(units), err)
	}
	for i, u := range units {
		if want := fmt.Sprintf("line %d", i+1); u.Loc != want || !strings.Contains(string(u.Raw), fmt.Sprintf("\"r%02d\"", i)) {
			t.Errorf("unit %d: %s %q", i, u.Loc, u.Raw)
		}
	}
	if want := fmt.Sprintf("line %d: cannot read input", len(units)+1); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start %q", err, want)
	}
}
