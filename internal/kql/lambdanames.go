package kql

import "strings"

// lambdaParams are the one-letter lambda parameters the emitter writes
// (lambda e: e.key, lambda v: …). DuckDB binds e.key to a column e of the
// query before the lambda's e, so a KQL column named e, v, x or g broke
// the expressions; the finished SQL names them __kql_e and so on, a prefix
// KQL columns may not use.
var lambdaParams = map[string]bool{"e": true, "i": true, "s": true, "z": true, "v": true, "p": true, "x": true, "g": true, "h": true}

// renameLambdaParams rewrites every bare lambdaParams word of sql outside
// string literals and quoted identifiers, except after a dot (a struct
// field such as e.v stays).
func renameLambdaParams(sql string) string {
	var b strings.Builder
	b.Grow(len(sql) + 64)
	word := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			// A quoted literal or identifier; the quote doubled inside it.
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(sql))
			b.WriteString(sql[i:j])
			i = j
		case word(c):
			j := i
			for j < len(sql) && word(sql[j]) {
				j++
			}
			w := sql[i:j]
			if lambdaParams[w] && (i == 0 || sql[i-1] != '.') {
				b.WriteString("__kql_")
			}
			b.WriteString(w)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
