package reader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func fixture(name string) string {
	return filepath.Join("..", "..", "testdata", "fixtures", name)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads every unit; it fails the test on any error but io.EOF.
func readAll(t testing.TB, r Reader) []Unit {
	t.Helper()
	units, err := readUntilErr(r)
	if err != nil {
		t.Fatalf("Next after %d units: %v", len(units), err)
	}
	return units
}

// readUntilErr reads units until io.EOF (err nil) or another error.
func readUntilErr(r Reader) ([]Unit, error) {
	var units []Unit
	for {
		u, err := r.Next()
		if errors.Is(err, io.EOF) && err == io.EOF {
			// A second call must keep saying io.EOF.
			if _, err2 := r.Next(); err2 != io.EOF {
				return units, fmt.Errorf("Next after io.EOF returned %v", err2)
			}
			return units, nil
		}
		if err != nil {
			return units, err
		}
		units = append(units, u)
	}
}

func openBytes(t testing.TB, b []byte, f Format) Reader {
	t.Helper()
	r, err := Open(bytes.NewReader(b), f)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

func seq(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s %d", prefix, i+1)
	}
	return s
}

// sameUnits compares two unit lists field by field.
func sameUnits(t *testing.T, got, want []Unit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d units, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Record, w.Record) || !bytes.Equal(g.Raw, w.Raw) || g.Loc != w.Loc || g.HintID != w.HintID || g.Err != w.Err {
			t.Fatalf("unit %d differs:\n got %s %q %q rec=%.80q\nwant %s %q %q rec=%.80q", i, g.Loc, g.HintID, g.Err, g.Record, w.Loc, w.HintID, w.Err, w.Record)
		}
	}
}
