package reader

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Messages put into Unit.Err by the JSON-based readers.
const (
	errTruncated = "truncated: input ended inside this element"
	garbageLimit = 4 << 10 // bytes of unparseable input kept in Raw
)

// valueStatus says how takeValue ended.
type valueStatus int

const (
	valueOK        valueStatus = iota
	valueTruncated             // input ended inside the value
	valueGarbage               // the byte at the start cannot begin a JSON value
	valueReadError             // the source failed (w.failure())
)

// takeValue consumes the JSON value starting at the next buffered byte (the
// caller has skipped whitespace) and returns a private copy of its bytes. For
// valueTruncated it returns the partial value, for valueGarbage up to
// garbageLimit bytes up to the end of that line.
func (w *window) takeValue() ([]byte, valueStatus) {
	if !startsValue(w.buf[w.r]) {
		return w.takeGarbage(), valueGarbage
	}
	var s scanner
	for !s.scan(w.data()) {
		if !w.more() {
			if w.failure() != nil {
				return nil, valueReadError
			}
			if s.scalar {
				break // a scalar may end with the input
			}
			return w.takeCopy(w.w - w.r), valueTruncated
		}
	}
	return w.takeCopy(s.pos), valueOK
}

// takeGarbage returns a copy of the rest of the current line, at most
// garbageLimit bytes, to show in Raw what stopped the reader.
func (w *window) takeGarbage() []byte {
	w.fill(garbageLimit)
	b := w.data()
	if len(b) > garbageLimit {
		b = b[:garbageLimit]
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return w.takeCopy(len(bytes.TrimRight(b, "\r")))
}

// jsonReader reads FormatJSON: a sequence of top-level JSON values, each
// either an array (its elements are units) or a single value (itself a
// unit). This covers a Management API content blob, several blobs
// concatenated, one pretty-printed object, and concatenated objects.
// Commas between values are tolerated.
//
// Ending rules: a value cut off by the end of input becomes a unit with Err
// errTruncated and reading stops (io.EOF next). Bytes that cannot start a
// value become a unit with Err describing them, and reading stops the same
// way: after garbage the structure is unknown, so nothing further can be
// trusted. Input that ends between elements of an open array, before its
// ']', returns an error wrapping io.ErrUnexpectedEOF: no unit is lost to it,
// but the input is known to be incomplete.
type jsonReader struct {
	w       *window
	n       int // elements returned
	inArray bool
	done    bool
}

func (j *jsonReader) Format() Format { return FormatJSON }

func (j *jsonReader) Next() (Unit, error) {
	if j.done {
		return Unit{}, io.EOF
	}
	w := j.w
	for {
		if !w.skipSpace() {
			j.done = true
			if err := w.failure(); err != nil {
				return Unit{}, fmt.Errorf("element %d: cannot read input: %w", j.n+1, err)
			}
			if j.inArray {
				return Unit{}, fmt.Errorf("after element %d: input ended before the closing ']' of the array: %w", j.n, io.ErrUnexpectedEOF)
			}
			return Unit{}, io.EOF
		}
		c := w.buf[w.r]
		switch {
		case c == ',':
			w.r++
			continue
		case j.inArray && c == ']':
			j.inArray = false
			w.r++
			continue
		case !j.inArray && c == '[':
			j.inArray = true
			w.r++
			continue
		}
		j.n++
		loc := "element " + strconv.Itoa(j.n)
		raw, st := w.takeValue()
		switch st {
		case valueOK:
			return Unit{Record: raw, Raw: raw, Loc: loc}, nil
		case valueTruncated:
			j.done = true
			return Unit{Raw: raw, Loc: loc, Err: errTruncated}, nil
		case valueGarbage:
			j.done = true
			return Unit{Raw: raw, Loc: loc, Err: fmt.Sprintf("not JSON: unexpected %s where an element should start; reading stopped", describeByte(c)), Stop: true}, nil
		default:
			j.done = true
			return Unit{}, fmt.Errorf("%s: cannot read input: %w", loc, w.failure())
		}
	}
}

// describeByte renders a byte for an error message.
func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
