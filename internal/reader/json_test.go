package reader

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestJSONValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		recs []string
		errs []string // Err per unit; "" for records
		end  string   // "" for io.EOF, else a substring of the final error
	}{
		{"array", "[{\"a\":1} ,\n\t{\"b\":[1,{\"c\":\"]}\\\"\"}]}]", []string{`{"a":1}`, `{"b":[1,{"c":"]}\""}]}`}, []string{"", ""}, ""},
		{"empty array", " [ ] ", nil, nil, ""},
		{"two arrays", "[{\"a\":1}][{\"b\":2}]", []string{`{"a":1}`, `{"b":2}`}, []string{"", ""}, ""},
		{"pretty objects", "{\n  \"a\": 1\n}\n{\n  \"b\": [1, 2]\n}\n", []string{"{\n  \"a\": 1\n}", "{\n  \"b\": [1, 2]\n}"}, []string{"", ""}, ""},
		{"scalars are units", "[1, \"x\", null]", []string{"1", `"x"`, "null"}, []string{"", "", ""}, ""},
		{"escaped backslash before quote", `[{"a":"\\"},{"b":"\\\""}]`, []string{`{"a":"\\"}`, `{"b":"\\\""}`}, []string{"", ""}, ""},
		{"truncated in string", `[{"a":1},{"b":"x\"y`, []string{`{"a":1}`, `{"b":"x\"y`}, []string{"", errTruncated}, ""},
		{"truncated in nesting", "[{\"a\":1},\n {\"b\":[{\"c\":2}", []string{`{"a":1}`, `{"b":[{"c":2}`}, []string{"", errTruncated}, ""},
		{"garbage element", "[{\"a\":1}, oops]\n{\"b\":2}", []string{`{"a":1}`, "oops]"}, []string{"", "not JSON: unexpected 'o' where an element should start; reading stopped"}, ""},
		{"no closing bracket", "[{\"a\":1},\n", []string{`{"a":1}`}, []string{""}, "after element 1: input ended before the closing ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openBytes(t, []byte(tc.in), FormatAuto)
			if r.Format() != FormatJSON {
				t.Fatalf("format %q", r.Format())
			}
			units, err := readUntilErr(r)
			if tc.end == "" && err != nil {
				t.Fatalf("err %v", err)
			}
			if tc.end != "" && (err == nil || !strings.Contains(err.Error(), tc.end) || !errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("err %v, want %q", err, tc.end)
			}
			if len(units) != len(tc.recs) {
				t.Fatalf("%d units, want %d: %+v", len(units), len(tc.recs), units)
			}
			for i, u := range units {
				if u.Loc != seq("element", len(units))[i] || u.Err != tc.errs[i] || string(u.Raw) != tc.recs[i] {
					t.Errorf("unit %d: %s Err %q Raw %q", i, u.Loc, u.Err, u.Raw)
				}
				if want := tc.recs[i]; tc.errs[i] != "" {
					want = ""
					if len(u.Record) != 0 {
						t.Errorf("unit %d: Record set on an Err unit", i)
					}
				} else if string(u.Record) != want {
					t.Errorf("unit %d: Record %q", i, u.Record)
				}
			}
		})
	}
}

// Cutting a content blob anywhere gives the complete elements unchanged, then
// either a truncated unit holding a prefix of the next element or, when the
// cut falls between elements, an unexpected-EOF error.
func TestJSONTruncatedBlob(t *testing.T) {
	blob := readFixture(t, "management-api-blob.json")
	full := readAll(t, openBytes(t, blob, FormatAuto))
	for cut := 1; cut < len(blob)-2; cut += 37 {
		units, err := readUntilErr(openBytes(t, blob[:cut], FormatAuto))
		last := len(units) - 1
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut %d: err %v", cut, err)
			}
			last++ // every unit returned is complete
		} else if last < 0 || units[last].Err != errTruncated || !bytes.HasPrefix(full[last].Raw, units[last].Raw) || len(units[last].Raw) == 0 {
			t.Fatalf("cut %d: no truncated last unit: %+v", cut, units)
		}
		sameUnits(t, units[:last], full[:last])
	}
}

func TestJSONReadError(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader(`[{"a":1},{"b":`), &failReader{err: boom})
	r, err := Open(src, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	units, err := readUntilErr(r)
	if len(units) != 1 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "element 2: cannot read input") {
		t.Fatalf("%d units, err %v", len(units), err)
	}
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }
