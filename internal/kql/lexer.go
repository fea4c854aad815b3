package kql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a parse or type error at a place in the query text.
type Error struct {
	Line, Column int    // 1-based; Column counts characters, not bytes
	Msg          string // what is wrong, without the position
	Source       string // the query line holding the error
}

func (e *Error) Error() string {
	// The caret line repeats tabs so the caret lines up under the spot.
	var pad strings.Builder
	for _, r := range []rune(e.Source)[:min(e.Column-1, utf8.RuneCountInString(e.Source))] {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return fmt.Sprintf("line %d, column %d: %s\n  %s\n  %s^", e.Line, e.Column, e.Msg, e.Source, pad.String())
}

// errAt builds an Error for byte offset pos of src.
func errAt(src string, pos int, format string, args ...any) *Error {
	pos = max(0, min(pos, len(src)))
	line := 1 + strings.Count(src[:pos], "\n")
	start := strings.LastIndexByte(src[:pos], '\n') + 1
	end := strings.IndexByte(src[start:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += start
	}
	return &Error{
		Line:   line,
		Column: 1 + utf8.RuneCountInString(src[start:pos]),
		Msg:    fmt.Sprintf(format, args...),
		Source: strings.TrimRight(src[start:end], "\r"),
	}
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tLong
	tReal
	tTimespan
	tDatetime
	tPunct
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, decoded string or datetime text
	pos  int    // byte offset of the first character
	end  int    // byte offset after the last character
	i    int64
	f    float64
	dur  time.Duration
}

// timespanUnits maps KQL's timespan suffixes to their length.
var timespanUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"tick": 100 * time.Nanosecond, "ticks": 100 * time.Nanosecond,
}

func isLetter(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// punctuation, longest first so "==" wins over "=".
var puncts = []string{"==", "!=", "=~", "!~", "<=", ">=", "<>", "..", "|", "(", ")", "[", "]", "{", "}", ",", ";", ".", "=", "<", ">", "+", "-", "*", "/", "%", ":", "$", "~"}

// lex splits the whole query into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		// Skip blanks and // comments.
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				i++
			} else if strings.HasPrefix(src[i:], "//") {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else {
				break
			}
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: i, end: i})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case (c == '@' || c == 'h' || c == 'H') && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\''):
			// @"…" is verbatim (a doubled quote is a quote); h"…" hides the
			// value from logs in Kusto and is an ordinary string here.
			if c == '@' {
				s, n, err := lexVerbatim(src, i+1)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tString, text: s, pos: start, end: n})
				i = n
			} else {
				s, n, err := lexString(src, i+1)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tString, text: s, pos: start, end: n})
				i = n
			}
		case c == '"' || c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, pos: start, end: n})
			i = n
		case isDigit(c):
			t, n, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = n
		case isLetter(c) || (c == '!' && i+1 < len(src) && isLetter(src[i+1])):
			// "!has", "!in~", "!contains" … are one token.
			j := i + 1
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j])) {
				j++
			}
			word := src[i:j]
			if strings.HasPrefix(strings.TrimPrefix(word, "!"), "__kql_") {
				// The compiler's hidden columns use this prefix.
				return nil, errAt(src, i, "names starting with __kql_ are reserved")
			}
			if (word == "in" || word == "!in") && j < len(src) && src[j] == '~' {
				j++
				word += "~"
			}
			if word == "datetime" {
				if t, n, ok, err := lexDatetime(src, start, j); err != nil {
					return nil, err
				} else if ok {
					toks = append(toks, t)
					i = n
					continue
				}
			}
			toks = append(toks, token{kind: tIdent, text: word, pos: start, end: j})
			i = j
		default:
			matched := ""
			for _, p := range puncts {
				if strings.HasPrefix(src[i:], p) {
					matched = p
					break
				}
			}
			if matched == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, errAt(src, i, "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tPunct, text: matched, pos: start, end: i + len(matched)})
			i += len(matched)
		}
	}
}

// lexString reads a quoted string with backslash escapes starting at src[i].
func lexString(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\n':
			return "", 0, errAt(src, i, "string literal not closed on its line")
		case c == '\\':
			if j+1 >= len(src) {
				return "", 0, errAt(src, i, "string literal not closed")
			}
			e := src[j+1]
			switch e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", 0, errAt(src, j, "unknown escape \\%c in string literal", e)
			}
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, errAt(src, i, "string literal not closed")
}

// lexVerbatim reads @"…" or @'…' starting at the quote: no escapes, a doubled quote is a quote.
func lexVerbatim(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		if src[j] == q {
			if j+1 < len(src) && src[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, nil
		}
		if src[j] == '\n' {
			break
		}
		b.WriteByte(src[j])
		j++
	}
	return "", 0, errAt(src, i-1, "verbatim string literal not closed on its line")
}

// lexNumber reads a long, a real, or a timespan such as 5m or 1.5h.
func lexNumber(src string, i int) (token, int, error) {
	start := i
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	real := false
	if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
		real = true
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			real = true
			i = j
			for i < len(src) && isDigit(src[i]) {
				i++
			}
		}
	}
	num := src[start:i]
	j := i
	for j < len(src) && isLetter(src[j]) {
		j++
	}
	if unit := src[i:j]; unit != "" {
		d, ok := timespanUnits[unit]
		if !ok {
			return token{}, 0, errAt(src, i, "unknown timespan unit %q", unit)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f*float64(d) > math.MaxInt64 {
			return token{}, 0, errAt(src, start, "timespan %s out of range", src[start:j])
		}
		return token{kind: tTimespan, text: src[start:j], pos: start, end: j, dur: time.Duration(math.Round(f * float64(d)))}, j, nil
	}
	if real {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return token{}, 0, errAt(src, start, "bad real number %s", num)
		}
		return token{kind: tReal, text: num, pos: start, end: i, f: f}, i, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return token{}, 0, errAt(src, start, "number %s out of range", num)
	}
	return token{kind: tLong, text: num, pos: start, end: i, i: n}, i, nil
}

// lexDatetime reads datetime(…) whose content is free text such as
// 2026-03-02 08:00:00 or a quoted string. ok is false when no "(" follows.
func lexDatetime(src string, start, i int) (token, int, bool, error) {
	j := i
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	if j >= len(src) || src[j] != '(' {
		return token{}, 0, false, nil
	}
	end := strings.IndexByte(src[j:], ')')
	if end < 0 {
		return token{}, 0, false, errAt(src, j, "datetime( not closed")
	}
	text := strings.TrimSpace(src[j+1 : j+end])
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		text = text[1 : len(text)-1]
	}
	return token{kind: tDatetime, text: text, pos: start, end: j + end + 1}, j + end + 1, true, nil
}

// parseDatetime reads the datetime formats KQL accepts in literals (ISO 8601
// and "yyyy-MM-dd HH:mm:ss"); a value without a zone is UTC.
func parseDatetime(s string) (time.Time, bool) {
	layouts := []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
