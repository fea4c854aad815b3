package audit

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Record is one normalized CopilotActivity row. Column names follow
// Microsoft Sentinel's CopilotActivity table; the added fields keep what
// Sentinel drops (the raw record, where it came from).
type Record struct {
	TimeGenerated  time.Time // CreationTime, UTC, microsecond precision
	RecordId       string
	RecordType     string // name; "" when the number is unknown
	ActorName      string // UserId (UPN)
	ActorUserId    string // UserKey
	ActorUserType  string // name of UserType
	OrganizationId string
	SrcIpAddr      string // best-effort address from ClientIP
	ClientRegion   string
	Workload       string
	Version        string
	AppHost        string
	AppIdentity    string
	LLMEventData   []byte // JSON
	LLMSpan        Span   // where LLMEventData lies in Raw, when it is a part of it
	AIModelName    string
	AIModelVersion string
	LogVersion     string
	AgentName      string
	AgentId        string

	// Added columns.
	Operation        string
	RecordTypeNumber int    // 0 when absent
	ClientIP         string // ClientIP exactly as in the record
	ContentHash      uint64 // hash of the parsed record, independent of key order and escaping
	Copilot          bool   // counts as Copilot/AI activity
	Raw              []byte // the record exactly as received
}

// Span is a byte range of Raw.
type Span struct{ Offset, Length int }

// Rejection says why a unit cannot be stored; it goes to quarantine.
type Rejection struct {
	Reason string
	ID     string // the record Id when one could be read
}

func (r *Rejection) Error() string { return r.Reason }

// Normalizer converts AuditData objects. It is not safe for concurrent use:
// give each goroutine its own.
type Normalizer struct {
	reg    *Registry
	parser fastjson.Parser
	nested []*fastjson.Parser // parsers for JSON-encoded nested strings, reused
	used   int
}

// NewNormalizer returns a normalizer using the registry's numbering.
func NewNormalizer(reg *Registry) *Normalizer {
	if reg == nil {
		reg = NewRegistry(Numbering371)
	}
	return &Normalizer{reg: reg}
}

// nestedKeys are the keys whose values are objects or arrays but arrive as
// JSON-encoded strings in some exports; they are decoded so the typed view is
// the same either way. Other strings are never reinterpreted.
var nestedKeys = map[string]bool{
	"CopilotEventData": true, "AccessedResources": true, "Messages": true, "Contexts": true,
	"ModelTransparencyDetails": true, "AISystemPlugin": true, "MessageIds": true,
	"Resource": true, "Workspace": true, "AppAccessContext": true, "PolicyDetails": true,
}

// commonKeys are the audit schema's common fields plus the Copilot fields
// that have their own columns; the rest of a non-interaction record is its
// event data.
var commonKeys = map[string]bool{
	"Id": true, "RecordType": true, "CreationTime": true, "Operation": true, "OrganizationId": true,
	"UserType": true, "UserKey": true, "Workload": true, "ResultStatus": true, "ObjectId": true,
	"UserId": true, "ClientIP": true, "Scope": true, "AppAccessContext": true, "Version": true,
	"ClientRegion": true, "CopilotLogVersion": true, "AppIdentity": true, "AgentId": true,
	"AgentName": true, "AgentVersion": true, "CopilotEventData": true,
}

