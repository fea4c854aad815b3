package reader

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// Ids in the order the fixtures README lists the records of each file.
var (
	interactionIDs = []string{
		"ec077ad4-aec7-44b1-a8b4-406c0190f12c", "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1", "4c95fab0-20d0-4ec2-b3c5-a38f65f16d52",
		"0d989b32-588e-4fd3-b045-a3f920e1929c", "1e5a6d32-3287-4429-b3c2-ddf2c807537c", "87528f19-336f-4b48-ac86-23fd68943158",
		"4e814558-4e74-4a98-9267-9fad350f5e18", "e59c80b3-e6f4-42b3-a363-15d97b9c3f08", "d85ab9c5-f9f9-4a6a-b156-fd5c3c20c69b",
		"e88f4d5c-7652-4937-ae5d-bb240c910f9a", "bc90c43f-9824-4393-9b4d-7398bcd63aab", "89d80c11-87dc-4ed6-b0bc-3fe317eec43c",
		"db504901-3959-4e43-89f3-a0e3cdcf038e", "3032d59c-db14-4769-b7b9-ecf14708c8b4", "7826f49a-9109-42c6-9a1d-110d9ad87ab2",
		"24ed44c2-375c-431a-a4e6-28a399e663b9", "50ffd31c-978f-4793-b35e-b6cef1dab733",
	}
	blob1IDs = []string{
		"a187e0b6-7407-4f03-ac3a-259daa1a1ce1", "d87a0a89-9ab5-4b30-b300-5248f5fd4ed9", "f172fe41-9b6f-4a21-9bc7-9f3cd7755737",
		"e71499b1-883b-471c-8b96-8b0ef63ad882", "2d2a82dc-1b1f-40af-a7bb-cadb51df8bf2", "f172fe41-9b6f-4a21-9bc7-9f3cd7755737",
		"e6f4028a-0a99-496f-a5a9-16aa3675792d", "58ab22c8-6168-4136-9fe4-8248ecfc2060", "bf8e2cb7-ac6a-486d-85cf-67eb575c3113",
		"f2be125e-29be-441b-a0b5-39fe76632463",
	}
	blob2IDs   = []string{"4f2aceb5-d360-49dd-8c65-f2f2ab6dbcd5", "e71499b1-883b-471c-8b96-8b0ef63ad882", "ff7ae67c-bad4-4093-8b2c-66393afba47d"}
	graph1IDs  = []string{"a187e0b6-7407-4f03-ac3a-259daa1a1ce1", "b9fa353a-ba05-41b6-9b3a-73fad463d238", "5698aef9-d903-4547-a472-bd0afb76b87a", "27d982fa-063f-4b7b-b50b-801b098b4d62"}
	graph2IDs  = []string{"fde6c267-2184-4733-b28a-30640f064898"}
	purviewIDs = []string{
		"ec077ad4-aec7-44b1-a8b4-406c0190f12c", "73cdfe26-981d-4cf7-981d-368d727a7bc1", "4199d914-5423-461d-b4c2-8c19e7f6e7d6",
		"b88326ca-9780-4f81-91fa-694bbbc8c682", "2e2d75a2-9c89-4388-b334-48ef652d08f6", "ec077ad4-aec7-44b1-a8b4-406c0190f12c",
		"8750bc46-514d-42bc-ab6b-afa5956f70a6", "3ad11d6e-f15c-4cff-b7ad-ebb51c199a2e", "514ce054-edde-4180-8462-143dc45c0c95",
	}
	classicIDs = []string{"857e503d-fa28-4e1c-aafa-8474c5754a1e", "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1", "a31fc736-45f8-4a19-bf4c-0bc66cc0b6b0"}
	psIDs      = []string{"0d989b32-588e-4fd3-b045-a3f920e1929c", "b6448605-3442-4eb6-94c5-db2fb95c422c", "138010b9-49f0-433f-b799-b57d8f5e0cba", "c08aa3ee-ae76-4a55-a63e-963c4e932fe6", "bef01c3b-12c2-4c30-8acd-3c6633b6f8bd"}
	edgeIDs    = []string{
		"e093475e-310c-4e09-bb85-38bf7c6e741d", "15d01080-1be5-4626-ab11-a9c14489c12e", "fe4f1a72-55ec-4e71-93f5-f10fdb62fbd8",
		"dd4d7603-1570-4979-a4e4-889ac240501f", "0a356054-27e5-49c1-906e-126e2e59f9d0", "39385557-444e-41ef-b0e5-288c6ae652db",
		"d662ed32-54cf-4f1c-a646-a59a186865f3", "f7165dd0-777d-463b-aa3b-0403756d7c62", "3f5d5ee3-e490-41ac-8fb0-2f8790e9fdf1",
		"d3565f15-9434-4aa0-9190-bb7fc5695e07", "b4a2dfb1-77e8-4141-b668-11bd8c09f7c7", "",
		"edad9322-5eb0-4d8d-9a35-db379cccafbe", "0d936a87-801b-4c4c-be09-c83aaf99653b", "",
	}
)

