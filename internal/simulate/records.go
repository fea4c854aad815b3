package simulate

import (
	"time"
)

// Record types used by the simulator (Microsoft's AuditLogRecordType numbers;
// 390 follows the first published numbering of CopilotAgentManagement).
const (
	RecordCopilotInteraction      = 261
	RecordCreateCopilotPlugin     = 310
	RecordUpdateCopilotPlugin     = 311
	RecordDeleteCopilotPlugin     = 312
	RecordEnableCopilotPlugin     = 313
	RecordDisableCopilotPlugin    = 314
	RecordCreateCopilotWorkspace  = 315
	RecordUpdateCopilotWorkspace  = 316
	RecordDeleteCopilotWorkspace  = 317
	RecordEnableCopilotWorkspace  = 318
	RecordDisableCopilotWorkspace = 319
	RecordCreatePromptBook        = 320
	RecordUpdatePromptBook        = 321
	RecordDeletePromptBook        = 322
	RecordEnablePromptBook        = 323
	RecordDisablePromptBook       = 324
	RecordUpdateCopilotSettings   = 325
	RecordTeamCopilotInteraction  = 334
	RecordScheduledPrompt         = 363
	RecordAgentManagement         = 390

	recordPowerBI = 20
	recordYammer  = 22
	recordTeams   = 25
)

// recordTypeNames names the record types the simulator emits.
var recordTypeNames = map[int]string{
	261: "CopilotInteraction",
	310: "CreateCopilotPlugin", 311: "UpdateCopilotPlugin", 312: "DeleteCopilotPlugin", 313: "EnableCopilotPlugin", 314: "DisableCopilotPlugin",
	315: "CreateCopilotWorkspace", 316: "UpdateCopilotWorkspace", 317: "DeleteCopilotWorkspace", 318: "EnableCopilotWorkspace", 319: "DisableCopilotWorkspace",
	320: "CreateCopilotPromptBook", 321: "UpdateCopilotPromptBook", 322: "DeleteCopilotPromptBook", 323: "EnableCopilotPromptBook", 324: "DisableCopilotPromptBook",
	325: "UpdateCopilotSettings",
	334: "TeamCopilotInteraction",
	363: "Microsoft365CopilotScheduledPrompt",
	390: "CopilotAgentManagement",
	20:  "PowerBIAudit", 22: "Yammer", 25: "MicrosoftTeams",
}

// mgmtOperations are the Operation values of management records. Microsoft
// publishes none; these follow the project's fixtures (which follow
// third-party activity lists), so Operation differs from the type name.
var mgmtOperations = map[int]string{
	310: "CreatePlugin", 311: "UpdatePlugin", 312: "DeletePlugin", 313: "EnablePlugin", 314: "DisableCopilotPlugin",
	315: "CreateWorkspace", 316: "UpdateWorkspace", 317: "DeleteWorkspace", 318: "EnableWorkspace", 319: "DisableWorkspace",
	320: "CreatePromptBook", 321: "UpdatePromptBook", 322: "DeletePromptBook", 323: "EnablePromptBook", 324: "DisablePromptBook",
	325: "UpdateTenantSettings",
}

const securityCopilotApp = "Copilot.Security.SecurityCopilot"

// header is the common part of every AuditData record.
type header struct {
	t          time.Time
	id         string
	op         string
	recordType int
	u          *user
	userType   int
	workload   string
	clientIP   string
	region     string
	hasRegion  bool
}

func appendHeader(b []byte, org string, h *header) []byte {
	b = append(b, `{"CreationTime":`...)
	b = appendCreationTime(b, h.t)
	b = append(b, `,"Id":"`...)
	b = append(b, h.id...)
	b = append(b, `","Operation":"`...)
	b = append(b, h.op...)
	b = append(b, `","OrganizationId":"`...)
	b = append(b, org...)
	b = append(b, `","RecordType":`...)
	b = appendInt(b, int64(h.recordType))
	b = append(b, `,"UserKey":"`...)
	b = append(b, h.u.key...)
	b = append(b, `","UserType":`...)
	b = appendInt(b, int64(h.userType))
	b = append(b, `,"Version":1,"Workload":"`...)
	b = append(b, h.workload...)
	b = append(b, `","ClientIP":`...)
	b = appendJSONString(b, h.clientIP)
	if h.hasRegion {
		b = append(b, `,"ClientRegion":"`...)
		b = append(b, h.region...)
		b = append(b, '"')
	}
	b = append(b, `,"UserId":`...)
	return appendJSONString(b, h.u.upn)
}

// Model transparency variants seen in records.
const (
	modelNone = iota
	modelName
	modelFull
	modelAgent
)

// interaction holds every choice behind one CopilotInteraction (or
// TeamCopilotInteraction) record, so that a near-twin can be re-encoded
// from the same choices with another Id.
type interaction struct {
	h           header
	appIdentity string
	agent       *agent
	appHost     string
	webSearch   bool
	resources   []byte // encoded AccessedResources elements, comma-separated
	context     []byte // encoded Contexts elements
	messages    int
	jailbreakAt int // index of the message flagged, -1 none
	firstMsgMs  int64
	msgGapMs    [8]int16
	sizes       bool
	model       int
	thread      string
	logVersion  string
	oldShape    bool // Microsoft's older sample shape: no JailbreakDetected, XPIADetected, AppIdentity
}

