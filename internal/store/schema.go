package store

// migrations are applied in order, each once; the applied count is kept in
// SchemaVersion. Append new steps, never edit old ones.
var migrations = []string{
	// 1: the CopilotActivity table with Sentinel's columns, then ours.
	`CREATE TABLE CopilotActivity (
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
		LLMEventData VARCHAR,               -- JSON text (see the README)
		AIModelName VARCHAR,
		AIModelVersion VARCHAR,
		LogVersion VARCHAR,
		AgentName VARCHAR,
		AgentId VARCHAR,
		SourceSystem VARCHAR,
		TenantId VARCHAR,
		Type VARCHAR,
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
}

// stagingDDL holds the Id hashes of the rows being checked for duplicates.
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS staging_ids (Seq INTEGER, IdHash BIGINT)`
