package o365fake

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/aiwatch/aiwatch/internal/o365"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Content types the Management Activity API knows.
var contentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

const (
	retention      = 7 * 24 * time.Hour
	maxWindow      = 24 * time.Hour
	restartBackoff = 15 * time.Minute // a start within this of the previous one is throttled
)

const (
	statusEnabled  = "enabled"
	statusDisabled = "disabled"
)

type subscription struct {
	status        string
	adminDisabled bool
	lastStart     time.Time // last start that enabled it
}

// blob is one content blob. Either records or gen holds its elements; it
// never changes after Publish, so it is streamed without the server lock.
type blob struct {
	id          string
	contentType string
	created     time.Time // contentCreated, millisecond precision
	visible     time.Time
	seq         uint64
	records     [][]byte
	gen         func(i int) []byte
	n           int

	size     int64 // body length of held records; -1 for generated blobs
	sizeOnce sync.Once
	genSize  int64 // body length of a generated blob, set once on first need
}

// Publish makes one content blob of records available to the tenant from
// visibleAt on, listed under contentCreated (truncated to milliseconds). A
// visibleAt later than contentCreated imitates a late blob; a zero visibleAt
// means contentCreated. records are raw AuditData objects, served as one
// JSON array; the fake keeps the slices, so do not modify them afterwards.
// It returns the contentId.
func (s *Server) Publish(tenantID, contentType string, records [][]byte, contentCreated, visibleAt time.Time) string {
	size := int64(2 + max(len(records)-1, 0))
	for _, r := range records {
		size += int64(len(r))
	}
	b := &blob{records: records, n: len(records), size: size}
	return s.publish(tenantID, contentType, b, contentCreated, visibleAt)
}

// PublishFunc is Publish for a blob of n records made by gen, which is
// called for every record on every fetch (and once more to size the body when
// a cut is injected): it must be deterministic and safe for concurrent use.
// Such a blob costs the fake no memory beyond one record at a time.
func (s *Server) PublishFunc(tenantID, contentType string, n int, gen func(i int) []byte, contentCreated, visibleAt time.Time) string {
	b := &blob{gen: gen, n: max(n, 0), size: -1}
	return s.publish(tenantID, contentType, b, contentCreated, visibleAt)
}

func (s *Server) publish(tenantID, contentType string, b *blob, created, visible time.Time) string {
	if ct, ok := canonicalContentType(contentType); ok {
		contentType = ct
	}
	created = created.UTC().Truncate(time.Millisecond)
	if visible.IsZero() {
		visible = created
	}
	b.contentType, b.created, b.visible = contentType, created, visible
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(tenantID)
	s.seq++
	b.seq = s.seq
	for {
		b.id = s.contentIDLocked(contentType, created)
		if ts.byID[b.id] == nil {
			break
		}
	}
	ts.byID[b.id] = b
	list := ts.blobs[contentType]
	// Equal contentCreated keeps publish order (seq grows).
	i := sort.Search(len(list), func(i int) bool { return list[i].created.After(created) })
	ts.blobs[contentType] = slices.Insert(list, i, b)
	return b.id
}

// contentIDLocked makes an id shaped like real ones:
// <23 digits>$<23 digits>$audit_general$Audit_General.
func (s *Server) contentIDLocked(contentType string, created time.Time) string {
	part := func(t time.Time) string {
		return t.Format("20060102150405") + fmt.Sprintf("%09d", s.rng.IntN(1_000_000_000))
	}
	us := strings.ReplaceAll(contentType, ".", "_")
	return part(created) + "$" + part(created.Add(time.Hour)) + "$" + strings.ToLower(us) + "$" + us
}