// Normalize parses one AuditData object. raw is stored verbatim; record is
// the AuditData text (they differ for Graph entries and CSV cells).
func (n *Normalizer) Normalize(record, raw []byte) (Record, *Rejection) {
	n.used = 0
	text := record
	sanitized := false
	if !utf8.Valid(text) {
		// One U+FFFD per invalid byte, as Go's decoder does; raw keeps the bytes.
		text = sanitizeUTF8(text)
		sanitized = true
	}
	if hasSurrogateEscape(text) {
		// See surrogate.go: DuckDB's JSON functions reject unpaired ones.
		if fixed, ok := fixSurrogates(text); ok {
			text = fixed
			sanitized = true
		}
	}
	v, err := n.parser.ParseBytes(text)
	if err != nil {
		if truncated(text) {
			return Record{}, &Rejection{Reason: "AuditData is not valid JSON (truncated: the text ends inside an object, array or string)"}
		}
		return Record{}, &Rejection{Reason: "not JSON: " + shorten(err.Error(), 160)}
	}
	obj, err := v.Object()
	if err != nil {
		return Record{}, &Rejection{Reason: "not a JSON object but a JSON " + v.Type().String()}
	}
	wrapped := false
	// A Graph auditLogRecord on its own (JSONL of Graph records) wraps the
	// AuditData object in "auditData".
	if obj.Get("Id") == nil {
		if ad := obj.Get("auditData"); ad != nil && ad.Type() == fastjson.TypeObject {
			obj, _ = ad.Object()
			wrapped = true // the text is not the record's: never reuse its bytes
		}
	}
	n.decodeNested(obj, 0)

	var r Record
	r.RecordId = strings.TrimSpace(str(get(obj, "Id")))
	if r.RecordId == "" {
		return Record{}, &Rejection{Reason: "no Id"}
	}
	ct := str(get(obj, "CreationTime"))
	if ct == "" {
		return Record{}, &Rejection{Reason: "no CreationTime", ID: r.RecordId}
	}
	t, ok := ParseTime(ct)
	if !ok {
		return Record{}, &Rejection{Reason: fmt.Sprintf("CreationTime %q is not a date and time", shorten(ct, 60)), ID: r.RecordId}
	}
	r.TimeGenerated = t

	n.recordType(&r, get(obj, "RecordType"))
	r.Operation = str(get(obj, "Operation"))
	r.OrganizationId = str(get(obj, "OrganizationId"))
	r.ActorName = str(get(obj, "UserId"))
	r.ActorUserId = str(get(obj, "UserKey"))
	r.ActorUserType = userType(get(obj, "UserType"))
	r.Workload = str(get(obj, "Workload"))
	r.Version = str(get(obj, "Version"))
	r.ClientIP = str(get(obj, "ClientIP"))
	r.SrcIpAddr = CleanIP(r.ClientIP)
	r.ClientRegion = str(get(obj, "ClientRegion"))
	r.LogVersion = str(get(obj, "CopilotLogVersion"))

	ced := get(obj, "CopilotEventData")
	var cedObj *fastjson.Object
	if ced != nil && ced.Type() == fastjson.TypeObject {
		cedObj, _ = ced.Object()
	}
	r.AppIdentity = firstNonEmpty(str(get(obj, "AppIdentity")), str(getIn(cedObj, "AppIdentity")))
	r.AgentId = firstNonEmpty(str(get(obj, "AgentId")), str(getIn(cedObj, "AgentId")))
	r.AgentName = firstNonEmpty(str(get(obj, "AgentName")), str(getIn(cedObj, "AgentName")))
	if cedObj != nil {
		r.AppHost = str(getIn(cedObj, "AppHost"))
		if mtd := getIn(cedObj, "ModelTransparencyDetails"); mtd != nil && mtd.Type() == fastjson.TypeArray {
			if arr, _ := mtd.Array(); len(arr) > 0 && arr[0].Type() == fastjson.TypeObject {
				first, _ := arr[0].Object()
				r.AIModelName = str(getIn(first, "ModelName"))
				r.AIModelVersion = str(getIn(first, "ModelVersion"))
			}
		}
		var off int
		r.LLMEventData, off = n.eventDataBytes(text, sanitized || wrapped, ced)
		// When the record text is the raw record itself, LLMEventData need
		// not be stored twice (see the store's CopilotActivity view).
		if off >= 0 && len(raw) > 0 && len(text) == len(raw) && &text[0] == &raw[0] {
			r.LLMSpan = Span{Offset: off, Length: len(r.LLMEventData)}
		}
	} else {
		r.LLMEventData = eventData(obj)
	}
	// fastjson reads some text that is not JSON (an escape such as \q, a
	// control character in a string, a number such as 01); DuckDB's JSON
	// functions refuse it, so one such record would make every query and
	// rule over LLMEventData fail for its whole window.
	if err := fastjson.ValidateBytes(r.LLMEventData); err != nil {
		return Record{}, &Rejection{Reason: "CopilotEventData is not valid JSON: " + shorten(err.Error(), 160), ID: r.RecordId}
	}
	r.Copilot = n.reg.IsAI(r.RecordTypeNumber, r.RecordType) || IsCopilotWorkload(r.Workload)
	r.ContentHash = hashObject(obj)
	r.Raw = raw
	return r, nil
}

// eventDataBytes returns CopilotEventData as JSON: the original bytes when
// they can be used as they are (the common case, and much cheaper), else a
// re-serialization of the parsed value.
// The offset is where they start in text, or -1.
func (n *Normalizer) eventDataBytes(text []byte, rewritten bool, ced *fastjson.Value) ([]byte, int) {
	if !rewritten && n.used == 0 {
		// No nested string was decoded anywhere in the record, so the
		// original text of the object is the typed view.
		if s, e, ok := valueSpan(text, "CopilotEventData"); ok && text[s] == '{' {
			return text[s:e:e], s
		}
	}
	return appendJSON(nil, ced), -1
}

