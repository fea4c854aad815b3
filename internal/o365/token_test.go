package o365

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testTenant = "424b1fee-9709-4315-85d9-5954058b4714"
	testClient = "6a1f0e7c-3b2d-4c5e-9f80-112233445566"
	testSecret = "s3cr3t-value~with.chars"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	testDER []byte
)

// testCert returns a self-signed RSA certificate and its key, made once.
func testCert(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "aiwatch test"},
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		testKey, testDER = k, der
	})
	cert, err := x509.ParseCertificate(testDER)
	if err != nil {
		t.Fatal(err)
	}
	return testKey, cert
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

// tokenEndpoint answers token requests with tok-1, tok-2, … and records
// each request's form.
type tokenEndpoint struct {
	mu        sync.Mutex
	forms     []map[string]string
	n         atomic.Int32
	expiresIn any
	check     func(r *http.Request, form map[string]string) error
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", 400)
		return
	}
	form := map[string]string{}
	for k, v := range r.PostForm {
		form[k] = v[0]
	}
	te.mu.Lock()
	te.forms = append(te.forms, form)
	te.mu.Unlock()
	if te.check != nil {
		if err := te.check(r, form); err != nil {
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": err.Error()})
			return
		}
	}
	n := te.n.Add(1)
	exp := te.expiresIn
	if exp == nil {
		exp = 3599
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": exp, "access_token": fmt.Sprintf("tok-%d", n)})
}

