package reader

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

const (
	errNoAuditData   = "graph record has no auditData"
	errEntryNotJSON  = "graph value entry is not a valid JSON object"
	errAuditDataText = "graph record auditData is a string that is not valid JSON text"
)

// graphReader reads FormatGraph: a Microsoft Graph audit log records page
// {"@odata.context":…, "@odata.nextLink":…, "value":[auditLogRecord…]}. It
// walks the page's top-level keys itself, so "@odata.nextLink" is found
// before or after "value", and streams the entries of "value" one at a time.
// Several pages concatenated (or one per line) are read in turn; NextLink is
// then the last page's.
//
// Ending rules: an entry cut off by the end of input is a unit with Err
// errTruncated; bytes that cannot start an entry (or a page) are a unit with
// Err; reading stops after either (io.EOF next). A malformed page envelope
// (a key without ':' and the like) or input ending inside the page between
// entries returns an error: the page cannot be read further.
type graphReader struct {
	w        *window
	n        int // entries returned
	state    int
	nextLink string
	done     bool
	hasValue bool // the current page has its "value" array
}

const (
	graphBetweenPages = iota
	graphInPage
	graphInValue
)

func (g *graphReader) Format() Format { return FormatGraph }

// NextLink is the page's "@odata.nextLink", "" when it has none. It is
// complete only after Next returned io.EOF.
func (g *graphReader) NextLink() string { return g.nextLink }

func (g *graphReader) Next() (Unit, error) {
	if g.done {
		return Unit{}, io.EOF
	}
	w := g.w
	for {
		if !w.skipSpace() {
			g.done = true
			if err := w.failure(); err != nil {
				return Unit{}, fmt.Errorf("entry %d: cannot read input: %w", g.n+1, err)
			}
			if g.state != graphBetweenPages {
				return Unit{}, fmt.Errorf("after entry %d: input ended inside the Graph page: %w", g.n, io.ErrUnexpectedEOF)
			}
			return Unit{}, io.EOF
		}
		c := w.buf[w.r]
		switch g.state {
		case graphBetweenPages:
			if c == '{' {
				w.r++
				g.state = graphInPage
				g.nextLink = ""
				g.hasValue = false
				continue
			}
			g.n++
			g.done = true
			return Unit{Raw: w.takeGarbage(), Loc: g.loc(), Err: fmt.Sprintf("not a Graph records page: unexpected %s where '{' should start; reading stopped", describeByte(c)), Stop: true}, nil
		case graphInPage:
			if err := g.pageKey(c); err != nil {
				g.done = true
				return Unit{}, err
			}
		case graphInValue:
			if c == ',' {
				w.r++
				continue
			}
			if c == ']' {
				w.r++
				g.state = graphInPage
				continue
			}
			g.n++
			raw, st := w.takeValue()
			switch st {
			case valueOK:
				return g.entryUnit(raw), nil
			case valueTruncated:
				g.done = true
				return Unit{Raw: raw, Loc: g.loc(), Err: errTruncated}, nil
			case valueGarbage:
				g.done = true
				return Unit{Raw: raw, Loc: g.loc(), Err: fmt.Sprintf("not JSON: unexpected %s where an entry should start; reading stopped", describeByte(c)), Stop: true}, nil
			default:
				g.done = true
				return Unit{}, fmt.Errorf("%s: cannot read input: %w", g.loc(), w.failure())
			}
		}
	}
}

func (g *graphReader) loc() string { return "entry " + strconv.Itoa(g.n) }

// pageKey consumes one step inside the page object: a separator, the closing
// brace, or a key and its value (entering "value", recording the next link,
// skipping anything else).
func (g *graphReader) pageKey(c byte) error {
	w := g.w
	switch c {
	case ',':
		w.r++
		return nil
	case '}':
		w.r++
		g.state = graphBetweenPages
		if !g.hasValue {
			// A page without records (an error body, another API's answer)
			// must not pass for an empty one.
			return fmt.Errorf("after entry %d: not a Graph records page: it has no \"value\" array", g.n)
		}
		return nil
	}
	bad := func(what string) error {
		if err := w.failure(); err != nil {
			return fmt.Errorf("after entry %d: cannot read input: %w", g.n, err)
		}
		return fmt.Errorf("after entry %d: malformed Graph page: %s", g.n, what)
	}
	if c != '"' {
		return bad(fmt.Sprintf("unexpected %s where a key should start", describeByte(c)))
	}
	keyText, st := w.takeValue()
	if st != valueOK {
		return bad("input ended inside a key")
	}
	key, _ := unquote(keyText)
	if !w.skipSpace() || w.buf[w.r] != ':' {
		return bad(fmt.Sprintf("no ':' after key %q", key))
	}
	w.r++
	if !w.skipSpace() {
		return bad(fmt.Sprintf("no value for key %q", key))
	}
	if string(key) == "value" {
		g.hasValue = true
		if w.buf[w.r] == '[' {
			w.r++
			g.state = graphInValue
			return nil
		}
		// null is an empty page; anything else is not records.
		if w.buf[w.r] != 'n' {
			return bad(fmt.Sprintf("\"value\" is not an array: unexpected %s", describeByte(w.buf[w.r])))
		}
	}
	// Other values (metadata) are small; they are copied only to be dropped.
	v, st := w.takeValue()
	if st != valueOK {
		return bad(fmt.Sprintf("cannot read the value of key %q", key))
	}
	if string(key) == "@odata.nextLink" {
		if s, ok := unquote(v); ok {
			g.nextLink = string(s)
		} else {
			g.nextLink = ""
		}
	}
	return nil
}

// entryUnit splits one auditLogRecord into the unit: Raw is the whole entry,
// Record its "auditData" (unquoted when Graph sent it as a JSON string),
// HintID its "id".
func (g *graphReader) entryUnit(raw []byte) Unit {
	u := Unit{Raw: raw, Loc: g.loc()}
	p := skipWS(raw, 0)
	if p >= len(raw) || raw[p] != '{' {
		u.Err = errEntryNotJSON
		return u
	}
	p++
	var audit []byte
	for {
		p = skipWS(raw, p)
		if p >= len(raw) {
			u.Err = errEntryNotJSON
			return u
		}
		if raw[p] == ',' {
			p++
			continue
		}
		if raw[p] == '}' {
			break
		}
		n := valueEnd(raw[p:])
		if n < 0 || raw[p] != '"' {
			u.Err = errEntryNotJSON
			return u
		}
		key, _ := unquote(raw[p : p+n])
		p = skipWS(raw, p+n)
		if p >= len(raw) || raw[p] != ':' {
			u.Err = errEntryNotJSON
			return u
		}
		p = skipWS(raw, p+1)
		n = valueEnd(raw[p:])
		if n < 0 {
			u.Err = errEntryNotJSON
			return u
		}
		val := raw[p : p+n]
		p += n
		switch {
		case string(key) == "id":
			if s, ok := unquote(val); ok {
				u.HintID = string(s)
			}
		case bytes.EqualFold(key, []byte("auditData")):
			audit = val
		}
	}
	switch {
	case audit == nil || string(audit) == "null":
		u.Err = errNoAuditData
	case audit[0] == '"':
		s, ok := unquote(audit)
		if !ok {
			u.Err = errAuditDataText
			return u
		}
		u.Record = s
	default:
		u.Record = audit
	}
	return u
}
