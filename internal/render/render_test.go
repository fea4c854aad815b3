package render

import (
	"bytes"
	"database/sql"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestFormats(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT 'a&b' AS s, '{"x":[1,2]}' AS LLMEventData, TIMESTAMP '2026-03-02 08:03:11' AS t, 7 AS n, NULL AS z`
	want := map[string]string{
		"json":  "[\n{\"s\":\"a&b\",\"LLMEventData\":{\"x\":[1,2]},\"t\":\"2026-03-02T08:03:11Z\",\"n\":7,\"z\":null}\n]\n",
		"csv":   "s,LLMEventData,t,n,z\na&b,\"{\"\"x\"\":[1,2]}\",2026-03-02T08:03:11Z,7,\n",
		"table": "s    LLMEventData  t                     n  z\na&b  {\"x\":[1,2]}   2026-03-02T08:03:11Z  7  \n",
	}
	for _, f := range Formats {
		rs, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		n, err := Rows(&b, f, rs)
		rs.Close()
		if err != nil || n != 1 {
			t.Fatalf("%s: %d rows, %v", f, n, err)
		}
		if b.String() != want[f] {
			t.Errorf("%s:\n%q\nwant\n%q", f, b.String(), want[f])
		}
	}
	if CheckFormat("xml") == nil {
		t.Error("xml accepted")
	}
}

// Terminal control characters in record fields never reach a table as is.
func TestCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@contoso.example", "alice@contoso.example"},
		{"a\tb\nc\rd", "a b c d"},
		{"\x1b[2J\x1b[31mRED", "?[2J?[31mRED"},
		{"é ü \u009b x", "é ü ? x"},
		{"invoice\u202Efdp.exe", "invoice?fdp.exe"},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Text a spreadsheet would run as a formula is defused in CSV output;
// numbers (a negative one too) are left alone.
func TestCSVFormulas(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT '=HYPERLINK("http://x.example","y")' AS a, '+1' AS b, '@SUM(A1)' AS c, '-2' AS d, -3 AS e, 'ok=1' AS f`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var b bytes.Buffer
	if _, err := Rows(&b, "csv", rs); err != nil {
		t.Fatal(err)
	}
	want := "a,b,c,d,e,f\n\"'=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\",'+1,'@SUM(A1),'-2,-3,ok=1\n"
	if b.String() != want {
		t.Errorf("csv:\n%q\nwant\n%q", b.String(), want)
	}
}
