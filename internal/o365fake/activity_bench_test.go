package o365fake

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkBlobServe measures streaming one 100,000-record blob over
// loopback, from held records and from a generator.
func BenchmarkBlobServe(b *testing.B) {
	rec := []byte(`{"CreationTime":"2026-03-04T10:02:14","Id":"a187e0b6-7407-4f03-ac3a-259daa1a1ce1","Operation":"CopilotInteraction","RecordType":261,"Workload":"Copilot","Pad":"` + strings.Repeat("x", 400) + `"}`)
	const n = 100_000
	held := make([][]byte, n)
	for i := range held {
		held[i] = rec
	}
	srv := New(Options{Now: func() time.Time { return t0 }})
	srv.AddTenant(Tenant{ID: tenantA, ClientID: clientA, ClientSecret: secretA})
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ids := map[string]string{
		"held":      srv.Publish(tenantA, "Audit.General", held, t0.Add(-time.Hour), time.Time{}),
		"generated": srv.PublishFunc(tenantA, "Audit.General", n, func(int) []byte { return rec }, t0.Add(-time.Hour), time.Time{}),
	}
	resp, err := http.PostForm(base+"/"+tenantA+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "resource": {"https://manage.office.com"},
		"client_id": {clientA}, "client_secret": {secretA},
	})
	if err != nil {
		b.Fatal(err)
	}
	tokBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := strings.SplitN(strings.SplitN(string(tokBody), `"access_token":"`, 2)[1], `"`, 2)[0]
	start, _ := http.NewRequest("POST", base+feedPath(tenantA, "subscriptions/start?contentType=Audit.General"), nil)
	start.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(start); err != nil {
		b.Fatal(err)
	} else {
		resp.Body.Close()
	}
	for _, kind := range []string{"held", "generated"} {
		b.Run(kind, func(b *testing.B) {
			req, _ := http.NewRequest("GET", base+feedPath(tenantA, "audit/"+ids[kind]), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.SetBytes(int64(n*(len(rec)+1) + 1))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}
