// Package yamlerr points YAML syntax errors at the line to fix.
//
// The YAML decoder reports a parser error at the start of the block it was
// reading (and counts that line from 0), so an entry indented one space too
// far is reported lines above it. Syntax finds the line again by parsing
// ever longer beginnings of the file until one fails the same way.
package yamlerr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is a YAML syntax error with the line it is on.
type SyntaxError struct {
	Line int    // from 1; 0 when unknown
	Msg  string // the parser's message, with a hint when it is about indentation
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

var syntaxRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.+)$`)

// maxLines bounds the search: each step parses the file's beginning again.
const maxLines = 5000

// indentation are the parser's messages for a line at the wrong depth.
var indentation = map[string]bool{
	"did not find expected key":                              true,
	"did not find expected '-' indicator":                    true,
	"mapping values are not allowed in this context":         true,
	"block sequence entries are not allowed in this context": true,
	"did not find expected <document start>":                 true,
}

// Syntax returns err, met while decoding data, as a *SyntaxError when it is
// a YAML syntax error; other errors (type errors, nil) come back unchanged.
func Syntax(data []byte, err error) error {
	var te *yaml.TypeError
	if err == nil || errors.As(err, &te) {
		return err
	}
	m := syntaxRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	reported, _ := strconv.Atoi(m[1])
	e := &SyntaxError{Line: reported, Msg: m[2]}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLines {
		return e
	}
	// The line to fix is never before the one reported.
	for k := max(reported, 1); k <= len(lines); k++ {
		if msg, failed := parseError(bytes.Join(lines[:k], nil)); failed && msg == e.Msg {
			e.Line = k
			line := string(lines[k-1])
			switch {
			case strings.Contains(line[:len(line)-len(strings.TrimLeft(line, " \t"))], "\t"):
				e.Msg += " (this line is indented with a tab; YAML indents with spaces only)"
			case indentation[e.Msg]:
				e.Msg += " (check this line's indentation against the lines above)"
			}
			break
		}
	}
	return e
}

// parseError parses every document of data and returns the syntax error's
// message without its line.
func parseError(data []byte) (string, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return "", false
		}
		if err != nil {
			m := syntaxRE.FindStringSubmatch(err.Error())
			if m == nil {
				return err.Error(), true
			}
			return m[2], true
		}
	}
}
