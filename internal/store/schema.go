package store

// migrations are applied in order, each once; the applied count is kept in
// SchemaVersion. Append new steps, never edit old ones.
var migrations = []string{
	// 1: the CopilotActivity rows: Sentinel's columns, then ours. The
	// CopilotActivity view (migration 2) is what everyone reads.
	`CREATE TABLE CopilotActivityData (
		TimeGenerated TIMESTAMP NOT NULL,   -- event time (AuditData.CreationTime), UTC
		RecordId VARCHAR NOT NULL,
		RecordType VARCHAR,                 -- name, '' when the number is unknown
		ActorName VARCHAR,
		ActorUserId VARCHAR,
		ActorUserType VARCHAR,
		OrganizationId VARCHAR,
		SrcIpAddr VARCHAR,
		ClientRegion VARCHAR,
		Workload VARCHAR,
		Version VARCHAR,
		AppHost VARCHAR,
		AppIdentity VARCHAR,
		LLMEventData VARCHAR,               -- JSON text; NULL when it is a span of RawRecord
		LLMEventDataOffset INTEGER,         -- that span: 0-based byte offset and length in RawRecord
		LLMEventDataLength INTEGER,
		AIModelName VARCHAR,
		AIModelVersion VARCHAR,
		LogVersion VARCHAR,
		AgentName VARCHAR,
		AgentId VARCHAR,
		SourceSystem VARCHAR,               -- TenantId and Type are derived in the view
		Operation VARCHAR,
		RecordTypeNumber INTEGER,
		IngestionTime TIMESTAMP NOT NULL,
		SourceName VARCHAR,
		SourceLocation VARCHAR,
		ClientIP VARCHAR,
		ContentHash BIGINT,
		RawRecord BLOB,
		IdHash BIGINT                       -- hash of RecordId, for cheap duplicate checks
	)`,
	// 2: the table as Sentinel names it. An interaction's LLMEventData is
	// usually the very bytes of CopilotEventData inside the raw record, so it
	// is kept once, as a span of RawRecord, and cut out on read: imports
	// store and compress half as many bytes.
	`CREATE VIEW CopilotActivity AS SELECT
		TimeGenerated, RecordId, RecordType, ActorName, ActorUserId, ActorUserType, OrganizationId,
		SrcIpAddr, ClientRegion, Workload, Version, AppHost, AppIdentity,
		coalesce(LLMEventData, decode(RawRecord[LLMEventDataOffset + 1 : LLMEventDataOffset + LLMEventDataLength])) AS LLMEventData,
		AIModelName, AIModelVersion, LogVersion, AgentName, AgentId, SourceSystem,
		OrganizationId AS TenantId, 'CopilotActivity' AS Type,
		Operation, RecordTypeNumber, IngestionTime, SourceName, SourceLocation, ClientIP, ContentHash, RawRecord
	FROM CopilotActivityData`,
	`CREATE TABLE Quarantine (
		IngestionTime TIMESTAMP NOT NULL,
		SourceName VARCHAR,
		SourceLocation VARCHAR,
		RecordId VARCHAR,
		Reason VARCHAR NOT NULL,
		RawText BLOB
	)`,
	`CREATE TABLE RecordConflict (
		IngestionTime TIMESTAMP NOT NULL,
		RecordId VARCHAR NOT NULL,
		SourceName VARCHAR,
		SourceLocation VARCHAR,
		ContentHash BIGINT,
		StoredContentHash BIGINT,
		RawRecord BLOB
	)`,
	`CREATE TABLE SourceCursor (
		Name VARCHAR PRIMARY KEY,
		Value VARCHAR NOT NULL,
		UpdatedAt TIMESTAMP NOT NULL
	)`,
	// 5-7: the Management API collector's bookkeeping (internal/collect).
	// FetchedContent: every content blob stored (or found gone), so a
	// re-listed blob is not fetched again.
	`CREATE TABLE FetchedContent (
		TenantId VARCHAR NOT NULL,
		ContentType VARCHAR NOT NULL,
		ContentId VARCHAR NOT NULL,
		ContentCreated TIMESTAMP,
		Status VARCHAR NOT NULL,            -- 'fetched', or 'gone' (AF20050/AF20051, see CollectorGap)
		Records INTEGER NOT NULL,           -- units read from the blob
		Stored INTEGER NOT NULL,            -- new CopilotActivity rows
		FetchedAt TIMESTAMP NOT NULL,
		PRIMARY KEY (TenantId, ContentType, ContentId)
	)`,
	// CollectorState: health and counters per tenant and content type, for
	// aiwatch status; written in the same transactions as the records.
	`CREATE TABLE CollectorState (
		TenantId VARCHAR NOT NULL,
		ContentType VARCHAR NOT NULL,
		TenantName VARCHAR NOT NULL,
		CursorStart TIMESTAMP,              -- start of the oldest listing window not fully stored
		LastSuccess TIMESTAMP,              -- end of the last poll that finished without error
		LastAttempt TIMESTAMP,
		LastError VARCHAR,
		LastErrorAt TIMESTAMP,
		Blobs BIGINT NOT NULL,
		RecordsRead BIGINT NOT NULL,
		RecordsStored BIGINT NOT NULL,
		Duplicates BIGINT NOT NULL,
		Conflicts BIGINT NOT NULL,
		Skipped BIGINT NOT NULL,
		Quarantined BIGINT NOT NULL,
		Retries BIGINT NOT NULL,
		Gaps BIGINT NOT NULL,
		Errors BIGINT NOT NULL,
		UpdatedAt TIMESTAMP NOT NULL,
		PRIMARY KEY (TenantId, ContentType)
	)`,
	// CollectorGap: content that could not be collected, never silently.
	`CREATE TABLE CollectorGap (
		RecordedAt TIMESTAMP NOT NULL,
		TenantId VARCHAR NOT NULL,
		TenantName VARCHAR,
		ContentType VARCHAR NOT NULL,
		Kind VARCHAR NOT NULL,              -- content_gone, window_expired, next_page_expired
		ContentId VARCHAR,
		WindowStart TIMESTAMP,
		WindowEnd TIMESTAMP,
		Detail VARCHAR
	)`,
	// 9: the Graph audit search backfill (internal/backfill): every interval
	// finished (done), found over the record cap and halved (split), or
	// stored although still capped at the smallest split (capped: a gap),
	// so a re-run skips what is done. Rows are written in the transaction
	// that stores the interval's last page.
	`CREATE TABLE BackfillInterval (
		TenantId VARCHAR NOT NULL,
		TenantName VARCHAR NOT NULL,
		IntervalStart TIMESTAMP NOT NULL,
		IntervalEnd TIMESTAMP NOT NULL,
		Status VARCHAR NOT NULL,            -- 'done', 'split' or 'capped'
		QueryId VARCHAR,
		Pages INTEGER NOT NULL,
		RecordsRead BIGINT NOT NULL,
		RecordsStored BIGINT NOT NULL,
		Duplicates BIGINT NOT NULL,
		Conflicts BIGINT NOT NULL,
		Skipped BIGINT NOT NULL,
		Quarantined BIGINT NOT NULL,
		UpdatedAt TIMESTAMP NOT NULL,
		PRIMARY KEY (TenantId, IntervalStart, IntervalEnd)
	)`,
	// 10-14: detections (internal/detect). SecurityAlert and
	// SecurityIncident carry Sentinel's column names; JSON columns hold
	// JSON text. An incident row is its current state; its history is in
	// IncidentEvent.
	`CREATE TABLE SecurityAlert (
		TimeGenerated TIMESTAMP NOT NULL,  -- when the alert was raised
		SystemAlertId VARCHAR PRIMARY KEY,
		AlertName VARCHAR NOT NULL,
		DisplayName VARCHAR NOT NULL,
		Description VARCHAR NOT NULL,
		AlertSeverity VARCHAR NOT NULL,
		Status VARCHAR NOT NULL,
		ProviderName VARCHAR NOT NULL,
		VendorName VARCHAR NOT NULL,
		ProductName VARCHAR NOT NULL,
		AlertType VARCHAR NOT NULL,
		Tactics VARCHAR NOT NULL,          -- comma-separated, as Sentinel has it
		Techniques VARCHAR NOT NULL,       -- JSON array
		Entities VARCHAR NOT NULL,         -- JSON array of entities
		ExtendedProperties VARCHAR NOT NULL, -- JSON object
		CompromisedEntity VARCHAR NOT NULL,
		StartTime TIMESTAMP NOT NULL,      -- event time of the first record behind it
		EndTime TIMESTAMP NOT NULL,
		ProcessingEndTime TIMESTAMP NOT NULL,
		RemediationSteps VARCHAR NOT NULL,
		SourceSystem VARCHAR NOT NULL,
		AnalyticRuleId VARCHAR NOT NULL,
		AnalyticRuleName VARCHAR NOT NULL,
		AnalyticRuleVersion VARCHAR NOT NULL,
		AtlasTechniques VARCHAR NOT NULL,  -- JSON array
		IncidentName VARCHAR NOT NULL,     -- '' when the rule creates no incident
		RecordIds VARCHAR NOT NULL,        -- JSON array: the CopilotActivity records behind it
		ResultCount INTEGER NOT NULL,      -- query result rows behind it
		WindowStart TIMESTAMP NOT NULL,    -- the event-time window whose evaluation raised it
		WindowEnd TIMESTAMP NOT NULL
	)`,
	`CREATE TABLE SecurityIncident (
		TimeGenerated TIMESTAMP NOT NULL,  -- last change
		IncidentName VARCHAR PRIMARY KEY,
		IncidentNumber BIGINT NOT NULL,
		Title VARCHAR NOT NULL,
		Description VARCHAR NOT NULL,
		Severity VARCHAR NOT NULL,
		Status VARCHAR NOT NULL,           -- New, Active, Closed
		Classification VARCHAR NOT NULL,
		ClassificationReason VARCHAR NOT NULL,
		ClassificationComment VARCHAR NOT NULL,
		Owner VARCHAR NOT NULL,            -- JSON object
		ProviderName VARCHAR NOT NULL,
		ProviderIncidentId VARCHAR NOT NULL,
		FirstActivityTime TIMESTAMP NOT NULL,
		LastActivityTime TIMESTAMP NOT NULL,
		FirstModifiedTime TIMESTAMP NOT NULL,
		LastModifiedTime TIMESTAMP NOT NULL,
		CreatedTime TIMESTAMP NOT NULL,
		ClosedTime TIMESTAMP,
		AlertIds VARCHAR NOT NULL,         -- JSON array
		RelatedAnalyticRuleIds VARCHAR NOT NULL, -- JSON array
		Labels VARCHAR NOT NULL,           -- JSON array of {labelName, labelType}
		Comments VARCHAR NOT NULL,         -- JSON array of {message, author, createdTime}
		Tactics VARCHAR NOT NULL,          -- JSON array
		Techniques VARCHAR NOT NULL,       -- JSON array
		Entities VARCHAR NOT NULL,         -- JSON array
		AdditionalData VARCHAR NOT NULL,   -- JSON object
		SourceSystem VARCHAR NOT NULL,
		GroupRuleId VARCHAR NOT NULL,      -- grouping: the rule and key alerts join by
		GroupKey VARCHAR NOT NULL
	)`,
	// AlertCover: what each alert covers, so re-evaluating a window (late
	// records, restarts) never raises it twice: records by RecordId, and
	// result rows without records by a key of their entities and details
	// within the event-time window.
	`CREATE TABLE AlertCover (
		RuleId VARCHAR NOT NULL,
		Kind VARCHAR NOT NULL,             -- 'record' or 'row'
		CoverKey VARCHAR NOT NULL,
		SystemAlertId VARCHAR NOT NULL,    -- '' when the alert was suppressed
		WindowStart TIMESTAMP NOT NULL,
		WindowEnd TIMESTAMP NOT NULL
	)`,
	// RuleState: per rule, the last event-time window evaluated and the
	// ingestion watermark the late-record check starts from.
	`CREATE TABLE RuleState (
		RuleId VARCHAR PRIMARY KEY,
		LastWindowEnd TIMESTAMP,
		Watermark TIMESTAMP,
		LastRun TIMESTAMP,
		LastError VARCHAR,
		Windows BIGINT NOT NULL,
		Alerts BIGINT NOT NULL,
		Suppressed BIGINT NOT NULL
	)`,
	// IncidentEvent: every creation and change of an incident, written with
	// it; automation reads the ones not yet dispatched, so a crash between
	// the change and its automation repeats the automation, never skips it.
	`CREATE TABLE IncidentEvent (
		Seq BIGINT PRIMARY KEY,
		IncidentName VARCHAR NOT NULL,
		EventTime TIMESTAMP NOT NULL,
		Kind VARCHAR NOT NULL,             -- created, updated
		Actor VARCHAR NOT NULL,
		Changed VARCHAR NOT NULL,          -- JSON array of field names
		Detail VARCHAR NOT NULL,           -- JSON object
		Dispatched BOOLEAN NOT NULL
	)`,
	// 15: numbers for incidents and their events.
	`CREATE SEQUENCE IncidentEventSeq START 1; CREATE SEQUENCE IncidentNumberSeq START 1`,
	// 16: automation's playbook deliveries (internal/automate): the queue,
	// kept until delivered or failed, and a log of every attempt.
	`CREATE TABLE AutomationDelivery (
		DeliveryId VARCHAR PRIMARY KEY,      -- sent along (X-Aiwatch-Delivery, delivery_id) so receivers can drop repeats
		Playbook VARCHAR NOT NULL,
		PlaybookType VARCHAR NOT NULL,
		AutomationRule VARCHAR NOT NULL,
		IncidentId VARCHAR NOT NULL,
		EventKind VARCHAR NOT NULL,          -- incident_created or incident_updated
		Payload VARCHAR NOT NULL,            -- JSON
		State VARCHAR NOT NULL,              -- pending, delivered, failed
		Attempts INTEGER NOT NULL,
		AttemptBase INTEGER NOT NULL,        -- attempts made before the last requeue; the retry budget counts from here
		NextAttempt TIMESTAMP NOT NULL,      -- UTC
		LastError VARCHAR,
		LastCode INTEGER,                    -- HTTP status, SMTP reply code or exit status of the last attempt
		CreatedAt TIMESTAMP NOT NULL,
		UpdatedAt TIMESTAMP NOT NULL,
		DeliveredAt TIMESTAMP
	);
	CREATE TABLE AutomationDeliveryAttempt (
		DeliveryId VARCHAR NOT NULL,
		Attempt INTEGER NOT NULL,            -- 1 for the first
		Playbook VARCHAR NOT NULL,
		StartedAt TIMESTAMP NOT NULL,
		DurationMs BIGINT NOT NULL,
		Outcome VARCHAR NOT NULL,            -- delivered, retry, failed
		Code INTEGER,
		Error VARCHAR
	);`,
	// 17: CopilotActivity's string columns are never null: the store writes
	// Go strings, and KQL reads them bare when the table says so, which lets
	// DuckDB push filters into its scan. Rows written by hand get ''.
	`UPDATE CopilotActivityData SET
		RecordType = coalesce(RecordType, ''),
		ActorName = coalesce(ActorName, ''),
		ActorUserId = coalesce(ActorUserId, ''),
		ActorUserType = coalesce(ActorUserType, ''),
		OrganizationId = coalesce(OrganizationId, ''),
		SrcIpAddr = coalesce(SrcIpAddr, ''),
		ClientRegion = coalesce(ClientRegion, ''),
		Workload = coalesce(Workload, ''),
		Version = coalesce(Version, ''),
		AppHost = coalesce(AppHost, ''),
		AppIdentity = coalesce(AppIdentity, ''),
		AIModelName = coalesce(AIModelName, ''),
		AIModelVersion = coalesce(AIModelVersion, ''),
		LogVersion = coalesce(LogVersion, ''),
		AgentName = coalesce(AgentName, ''),
		AgentId = coalesce(AgentId, ''),
		SourceSystem = coalesce(SourceSystem, ''),
		Operation = coalesce(Operation, ''),
		SourceName = coalesce(SourceName, ''),
		SourceLocation = coalesce(SourceLocation, ''),
		ClientIP = coalesce(ClientIP, '')
	WHERE RecordType IS NULL OR ActorName IS NULL OR ActorUserId IS NULL OR ActorUserType IS NULL OR OrganizationId IS NULL OR SrcIpAddr IS NULL OR ClientRegion IS NULL OR Workload IS NULL OR Version IS NULL OR AppHost IS NULL OR AppIdentity IS NULL OR AIModelName IS NULL OR AIModelVersion IS NULL OR LogVersion IS NULL OR AgentName IS NULL OR AgentId IS NULL OR SourceSystem IS NULL OR Operation IS NULL OR SourceName IS NULL OR SourceLocation IS NULL OR ClientIP IS NULL`,
	// 18: (DuckDB cannot add a constraint in the transaction that updated
	// the rows.)
	`ALTER TABLE CopilotActivityData ALTER COLUMN RecordType SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN ActorName SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN ActorUserId SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN ActorUserType SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN OrganizationId SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN SrcIpAddr SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN ClientRegion SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN Workload SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN Version SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AppHost SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AppIdentity SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AIModelName SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AIModelVersion SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN LogVersion SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AgentName SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN AgentId SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN SourceSystem SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN Operation SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN SourceName SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN SourceLocation SET NOT NULL;
	ALTER TABLE CopilotActivityData ALTER COLUMN ClientIP SET NOT NULL;`,
}

// stagingDDL holds the Id hashes of the rows being checked for duplicates.
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS staging_ids (Seq INTEGER, IdHash BIGINT)`