func TestTokenSecretV1V2(t *testing.T) {
	tests := []struct {
		name      string
		v1        bool
		path      string
		expiresIn any
		want      map[string]string
	}{
		{"v2", false, "/" + testTenant + "/oauth2/v2.0/token", 3599, map[string]string{
			"grant_type": "client_credentials", "client_id": testClient, "client_secret": testSecret,
			"scope": "https://manage.office.com/.default"}},
		{"v1", true, "/" + testTenant + "/oauth2/token", "3599", map[string]string{
			"grant_type": "client_credentials", "client_id": testClient, "client_secret": testSecret,
			"resource": "https://manage.office.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := &tokenEndpoint{expiresIn: tc.expiresIn}
			mux := http.NewServeMux()
			mux.Handle(tc.path, te)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			clk := &fakeClock{t: t0}
			ts := NewTokenSource(srv.Client(), srv.URL+"/", testTenant, "https://manage.office.com/",
				Credentials{ClientID: testClient, ClientSecret: testSecret}, clk.Now)
			ts.V1 = tc.v1
			for range 3 {
				tok, err := ts.Token(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if tok != "tok-1" {
					t.Fatalf("token = %q, want tok-1", tok)
				}
			}
			if len(te.forms) != 1 {
				t.Fatalf("token requests = %d, want 1 (cached)", len(te.forms))
			}
			got := te.forms[0]
			if len(got) != len(tc.want) {
				t.Errorf("form = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("form[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestTokenCertificateAssertion(t *testing.T) {
	key, cert := testCert(t)
	thumb := sha1.Sum(cert.Raw)
	clk := &fakeClock{t: t0}
	var srvURL string
	te := &tokenEndpoint{}
	te.check = func(r *http.Request, form map[string]string) error {
		if form["client_secret"] != "" {
			return errors.New("secret sent with certificate")
		}
		if form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return fmt.Errorf("client_assertion_type %q", form["client_assertion_type"])
		}
		if form["scope"] != "https://manage.office.com/.default" || form["client_id"] != testClient {
			return fmt.Errorf("scope %q client_id %q", form["scope"], form["client_id"])
		}
		parts := strings.Split(form["client_assertion"], ".")
		if len(parts) != 3 {
			return fmt.Errorf("assertion has %d parts", len(parts))
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return err
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			return fmt.Errorf("signature: %w", err)
		}
		var hdr map[string]string
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		if err := json.Unmarshal(hb, &hdr); err != nil {
			return err
		}
		if hdr["alg"] != "RS256" || hdr["x5t"] != base64.RawURLEncoding.EncodeToString(thumb[:]) {
			return fmt.Errorf("header %v", hdr)
		}
		var claims map[string]any
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if err := json.Unmarshal(cb, &claims); err != nil {
			return err
		}
		wantAud := srvURL + "/" + testTenant + "/oauth2/v2.0/token"
		if claims["aud"] != wantAud || claims["iss"] != testClient || claims["sub"] != testClient {
			return fmt.Errorf("claims %v, want aud %s", claims, wantAud)
		}
		if jti, _ := claims["jti"].(string); len(jti) < 16 {
			return fmt.Errorf("jti %q", claims["jti"])
		}
		if claims["nbf"] != float64(t0.Unix()) || claims["exp"] != float64(t0.Unix()+600) {
			return fmt.Errorf("nbf %v exp %v", claims["nbf"], claims["exp"])
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/"+testTenant+"/oauth2/v2.0/token", te)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	ts := NewTokenSource(srv.Client(), srv.URL, testTenant, "https://manage.office.com",
		Credentials{ClientID: testClient, CertKey: key, CertThumbprint: thumb[:]}, clk.Now)
	tok, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok != "tok-1" {
		t.Fatalf("token = %q", tok)
	}
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	te := &tokenEndpoint{expiresIn: 3600}
	srv := httptest.NewServer(te)
	defer srv.Close()
	clk := &fakeClock{t: t0}
	ts := NewTokenSource(srv.Client(), srv.URL, testTenant, "https://manage.office.com",
		Credentials{ClientID: testClient, ClientSecret: testSecret}, clk.Now)
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "tok-1"},
		{54*time.Minute + 59*time.Second, "tok-1"}, // 5m01s before expiry: still cached
		{time.Second, "tok-2"},                     // exactly 5m before expiry: refreshed
		{30 * time.Minute, "tok-2"},
		{25 * time.Minute, "tok-3"},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		tok, err := ts.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok != s.want {
			t.Fatalf("step %d: token %q, want %q", i, tok, s.want)
		}
	}
	ts.Invalidate()
	if tok, _ := ts.Token(context.Background()); tok != "tok-4" {
		t.Fatalf("after Invalidate: %q, want tok-4", tok)
	}
}

func TestTokenError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}`)
	}))
	defer srv.Close()
	ts := NewTokenSource(srv.Client(), srv.URL, testTenant, "https://manage.office.com",
		Credentials{ClientID: testClient, ClientSecret: testSecret}, nil)
	_, err := ts.Token(context.Background())
	var te *TokenError
	if !errors.As(err, &te) || te.Status != 401 || te.Code != "invalid_client" {
		t.Fatalf("err = %v", err)
	}
	want := "token request failed: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided."
	if err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if IsRetryable(err) {
		t.Fatal("invalid_client must not be retryable")
	}
}

func TestCredentialsStringHidesSecret(t *testing.T) {
	c := Credentials{ClientID: testClient, ClientSecret: testSecret}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v", c, c, c)} {
		if strings.Contains(s, testSecret) {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

// An answer that is not Entra ID's OAuth error (a wrong login endpoint, a
// proxy) names the URL asked, without user info, the secret or the body.
func TestTokenErrorNamesURL(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		v1     bool
		want   string // %s: the server's host
	}{
		{"wrong endpoint", 404, "<html>404 Not Found</html>", false,
			"token request to http://%s/" + testTenant + "/oauth2/v2.0/token failed: HTTP 404; check the tenant's login endpoint"},
		{"wrong endpoint v1", 404, "", true,
			"token request to http://%s/" + testTenant + "/oauth2/token failed: HTTP 404; check the tenant's login endpoint"},
		{"proxy error", 502, "Bad Gateway", false,
			"token request to http://%s/" + testTenant + "/oauth2/v2.0/token failed: HTTP 502"},
		{"no token in a 200", 200, `{"token_type":"Bearer"}`, false,
			"token request to http://%s/" + testTenant + "/oauth2/v2.0/token failed: HTTP 200: response holds no access_token"},
		{"OAuth error keeps its text", 400, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found."}`, false,
			"token request failed: HTTP 400 invalid_request: AADSTS90002: Tenant not found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			// User info in the login URL (a proxy's) is never repeated.
			ts := NewTokenSource(srv.Client(), "http://proxyuser:proxypass@"+host, testTenant, "https://manage.office.com",
				Credentials{ClientID: testClient, ClientSecret: testSecret}, nil)
			ts.V1 = tc.v1
			_, err := ts.Token(context.Background())
			var te *TokenError
			if !errors.As(err, &te) || te.Status != tc.status {
				t.Fatalf("err = %v", err)
			}
			if want := strings.ReplaceAll(tc.want, "%s", host); err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
			for _, leak := range []string{testSecret, "proxypass", "proxyuser", "client_secret"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("err %q repeats %q", err, leak)
				}
			}
		})
	}
}
