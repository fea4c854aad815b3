package reader

import (
	"testing"
)

func TestValueEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`"a\\" x`, 5},
		{`"a\"b" x`, 6},
		{`"\\\"" x`, 6},
		{`{"a":"}"} x`, 9},
		{`[1,[2,{"x":"]"}]]x`, 17},
		{`{"a":"\u005c"}`, 14},
		{`123,`, 3},
		{`-1.5e3}`, 6},
		{`true]`, 4},
		{`null`, 4},
		{`"abc`, -1},
		{`"abc\"`, -1},
		{`{"a":`, -1},
		{`[[]`, -1},
		{`}`, -1},
		{``, -1},
	} {
		if got := valueEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("valueEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// Feeding a value in pieces gives the same end as scanning it whole.
func TestScannerResumes(t *testing.T) {
	in := []byte(`{"a":"x\\\"y","b":[{"c":"]}"},"\\\\"],"d":{}}tail`)
	want := len(in) - len("tail")
	for step := 1; step < len(in); step++ {
		var s scanner
		end := -1
		for n := step; ; n += step {
			if n > len(in) {
				n = len(in)
			}
			if s.scan(in[:n]) {
				end = s.pos
				break
			}
			if n == len(in) {
				break
			}
		}
		if end != want {
			t.Fatalf("step %d: end %d, want %d", step, end, want)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`"plain"`, "plain", true},
		{`""`, "", true},
		{`"a\u00e9\ud83d\ude00\n\t\/\\\""`, "aé😀\n\t/\\\"", true},
		{`"\ud800x"`, "\uFFFDx", true},
		{`"\ud800\u0041"`, "\uFFFDA", true},
		{"\"\xff\\n\xfe\"", "\xff\n\xfe", true},
		{`"\q"`, "", false},
		{`"\u12"`, "", false},
		{`"abc`, "", false},
		{`abc`, "", false},
	} {
		got, ok := unquote([]byte(tc.in))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("unquote(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
