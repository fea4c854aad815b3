package o365fake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	keyOnce       sync.Once
	certKey, eKey *rsa.PrivateKey
)

// testKeys makes two RSA keys once: the registered one and an impostor.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if certKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if eKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return certKey, eKey
}

func signJWT(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

type aadBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

func TestTokenV1SecretAnswersStrings(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.postForm("/"+tenantA+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "resource": {"https://manage.office.com"},
		"client_id": {clientA}, "client_secret": {secretA},
	})
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	// 2026-03-04T12:00:00Z is Unix 1772625600; + 3599 s = 1772629199.
	want := map[string]any{
		"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
		"expires_on": "1772629199", "not_before": "1772625600", "resource": "https://manage.office.com",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %#v, want %#v", k, body[k], v)
		}
	}
	tok, _ := body["access_token"].(string)
	e.start(tok)
}

func TestTokenV2SecretAndExpiry(t *testing.T) {
	e := newEnv(t, Options{TokenTTL: 600 * time.Second})
	r := e.postForm("/"+tenantA+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {"https://manage.office.com/.default"},
		"client_id": {clientA}, "client_secret": {secretA},
	})
	var body struct {
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		AccessToken string          `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || r.status != 200 {
		t.Fatalf("status %d %s %v", r.status, r.body, err)
	}
	if body.TokenType != "Bearer" || string(body.ExpiresIn) != "600" || body.AccessToken == "" {
		t.Fatalf("body %s", r.body)
	}
	list := feedPath(tenantA, "subscriptions/list")
	e.clk.Add(599 * time.Second)
	if r := e.do("GET", list, body.AccessToken, nil); r.status != 200 {
		t.Fatalf("at 599s: %d", r.status)
	}
	e.clk.Add(time.Second)
	r = e.do("GET", list, body.AccessToken, nil)
	if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("at 600s: %d, WWW-Authenticate %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

func TestTokenErrors(t *testing.T) {
	ok := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientA}, "client_secret": {secretA},
		"scope": {"https://manage.office.com/.default"},
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range ok {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := []struct {
		name   string
		path   string
		form   url.Values
		status int
		kind   string
		code   int
	}{
		{"wrong secret", "/" + tenantA + "/oauth2/v2.0/token", with("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"tenant B's secret", "/" + tenantA + "/oauth2/v2.0/token", with("client_secret", secretB), 401, "invalid_client", 7000215},
		{"no secret", "/" + tenantA + "/oauth2/v2.0/token", with("client_secret", ""), 401, "invalid_client", 7000216},
		{"unknown client", "/" + tenantA + "/oauth2/v2.0/token", with("client_id", clientB), 400, "unauthorized_client", 700016},
		{"unknown tenant", "/contoso.example/oauth2/v2.0/token", ok, 400, "invalid_request", 90002},
		{"password grant", "/" + tenantA + "/oauth2/v2.0/token", with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"scope without .default", "/" + tenantA + "/oauth2/v2.0/token", with("scope", "https://manage.office.com"), 400, "invalid_scope", 1002012},
		{"v1 without resource", "/" + tenantA + "/oauth2/token", ok, 400, "invalid_request", 900144},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			r := e.postForm(tc.path, tc.form)
			var b aadBody
			if err := json.Unmarshal(r.body, &b); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if r.status != tc.status || b.Error != tc.kind || len(b.Codes) != 1 || b.Codes[0] != tc.code {
				t.Errorf("got %d %s %v, want %d %s [%d]", r.status, b.Error, b.Codes, tc.status, tc.kind, tc.code)
			}
			if !strings.HasPrefix(b.Description, "AADSTS") || strings.Contains(b.Description, secretA) {
				t.Errorf("description %q", b.Description)
			}
			if e.srv.Stats(tenantA).TokensIssued != 0 {
				t.Error("a token was issued")
			}
		})
	}
}

func TestTokenCertificateAssertion(t *testing.T) {
	key, other := testKeys(t)
	thumb := []byte("0123456789abcdefghij") // 20 bytes, like a SHA-1
	x5t := base64.RawURLEncoding.EncodeToString(thumb)
	const certTenant = "c0ffee00-1234-4abc-8def-0123456789ab"
	const certClient = "c1c1c1c1-0000-4000-8000-000000000001"

	e := newEnv(t, Options{})
	e.srv.AddTenant(Tenant{ID: certTenant, ClientID: certClient, CertPublicKey: &key.PublicKey, CertThumbprint: thumb})
	aud := e.base + "/" + certTenant + "/oauth2/v2.0/token"
	now := t0.Unix()
	hdr := map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t}
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"aud": aud, "iss": certClient, "sub": certClient, "jti": "j1", "nbf": now, "exp": now + 600}
		if mod != nil {
			mod(c)
		}
		return c
	}
	cases := []struct {
		name      string
		assertion string
		status    int
		code      int
	}{
		{"valid", signJWT(t, key, hdr, claims(nil)), 200, 0},
		{"v1 audience accepted", signJWT(t, key, hdr, claims(func(c map[string]any) { c["aud"] = e.base + "/" + certTenant + "/oauth2/token" })), 200, 0},
		{"signed by another key", signJWT(t, other, hdr, claims(nil)), 401, 700027},
		{"wrong thumbprint", signJWT(t, key, map[string]any{"alg": "RS256", "x5t": "AAAA"}, claims(nil)), 401, 700027},
		{"wrong audience", signJWT(t, key, hdr, claims(func(c map[string]any) { c["aud"] = "https://login.example/x/oauth2/v2.0/token" })), 401, 50013},
		{"iss is not the client", signJWT(t, key, hdr, claims(func(c map[string]any) { c["iss"] = clientA })), 401, 700021},
		{"expired", signJWT(t, key, hdr, claims(func(c map[string]any) { c["exp"] = now })), 401, 700024},
		{"not yet valid", signJWT(t, key, hdr, claims(func(c map[string]any) { c["nbf"] = now + 60 })), 401, 700024},
		{"malformed", "not.a.jwt!", 401, 50027},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm("/"+certTenant+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {certClient},
				"scope":                 {"https://manage.office.com/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {tc.assertion},
			})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code == 0 {
				return
			}
			var b aadBody
			_ = json.Unmarshal(r.body, &b)
			if b.Error != "invalid_client" || len(b.Codes) != 1 || b.Codes[0] != tc.code {
				t.Errorf("got %s %v, want invalid_client [%d]", b.Error, b.Codes, tc.code)
			}
		})
	}
	// A secret does not work for a certificate-only app.
	r := e.postForm("/"+certTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {certClient}, "client_secret": {"x"},
		"scope": {"https://manage.office.com/.default"},
	})
	if r.status != 401 {
		t.Errorf("secret on cert app: %d", r.status)
	}
	if got := e.srv.Stats(certTenant).TokensIssued; got != 2 {
		t.Errorf("tokens issued = %d, want 2", got)
	}
}

func TestManagementAuthChecks(t *testing.T) {
	e := newEnv(t, Options{})
	tokA := e.manageToken()
	tokB := e.token(tenantB, clientB, secretB, "https://manage.office.com")
	graphTok := e.graphToken()
	e.srv.AddTenant(Tenant{ID: "aaaaaaaa-0000-4000-8000-00000000000f", ClientID: clientA, ClientSecret: secretA, AuditingOff: true})
	offTok := e.token("aaaaaaaa-0000-4000-8000-00000000000f", clientA, secretA, "https://manage.office.com")

	cases := []struct {
		name   string
		tenant string
		token  string
		status int
		code   string
	}{
		{"no token", tenantA, "", 401, "Unauthorized"},
		{"unknown token", tenantA, "forged", 401, "Unauthorized"},
		{"tenant B's token on tenant A", tenantA, tokB, 401, "AF20010"},
		{"Graph token on the Management API", tenantA, graphTok, 401, "AF10001"},
		{"tenant id not a GUID", "contoso.example", tokA, 400, "AF20013"},
		{"audit logging off", "aaaaaaaa-0000-4000-8000-00000000000f", offTok, 400, "AF20012"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", feedPath(tc.tenant, "subscriptions/start?contentType=Audit.General"), tc.token, nil)
			if r.status != tc.status || afCode(t, r.body) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if n := e.srv.Stats(tenantA).SubscriptionStarts; n != 0 {
		t.Errorf("starts = %d", n)
	}
	// The same token works for its own tenant, case-insensitively.
	r := e.do("POST", feedPath(strings.ToUpper(tenantB), "subscriptions/start?contentType=Audit.General"), tokB, nil)
	if r.status != 200 {
		t.Errorf("tenant B own start: %d %s", r.status, r.body)
	}
}
