package kql

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Type is a KQL scalar type.
type Type string

const (
	TString   Type = "string"
	TLong     Type = "long"
	TInt      Type = "int"
	TReal     Type = "real"
	TBool     Type = "bool"
	TDatetime Type = "datetime"
	TTimespan Type = "timespan"
	TDynamic  Type = "dynamic"
	TNull     Type = "null" // the type of a bare null literal, before it meets another type
)

var typeNames = map[string]Type{
	"string": TString, "long": TLong, "int": TInt, "real": TReal, "double": TReal,
	"bool": TBool, "boolean": TBool, "datetime": TDatetime, "date": TDatetime,
	"timespan": TTimespan, "time": TTimespan, "dynamic": TDynamic,
}

// sqlType is the DuckDB type holding values of t. Dynamic values are DuckDB
// JSON; timespans are INTERVALs.
func (t Type) sqlType() string {
	switch t {
	case TString:
		return "VARCHAR"
	case TLong:
		return "BIGINT"
	case TInt:
		return "INTEGER"
	case TReal:
		return "DOUBLE"
	case TBool:
		return "BOOLEAN"
	case TDatetime:
		return "TIMESTAMP"
	case TTimespan:
		return "INTERVAL"
	}
	return "JSON"
}

func (t Type) numeric() bool { return t == TLong || t == TInt || t == TReal }
func (t Type) integer() bool { return t == TLong || t == TInt }

// Column is a named, typed column of a table or a query result.
type Column struct {
	Name string
	Type Type
}

// Table is a table schema known to the compiler. Name is also the DuckDB
// table or view the rows come from.
type Table struct {
	Name    string
	Columns []Column
	// From, when set, is the SQL relation the rows come from instead of the
	// table or view called Name: the detection scheduler uses it to hand a
	// rule only the records of the window it evaluates. It is built by Go
	// code from trusted parts, never from query text.
	From string
	// JSONText names dynamic columns the store guarantees to hold the
	// valid JSON text of an object or array (or SQL null, never JSON null
	// or a scalar). They are read as text, without a cast to JSON
	// that would validate every row's document: member paths are read
	// straight from the text, and the cast is left to where a whole value
	// is used.
	JSONText []string
	// NotNull names string columns the store guarantees never to hold SQL
	// null. KQL strings are never null, so other string columns are read
	// through coalesce(col, ''); these are read bare, which lets DuckDB
	// push filters on them into its scan.
	NotNull []string
}

// Catalog holds the tables a query may name.
type Catalog struct {
	tables map[string]*Table
}

// NewCatalog returns an empty catalogue.
func NewCatalog() *Catalog { return &Catalog{tables: map[string]*Table{}} }

// Register adds a table; names are case-sensitive as in KQL.
func (c *Catalog) Register(t Table) error {
	if t.Name == "" || len(t.Columns) == 0 {
		return fmt.Errorf("cannot register table %q: a name and columns are needed", t.Name)
	}
	if _, ok := c.tables[t.Name]; ok {
		return fmt.Errorf("cannot register table %q: already registered", t.Name)
	}
	seen := map[string]bool{}
	for _, col := range t.Columns {
		if seen[col.Name] || col.Name == "" {
			return fmt.Errorf("cannot register table %q: bad or repeated column %q", t.Name, col.Name)
		}
		if _, ok := typeNames[string(col.Type)]; !ok {
			return fmt.Errorf("cannot register table %q: column %s has unknown type %q", t.Name, col.Name, col.Type)
		}
		seen[col.Name] = true
	}
	for _, n := range t.JSONText {
		if !slices.Contains(t.Columns, Column{Name: n, Type: TDynamic}) {
			return fmt.Errorf("cannot register table %q: JSON text column %q is not a dynamic column", t.Name, n)
		}
	}
	for _, n := range t.NotNull {
		if !slices.Contains(t.Columns, Column{Name: n, Type: TString}) {
			return fmt.Errorf("cannot register table %q: not-null column %q is not a string column", t.Name, n)
		}
	}
	cp := t
	cp.Columns = append([]Column(nil), t.Columns...)
	cp.JSONText = append([]string(nil), t.JSONText...)
	cp.NotNull = append([]string(nil), t.NotNull...)
	c.tables[t.Name] = &cp
	return nil
}

// Scoped returns a copy of the catalogue in which the named table reads
// from the SQL relation from (see Table.From); the other tables are shared.
func (c *Catalog) Scoped(name, from string) (*Catalog, error) {
	t, ok := c.tables[name]
	if !ok {
		return nil, fmt.Errorf("cannot scope table %q: not registered", name)
	}
	out := &Catalog{tables: make(map[string]*Table, len(c.tables))}
	for n, tt := range c.tables {
		out.tables[n] = tt
	}
	cp := *t
	cp.From = from
	out.tables[name] = &cp
	return out, nil
}

// Lookup returns the named table.
func (c *Catalog) Lookup(name string) (*Table, bool) {
	t, ok := c.tables[name]
	return t, ok
}

