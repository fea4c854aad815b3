// Package audit turns raw Microsoft 365 audit records (AuditData objects) into
// normalized CopilotActivity rows. It does no I/O.
package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// Numbering selects how the disputed record-type numbers are read.
// Microsoft's schema page first listed 371/389/390 and a later edit renumbered
// them 373/383/384; the Graph enum's order supports the first, so it is the default.
type Numbering string

const (
	Numbering371 Numbering = "371" // 371 OutlookCopilotAutomation, 389 CopilotForSecurityTrigger, 390 CopilotAgentManagement
	Numbering373 Numbering = "373" // 373 OutlookCopilotAutomation, 383 CopilotForSecurityTrigger, 384 CopilotAgentManagement
)

// ParseNumbering validates a setting value.
func ParseNumbering(s string) (Numbering, error) {
	switch Numbering(s) {
	case "", Numbering371:
		return Numbering371, nil
	case Numbering373:
		return Numbering373, nil
	}
	return "", fmt.Errorf("record type numbering %q is not one of 371 (371/389/390, the default) or 373 (373/383/384)", s)
}

// undisputed maps the record types whose numbers all sources agree on.
var undisputed = map[int]string{
	261: "CopilotInteraction",
	284: "AIAppInteraction",
	310: "CreateCopilotPlugin",
	311: "UpdateCopilotPlugin",
	312: "DeleteCopilotPlugin",
	313: "EnableCopilotPlugin",
	314: "DisableCopilotPlugin",
	315: "CreateCopilotWorkspace",
	316: "UpdateCopilotWorkspace",
	317: "DeleteCopilotWorkspace",
	318: "EnableCopilotWorkspace",
	319: "DisableCopilotWorkspace",
	320: "CreateCopilotPromptBook",
	321: "UpdateCopilotPromptBook",
	322: "DeleteCopilotPromptBook",
	323: "EnableCopilotPromptBook",
	324: "DisableCopilotPromptBook",
	325: "UpdateCopilotSettings",
	328: "ConnectedAIAppInteraction",
	334: "TeamCopilotInteraction",
	362: "AIInteractionsExport",
	363: "Microsoft365CopilotScheduledPrompt",
	454: "DragonCopilotAdmin",
}

var disputed = map[Numbering]map[int]string{
	Numbering371: {371: "OutlookCopilotAutomation", 389: "CopilotForSecurityTrigger", 390: "CopilotAgentManagement"},
	Numbering373: {373: "OutlookCopilotAutomation", 383: "CopilotForSecurityTrigger", 384: "CopilotAgentManagement"},
}

// nonCopilot names a few common non-AI record types so skipped records and
// exports that carry names (PowerShell) are readable; the list is not exhaustive.
var nonCopilot = map[int]string{
	1: "ExchangeAdmin", 2: "ExchangeItem", 4: "SharePoint", 6: "SharePointFileOperation",
	8: "AzureActiveDirectory", 15: "AzureActiveDirectoryStsLogon", 20: "PowerBIAudit",
	22: "Yammer", 25: "MicrosoftTeams",
}

// Registry maps record-type numbers to names and back for one numbering.
type Registry struct {
	byNum  map[int]string
	byName map[string]int // lower-case name
	ai     map[int]bool
	aiName map[string]bool // lower-case name, includes names with no published number
}

// aiNamesWithoutNumber are AI record types Graph lists with no published number.
var aiNamesWithoutNumber = []string{
	"CopilotActions", "AgentAdminActivity", "AgentSettingsAdminActivity", "AIExecuteTool",
	"AIInvokeAgent", "AIInferenceCall", "CopilotForSecurityLogging",
	// the disputed names are AI whichever numbering is chosen
	"OutlookCopilotAutomation", "CopilotForSecurityTrigger", "CopilotAgentManagement",
}

// NewRegistry builds the registry for a numbering.
func NewRegistry(n Numbering) *Registry {
	if n == "" {
		n = Numbering371
	}
	r := &Registry{byNum: map[int]string{}, byName: map[string]int{}, ai: map[int]bool{}, aiName: map[string]bool{}}
	for num, name := range undisputed {
		r.add(num, name, true)
	}
	for num, name := range disputed[n] {
		r.add(num, name, true)
	}
	for num, name := range nonCopilot {
		r.add(num, name, false)
	}
	for _, name := range aiNamesWithoutNumber {
		r.aiName[strings.ToLower(name)] = true
	}
	// Whichever numbering names them, all six disputed numbers are AI
	// record types: a record is never skipped for the numbering chosen.
	for _, m := range disputed {
		for num := range m {
			r.ai[num] = true
		}
	}
	return r
}

func (r *Registry) add(num int, name string, ai bool) {
	r.byNum[num] = name
	r.byName[strings.ToLower(name)] = num
	if ai {
		r.ai[num] = true
		r.aiName[strings.ToLower(name)] = true
	}
}

// Name returns the record type's name, or "" when the number is unknown
// (never a wrong known name).
func (r *Registry) Name(num int) string { return r.byNum[num] }

// Number returns the number for a name (case-insensitive).
func (r *Registry) Number(name string) (int, bool) {
	n, ok := r.byName[strings.ToLower(name)]
	return n, ok
}

// IsAI reports whether a record type (by number, or by name when the number is unknown) is in the AI set.
func (r *Registry) IsAI(num int, name string) bool {
	if num > 0 && r.ai[num] {
		return true
	}
	return name != "" && r.aiName[strings.ToLower(name)]
}

// Numbers lists every known number with its name, for docs and tests.
func (r *Registry) Numbers() map[int]string {
	out := make(map[int]string, len(r.byNum))
	for k, v := range r.byNum {
		out[k] = v
	}
	return out
}

// AINames lists the names of the AI record types (those with a number in this numbering).
func (r *Registry) AINames() []string {
	var out []string
	for num := range r.ai {
		out = append(out, r.byNum[num])
	}
	return out
}

// copilotWorkloads are the workloads whose records count as AI activity whatever their record type.
var copilotWorkloads = []string{"Copilot", "ConnectedAIApp", "AIApp"}

// IsCopilotWorkload reports whether a Workload value marks AI activity.
func IsCopilotWorkload(w string) bool {
	for _, c := range copilotWorkloads {
		if strings.EqualFold(w, c) {
			return true
		}
	}
	return false
}

// userTypes are the AuditLogUserType names by number.
var userTypes = []string{"Regular", "Reserved", "Admin", "DCAdmin", "System", "Application", "ServicePrincipal", "CustomPolicy", "SystemPolicy", "PartnerTechnician", "Guest"}

// UserTypeName returns the name of a user type number, or the number as text when unknown.
func UserTypeName(n int) string {
	if n >= 0 && n < len(userTypes) {
		return userTypes[n]
	}
	return strconv.Itoa(n)
}