const page1NextLink = "https://graph.microsoft.com/v1.0/security/auditLog/queries/b54b2cd8-3604-41d2-b4b4-cbd51768c64e/records?$skiptoken=PY6H9bUrfGSabWd8DsaHw2zmw00ms3G2nXUHvJzskH3b9HnKqSxHWr3ol0ifGWfV"

type fixtureCase struct {
	file     string
	format   Format
	locs     []string
	ids      []string // an Id each unit's Record holds, "" for none
	hints    []string // HintID per unit; nil means all ""
	compact  []int    // units whose Record starts with {"CreationTime" (0-based)
	nextLink *string  // for Graph pages
}

func upTo(n int, except ...int) []int {
	var s []int
next:
	for i := range n {
		for _, e := range except {
			if i == e {
				continue next
			}
		}
		s = append(s, i)
	}
	return s
}

func ptr(s string) *string { return &s }

var fixtureCases = []fixtureCase{
	{file: "copilot-interactions.jsonl", format: FormatJSONL, locs: seq("line", 17), ids: interactionIDs, compact: upTo(17)},
	{file: "management-api-blob.json", format: FormatJSON, locs: seq("element", 10), ids: blob1IDs, compact: upTo(10)},
	{file: "management-api-blob-2.json", format: FormatJSON, locs: seq("element", 3), ids: blob2IDs, compact: upTo(3)},
	{file: "graph-auditlog-records.json", format: FormatGraph, locs: seq("entry", 4), ids: graph1IDs, hints: graph1IDs, nextLink: ptr(page1NextLink)},
	{file: "graph-auditlog-records-page2.json", format: FormatGraph, locs: seq("entry", 1), ids: graph2IDs, hints: graph2IDs, nextLink: ptr("")},
	{file: "purview-export.csv", format: FormatPurviewCSV, locs: seq("row", 9), ids: purviewIDs, hints: purviewIDs, compact: upTo(9, 3)},
	{file: "classic-portal-export.csv", format: FormatClassicCSV, locs: seq("row", 3), ids: classicIDs, compact: upTo(3)},
	{file: "search-unifiedauditlog.csv", format: FormatPowerShellCSV, locs: seq("row", 5), ids: psIDs, hints: psIDs, compact: upTo(5)},
	{file: "edge-cases.jsonl", format: FormatJSONL, locs: seq("line", 15), ids: edgeIDs, compact: upTo(15, 14)},
}

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			r := openBytes(t, readFixture(t, tc.file), FormatAuto)
			if r.Format() != tc.format {
				t.Fatalf("format %q, want %q", r.Format(), tc.format)
			}
			units := readAll(t, r) // all read first: earlier units must survive later Next calls
			if len(units) != len(tc.locs) {
				t.Fatalf("read %d units, want %d", len(units), len(tc.locs))
			}
			for i, u := range units {
				if u.Loc != tc.locs[i] {
					t.Errorf("unit %d: Loc %q, want %q", i, u.Loc, tc.locs[i])
				}
				if u.Err != "" {
					t.Errorf("%s: unexpected Err %q", u.Loc, u.Err)
				}
				if len(u.Raw) == 0 || len(u.Record) == 0 {
					t.Errorf("%s: empty Raw or Record", u.Loc)
				}
				want := ""
				if tc.hints != nil {
					want = tc.hints[i]
				}
				if u.HintID != want {
					t.Errorf("%s: HintID %q, want %q", u.Loc, u.HintID, want)
				}
				if id := tc.ids[i]; id != "" && !bytes.Contains(u.Record, []byte(`"`+id+`"`)) {
					t.Errorf("%s: Record does not contain Id %s", u.Loc, id)
				}
			}
			for _, i := range tc.compact {
				if !bytes.HasPrefix(units[i].Record, []byte(`{"CreationTime"`)) {
					t.Errorf("%s: Record starts %.30q, want {\"CreationTime\"", units[i].Loc, units[i].Record)
				}
			}
			if tc.nextLink != nil {
				pr, ok := r.(PageReader)
				if !ok {
					t.Fatal("Graph reader does not implement PageReader")
				}
				if pr.NextLink() != *tc.nextLink {
					t.Errorf("NextLink %q, want %q", pr.NextLink(), *tc.nextLink)
				}
			}
		})
	}
}

