package reader

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
)

// benchSize is the approximate size of the generated inputs.
const benchSize = 100 << 20

var benchInputs struct {
	once        sync.Once
	jsonl, json []byte
	units       int
}

// loadBenchInputs builds, once, a JSONL file and a JSON array of ~100 MB by
// repeating the records of copilot-interactions.jsonl.
func loadBenchInputs(b *testing.B) {
	benchInputs.once.Do(func() {
		src, err := os.ReadFile(fixture("copilot-interactions.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimRight(src, "\n"), []byte("\n"))
		var jl, ja bytes.Buffer
		jl.Grow(benchSize + 64<<10)
		ja.Grow(benchSize + 64<<10)
		ja.WriteString("[\n")
		for n := 0; jl.Len() < benchSize; n++ {
			line := lines[n%len(lines)]
			jl.Write(line)
			jl.WriteByte('\n')
			if n > 0 {
				ja.WriteString(",\n")
			}
			ja.Write(line)
			benchInputs.units++
		}
		ja.WriteString("\n]\n")
		benchInputs.jsonl, benchInputs.json = jl.Bytes(), ja.Bytes()
	})
}

func benchRead(b *testing.B, input []byte, want Format) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(bytes.NewReader(input), FormatAuto)
		if err != nil {
			b.Fatal(err)
		}
		if r.Format() != want {
			b.Fatalf("format %q, want %q", r.Format(), want)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchInputs.units {
			b.Fatalf("read %d units, want %d", n, benchInputs.units)
		}
	}
}

func BenchmarkJSONL(b *testing.B) {
	loadBenchInputs(b)
	benchRead(b, benchInputs.jsonl, FormatJSONL)
}

func BenchmarkJSONArray(b *testing.B) {
	loadBenchInputs(b)
	benchRead(b, benchInputs.json, FormatJSON)
}
