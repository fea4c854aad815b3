package o365fake

import "strconv"

// recordTypes names the AuditLogRecordType numbers the fake turns into
// Graph's auditLogRecordType: the Copilot / AI set (371/389/390 in the
// numbering Graph's enum order supports) and the few non-Copilot types the
// fixtures carry.
var recordTypes = map[int]string{
	1:   "ExchangeAdmin",
	2:   "ExchangeItem",
	4:   "SharePoint",
	6:   "SharePointFileOperation",
	8:   "AzureActiveDirectory",
	15:  "AzureActiveDirectoryStsLogon",
	20:  "PowerBIAudit",
	22:  "Yammer",
	25:  "MicrosoftTeams",
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
	371: "OutlookCopilotAutomation",
	389: "CopilotForSecurityTrigger",
	390: "CopilotAgentManagement",
	454: "DragonCopilotAdmin",
}

var userTypes = []string{
	"Regular", "Reserved", "Admin", "DCAdmin", "System", "Application",
	"ServicePrincipal", "CustomPolicy", "SystemPolicy", "PartnerTechnician", "Guest",
}

// RecordTypeName is the PascalCase name Graph shows for a RecordType number;
// an unknown number comes back as its decimal text.
func RecordTypeName(n int) string {
	if name, ok := recordTypes[n]; ok {
		return name
	}
	return strconv.Itoa(n)
}

// UserTypeName is the name of an AuditData UserType (0 Regular … 10 Guest);
// an unknown number comes back as its decimal text.
func UserTypeName(n int) string {
	if n >= 0 && n < len(userTypes) {
		return userTypes[n]
	}
	return strconv.Itoa(n)
}