// Details the README calls out for single units.
func TestFixtureUnitDetails(t *testing.T) {
	read := func(name string) []Unit { return readAll(t, openBytes(t, readFixture(t, name), FormatAuto)) }

	pv := read("purview-export.csv")
	if !bytes.Contains(pv[1].Raw, []byte(`Budget \"final\", v2.docx`)) || bytes.Contains(pv[1].Raw, []byte(`""final""`)) {
		t.Errorf("purview row 2: CSV quotes not undoubled: %q", pv[1].Raw)
	}
	if n := bytes.Count(pv[3].Raw, []byte("\n")); n != 53 || !bytes.HasPrefix(pv[3].Record, []byte("{\n  \"CreationTime\"")) {
		t.Errorf("purview row 4: %d newlines (want 53, the cell spans 54 lines), starts %.20q", n, pv[3].Record)
	}
	if !bytes.HasSuffix(pv[4].Record, []byte(`","Na`)) || pv[4].Err != "" {
		t.Errorf("purview row 5: want the truncated cell without Err, got Err %q, ends %q", pv[4].Err, pv[4].Record[len(pv[4].Record)-10:])
	}
	if !bytes.Contains(pv[2].Record, []byte("Übersicht Q3 – Planung.pptx")) || !bytes.Contains(pv[2].Record, []byte("議事録 2026-03.docx")) {
		t.Errorf("purview row 3: non-ASCII names not byte-exact")
	}

	edge := read("edge-cases.jsonl")
	if !bytes.Contains(edge[12].Record, []byte("Budget \xff\xfe\xc3\x28 Q1.docx")) || !bytes.Equal(edge[12].Record, edge[12].Raw) {
		t.Errorf("edge line 13: invalid UTF-8 bytes not kept")
	}
	if got := string(edge[14].Record); got != "Search results exported 2026-03-06 (this line is not JSON)" {
		t.Errorf("edge line 15: Record %q", got)
	}
	if !bytes.HasPrefix(edge[11].Record, []byte(`{"CreationTime":"2026-03-06T08:11:00","Operation"`)) {
		t.Errorf("edge line 12 should be the record without Id")
	}

	g := read("graph-auditlog-records.json")
	if !bytes.HasPrefix(g[1].Record, []byte("{\n        \"@odata.type\": \"#microsoft.graph.security.auditData\"")) {
		t.Errorf("graph entry 2: Record starts %.40q", g[1].Record)
	}
	for _, u := range g {
		if !bytes.HasSuffix(u.Record, []byte("}")) || bytes.Contains(u.Record, []byte(`"auditLogRecordType"`)) {
			t.Errorf("%s: Record is not exactly the auditData object", u.Loc)
		}
		if !bytes.HasPrefix(u.Raw, []byte("{\n      \"@odata.type\": \"#microsoft.graph.security.auditLogRecord\"")) || !bytes.Contains(u.Raw, u.Record) {
			t.Errorf("%s: Raw is not the whole entry", u.Loc)
		}
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func toUTF16(s []byte, bigEndian bool) []byte {
	units := utf16.Encode([]rune(string(s)))
	out := []byte{0xff, 0xfe}
	if bigEndian {
		out = []byte{0xfe, 0xff}
	}
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// Every transport variant of a fixture must give the same units as the file.
func TestEncodingVariants(t *testing.T) {
	for _, tc := range fixtureCases {
		plain := readFixture(t, tc.file)
		want := readAll(t, openBytes(t, plain, FormatAuto))
		noBOM := bytes.TrimPrefix(plain, []byte(bom))
		variants := map[string][]byte{
			"gzip":      gzipBytes(t, plain),
			"bom":       append([]byte(bom), noBOM...),
			"no bom":    noBOM,
			"bom+gzip":  gzipBytes(t, append([]byte(bom), noBOM...)),
			"2 members": append(gzipBytes(t, plain[:len(plain)/2]), gzipBytes(t, plain[len(plain)/2:])...),
		}
		if tc.file != "edge-cases.jsonl" { // its invalid UTF-8 cannot survive UTF-16
			variants["utf-16le"] = toUTF16(noBOM, false)
			variants["utf-16be+gzip"] = gzipBytes(t, toUTF16(noBOM, true))
		}
		for name, input := range variants {
			t.Run(tc.file+"/"+name, func(t *testing.T) {
				r := openBytes(t, input, FormatAuto)
				if r.Format() != tc.format {
					t.Fatalf("format %q, want %q", r.Format(), tc.format)
				}
				sameUnits(t, readAll(t, r), want)
				if tc.nextLink != nil && r.(PageReader).NextLink() != *tc.nextLink {
					t.Errorf("NextLink %q", r.(PageReader).NextLink())
				}
			})
		}
	}
}

func TestCorruptGzip(t *testing.T) {
	gz := gzipBytes(t, readFixture(t, "copilot-interactions.jsonl"))
	cases := map[string][]byte{
		"truncated":    gz[:len(gz)/2],
		"bad checksum": append(append([]byte{}, gz[:len(gz)-8]...), 0, 0, 0, 0, gz[len(gz)-4], gz[len(gz)-3], gz[len(gz)-2], gz[len(gz)-1]),
	}
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(input), FormatAuto)
			if err != nil {
				return // detection already hit the damage: also fine
			}
			units, err := readUntilErr(r)
			if err == nil {
				t.Fatalf("read %d units and a clean end from corrupt gzip", len(units))
			}
			if !strings.HasPrefix(err.Error(), "line ") || !strings.Contains(err.Error(), "cannot read input") {
				t.Errorf("error %q does not name the location", err)
			}
		})
	}
}

