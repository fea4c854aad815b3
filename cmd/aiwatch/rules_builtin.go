package main

import (
	"io/fs"

	"github.com/aiwatch/aiwatch/internal/rulepack"
)

// builtinRules is the rule pack shipped in the binary and the directory in
// it holding the rules.
func builtinRules() (fs.FS, string) { return rulepack.FS(), rulepack.Dir }
