package config

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365"
)

// Tenant is one Microsoft 365 tenant to collect from, with the Entra ID
// application that reads its audit feed.
type Tenant struct {
	Name     string `yaml:"name"`
	TenantID string `yaml:"tenant_id"`
	ClientID string `yaml:"client_id"`

	// Exactly one of these three holds the credential.
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	CertificateFile  string `yaml:"certificate_file"` // PEM: certificate, and the RSA key unless key_file is set
	KeyFile          string `yaml:"key_file"`

	Cloud     string    `yaml:"cloud"` // commercial (default), gcc, gcchigh, dod
	Endpoints Endpoints `yaml:"endpoints"`

	// Overrides of the collector section; zero or empty means inherit.
	Backfill     Duration `yaml:"backfill"`
	PollInterval Duration `yaml:"poll_interval"`
	Publisher    string   `yaml:"publisher_identifier"`
	ContentTypes []string `yaml:"content_types"`
}

// Endpoints overrides the cloud's hosts (proxies, tests).
type Endpoints struct {
	Login      string `yaml:"login"`
	Management string `yaml:"management"`
	Graph      string `yaml:"graph"` // with version, e.g. https://graph.microsoft.com/beta
}

// ResolveEndpoints returns the cloud's hosts with the overrides applied.
func (t Tenant) ResolveEndpoints() (Endpoints, error) {
	login, manage, err := o365.Endpoints(o365.Cloud(t.Cloud))
	if err != nil {
		return Endpoints{}, err
	}
	graph, err := o365.GraphEndpoint(o365.Cloud(t.Cloud))
	if err != nil {
		return Endpoints{}, err
	}
	e := Endpoints{Login: login, Management: manage, Graph: graph}
	if t.Endpoints.Login != "" {
		e.Login = t.Endpoints.Login
	}
	if t.Endpoints.Management != "" {
		e.Management = t.Endpoints.Management
	}
	if t.Endpoints.Graph != "" {
		e.Graph = t.Endpoints.Graph
	}
	return e, nil
}

// Secret reads the client secret from the environment or the file
// (trailing newlines trimmed). The value must never be logged.
func (t Tenant) Secret() (string, error) {
	switch {
	case t.ClientSecretEnv != "":
		v := os.Getenv(t.ClientSecretEnv)
		if v == "" {
			return "", fmt.Errorf("client_secret_env %q is not set in the environment", t.ClientSecretEnv)
		}
		return v, nil
	case t.ClientSecretFile != "":
		b, err := os.ReadFile(t.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("client_secret_file %q cannot be read: %s", t.ClientSecretFile, pathErr(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("client_secret_file %q is empty", t.ClientSecretFile)
		}
		return v, nil
	case t.CertificateFile != "":
		return "", errors.New("tenant uses certificate_file, not a client secret")
	}
	return "", errors.New("no client secret configured")
}

// Credentials loads the secret or the certificate for the token source.
func (t Tenant) Credentials() (o365.Credentials, error) {
	if t.CertificateFile == "" {
		s, err := t.Secret()
		if err != nil {
			return o365.Credentials{}, err
		}
		return o365.Credentials{ClientID: t.ClientID, ClientSecret: s}, nil
	}
	key, cert, err := t.loadCertificate()
	if err != nil {
		return o365.Credentials{}, err
	}
	thumb := sha1.Sum(cert.Raw)
	return o365.Credentials{ClientID: t.ClientID, CertKey: key, CertThumbprint: thumb[:]}, nil
}

// loadCertificate reads the certificate (first CERTIFICATE block) and its
// RSA key, from certificate_file or key_file, and checks they belong
// together.
func (t Tenant) loadCertificate() (crypto.Signer, *x509.Certificate, error) {
	certPEM, err := os.ReadFile(t.CertificateFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate_file %q cannot be read: %s", t.CertificateFile, pathErr(err))
	}
	keyPEM, keyName, keyPath := certPEM, "certificate_file", t.CertificateFile
	if t.KeyFile != "" {
		keyName, keyPath = "key_file", t.KeyFile
		if keyPEM, err = os.ReadFile(t.KeyFile); err != nil {
			return nil, nil, fmt.Errorf("key_file %q cannot be read: %s", t.KeyFile, pathErr(err))
		}
	}
	var cert *x509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			if cert, err = x509.ParseCertificate(b.Bytes); err != nil {
				return nil, nil, fmt.Errorf("certificate_file %q: cannot parse certificate: %v", t.CertificateFile, err)
			}
			break
		}
	}
	if cert == nil {
		return nil, nil, fmt.Errorf("certificate_file %q holds no PEM CERTIFICATE block", t.CertificateFile)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		hint := ""
		if t.KeyFile == "" && errors.Is(err, errNoKey) {
			hint = "; put the key in the same PEM file or set key_file"
		}
		return nil, nil, fmt.Errorf("%s %q: %v%s", keyName, keyPath, err, hint)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("%s %q: the private key does not belong to the certificate in %q", keyName, keyPath, t.CertificateFile)
	}
	return key, cert, nil
}

var errNoKey = errors.New("no private key found")

func parseKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, errNoKey
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, errors.New("the private key is encrypted; store it unencrypted and protect the file's permissions")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			return nil, errors.New("the private key must be RSA (Entra ID client assertions use RS256)")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse private key: %v", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the private key must be RSA (Entra ID client assertions use RS256)")
		}
		return rk, nil
	}
}

// checkCertificate reports certificate problems for Validate.
func (t Tenant) checkCertificate(now time.Time) error {
	_, cert, err := t.loadCertificate()
	if err != nil {
		return err
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("certificate_file %q: the certificate expired on %s", t.CertificateFile, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return nil
}

// pathErr drops the path os errors repeat ("open x: no such file…").
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