// DisableSubscription imitates an admin turning a subscription off: listing
// and fetching answer AF20023 until the client starts it again.
func (s *Server) DisableSubscription(tenantID, contentType string) {
	if ct, ok := canonicalContentType(contentType); ok {
		contentType = ct
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenantLocked(tenantID)
	sub := ts.subs[contentType]
	if sub == nil {
		sub = &subscription{}
		ts.subs[contentType] = sub
	}
	sub.status, sub.adminDisabled = statusDisabled, true
}

func canonicalContentType(v string) (string, bool) {
	for _, ct := range contentTypes {
		if strings.EqualFold(ct, v) {
			return ct, true
		}
	}
	return "", false
}

// contentTypeParam reads and checks contentType, answering AF20020 if bad.
func contentTypeParam(c *call) (string, bool) {
	v := queryParam(c.r, "contentType")
	ct, ok := canonicalContentType(v)
	if !ok {
		writeAF(c.w, http.StatusBadRequest, "AF20020", fmt.Sprintf("The specified content type is not valid: '%s'.", v))
	}
	return ct, ok
}

// subscriptionErrLocked is AF20022 / AF20023 when ct cannot be read.
func subscriptionErrLocked(ts *tenantState, ct string) (code, msg string) {
	sub := ts.subs[ct]
	switch {
	case sub != nil && sub.status == statusEnabled:
		return "", ""
	case sub != nil && sub.adminDisabled:
		return "AF20023", "The subscription was disabled by Admin."
	}
	return "AF20022", fmt.Sprintf("No subscription found for the specified content type: %s.", ct)
}

type subscriptionJSON struct {
	ContentType string  `json:"contentType"`
	Status      string  `json:"status"`
	Webhook     *string `json:"webhook"`
}

// subscriptionStart: an enabled subscription answers AF20024 first (a repeat
// start changes nothing, so it is not throttled); a start that would enable
// one within 15 minutes of the previous enabling start answers 429 AF429.
func (s *Server) subscriptionStart(c *call) {
	if !s.authManage(c) {
		return
	}
	ct, ok := contentTypeParam(c)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	ts := c.ts
	sub := ts.subs[ct]
	switch {
	case sub != nil && sub.status == statusEnabled:
		s.mu.Unlock()
		writeAF(c.w, http.StatusBadRequest, "AF20024", "The subscription is already enabled. No property change.")
	case sub != nil && !sub.lastStart.IsZero() && now.Sub(sub.lastStart) < restartBackoff:
		wait := sub.lastStart.Add(restartBackoff).Sub(now)
		s.mu.Unlock()
		writeAF(c.w, http.StatusTooManyRequests, "AF429",
			fmt.Sprintf("Too many requests. Method=StartSubscription, PublisherId=%s, ContentType=%s, retry after %dm %ds.",
				publisherOf(c.r), ct, int(wait/time.Minute), int(wait%time.Minute/time.Second)))
	default:
		if sub == nil {
			sub = &subscription{}
			ts.subs[ct] = sub
		}
		sub.status, sub.adminDisabled, sub.lastStart = statusEnabled, false, now
		ts.stats.SubscriptionStarts++
		s.mu.Unlock()
		writeJSON(c.w, http.StatusOK, subscriptionJSON{ContentType: ct, Status: statusEnabled})
	}
}

func (s *Server) subscriptionStop(c *call) {
	if !s.authManage(c) {
		return
	}
	ct, ok := contentTypeParam(c)
	if !ok {
		return
	}
	s.mu.Lock()
	code, msg := subscriptionErrLocked(c.ts, ct)
	if code == "" {
		c.ts.subs[ct].status = statusDisabled
	}
	s.mu.Unlock()
	if code != "" {
		writeAF(c.w, http.StatusBadRequest, code, msg)
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

func (s *Server) subscriptionList(c *call) {
	if !s.authManage(c) {
		return
	}
	out := []subscriptionJSON{}
	s.mu.Lock()
	for _, ct := range contentTypes {
		if sub := c.ts.subs[ct]; sub != nil {
			out = append(out, subscriptionJSON{ContentType: ct, Status: sub.status})
		}
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

type contentJSON struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

const (
	msTime   = "2006-01-02T15:04:05.000Z"
	nextTime = "2006-01-02T15:04:05.0000000Z"
)

// contentList lists blobs whose contentCreated is in [start, end) and that
// are already visible, in contentCreated order, PageSize per page.
func (s *Server) contentList(c *call) {
	if !s.authManage(c) {
		return
	}
	ct, ok := contentTypeParam(c)
	if !ok {
		return
	}
	s.mu.Lock()
	code, msg := subscriptionErrLocked(c.ts, ct)
	s.mu.Unlock()
	if code != "" {
		writeAF(c.w, http.StatusBadRequest, code, msg)
		return
	}
	now := s.now()
	start, end, code, msg := window(queryParam(c.r, "startTime"), queryParam(c.r, "endTime"), now)
	if code != "" {
		writeAF(c.w, http.StatusBadRequest, code, msg)
		return
	}
	var from *pagePos
	if np := queryParam(c.r, "nextPage"); np != "" {
		p, err := parseNextPage(np)
		if err != nil {
			writeAF(c.w, http.StatusBadRequest, "AF20031", fmt.Sprintf("Invalid nextPage Input: %s.", np))
			return
		}
		from = &p
	}

	base, tenant := baseURL(c.r), c.r.PathValue("tenant")
	page := make([]contentJSON, 0)
	var next *blob
	s.mu.Lock()
	list := c.ts.blobs[ct]
	i := sort.Search(len(list), func(i int) bool { return !list[i].created.Before(start) })
	if from != nil {
		j := sort.Search(len(list), func(i int) bool { return !list[i].pos().less(*from) })
		i = max(i, j)
	}
	for ; i < len(list) && list[i].created.Before(end); i++ {
		b := list[i]
		if b.visible.After(now) {
			continue
		}
		if len(page) == s.pageSize {
			next = b
			break
		}
		page = append(page, contentJSON{
			ContentType:       b.contentType,
			ContentID:         b.id,
			ContentURI:        base + "/api/v1.0/" + tenant + "/activity/feed/audit/" + b.id,
			ContentCreated:    b.created.Format(msTime),
			ContentExpiration: b.created.Add(retention).Format(msTime),
		})
	}
	s.mu.Unlock()
	if next != nil {
		link := base + "/api/v1.0/" + tenant + "/activity/feed/subscriptions/content?contenttype=" + ct +
			"&starttime=" + start.Format(nextTime) + "&endtime=" + end.Format(nextTime) + "&nextpage=" + next.pos().String()
		if pub := queryParam(c.r, "PublisherIdentifier"); pub != "" {
			link += "&publisheridentifier=" + url.QueryEscape(pub)
		}
		c.w.Header().Set("NextPageUri", link)
	}
	writeJSON(c.w, http.StatusOK, page)
}

// window applies the listing rules: both bounds or neither (neither = the
// last 24 hours); start no more than 7 days back (AF20055, checked first, so
// a stale next-page link fails the same way forever); start before end and
// at most 24 hours apart (AF20030). Times without a zone are UTC.
func window(startS, endS string, now time.Time) (start, end time.Time, code, msg string) {
	const rule = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time prior to end time and start time no more than 7 days in the past."
	switch {
	case startS == "" && endS == "":
		end = now.UTC()
		start = end.Add(-maxWindow)
	case startS == "" || endS == "":
		return start, end, "AF20030", rule
	default:
		var err1, err2 error
		start, err1 = parseAPITime(startS)
		end, err2 = parseAPITime(endS)
		if err1 != nil || err2 != nil {
			return start, end, "AF20030", rule
		}
	}
	if start.Before(now.Add(-retention)) {
		return start, end, "AF20055", rule
	}
	if !start.Before(end) || end.Sub(start) > maxWindow {
		return start, end, "AF20030", rule
	}
	return start, end, "", ""
}

// parseAPITime accepts the forms clients send: a date, minutes, seconds,
// fractional seconds, with or without a zone (none means UTC).
func parseAPITime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q", v)
}

// pagePos is where a listing page starts: (contentCreated, publish seq).
type pagePos struct {
	created time.Time
	seq     uint64
}

func (b *blob) pos() pagePos { return pagePos{b.created, b.seq} }

func (p pagePos) less(q pagePos) bool {
	if !p.created.Equal(q.created) {
		return p.created.Before(q.created)
	}
	return p.seq < q.seq
}

// String is the opaque nextpage token: 14 digits of time, 7 of fraction,
// '$', the sequence number.
func (p pagePos) String() string {
	return fmt.Sprintf("%s%07d$%d", p.created.Format("20060102150405"), p.created.Nanosecond()/100, p.seq)
}

func parseNextPage(v string) (pagePos, error) {
	ts, seqS, ok := strings.Cut(v, "$")
	if !ok || len(ts) != 21 {
		return pagePos{}, errors.New("bad nextpage token")
	}
	t, err := time.Parse("20060102150405", ts[:14])
	if err != nil {
		return pagePos{}, fmt.Errorf("bad nextpage time: %w", err)
	}
	frac, err := strconv.Atoi(ts[14:])
	if err != nil || frac < 0 {
		return pagePos{}, errors.New("bad nextpage fraction")
	}
	seq, err := strconv.ParseUint(seqS, 10, 64)
	if err != nil {
		return pagePos{}, fmt.Errorf("bad nextpage sequence: %w", err)
	}
	return pagePos{t.Add(time.Duration(frac) * 100), seq}, nil
}

// blobGet serves a blob: unknown or not yet visible → AF20050; its content
// type not subscribed → AF20022/AF20023; older than 7 days → AF20051.
func (s *Server) blobGet(c *call) {
	if !s.authManage(c) {
		return
	}
	id := c.r.PathValue("contentId")
	now := s.now()
	s.mu.Lock()
	ts := c.ts
	b := ts.byID[id]
	if b == nil || b.visible.After(now) {
		s.mu.Unlock()
		writeAF(c.w, http.StatusBadRequest, "AF20050", fmt.Sprintf("The content requested with the key %s does not exist.", id))
		return
	}
	if code, msg := subscriptionErrLocked(ts, b.contentType); code != "" {
		s.mu.Unlock()
		writeAF(c.w, http.StatusBadRequest, code, msg)
		return
	}
	if now.After(b.created.Add(retention)) {
		s.mu.Unlock()
		writeAF(c.w, http.StatusBadRequest, "AF20051",
			fmt.Sprintf("Content requested with the key %s has already expired. Content older than 7 days cannot be retrieved.", id))
		return
	}
	ts.blobCalls++
	f := ts.faults
	cut := f.CutBodyEvery > 0 && ts.blobCalls%f.CutBodyEvery == 0
	if cut {
		ts.stats.Faults[FaultCutBody]++
	}
	if f.SlowBody > 0 {
		ts.stats.Faults[FaultSlowBody]++
	}
	s.mu.Unlock()
	s.writeBlob(c, b, f.SlowBody, cut)
}

// errCut stops a body half way.
var errCut = errors.New("body cut by fault injection")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= l.left {
		n, err := l.w.Write(p)
		l.left -= int64(n)
		return n, err
	}
	n, err := l.w.Write(p[:l.left])
	l.left -= int64(n)
	if err == nil {
		err = errCut
	}
	return n, err
}

// writeBlob streams the JSON array element by element, so a blob of any size
// needs only a write buffer.
func (s *Server) writeBlob(c *call, b *blob, slow time.Duration, cut bool) {
	size := b.size
	if cut && size < 0 {
		size = b.generatedSize()
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	if slow > 0 {
		_ = rc.Flush()
		if o365.Sleep(c.r.Context(), slow) != nil {
			return
		}
	}
	var out io.Writer = c.w
	if cut {
		out = &limitWriter{w: c.w, left: size / 2}
	}
	bw := bufio.NewWriterSize(out, 32<<10)
	err := b.writeTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if !cut {
		if err != nil {
			s.log.Debug("o365fake: blob write failed", "content_id", b.id, "err", err)
		}
		return
	}
	// Send what was written, then drop the connection: the client sees a
	// short body against its Content-Length.
	_ = rc.Flush()
	conn, _, herr := rc.Hijack()
	if herr != nil {
		panic(http.ErrAbortHandler) // HTTP/2: aborting resets the stream instead
	}
	_ = conn.Close()
}

func (b *blob) record(i int) []byte {
	if b.gen != nil {
		return b.gen(i)
	}
	return b.records[i]
}

func (b *blob) writeTo(w io.Writer) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	for i := 0; i < b.n; i++ {
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(b.record(i)); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]")
	return err
}

func (b *blob) generatedSize() int64 {
	b.sizeOnce.Do(func() {
		size := int64(2 + max(b.n-1, 0))
		for i := 0; i < b.n; i++ {
			size += int64(len(b.gen(i)))
		}
		b.genSize = size
	})
	return b.genSize
}
