package reader

import (
	"io"
)

// initialWindow is the starting buffer size. It grows (doubling) only while a
// single unit does not fit, so memory follows the largest record, never the
// size of the input.
const initialWindow = 256 << 10

// window is a growable read buffer over the input. The bytes of the unit
// being scanned stay in buf[r:w] while more input is read, so offsets that
// callers keep are relative to r and survive refills.
type window struct {
	src  io.Reader
	buf  []byte
	r, w int
	err  error // first error from src, io.EOF at the end; sticky
}

func newWindow(src io.Reader) *window {
	return &window{src: src, buf: make([]byte, initialWindow)}
}

// data returns the unread bytes. The slice is invalidated by more.
func (w *window) data() []byte { return w.buf[w.r:w.w] }

// more reads at least one more byte into the buffer, keeping buf[r:w].
// It returns false when nothing more can be read; w.err tells why.
func (w *window) more() bool {
	if w.err != nil {
		return false
	}
	if w.r == w.w {
		w.r, w.w = 0, 0
	}
	if w.w == len(w.buf) {
		live := w.w - w.r
		if live < len(w.buf)/2 {
			// Enough room once consumed bytes are dropped.
			copy(w.buf, w.buf[w.r:w.w])
		} else {
			nb := make([]byte, 2*len(w.buf))
			copy(nb, w.buf[w.r:w.w])
			w.buf = nb
		}
		w.r, w.w = 0, live
	}
	// Bounded retries: a reader returning (0, nil) forever must not hang us.
	for range 100 {
		n, err := w.src.Read(w.buf[w.w:])
		w.w += n
		if err != nil {
			w.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	w.err = io.ErrNoProgress
	return false
}

// fill reads until at least n bytes are buffered or the input ends.
func (w *window) fill(n int) {
	for w.w-w.r < n && w.more() {
	}
}

// failure is the read error that stopped the input, nil for a clean end.
func (w *window) failure() error {
	if w.err == io.EOF {
		return nil
	}
	return w.err
}

// skipSpace consumes JSON whitespace. It returns false when the input ended
// (or failed) before a non-space byte.
func (w *window) skipSpace() bool {
	for {
		for w.r < w.w {
			switch w.buf[w.r] {
			case ' ', '\t', '\n', '\r':
				w.r++
			default:
				return true
			}
		}
		if !w.more() {
			return false
		}
	}
}

// Read lets the window feed readers that need an io.Reader (encoding/csv,
// compress/gzip, the UTF-16 decoder): buffered bytes first, then the source.
func (w *window) Read(p []byte) (int, error) {
	if w.r == w.w {
		if w.err != nil {
			return 0, w.err
		}
		if len(p) >= len(w.buf) {
			// Large reads bypass the buffer.
			n, err := w.src.Read(p)
			if err != nil {
				w.err = err
			}
			return n, err
		}
		if !w.more() {
			return 0, w.err
		}
	}
	n := copy(p, w.buf[w.r:w.w])
	w.r += n
	return n, nil
}

// takeCopy returns a fresh copy of the next n buffered bytes and consumes
// them. Units own their bytes because the pipeline hands them to other
// goroutines while reading goes on.
func (w *window) takeCopy(n int) []byte {
	s := w.buf[w.r : w.r+n]
	b := make([]byte, len(s)) // make+copy of len(s): the compiler skips zeroing
	copy(b, s)
	w.r += n
	return b
}
