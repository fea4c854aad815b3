package main

import "io/fs"

// builtinRules is the rule pack shipped in the binary and the directory in
// it holding the rules; nil when there is none.
func builtinRules() (fs.FS, string) { return nil, "" }
