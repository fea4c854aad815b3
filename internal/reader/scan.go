package reader

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner finds where one JSON value ends without decoding it: it tracks
// strings (skipping to the next quote with bytes.IndexByte and deciding
// escapes by counting the backslashes before it) and bracket depth. It does
// not validate; the normalizer parses the record later. A scan can be resumed
// after more input arrives, as long as the slice passed still starts at the
// value's first byte.
type scanner struct {
	pos    int // bytes of the value scanned so far; its length once done
	depth  int
	inStr  bool
	scalar bool
}

// startsValue reports whether c can begin a JSON value.
func startsValue(c byte) bool {
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n':
		return true
	}
	return c >= '0' && c <= '9'
}

// scan continues over the value at b[0] (b[0] must satisfy startsValue) and
// reports whether its end was found; s.pos is then the value's length.
// A scalar (number, true, false, null) ends at whitespace, ',', ']' or '}';
// when it runs to the end of b the caller decides whether input is over.
func (s *scanner) scan(b []byte) bool {
	p := s.pos
	if p == 0 {
		if len(b) == 0 {
			return false
		}
		switch b[0] {
		case '{', '[':
			s.depth = 1
		case '"':
			s.inStr = true
		default:
			s.scalar = true
		}
		p = 1
	}
	if s.scalar {
		for p < len(b) {
			switch b[p] {
			case ' ', '\t', '\n', '\r', ',', ']', '}':
				s.pos = p
				return true
			}
			p++
		}
		s.pos = p
		return false
	}
	for p < len(b) {
		if s.inStr {
			i := bytes.IndexByte(b[p:], '"')
			if i < 0 {
				p = len(b)
				break
			}
			q := p + i
			p = q + 1
			// An odd run of backslashes escapes the quote. The opening
			// quote (inside b) stops the walk.
			k := q
			for b[k-1] == '\\' {
				k--
			}
			if (q-k)&1 == 1 {
				continue
			}
			s.inStr = false
			if s.depth == 0 {
				s.pos = p
				return true
			}
			continue
		}
		for p < len(b) {
			c := b[p]
			p++
			if c == '"' {
				s.inStr = true
				break
			}
			if c == '{' || c == '[' {
				s.depth++
			} else if c == '}' || c == ']' {
				s.depth--
				if s.depth == 0 {
					s.pos = p
					return true
				}
			}
		}
	}
	s.pos = p
	return false
}

// valueEnd returns the length of the complete JSON value at b[0], or -1 if b
// holds no complete value (used on in-memory bytes, e.g. a Graph entry).
func valueEnd(b []byte) int {
	if len(b) == 0 || !startsValue(b[0]) {
		return -1
	}
	var s scanner
	if s.scan(b) || (s.scalar && s.pos == len(b)) {
		return s.pos
	}
	return -1
}

// skipWS returns the index of the first non-whitespace byte at or after p.
func skipWS(b []byte, p int) int {
	for p < len(b) {
		switch b[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

// unquote decodes the JSON string literal s (quotes included). Unlike
// encoding/json it keeps invalid UTF-8 bytes as they are, so record bytes reach
// the normalizer unchanged. Without escapes it returns a subslice of s.
func unquote(s []byte) ([]byte, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	i := bytes.IndexByte(s, '\\')
	if i < 0 {
		return s, true
	}
	out := make([]byte, 0, len(s))
	for {
		out = append(out, s[:i]...)
		s = s[i:]
		if len(s) < 2 {
			return nil, false
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			s = s[2:]
		case 'b':
			out, s = append(out, '\b'), s[2:]
		case 'f':
			out, s = append(out, '\f'), s[2:]
		case 'n':
			out, s = append(out, '\n'), s[2:]
		case 'r':
			out, s = append(out, '\r'), s[2:]
		case 't':
			out, s = append(out, '\t'), s[2:]
		case 'u':
			r, ok := hex4(s[2:])
			if !ok {
				return nil, false
			}
			s = s[6:]
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					r2, ok2 = hex4(s[2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					s = s[6:]
				} else {
					// A lone surrogate becomes U+FFFD, as encoding/json does.
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
		i = bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(out, s...), true
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
