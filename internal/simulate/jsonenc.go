package simulate

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// The record encoder appends JSON by hand instead of going through
// encoding/json: it must reproduce Microsoft's serialisation byte for byte
// (fixed key order, `\/` escapes) and it must be fast enough for the bulk
// benchmark generator (hundreds of thousands of records per second).

const hexDigits = "0123456789abcdef"

// idChars is the alphabet of Microsoft's base64url-like item ids and thread ids.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// appendJSONString appends s as a JSON string the way Microsoft's audit
// serialiser writes it: slashes escaped as `\/`, non-ASCII left as UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '/' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '/':
			b = append(b, '\\', '/')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// escapeJSON returns the escaped body of s (without quotes), for fragments
// that are built once and copied into many records.
func escapeJSON(s string) string {
	b := appendJSONString(nil, s)
	return string(b[1 : len(b)-1])
}

// appendCreationTime appends t as Microsoft writes CreationTime: UTC, second
// precision, no zone designator ("2026-03-04T10:02:14").
func appendCreationTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, '"')
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	return append(b, '"')
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// newGUID draws a random (version 4) GUID in Microsoft's lower-case form.
func newGUID(r *rand.Rand) string {
	var buf [36]byte
	fillGUID(buf[:], r.Uint64(), r.Uint64())
	return string(buf[:])
}

// upperGUID draws a GUID in the upper-case form SharePoint uses in sourcedoc.
func upperGUID(r *rand.Rand) string {
	var buf [36]byte
	fillGUID(buf[:], r.Uint64(), r.Uint64())
	for i, c := range buf {
		if c >= 'a' && c <= 'f' {
			buf[i] = c - 'a' + 'A'
		}
	}
	return string(buf[:])
}

func fillGUID(buf []byte, hi, lo uint64) {
	hi = hi&^0xF000 | 0x4000     // version 4
	lo = lo&^(0xC<<60) | 0x8<<60 // RFC 4122 variant
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j] = hexDigits[c>>4]
		buf[j+1] = hexDigits[c&0xF]
		j += 2
	}
}

// randChars draws n characters of idChars.
func randChars(r *rand.Rand, n int) string { return string(appendRandChars(make([]byte, 0, n), r, n)) }

func appendRandChars(b []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for k := 0; k < 10 && n > 0; k++ {
			b = append(b, idChars[v&63])
			v >>= 6
			n--
		}
	}
	return b
}

// appendRandHex appends n random lower-case hex digits.
func appendRandHex(b []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for k := 0; k < 16 && n > 0; k++ {
			b = append(b, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

func randHex(r *rand.Rand, n int) string { return string(appendRandHex(nil, r, n)) }

// appendItemID appends a 100-character item id in the shape Microsoft uses
// for AccessedResources[].Id and Outlook ItemIDs ("AAAAA" + 95 characters).
func appendItemID(b []byte, r *rand.Rand) []byte {
	return appendRandChars(append(b, "AAAAA"...), r, 95)
}

func itemID(r *rand.Rand) string { return string(appendItemID(nil, r)) }

// threadID draws a Teams-style thread id ("19:<44 chars>@thread.v2").
func threadID(r *rand.Rand) string {
	var buf [57]byte
	b := append(buf[:0], "19:"...)
	b = appendRandChars(b, r, 44)
	return string(append(b, "@thread.v2"...))
}

// slab hands out record buffers carved from large shared chunks, so that a
// million records cost a few hundred allocations instead of a million, and
// records are encoded in place rather than copied. A returned record is
// never written again (its capacity is capped).
type slab struct{ buf []byte }

const (
	slabSize    = 1 << 20
	slabReserve = 32 << 10 // start a new chunk when less than this is left
)

// begin returns an empty buffer to encode the next record into.
func (s *slab) begin() []byte {
	if cap(s.buf) < slabReserve {
		s.buf = make([]byte, 0, slabSize)
	}
	return s.buf[:0]
}

// finish takes the record encoded into the buffer from begin. If the record
// outgrew the chunk, append moved it to its own array, which is kept as is.
func (s *slab) finish(b []byte) []byte {
	if cap(b) != cap(s.buf) {
		return b[:len(b):len(b)]
	}
	s.buf = b[len(b):]
	return b[:len(b):len(b)]
}
