package audit

import "bytes"

// An unpaired UTF-16 surrogate escape (\ud800 alone, \udc00\ud800, a high
// surrogate at the end of a string) is valid JSON grammar and Go's decoders
// read it as U+FFFD, but DuckDB's JSON parser rejects the whole text. Copied
// as it is into LLMEventData, one such escape in an attacker-chosen string
// (a file name) would make every query reading that column fail for the
// window, blinding the rules. The normalizer rewrites it to \ufffd before
// parsing; Raw keeps the original bytes.

// hasSurrogateEscape reports whether the JSON text b holds a
// \uD800-\uDFFF escape (paired or not). It is the whole cost for ordinary
// records, so it only jumps from backslash to backslash (a vectorized
// search) and looks at the next three bytes; stepping over each escape keeps
// `\\ud800` (a backslash, then text) from counting.
func hasSurrogateEscape(b []byte) bool {
	for i := 0; i < len(b); i += 2 {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return false
		}
		i += j
		if i+3 < len(b) && b[i+1] == 'u' && b[i+2]|0x20 == 'd' && isHex8F(b[i+3]) {
			return true
		}
	}
	return false
}

// isHex8F reports whether c is a hex digit 8-f (either case): the second
// digit of a surrogate code unit D800-DFFF.
func isHex8F(c byte) bool {
	return c == '8' || c == '9' || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// fixSurrogates returns the JSON text b with every unpaired surrogate escape
// replaced by \ufffd, pairing as encoding/json does: a high surrogate pairs
// only with an immediately following low one; otherwise it becomes U+FFFD
// alone and the next escape is read on its own. ok is false, and nothing is
// allocated, when there is nothing to replace. Escapes are found by walking
// the backslashes, so `\\ud800` (a backslash, then text) is left alone.
func fixSurrogates(b []byte) (out []byte, ok bool) {
	done := 0 // b[:done] is in out already
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		if i+1 >= len(b) || b[i+1] != 'u' {
			i += 2 // any other escape, including \\
			continue
		}
		r, hex := hex4(b, i+2)
		if !hex || r < 0xd800 || r > 0xdfff {
			i += 2
			continue
		}
		if r < 0xdc00 && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
			if r2, hex2 := hex4(b, i+8); hex2 && r2 >= 0xdc00 && r2 <= 0xdfff {
				i += 12 // a valid pair stays as written
				continue
			}
		}
		if out == nil {
			out = make([]byte, 0, len(b))
		}
		out = append(out, b[done:i]...)
		out = append(out, `\ufffd`...)
		i += 6
		done = i
	}
	if out == nil {
		return b, false
	}
	return append(out, b[done:]...), true
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = (c | 0x20) - 'a' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
