package o365fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobRecords splits a blob fixture into its raw elements.
func blobRecords(t *testing.T, name string) [][]byte {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal(fixture(t, name), &raws); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return out
}

type listed struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

func (e *env) list(tok, query string) (reply, []listed) {
	e.t.Helper()
	r := e.do("GET", feedPath(tenantA, "subscriptions/content?contentType=Audit.General"+query), tok, nil)
	var out []listed
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &out); err != nil {
			e.t.Fatalf("listing %s: %v", r.body, err)
		}
	}
	return r, out
}

func ids(l []listed) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.ContentID
	}
	return out
}

func TestSubscriptionLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	start := feedPath(tenantA, "subscriptions/start?contentType=Audit.General")
	stop := feedPath(tenantA, "subscriptions/stop?contentType=Audit.General")

	if r, _ := e.list(tok, ""); r.status != 400 || afCode(t, r.body) != "AF20022" {
		t.Fatalf("list before start: %d %s", r.status, r.body)
	}
	if r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil); string(r.body) != `[]` {
		t.Fatalf("subscriptions before start: %s", r.body)
	}
	r := e.do("POST", start, tok, nil)
	if r.status != 200 || string(r.body) != `{"contentType":"Audit.General","status":"enabled","webhook":null}` {
		t.Fatalf("first start: %d %s", r.status, r.body)
	}
	// Repeat start while enabled: AF20024, even within 15 minutes.
	e.clk.Add(time.Minute)
	if r := e.do("POST", start, tok, nil); r.status != 400 || afCode(t, r.body) != "AF20024" {
		t.Fatalf("repeat start: %d %s", r.status, r.body)
	}
	if r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil); string(r.body) != `[{"contentType":"Audit.General","status":"enabled","webhook":null}]` {
		t.Fatalf("subscriptions: %s", r.body)
	}
	if r, l := e.list(tok, ""); r.status != 200 || len(l) != 0 {
		t.Fatalf("empty listing: %d %s", r.status, r.body)
	}
	if r := e.do("POST", stop, tok, nil); r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	if r, _ := e.list(tok, ""); afCode(t, r.body) != "AF20022" {
		t.Fatalf("list after stop: %s", r.body)
	}
	if r := e.do("GET", feedPath(tenantA, "subscriptions/list"), tok, nil); string(r.body) != `[{"contentType":"Audit.General","status":"disabled","webhook":null}]` {
		t.Fatalf("subscriptions after stop: %s", r.body)
	}
	// Restart 5 minutes after the first start: 10 minutes to wait.
	e.clk.Add(4 * time.Minute)
	r = e.do("POST", start, tok, nil)
	if r.status != 429 || afCode(t, r.body) != "AF429" || !strings.Contains(string(r.body), "retry after 10m 0s") {
		t.Fatalf("restart within 15 min: %d %s", r.status, r.body)
	}
	e.clk.Add(10 * time.Minute) // exactly 15 minutes after the first start
	if r := e.do("POST", start, tok, nil); r.status != 200 {
		t.Fatalf("restart after 15 min: %d %s", r.status, r.body)
	}
	// An admin disables it: AF20023 on listing and fetching.
	id := e.srv.Publish(tenantA, "Audit.General", [][]byte{[]byte(`{"Id":"x"}`)}, t0, time.Time{})
	e.srv.DisableSubscription(tenantA, "Audit.General")
	if r, _ := e.list(tok, ""); afCode(t, r.body) != "AF20023" {
		t.Fatalf("list when disabled by admin: %s", r.body)
	}
	if r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil); afCode(t, r.body) != "AF20023" {
		t.Fatalf("fetch when disabled by admin: %s", r.body)
	}
	e.clk.Add(15 * time.Minute)
	if r := e.do("POST", start, tok, nil); r.status != 200 {
		t.Fatalf("start after admin disable: %d %s", r.status, r.body)
	}
	if r, l := e.list(tok, ""); r.status != 200 || len(l) != 1 || l[0].ContentID != id {
		t.Fatalf("listing after re-enable: %s", r.body)
	}
	if r := e.do("POST", feedPath(tenantA, "subscriptions/start?contentType=Audit.Nope"), tok, nil); afCode(t, r.body) != "AF20020" {
		t.Fatalf("bad content type: %s", r.body)
	}
	if n := e.srv.Stats(tenantA).SubscriptionStarts; n != 3 {
		t.Errorf("subscription starts = %d, want 3", n)
	}
}

