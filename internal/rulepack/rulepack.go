// Package rulepack is aiwatch's own Copilot rule pack: Microsoft Sentinel
// analytic rules (scheduled, KQL over CopilotActivity) compiled into the
// binary. Each rule's output carries RecordId or RecordIds so the scheduler
// can tell which records an alert covers. The only extension to Sentinel's
// format is atlasTechniques (MITRE ATLAS ids), which Sentinel ignores.
package rulepack

import (
	"embed"
	"io/fs"
)

// Dir is the directory of the rule files inside FS.
const Dir = "rules"

//go:embed rules/*.yaml
var files embed.FS

// FS returns the rule files; they sit under Dir ("rules/<name>.yaml").
func FS() fs.FS { return files }