// Names lists the registered tables, sorted.
func (c *Catalog) Names() []string {
	var out []string
	for n := range c.tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CopilotActivityTable is the schema of the store's CopilotActivity view as
// KQL sees it. LLMEventData is dynamic, stored as JSON text that the
// normalizer writes (always the text of an object). RawRecord is left out: it
// is a BLOB and KQL has no binary type.
func CopilotActivityTable() Table {
	t := Table{Name: "CopilotActivity", JSONText: []string{"LLMEventData"}}
	add := func(typ Type, names string) {
		for _, n := range strings.Fields(names) {
			t.Columns = append(t.Columns, Column{Name: n, Type: typ})
		}
	}
	add(TDatetime, "TimeGenerated")
	add(TString, "RecordId RecordType ActorName ActorUserId ActorUserType OrganizationId SrcIpAddr ClientRegion Workload Version AppHost AppIdentity")
	add(TDynamic, "LLMEventData")
	add(TString, "AIModelName AIModelVersion LogVersion AgentName AgentId SourceSystem TenantId Type Operation")
	add(TInt, "RecordTypeNumber")
	add(TDatetime, "IngestionTime")
	add(TString, "SourceName SourceLocation ClientIP")
	add(TLong, "ContentHash")
	// The store writes Go strings, so these are never null, and its
	// CopilotActivityData table says so (NOT NULL since schema version 18).
	for _, c := range t.Columns {
		if c.Type == TString {
			t.NotNull = append(t.NotNull, c.Name)
		}
	}
	return t
}

// SecurityAlertTable is the detections' alert table (internal/detect),
// with Sentinel's column names; Type is added as Sentinel has it.
func SecurityAlertTable() Table {
	t := Table{Name: "SecurityAlert", From: `SELECT *, 'SecurityAlert' AS "Type" FROM "SecurityAlert"`}
	add := columnAdder(&t)
	add(TDatetime, "TimeGenerated")
	add(TString, "SystemAlertId AlertName DisplayName Description AlertSeverity Status ProviderName VendorName ProductName AlertType Tactics")
	add(TDynamic, "Techniques Entities ExtendedProperties")
	add(TString, "CompromisedEntity")
	add(TDatetime, "StartTime EndTime ProcessingEndTime")
	add(TString, "RemediationSteps SourceSystem AnalyticRuleId AnalyticRuleName AnalyticRuleVersion")
	add(TDynamic, "AtlasTechniques")
	add(TString, "IncidentName")
	add(TDynamic, "RecordIds")
	add(TInt, "ResultCount")
	add(TDatetime, "WindowStart WindowEnd")
	add(TString, "Type")
	return t
}

// SecurityIncidentTable is the detections' incident table: one row per
// incident, its current state.
func SecurityIncidentTable() Table {
	t := Table{Name: "SecurityIncident", From: `SELECT * EXCLUDE (GroupRuleId, GroupKey), 'SecurityIncident' AS "Type" FROM "SecurityIncident"`}
	add := columnAdder(&t)
	add(TDatetime, "TimeGenerated")
	add(TString, "IncidentName")
	add(TLong, "IncidentNumber")
	add(TString, "Title Description Severity Status Classification ClassificationReason ClassificationComment")
	add(TDynamic, "Owner")
	add(TString, "ProviderName ProviderIncidentId")
	add(TDatetime, "FirstActivityTime LastActivityTime FirstModifiedTime LastModifiedTime CreatedTime ClosedTime")
	add(TDynamic, "AlertIds RelatedAnalyticRuleIds Labels Comments Tactics Techniques Entities AdditionalData")
	add(TString, "SourceSystem Type")
	return t
}

// SensitivityLabelTable names and ranks sensitivity label ids for rules;
// its rows come from configuration (the detection engine scopes it), so
// by default it is empty.
func SensitivityLabelTable() Table {
	t := Table{Name: "SensitivityLabel", From: `SELECT CAST(NULL AS VARCHAR) AS LabelId, CAST(NULL AS VARCHAR) AS LabelName, CAST(NULL AS BIGINT) AS "Rank" WHERE false`}
	add := columnAdder(&t)
	add(TString, "LabelId LabelName")
	add(TLong, "Rank")
	return t
}

// AutomationDeliveryTable is automation's playbook delivery queue, and
// AutomationDeliveryAttemptTable the log of every attempt (internal/automate).
func AutomationDeliveryTable() Table {
	t := Table{Name: "AutomationDelivery"}
	add := columnAdder(&t)
	add(TString, "DeliveryId Playbook PlaybookType AutomationRule IncidentId EventKind")
	add(TDynamic, "Payload")
	add(TString, "State")
	add(TInt, "Attempts AttemptBase")
	add(TDatetime, "NextAttempt")
	add(TString, "LastError")
	add(TInt, "LastCode")
	add(TDatetime, "CreatedAt UpdatedAt DeliveredAt")
	return t
}

// AutomationDeliveryAttemptTable: see AutomationDeliveryTable.
func AutomationDeliveryAttemptTable() Table {
	t := Table{Name: "AutomationDeliveryAttempt"}
	add := columnAdder(&t)
	add(TString, "DeliveryId")
	add(TInt, "Attempt")
	add(TString, "Playbook")
	add(TDatetime, "StartedAt")
	add(TLong, "DurationMs")
	add(TString, "Outcome")
	add(TInt, "Code")
	add(TString, "Error")
	return t
}

func columnAdder(t *Table) func(Type, string) {
	return func(typ Type, names string) {
		for _, n := range strings.Fields(names) {
			t.Columns = append(t.Columns, Column{Name: n, Type: typ})
		}
	}
}

// DefaultCatalog holds the tables of the aiwatch store.
func DefaultCatalog() *Catalog {
	c := NewCatalog()
	for _, t := range []Table{CopilotActivityTable(), SecurityAlertTable(), SecurityIncidentTable(), SensitivityLabelTable(),
		AutomationDeliveryTable(), AutomationDeliveryAttemptTable()} {
		if err := c.Register(t); err != nil {
			panic(err) // a fixed schema; only a programming error gets here
		}
	}
	return c
}