func appendInteraction(b []byte, org string, it *interaction) []byte {
	b = appendHeader(b, org, &it.h)
	if it.appIdentity != "" {
		b = append(b, `,"AppIdentity":"`...)
		b = append(b, it.appIdentity...)
		b = append(b, '"')
	}
	if it.agent != nil {
		b = append(b, `,"AgentId":"`...)
		b = append(b, it.agent.id...)
		b = append(b, `","AgentName":`...)
		b = appendJSONString(b, it.agent.name)
		b = append(b, `,"AgentVersion":"`...)
		b = append(b, it.agent.version...)
		b = append(b, '"')
	}
	b = append(b, `,"CopilotEventData":{"AISystemPlugin":[`...)
	if it.webSearch {
		b = append(b, `{"Id":"BingWebSearch","Name":"BuiltIn"}`...)
	}
	b = append(b, `],"AccessedResources":[`...)
	b = append(b, it.resources...)
	b = append(b, `],"AppHost":"`...)
	b = append(b, it.appHost...)
	b = append(b, `","Contexts":[`...)
	b = append(b, it.context...)
	b = append(b, `],"MessageIds":[],"Messages":[`...)
	ms := it.firstMsgMs
	for i := 0; i < it.messages; i++ {
		if i > 0 {
			b = append(b, ',')
			ms += int64(it.msgGapMs[i])
		}
		b = append(b, `{"Id":"`...)
		b = appendInt(b, ms)
		b = append(b, '"')
		if !it.oldShape {
			b = append(b, `,"JailbreakDetected":`...)
			b = appendBool(b, i == it.jailbreakAt)
		}
		if it.sizes {
			b = append(b, `,"Size":`...)
			if i%2 == 0 {
				b = appendInt(b, 200+int64(it.msgGapMs[i])*3)
			} else {
				b = appendInt(b, 2000+int64(it.msgGapMs[i])*40)
			}
		}
		b = append(b, `,"isPrompt":`...)
		b = appendBool(b, i%2 == 0)
		b = append(b, '}')
	}
	b = append(b, `],"ModelTransparencyDetails":[`...)
	switch it.model {
	case modelName:
		b = append(b, `{"ModelName":"DEEP_LEO"}`...)
	case modelFull:
		b = append(b, `{"ModelProviderName":"Microsoft","ModelName":"DEEP_LEO","ModelVersion":"2025-10"}`...)
	case modelAgent:
		b = append(b, `{"ModelProviderName":"Azure OpenAI","ModelName":"`...)
		b = append(b, it.agent.model...)
		b = append(b, `"}`...)
	}
	b = append(b, `],"ThreadId":"`...)
	b = append(b, it.thread...)
	b = append(b, `"}`...)
	if it.logVersion != "" {
		b = append(b, `,"CopilotLogVersion":"`...)
		b = append(b, it.logVersion...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// change is one Resource[] entry of a management record.
type change struct{ property, original, new string }

type management struct {
	h         header
	changes   []change
	workspace string // omitted when empty
	agent     *agent // CopilotAgentManagement only
}

func appendManagement(b []byte, org string, m *management) []byte {
	b = appendHeader(b, org, &m.h)
	if m.agent != nil {
		b = append(b, `,"AgentId":"`...)
		b = append(b, m.agent.id...)
		b = append(b, `","AgentName":`...)
		b = appendJSONString(b, m.agent.name)
	} else {
		b = append(b, `,"AppIdentity":"`+securityCopilotApp+`"`...)
	}
	b = append(b, `,"Resource":[`...)
	for i, c := range m.changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Property":`...)
		b = appendJSONString(b, c.property)
		b = append(b, `,"OriginalValue":`...)
		b = appendJSONString(b, c.original)
		b = append(b, `,"NewValue":`...)
		b = appendJSONString(b, c.new)
		b = append(b, '}')
	}
	b = append(b, ']')
	if m.workspace != "" {
		b = append(b, `,"Workspace":{"Name":`...)
		b = appendJSONString(b, m.workspace)
		b = append(b, '}')
	}
	return append(b, '}')
}

type scheduled struct {
	h                                    header
	scenarioType, prompt, automation, tr string
}

func appendScheduled(b []byte, org string, s *scheduled) []byte {
	b = appendHeader(b, org, &s.h)
	b = append(b, `,"ScenarioType":`...)
	b = appendJSONString(b, s.scenarioType)
	b = append(b, `,"PromptText":`...)
	b = appendJSONString(b, s.prompt)
	b = append(b, `,"AutomationId":"`...)
	b = append(b, s.automation...)
	b = append(b, `","TriggerMode":`...)
	b = appendJSONString(b, s.tr)
	return append(b, '}')
}

// noise is a non-Copilot Audit.General record (Power BI, Yammer, Teams).
type noise struct {
	h      header
	item   string // report, group or chat thread
	extra  string // workspace or communication type
	number int64  // Yammer message id / Teams message id
}

func appendNoise(b []byte, org string, n *noise) []byte {
	b = appendHeader(b, org, &n.h)
	switch n.h.recordType {
	case recordPowerBI:
		b = append(b, `,"UserAgent":"Mozilla\/5.0","Activity":"ViewReport","ItemName":`...)
		b = appendJSONString(b, n.item)
		b = append(b, `,"WorkSpaceName":`...)
		b = appendJSONString(b, n.extra)
		b = append(b, `,"ReportName":`...)
		b = appendJSONString(b, n.item)
		b = append(b, `,"IsSuccess":true`...)
	case recordYammer:
		b = append(b, `,"ActorUserId":`...)
		b = appendJSONString(b, n.h.u.upn)
		b = append(b, `,"GroupName":`...)
		b = appendJSONString(b, n.item)
		b = append(b, `,"MessageId":`...)
		b = appendInt(b, n.number)
	default:
		b = append(b, `,"ChatThreadId":"`...)
		b = append(b, n.item...)
		b = append(b, `","CommunicationType":"`...)
		b = append(b, n.extra...)
		b = append(b, `","MessageId":"`...)
		b = appendInt(b, n.number)
		b = append(b, '"')
	}
	return append(b, '}')
}
