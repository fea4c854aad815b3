package o365fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// graphRecord is one record searchable through the audit query API, with
// the Graph fields precomputed from its AuditData.
type graphRecord struct {
	seq        uint64
	time       time.Time // CreationTime as UTC
	id         string
	typeName   string
	operation  string
	orgID      string
	userType   string
	userID     string
	service    string
	objectID   string
	clientIP   json.RawMessage // a JSON string or null
	auditData  []byte          // compact, with "\/" unescaped as Graph shows it
	rawCompact []byte          // the record as published, for the malformed-record fault
}

// PublishGraph makes records searchable by the Graph audit log query API.
// Event time is each record's CreationTime; the recordType filter matches the
// RecordType's name. Records that are not JSON objects with a CreationTime are
// skipped with a warning.
func (s *Server) PublishGraph(tenantID string, records [][]byte) {
	parsed := make([]*graphRecord, 0, len(records))
	for i, raw := range records {
		g, err := parseGraphRecord(raw)
		if err != nil {
			s.log.Warn("o365fake: graph record skipped", "tenant", tenantID, "index", i, "err", err)
			continue
		}
		parsed = append(parsed, g)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(tenantID)
	for _, g := range parsed {
		s.seq++
		g.seq = s.seq
		ts.graph = append(ts.graph, g)
	}
	sort.SliceStable(ts.graph, func(i, j int) bool { return ts.graph[i].time.Before(ts.graph[j].time) })
}

func parseGraphRecord(raw []byte) (*graphRecord, error) {
	var a struct {
		ID             string          `json:"Id"`
		CreationTime   string          `json:"CreationTime"`
		Operation      string          `json:"Operation"`
		OrganizationID string          `json:"OrganizationId"`
		RecordType     json.RawMessage `json:"RecordType"`
		UserType       json.RawMessage `json:"UserType"`
		UserID         string          `json:"UserId"`
		Workload       string          `json:"Workload"`
		ObjectID       string          `json:"ObjectId"`
		ClientIP       json.RawMessage `json:"ClientIP"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("cannot parse AuditData: %w", err)
	}
	t, err := parseAPITime(a.CreationTime)
	if err != nil {
		return nil, fmt.Errorf("bad CreationTime: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("cannot compact AuditData: %w", err)
	}
	g := &graphRecord{
		time: t, id: a.ID, operation: a.Operation, orgID: a.OrganizationID,
		userID: a.UserID, service: a.Workload, objectID: a.ObjectID,
		clientIP:   json.RawMessage("null"),
		auditData:  unescapeSlashes(compact.Bytes()),
		rawCompact: compact.Bytes(),
	}
	if n, ok := enumNumber(a.RecordType); ok {
		g.typeName = RecordTypeName(n)
	}
	if n, ok := enumNumber(a.UserType); ok {
		g.userType = UserTypeName(n)
	}
	if len(a.ClientIP) > 0 && a.ClientIP[0] == '"' {
		g.clientIP = a.ClientIP
	}
	return g, nil
}

// enumNumber reads a number written as 261 or "261".
func enumNumber(raw json.RawMessage) (int, bool) {
	n, err := strconv.Atoi(strings.Trim(string(raw), `"`))
	return n, err == nil
}

// unescapeSlashes turns the Management API's "\/" into "/" inside strings,
// leaving every other escape (and an escaped backslash before a slash) alone.
func unescapeSlashes(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\/`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			if b[i+1] != '/' {
				out = append(out, b[i])
			}
			out = append(out, b[i+1])
			i++
			continue
		}
		out = append(out, b[i])
	}
	return out
}

type graphQuery struct {
	id            string
	tenant        string // lower-case
	req           graphQueryRequest
	start, end    time.Time
	polls         int
	records       []*graphRecord
	limitExceeded bool
	badEvery      int
}

type graphQueryRequest struct {
	DisplayName                 string   `json:"displayName"`
	FilterStartDateTime         string   `json:"filterStartDateTime"`
	FilterEndDateTime           string   `json:"filterEndDateTime"`
	RecordTypeFilters           []string `json:"recordTypeFilters"`
	KeywordFilter               *string  `json:"keywordFilter"`
	ServiceFilters              []string `json:"serviceFilters"`
	OperationFilters            []string `json:"operationFilters"`
	UserPrincipalNameFilters    []string `json:"userPrincipalNameFilters"`
	IPAddressFilters            []string `json:"ipAddressFilters"`
	ObjectIDFilters             []string `json:"objectIdFilters"`
	AdministrativeUnitIDFilters []string `json:"administrativeUnitIdFilters"`
}

type graphQueryJSON struct {
	Context string `json:"@odata.context,omitempty"`
	ID      string `json:"id"`
	graphQueryRequest
	Status                     string `json:"status"`
	IsRecordCountLimitExceeded bool   `json:"isRecordCountLimitExceeded"`
}

func (q *graphQuery) json(status string) graphQueryJSON {
	req := q.req
	for _, p := range []*[]string{&req.RecordTypeFilters, &req.ServiceFilters, &req.OperationFilters,
		&req.UserPrincipalNameFilters, &req.IPAddressFilters, &req.ObjectIDFilters, &req.AdministrativeUnitIDFilters} {
		if *p == nil {
			*p = []string{}
		}
	}
	req.FilterStartDateTime = q.start.Format(time.RFC3339Nano)
	req.FilterEndDateTime = q.end.Format(time.RFC3339Nano)
	return graphQueryJSON{
		ID: q.id, graphQueryRequest: req, Status: status,
		IsRecordCountLimitExceeded: status == "succeeded" && q.limitExceeded,
	}
}

// matches applies the filters the fake understands: event time in
// [start, end), record type names (camelCase in requests, PascalCase in
// records: compared case-insensitively), operations, user principal names.
func (q *graphQuery) matches(g *graphRecord) bool {
	if g.time.Before(q.start) || !g.time.Before(q.end) {
		return false
	}
	return anyFold(q.req.RecordTypeFilters, g.typeName) &&
		anyFold(q.req.OperationFilters, g.operation) &&
		anyFold(q.req.UserPrincipalNameFilters, g.userID)
}

// anyFold: an empty filter matches everything.
func anyFold(filter []string, v string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if strings.EqualFold(f, v) {
			return true
		}
	}
	return false
}

// graphVersion is the path's API version ("v1.0" or "beta"), for links.
func graphVersion(r *http.Request) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return v
}

func (s *Server) graphCreate(c *call) {
	if !s.authGraph(c) {
		return
	}
	var req graphQueryRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		s.writeGraphError(c, http.StatusBadRequest, "BadRequest", "The request body is not valid JSON.")
		return
	}
	start, err1 := time.Parse(time.RFC3339Nano, req.FilterStartDateTime)
	end, err2 := time.Parse(time.RFC3339Nano, req.FilterEndDateTime)
	if err1 != nil || err2 != nil {
		s.writeGraphError(c, http.StatusBadRequest, "BadRequest", "filterStartDateTime and filterEndDateTime must be ISO 8601 date-times.")
		return
	}
	if !start.Before(end) {
		s.writeGraphError(c, http.StatusBadRequest, "BadRequest", "filterStartDateTime must be before filterEndDateTime.")
		return
	}
	q := &graphQuery{tenant: c.token.tenant, req: req, start: start.UTC(), end: end.UTC()}
	s.mu.Lock()
	ts := c.ts
	for _, g := range ts.graph {
		if q.matches(g) {
			q.records = append(q.records, g)
		}
	}
	if limit := ts.faults.GraphRecordCap; limit > 0 && len(q.records) > limit {
		q.records, q.limitExceeded = q.records[:limit], true
		ts.stats.Faults[FaultGraphCap]++
	}
	q.badEvery = ts.faults.GraphBadRecordEvery
	q.id = s.newGUIDLocked()
	s.queries[q.id] = q
	s.mu.Unlock()

	v := graphVersion(c.r)
	out := q.json("notStarted")
	out.Context = baseURL(c.r) + "/" + v + "/$metadata#security/auditLog/queries/$entity"
	c.w.Header().Set("Location", baseURL(c.r)+"/"+v+"/security/auditLog/queries/"+q.id)
	s.writeGraphJSON(c, http.StatusCreated, out)
}

// queryLocked finds the caller's query; another tenant's is "not found".
func (s *Server) queryLocked(c *call) *graphQuery {
	q := s.queries[c.r.PathValue("id")]
	if q == nil || q.tenant != c.token.tenant {
		return nil
	}
	return q
}

func (s *Server) graphGet(c *call) {
	if !s.authGraph(c) {
		return
	}
	s.mu.Lock()
	q := s.queryLocked(c)
	if q == nil {
		s.mu.Unlock()
		s.writeGraphError(c, http.StatusNotFound, "ResourceNotFound", "The audit log query does not exist.")
		return
	}
	q.polls++
	status := "running"
	if q.polls >= s.graphPollsToSucceed {
		status = "succeeded"
	}
	out := q.json(status)
	s.mu.Unlock()
	out.Context = baseURL(c.r) + "/" + graphVersion(c.r) + "/$metadata#security/auditLog/queries/$entity"
	s.writeGraphJSON(c, http.StatusOK, out)
}

type graphRecordJSON struct {
	ODataType           string          `json:"@odata.type"`
	ID                  string          `json:"id"`
	CreatedDateTime     string          `json:"createdDateTime"`
	AuditLogRecordType  string          `json:"auditLogRecordType"`
	Operation           string          `json:"operation"`
	OrganizationID      string          `json:"organizationId"`
	UserType            string          `json:"userType"`
	UserID              string          `json:"userId"`
	Service             string          `json:"service"`
	ObjectID            string          `json:"objectId"`
	UserPrincipalName   string          `json:"userPrincipalName"`
	ClientIP            json.RawMessage `json:"clientIp"`
	AdministrativeUnits []string        `json:"administrativeUnits"`
	AuditData           json.RawMessage `json:"auditData"`
}

type graphPageJSON struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink,omitempty"`
	Value    []graphRecordJSON `json:"value"`
}

// graphRecords pages a succeeded query's records. A malformed record (the
// GraphBadRecordEvery fault) keeps the page valid JSON: its auditData is a
// string holding the first half of the record's text, so a client can
// quarantine that one record and keep the rest.
func (s *Server) graphRecords(c *call) {
	if !s.authGraph(c) {
		return
	}
	s.mu.Lock()
	q := s.queryLocked(c)
	if q == nil {
		s.mu.Unlock()
		s.writeGraphError(c, http.StatusNotFound, "ResourceNotFound", "The audit log query does not exist.")
		return
	}
	if q.polls < s.graphPollsToSucceed {
		s.mu.Unlock()
		s.writeGraphError(c, http.StatusBadRequest, "BadRequest", "The audit log query has not succeeded yet.")
		return
	}
	off := 0
	if tok := c.r.URL.Query().Get("$skiptoken"); tok != "" {
		o, ok := parseSkipToken(tok, q.id)
		if !ok || o > len(q.records) {
			s.mu.Unlock()
			s.writeGraphError(c, http.StatusBadRequest, "BadRequest", "The $skiptoken is not valid.")
			return
		}
		off = o
	}
	endIdx := min(off+s.graphPageSize, len(q.records))
	page := q.records[off:endIdx]
	bad := 0
	value := make([]graphRecordJSON, len(page))
	for i, g := range page {
		value[i] = graphRecordJSON{
			ODataType:          "#microsoft.graph.security.auditLogRecord",
			ID:                 g.id,
			CreatedDateTime:    g.time.Format(time.RFC3339Nano),
			AuditLogRecordType: g.typeName, Operation: g.operation, OrganizationID: g.orgID,
			UserType: g.userType, UserID: g.userID, Service: g.service, ObjectID: g.objectID,
			UserPrincipalName: g.userID, ClientIP: g.clientIP, AdministrativeUnits: []string{},
			AuditData: g.auditData,
		}
		if k := off + i + 1; q.badEvery > 0 && k%q.badEvery == 0 {
			cut, _ := json.Marshal(string(g.rawCompact[:len(g.rawCompact)/2]))
			value[i].AuditData = cut
			bad++
		}
	}
	if bad > 0 {
		c.ts.stats.Faults[FaultGraphBadRecord] += bad
	}
	qid := q.id
	more := endIdx < len(q.records)
	s.mu.Unlock()

	v := graphVersion(c.r)
	out := graphPageJSON{
		Context: baseURL(c.r) + "/" + v + "/$metadata#security/auditLog/queries('" + qid + "')/records",
		Value:   value,
	}
	if more {
		out.NextLink = baseURL(c.r) + "/" + v + "/security/auditLog/queries/" + qid + "/records?$skiptoken=" + skipToken(qid, endIdx)
	}
	s.writeGraphJSON(c, http.StatusOK, out)
}

// skipToken is opaque to clients: the query id and offset, base64url.
func skipToken(qid string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(qid + "|" + strconv.Itoa(off)))
}

func parseSkipToken(tok, qid string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	id, offS, ok := strings.Cut(string(b), "|")
	if !ok || id != qid {
		return 0, false
	}
	off, err := strconv.Atoi(offS)
	return off, err == nil && off >= 0
}

const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeGraphJSON writes Graph's way: unescaped HTML characters, indented
// like the fixtures.
func (s *Server) writeGraphJSON(c *call, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.writeGraphError(c, http.StatusInternalServerError, "InternalServerError", "cannot encode response")
		return
	}
	c.w.Header().Set("Content-Type", graphContentType)
	c.w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
}

// writeGraphError answers Graph's error shape, with innerError ids.
func (s *Server) writeGraphError(c *call, status int, code, msg string) {
	reqID := s.newGUID()
	writeJSON(c.w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{
			"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        reqID,
			"client-request-id": reqID,
		},
	}})
}
