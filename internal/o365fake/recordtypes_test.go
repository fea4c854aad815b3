package o365fake

import "testing"

func TestRecordTypeName(t *testing.T) {
	cases := map[int]string{
		261: "CopilotInteraction", 284: "AIAppInteraction", 310: "CreateCopilotPlugin",
		314: "DisableCopilotPlugin", 315: "CreateCopilotWorkspace", 320: "CreateCopilotPromptBook",
		324: "DisableCopilotPromptBook", 325: "UpdateCopilotSettings", 328: "ConnectedAIAppInteraction",
		334: "TeamCopilotInteraction", 362: "AIInteractionsExport", 363: "Microsoft365CopilotScheduledPrompt",
		371: "OutlookCopilotAutomation", 389: "CopilotForSecurityTrigger", 390: "CopilotAgentManagement",
		454: "DragonCopilotAdmin", 20: "PowerBIAudit", 9999: "9999", 373: "373", -1: "-1",
	}
	for n, want := range cases {
		if got := RecordTypeName(n); got != want {
			t.Errorf("RecordTypeName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestUserTypeName(t *testing.T) {
	cases := map[int]string{0: "Regular", 1: "Reserved", 2: "Admin", 3: "DCAdmin", 4: "System",
		5: "Application", 6: "ServicePrincipal", 7: "CustomPolicy", 8: "SystemPolicy",
		9: "PartnerTechnician", 10: "Guest", 11: "11", -1: "-1"}
	for n, want := range cases {
		if got := UserTypeName(n); got != want {
			t.Errorf("UserTypeName(%d) = %q, want %q", n, got, want)
		}
	}
}