func TestContentWindowRules(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 4, h, m, 0, 0, time.UTC) }
	b0900 := e.srv.Publish(tenantA, "Audit.General", nil, at(9, 0), time.Time{})
	b1000 := e.srv.Publish(tenantA, "Audit.General", nil, at(10, 0), time.Time{})
	b1030 := e.srv.Publish(tenantA, "Audit.General", nil, at(10, 30).Add(720*time.Millisecond), time.Time{})
	b1100 := e.srv.Publish(tenantA, "Audit.General", nil, at(11, 0), time.Time{})
	old := e.srv.Publish(tenantA, "Audit.General", nil, t0.Add(-30*time.Hour), time.Time{})
	e.srv.Publish(tenantA, "Audit.Exchange", nil, at(10, 0), time.Time{}) // other content type

	cases := []struct {
		name  string
		query string
		want  []string
		code  string
	}{
		{"start inclusive, end exclusive", "&startTime=2026-03-04T10:00:00&endTime=2026-03-04T11:00:00", []string{b1000, b1030}, ""},
		{"with Z", "&startTime=2026-03-04T10:00:00Z&endTime=2026-03-04T11:00:00Z", []string{b1000, b1030}, ""},
		{"fractional seconds", "&startTime=2026-03-04T10:30:00.7200000Z&endTime=2026-03-04T10:30:00.721Z", []string{b1030}, ""},
		{"end one ms after a blob excludes nothing more", "&startTime=2026-03-04T10:30:00.721&endTime=2026-03-04T11:00:00.001", []string{b1100}, ""},
		{"minutes only, lower-case keys", "&starttime=2026-03-04T08:00&endtime=2026-03-04T09:01", []string{b0900}, ""},
		{"neither: last 24 hours", "", []string{b0900, b1000, b1030, b1100}, ""},
		{"exactly 24 hours", "&startTime=2026-03-03T06:00:00Z&endTime=2026-03-04T06:00:00Z", []string{old}, ""},
		{"end in the future", "&startTime=2026-03-04T10:45:00Z&endTime=2026-03-05T10:00:00Z", []string{b1100}, ""},
		{"exactly 7 days back", "&startTime=2026-02-25T12:00:00Z&endTime=2026-02-26T12:00:00Z", []string{}, ""},
		{"only start", "&startTime=2026-03-04T10:00:00Z", nil, "AF20030"},
		{"only end", "&endTime=2026-03-04T10:00:00Z", nil, "AF20030"},
		{"more than 24 hours", "&startTime=2026-03-03T06:00:00Z&endTime=2026-03-04T06:00:01Z", nil, "AF20030"},
		{"start equals end", "&startTime=2026-03-04T10:00:00Z&endTime=2026-03-04T10:00:00Z", nil, "AF20030"},
		{"start after end", "&startTime=2026-03-04T11:00:00Z&endTime=2026-03-04T10:00:00Z", nil, "AF20030"},
		{"not a time", "&startTime=yesterday&endTime=today", nil, "AF20030"},
		{"7 days and 1 second back", "&startTime=2026-02-25T11:59:59Z&endTime=2026-02-26T11:00:00Z", nil, "AF20055"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, l := e.list(tok, tc.query)
			if tc.code != "" {
				if r.status != 400 || afCode(t, r.body) != tc.code {
					t.Errorf("got %d %s, want 400 %s", r.status, r.body, tc.code)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if got := ids(l); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContentListShapeMatchesFixture(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	created := time.Date(2026, 3, 4, 10, 31, 0, 720_400_000, time.UTC) // sub-ms part dropped
	id := e.srv.Publish(tenantA, "Audit.General", blobRecords(t, "management-api-blob.json"), created, time.Time{})
	_, l := e.list(tok, "&startTime=2026-03-04T10:00:00&endTime=2026-03-04T11:00:00")
	if len(l) != 1 {
		t.Fatalf("listing %v", l)
	}
	got := l[0]
	want := listed{
		ContentType:       "Audit.General",
		ContentID:         id,
		ContentURI:        e.base + "/api/v1.0/" + tenantA + "/activity/feed/audit/" + id,
		ContentCreated:    "2026-03-04T10:31:00.720Z",
		ContentExpiration: "2026-03-11T10:31:00.720Z",
	}
	if got != want {
		t.Errorf("entry %+v\nwant  %+v", got, want)
	}
	// Same shape as the fixture's ids: <23 digits>$<23 digits>$audit_general$Audit_General,
	// starting with contentCreated to the second and one hour later.
	re := regexp.MustCompile(`^20260304103100\d{9}\$20260304113100\d{9}\$audit_general\$Audit_General$`)
	if !re.MatchString(id) {
		t.Errorf("content id %q", id)
	}
	var fx []listed
	if err := json.Unmarshal(fixture(t, "management-api-content-list.json"), &fx); err != nil {
		t.Fatal(err)
	}
	if !re.MatchString(fx[0].ContentID) || fx[0].ContentCreated != got.ContentCreated || fx[0].ContentExpiration != got.ContentExpiration {
		t.Errorf("fixture entry %+v does not have our shape", fx[0])
	}
}

func TestLateBlobListedUnderOlderCreated(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.clk.Set(time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC))
	e.start(tok)
	created := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	visible := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	onTime := e.srv.Publish(tenantA, "Audit.General", [][]byte{[]byte(`{"Id":"on-time"}`)}, created.Add(time.Minute), time.Time{})
	late := e.srv.Publish(tenantA, "Audit.General", [][]byte{[]byte(`{"Id":"late"}`)}, created, visible)
	const win = "&startTime=2026-03-04T09:00:00Z&endTime=2026-03-04T11:00:00Z"

	if _, l := e.list(tok, win); strings.Join(ids(l), ",") != onTime {
		t.Fatalf("before visible: %v", ids(l))
	}
	if r := e.do("GET", feedPath(tenantA, "audit/"+late), tok, nil); afCode(t, r.body) != "AF20050" {
		t.Fatalf("fetch before visible: %s", r.body)
	}
	e.clk.Set(visible.Add(-time.Millisecond))
	if _, l := e.list(tok, win); len(l) != 1 {
		t.Fatalf("1 ms before visible: %v", ids(l))
	}
	e.clk.Set(visible)
	_, l := e.list(tok, win)
	if strings.Join(ids(l), ",") != late+","+onTime {
		t.Fatalf("after visible: %v, want [late onTime]", ids(l))
	}
	if l[0].ContentCreated != "2026-03-04T10:00:00.000Z" {
		t.Errorf("late blob created %s", l[0].ContentCreated)
	}
	if r := e.do("GET", feedPath(tenantA, "audit/"+late), tok, nil); string(r.body) != `[{"Id":"late"}]` {
		t.Errorf("fetch late blob: %s", r.body)
	}
}

func TestContentPagingNextPageUri(t *testing.T) {
	e := newEnv(t, Options{PageSize: 2})
	tok := e.manageToken()
	e.start(tok)
	var all []string
	for i := range 6 {
		created := time.Date(2026, 3, 4, 10, 5*i, 0, 0, time.UTC)
		visible := created
		if i == 2 {
			visible = t0.Add(time.Hour) // invisible now: must not take a page slot
		}
		id := e.srv.Publish(tenantA, "Audit.General", nil, created, visible)
		if i != 2 {
			all = append(all, id)
		}
	}
	// 5 visible blobs, 2 per page: pages [0,1] [3,4] [5].
	wantPages := [][]string{all[0:2], all[2:4], all[4:5]}
	link := e.base + feedPath(tenantA, "subscriptions/content?contentType=Audit.General&startTime=2026-03-04T10:00:00&endTime=2026-03-04T12:00:00&PublisherIdentifier="+tenantA)
	var links []string
	for p, want := range wantPages {
		r := e.do("GET", link, tok, nil)
		var l []listed
		if err := json.Unmarshal(r.body, &l); err != nil || r.status != 200 {
			t.Fatalf("page %d: %d %s", p+1, r.status, r.body)
		}
		if got := strings.Join(ids(l), ","); got != strings.Join(want, ",") {
			t.Errorf("page %d: %v, want %v", p+1, ids(l), want)
		}
		link = r.header.Get("NextPageUri")
		if p < 2 && link == "" {
			t.Fatalf("page %d has no NextPageUri", p+1)
		}
		if p == 2 && link != "" {
			t.Fatalf("last page has NextPageUri %s", link)
		}
		links = append(links, link)
	}
	// The real shape: lower-case keys, 7-digit fractions, the original window.
	prefix := e.base + "/api/v1.0/" + tenantA + "/activity/feed/subscriptions/content?contenttype=Audit.General" +
		"&starttime=2026-03-04T10:00:00.0000000Z&endtime=2026-03-04T12:00:00.0000000Z&nextpage="
	if !strings.HasPrefix(links[0], prefix) {
		t.Fatalf("NextPageUri %s\nwant prefix %s", links[0], prefix)
	}
	u, _ := url.Parse(links[0])
	if !strings.HasPrefix(u.Query().Get("nextpage"), "202603041015000000000$") || u.Query().Get("publisheridentifier") != tenantA {
		t.Errorf("next page link query %v", u.Query())
	}

	// A bad token: AF20031. A link saved for more than 7 days: AF20055, every time.
	bad := strings.Replace(links[0], "nextpage=", "nextpage=x", 1)
	if r := e.do("GET", bad, tok, nil); afCode(t, r.body) != "AF20031" {
		t.Errorf("bad nextpage: %s", r.body)
	}
	e.clk.Set(time.Date(2026, 3, 11, 10, 0, 1, 0, time.UTC))
	tok = e.manageToken()
	for range 2 {
		if r := e.do("GET", links[0], tok, nil); afCode(t, r.body) != "AF20055" {
			t.Errorf("stale link: %d %s", r.status, r.body)
		}
	}
}

func TestBlobFetchAndExpiry(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	created := time.Date(2026, 3, 4, 10, 31, 0, 720_000_000, time.UTC)
	id := e.srv.Publish(tenantA, "Audit.General", blobRecords(t, "management-api-blob.json"), created, time.Time{})
	empty := e.srv.Publish(tenantA, "Audit.General", [][]byte{}, created, time.Time{})
	gen := e.srv.PublishFunc(tenantA, "Audit.General", 3, func(i int) []byte {
		return []byte(`{"i":` + string(rune('0'+i)) + `}`)
	}, created, time.Time{})
	otherTenant := e.srv.Publish(tenantB, "Audit.General", [][]byte{[]byte(`{}`)}, created, time.Time{})

	// The wire body is the fixture's array, compact.
	var want bytes.Buffer
	if err := json.Compact(&want, fixture(t, "management-api-blob.json")); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil)
	if r.status != 200 || !bytes.Equal(r.body, want.Bytes()) {
		t.Fatalf("blob: %d, %d bytes, want %d", r.status, len(r.body), want.Len())
	}
	if r.header.Get("Content-Length") != strconv.Itoa(want.Len()) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", r.header)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(r.body, &elems); err != nil || len(elems) != 10 {
		t.Errorf("blob has %d elements (%v), want 10", len(elems), err)
	}
	// The same path with $ percent-encoded.
	if r := e.do("GET", feedPath(tenantA, "audit/"+strings.ReplaceAll(id, "$", "%24")), tok, nil); r.status != 200 {
		t.Errorf("encoded id: %d", r.status)
	}
	if r := e.do("GET", feedPath(tenantA, "audit/"+empty), tok, nil); string(r.body) != "[]" {
		t.Errorf("empty blob: %s", r.body)
	}
	r = e.do("GET", feedPath(tenantA, "audit/"+gen), tok, nil)
	if string(r.body) != `[{"i":0},{"i":1},{"i":2}]` {
		t.Errorf("generated blob: %s", r.body)
	}
	for _, unknown := range []string{"nope", otherTenant} {
		if r := e.do("GET", feedPath(tenantA, "audit/"+unknown), tok, nil); r.status != 400 || afCode(t, r.body) != "AF20050" {
			t.Errorf("unknown %s: %d %s", unknown, r.status, r.body)
		}
	}
	// Fetchable up to contentExpiration (created + 7 days) inclusive.
	e.clk.Set(created.Add(7 * 24 * time.Hour))
	tok = e.manageToken()
	if r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil); r.status != 200 {
		t.Errorf("at expiration: %d %s", r.status, r.body)
	}
	e.clk.Add(time.Millisecond)
	if r := e.do("GET", feedPath(tenantA, "audit/"+id), tok, nil); r.status != 400 || afCode(t, r.body) != "AF20051" {
		t.Errorf("after expiration: %d %s", r.status, r.body)
	}
}

// TestBlobStreamingMemory: serving a 40 MB generated blob allocates far less
// than its size, because the body is streamed record by record.
func TestBlobStreamingMemory(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.manageToken()
	e.start(tok)
	rec := []byte(`{"Id":"` + strings.Repeat("x", 1000) + `"}`)
	const n = 40_000
	id := e.srv.PublishFunc(tenantA, "Audit.General", n, func(int) []byte { return rec }, t0.Add(-time.Hour), time.Time{})

	req := e.base + feedPath(tenantA, "audit/"+id)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	total := e.discard(req, tok)
	runtime.ReadMemStats(&after)
	wantSize := int64(n*len(rec) + n - 1 + 2)
	if total != wantSize {
		t.Fatalf("read %d bytes, want %d", total, wantSize)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(wantSize/10) {
		t.Errorf("allocated %d bytes serving a %d-byte blob", alloc, wantSize)
	}
}

// discard fetches a URL and counts the body bytes without keeping them.
func (e *env) discard(rawURL, tok string) int64 {
	e.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}