func (n *Normalizer) recordType(r *Record, v *fastjson.Value) {
	if v == nil {
		return
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		num, err := v.Int()
		if err == nil {
			r.RecordTypeNumber = num
			r.RecordType = n.reg.Name(num)
		} else {
			// Not an int (261.5, 1e30): kept as written, as an unknown name is.
			r.RecordType = string(v.MarshalTo(nil))
		}
	case fastjson.TypeString:
		s := strings.TrimSpace(str(v))
		if num, err := strconv.Atoi(s); err == nil {
			r.RecordTypeNumber = num
			r.RecordType = n.reg.Name(num)
		} else if num, ok := n.reg.Number(s); ok {
			r.RecordTypeNumber = num
			r.RecordType = n.reg.Name(num)
		} else {
			// A name we don't know yet: keep it as the name, number unknown.
			r.RecordType = s
		}
	}
}

func userType(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		if n, err := v.Int(); err == nil {
			return UserTypeName(n)
		}
	case fastjson.TypeString:
		s := strings.TrimSpace(str(v))
		if n, err := strconv.Atoi(s); err == nil {
			return UserTypeName(n)
		}
		return s
	}
	return str(v)
}

// decodeNested replaces JSON-encoded strings under nestedKeys with their
// decoded value, recursively.
func (n *Normalizer) decodeNested(obj *fastjson.Object, depth int) {
	if depth > 8 {
		return
	}
	obj.Visit(func(key []byte, v *fastjson.Value) {
		switch v.Type() {
		case fastjson.TypeString:
			if !nestedKeys[string(key)] {
				return
			}
			b, _ := v.StringBytes()
			b = bytes.TrimSpace(b)
			if len(b) < 2 || (b[0] != '{' && b[0] != '[') {
				return
			}
			if hasSurrogateEscape(b) {
				b, _ = fixSurrogates(b) // the decoded text has escapes of its own
			}
			p := n.nestedParser()
			dv, err := p.ParseBytes(b)
			if err != nil {
				return // not JSON after all: keep the string
			}
			obj.Set(string(key), dv)
			n.decodeValue(dv, depth+1)
		case fastjson.TypeObject, fastjson.TypeArray:
			n.decodeValue(v, depth+1)
		}
	})
}

func (n *Normalizer) decodeValue(v *fastjson.Value, depth int) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		n.decodeNested(o, depth)
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, e := range arr {
			if e.Type() == fastjson.TypeObject {
				o, _ := e.Object()
				n.decodeNested(o, depth)
			}
		}
	}
}

func (n *Normalizer) nestedParser() *fastjson.Parser {
	if n.used == len(n.nested) {
		n.nested = append(n.nested, new(fastjson.Parser))
	}
	p := n.nested[n.used]
	n.used++
	return p
}

// eventData builds LLMEventData for records without CopilotEventData: an
// object of the type-specific properties (everything but the common fields),
// so Resource[0].Property and Workspace.Name resolve as in Sentinel.
func eventData(obj *fastjson.Object) []byte {
	out := []byte{'{'}
	first := true
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if commonKeys[string(key)] {
			return
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendString(out, key)
		out = append(out, ':')
		out = appendJSON(out, v)
	})
	return append(out, '}')
}

// get looks a key up by exact case first, then case-insensitively, so a
// record with both "AppHost" and "appHost" reads the exact one and neither
// overwrites the other.
func get(o *fastjson.Object, key string) *fastjson.Value {
	if o == nil {
		return nil
	}
	if v := o.Get(key); v != nil {
		return v
	}
	var found *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) {
		if found == nil && strings.EqualFold(string(k), key) {
			found = v
		}
	})
	return found
}

func getIn(o *fastjson.Object, key string) *fastjson.Value { return get(o, key) }

// str renders a value as column text: strings unescaped, numbers and
// booleans as written, null/missing empty, objects and arrays as JSON.
func str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNull:
		return ""
	case fastjson.TypeNumber:
		return string(appendJSON(nil, v))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	default:
		return string(appendJSON(nil, v))
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ParseTime reads an audit timestamp as UTC: with or without a zone
// designator, with up to 9 fractional digits; the result is truncated to
// microseconds (the store's precision).
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), true
		}
	}
	return time.Time{}, false
}

var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
}

// CleanIP extracts a best-effort address from an untrusted ClientIP value:
// strips ports and brackets, reads IPv4-mapped and malformed "ffff:a.b.c.d"
// forms as the IPv4 address; anything unreadable gives "".
func CleanIP(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			if a, err := netip.ParseAddr(s[1:end]); err == nil {
				return a.Unmap().String()
			}
		}
	}
	// "ffff:10.11.0.229" and similar: an IPv4 address after the last colon.
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s[i+1:], ".") == 3 {
		if a, err := netip.ParseAddr(s[i+1:]); err == nil && a.Is4() {
			return a.String()
		}
	}
	return ""
}

func sanitizeUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// truncated reports whether JSON text ends inside a string, object or array.
func truncated(b []byte) bool {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr:
			if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return inStr || depth > 0
}

// shorten cuts s to at most n bytes, on a character boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