func TestForcedFormat(t *testing.T) {
	jsonl := readFixture(t, "copilot-interactions.jsonl")
	want := readAll(t, openBytes(t, jsonl, FormatAuto))

	t.Run("jsonl as json", func(t *testing.T) {
		r := openBytes(t, jsonl, FormatJSON)
		got := readAll(t, r)
		if r.Format() != FormatJSON || len(got) != 17 {
			t.Fatalf("format %q, %d units", r.Format(), len(got))
		}
		for i := range got {
			if got[i].Loc != "element "+strconv.Itoa(i+1) {
				t.Errorf("unit %d: Loc %q", i, got[i].Loc)
			}
			if !bytes.Equal(got[i].Record, want[i].Record) {
				t.Errorf("unit %d: Record differs", i)
			}
		}
	})
	t.Run("purview as classic", func(t *testing.T) {
		r := openBytes(t, readFixture(t, "purview-export.csv"), FormatClassicCSV)
		got := readAll(t, r)
		if r.Format() != FormatClassicCSV || len(got) != 9 || got[4].HintID != "2e2d75a2-9c89-4388-b334-48ef652d08f6" {
			t.Fatalf("format %q, %d units", r.Format(), len(got))
		}
	})
	t.Run("classic as jsonl", func(t *testing.T) {
		got := readAll(t, openBytes(t, readFixture(t, "classic-portal-export.csv"), FormatJSONL))
		if len(got) != 4 || string(got[0].Record) != "CreationDate,UserIds,Operations,AuditData" || got[3].Loc != "line 4" {
			t.Fatalf("%d units, first %q", len(got), got[0].Record)
		}
	})
	t.Run("blob as graph", func(t *testing.T) {
		got := readAll(t, openBytes(t, readFixture(t, "management-api-blob.json"), FormatGraph))
		if len(got) != 1 || !strings.Contains(got[0].Err, "not a Graph records page") || string(got[0].Raw) != "[" || got[0].Loc != "entry 1" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("graph as json", func(t *testing.T) {
		got := readAll(t, openBytes(t, readFixture(t, "graph-auditlog-records.json"), FormatJSON))
		if len(got) != 1 || got[0].Loc != "element 1" || !bytes.HasPrefix(got[0].Record, []byte("{\n  \"@odata.context\"")) {
			t.Fatalf("got %d units", len(got))
		}
	})
	t.Run("jsonl as csv", func(t *testing.T) {
		_, err := Open(bytes.NewReader(jsonl), FormatPurviewCSV)
		if err == nil || !strings.Contains(err.Error(), "CSV header") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for _, f := range []Format{"xml", "AUTO", "JSONL"} {
			r, err := Open(bytes.NewReader(jsonl), f)
			if r != nil || err == nil || !strings.Contains(err.Error(), "powershell-csv") {
				t.Fatalf("Open with %q: %v, %v", f, r, err)
			}
		}
	})
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		ok   bool
	}{
		{"", FormatAuto, true},
		{"auto", FormatAuto, true},
		{"JSONL", FormatJSONL, true},
		{" json ", FormatJSON, true},
		{"graph", FormatGraph, true},
		{"purview-csv", FormatPurviewCSV, true},
		{"classic-csv", FormatClassicCSV, true},
		{"powershell-csv", FormatPowerShellCSV, true},
		{"csv", FormatAuto, false},
		{"ndjson", FormatAuto, false},
	} {
		got, err := ParseFormat(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "auto, json, jsonl, graph, purview-csv, classic-csv, powershell-csv") {
			t.Errorf("error does not list the names: %v", err)
		}
	}
}
