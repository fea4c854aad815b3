package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	keysOnce         sync.Once
	rsaKey, otherKey *rsa.PrivateKey
)

func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey, otherKey
}

func certPEM(t *testing.T, key *rsa.PrivateKey, notAfter time.Time) ([]byte, []byte) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aiwatch"},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), der
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
}

func TestCertificateCredentials(t *testing.T) {
	key, other := keys(t)
	future := time.Now().Add(365 * 24 * time.Hour)
	cert, der := certPEM(t, key, future)
	wantThumb := sha1.Sum(der)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})

	tests := []struct {
		name      string
		certFile  string
		keyFile   string // "" = no key_file
		wantError string
	}{
		{"cert and PKCS#8 key in one file", string(cert) + string(pkcs8PEM(t, key)), "", ""},
		{"key first, PKCS#1", string(pkcs1) + string(cert), "", ""},
		{"separate key_file", string(cert), string(pkcs1), ""},
		{"no key", string(cert), "", `certificate_file "{cert}": no private key found; put the key in the same PEM file or set key_file`},
		{"wrong key", string(cert), string(pkcs8PEM(t, other)), `key_file "{key}": the private key does not belong to the certificate in "{cert}"`},
		{"no certificate", string(pkcs1), "", `certificate_file "{cert}" holds no PEM CERTIFICATE block`},
		{"encrypted key", string(cert) + "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "",
			`certificate_file "{cert}": the private key is encrypted; store it unencrypted and protect the file's permissions`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := Tenant{Name: "c", TenantID: guid1, ClientID: app1, CertificateFile: writeFile(t, "cert.pem", tc.certFile)}
			if tc.keyFile != "" {
				tn.KeyFile = writeFile(t, "key.pem", tc.keyFile)
			}
			cred, err := tn.Credentials()
			if tc.wantError != "" {
				want := strings.NewReplacer("{cert}", tn.CertificateFile, "{key}", tn.KeyFile).Replace(tc.wantError)
				if err == nil || err.Error() != want {
					t.Fatalf("err = %v\nwant  %s", err, want)
				}
				// Validate reports the same problem.
				c := Default()
				c.Tenants = []Tenant{tn}
				if got := problems(t, c.Validate()); len(got) != 1 || got[0] != `tenants[0] (name "c"): `+want {
					t.Fatalf("Validate = %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cred.ClientID != app1 || cred.ClientSecret != "" || string(cred.CertThumbprint) != string(wantThumb[:]) {
				t.Fatalf("cred = %v thumb %x", cred, cred.CertThumbprint)
			}
			// The loaded key signs what the certificate's public key verifies.
			digest := sha256.Sum256([]byte("x"))
			sig, err := cred.CertKey.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil || rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			c := Default()
			c.Tenants = []Tenant{tn}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCertificateRejectsECAndExpired(t *testing.T) {
	key, _ := keys(t)
	cert, _ := certPEM(t, key, time.Now().Add(365*24*time.Hour))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tn := Tenant{Name: "c", TenantID: guid1, ClientID: app1, CertificateFile: writeFile(t, "c.pem", string(cert)),
		KeyFile: writeFile(t, "k.pem", string(pkcs8PEM(t, ec)))}
	if _, err := tn.Credentials(); err == nil || !strings.HasSuffix(err.Error(), "the private key must be RSA (Entra ID client assertions use RS256)") {
		t.Fatalf("EC key: %v", err)
	}

	expired, _ := certPEM(t, key, time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	tn = Tenant{Name: "c", TenantID: guid1, ClientID: app1, CertificateFile: writeFile(t, "e.pem", string(expired)+string(pkcs8PEM(t, key)))}
	c := Default()
	c.Tenants = []Tenant{tn}
	want := `tenants[0] (name "c"): certificate_file "` + tn.CertificateFile + `": the certificate expired on 2025-06-30`
	if got := problems(t, c.Validate()); len(got) != 1 || got[0] != want {
		t.Fatalf("Validate = %q", got)
	}
}
