package reader

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUTF16(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"le pair split across reads", toUTF16([]byte("{\"a\":\"😀é\"}\n"), false), "{\"a\":\"😀é\"}\n"},
		{"be", toUTF16([]byte("{\"a\":\"😀\"}"), true), "{\"a\":\"😀\"}"},
		{"lone high surrogate", []byte{0xff, 0xfe, '{', 0, 0x3d, 0xd8, 'x', 0, '}', 0}, "{\uFFFDx}"},
		{"surrogate at end", []byte{0xff, 0xfe, '{', 0, 0x3d, 0xd8}, "{\uFFFD"},
		{"odd byte at end", []byte{0xff, 0xfe, '{', 0, '}'}, "{\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Skip the BOM as Open does, then decode one byte per read.
			got, err := io.ReadAll(newUTF16Reader(iotest.OneByteReader(strings.NewReader(string(tc.in[2:]))), tc.in[0] == 0xfe))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Through Open: a UTF-16LE JSONL file is read like its UTF-8 twin.
	units := readAll(t, openBytes(t, toUTF16([]byte("{\"a\":\"😀\"}\r\n{\"b\":1}\r\n"), false), FormatAuto))
	if len(units) != 2 || string(units[0].Record) != "{\"a\":\"😀\"}" || units[1].Loc != "line 2" {
		t.Fatalf("%+v", units)
	}
}
