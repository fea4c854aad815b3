package automate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

type mailRec struct {
	from string
	to   []string
	data string
	auth string
	tls  bool
}

// smtpServer is a minimal SMTP server on loopback: EHLO, optional
// STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config // offers STARTTLS when set
	rcptCode int         // reply to RCPT; 0 is 250
	mu       sync.Mutex
	mails    []mailRec
}

func startSMTP(t *testing.T, s *smtpServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 mx.test ESMTP")
	var cur mailRec
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"mx.test", "AUTH PLAIN", "8BITMIME"}
			if s.tls != nil && !cur.tls {
				ext = append(ext, "STARTTLS")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, tp, cur.tls = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			if mech != "PLAIN" || err != nil {
				tp.PrintfLine("504 unsupported")
				continue
			}
			cur.auth = string(b)
			tp.PrintfLine("235 accepted")
		case "MAIL":
			cur.from, _, _ = strings.Cut(strings.TrimPrefix(arg, "FROM:<"), ">") // then parameters such as BODY=8BITMIME
			tp.PrintfLine("250 ok")
		case "RCPT":
			if s.rcptCode != 0 {
				tp.PrintfLine("%d mailbox unavailable", s.rcptCode)
				continue
			}
			cur.to = append(cur.to, strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">"))
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 end with .")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = string(b)
			s.mu.Lock()
			s.mails = append(s.mails, cur)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestEmail(t *testing.T) {
	ctx := context.Background()
	serverTLS, roots := selfSigned(t)
	for _, tc := range []struct {
		name     string
		offerTLS bool
		starttls string
		rcptCode int
		state    string
		reason   string
	}{
		{name: "plain", starttls: "auto", state: StateDelivered},
		{name: "starttls offered and used", offerTLS: true, starttls: "auto", state: StateDelivered},
		{name: "starttls required and offered", offerTLS: true, starttls: "required", state: StateDelivered},
		{name: "starttls required, not offered", starttls: "required", state: StateFailed,
			reason: "the SMTP server does not offer STARTTLS and smtp.starttls is required"},
		{name: "recipient refused", starttls: "auto", rcptCode: 550, state: StateFailed,
			reason: "SMTP RCPT TO soc@contoso.com: 550 mailbox unavailable"},
		{name: "recipient deferred", starttls: "auto", rcptCode: 451, state: StatePending,
			reason: "SMTP RCPT TO soc@contoso.com: 451 mailbox unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &smtpServer{rcptCode: tc.rcptCode}
			if tc.offerTLS {
				srv.tls = serverTLS
			}
			addr := startSMTP(t, srv)
			host, port, _ := net.SplitHostPort(addr)
			t.Setenv("AIWATCH_TEST_SMTP_PW", "mail-pass-778899")
			cfg := parseConfig(t, fmt.Sprintf(`
incident_url: https://aiwatch.contoso.com/incidents/{id}
automation_rules:
  - name: mail
    actions: [{run_playbook: mail-soc}]
playbooks:
  - name: mail-soc
    type: email
    timeout: 5s
    smtp:
      host: %s
      port: %s
      starttls: %s
      username: aiwatch@contoso.com
      password_env: AIWATCH_TEST_SMTP_PW
      from: aiwatch alerts <aiwatch@contoso.com>
      to: [soc@contoso.com, "On Call <oncall@contoso.com>"]
`, host, port, tc.starttls))
			db := newStore(t)
			var logs syncBuffer
			eng, err := New(cfg, db, &recUpdater{}, Options{TLSConfig: &tls.Config{RootCAs: roots}, Logger: testLogger(&logs)})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Handle(ctx, Event{Kind: EventCreated, Incident: sampleIncident()}); err != nil {
				t.Fatal(err)
			}
			eng.Deliver(ctx)
			rows, _ := ListDeliveries(ctx, db, "", 1)
			if len(rows) != 1 || rows[0].State != tc.state || rows[0].LastError != tc.reason {
				t.Fatalf("row %+v, want %s with %q", rows, tc.state, tc.reason)
			}
			if strings.Contains(logs.String(), "mail-pass-778899") {
				t.Error("the SMTP password is in the log")
			}
			if tc.state != StateDelivered {
				return
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.mails) != 1 {
				t.Fatalf("%d mails", len(srv.mails))
			}
			m := srv.mails[0]
			if m.from != "aiwatch@contoso.com" || strings.Join(m.to, ",") != "soc@contoso.com,oncall@contoso.com" {
				t.Errorf("envelope from %q to %q", m.from, m.to)
			}
			if m.auth != "\x00aiwatch@contoso.com\x00mail-pass-778899" {
				t.Errorf("AUTH PLAIN %q", m.auth)
			}
			if m.tls != tc.offerTLS {
				t.Errorf("TLS used %v, offered %v", m.tls, tc.offerTLS)
			}
			// ReadDotBytes turned CRLF into LF.
			head, body, _ := strings.Cut(m.data, "\n\n")
			for _, h := range []string{
				"Subject: [aiwatch] High Incident #42: Copilot jailbreak attempt by alice",
				`From: "aiwatch alerts" <aiwatch@contoso.com>`,
				`To: <soc@contoso.com>, "On Call" <oncall@contoso.com>`,
				"Content-Type: text/plain; charset=utf-8",
				"Message-ID: <" + rows[0].ID + "@aiwatch>",
				"X-Aiwatch-Delivery: " + rows[0].ID,
			} {
				if !strings.Contains(head+"\n", h+"\n") {
					t.Errorf("headers lack %q:\n%s", h, head)
				}
			}
			text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"aiwatch Incident #42: Copilot jailbreak attempt by alice\n",
				"Severity: High\n",
				"  - Account: alice@contoso.com\n  - IP: 203.0.113.7\n",
				"Link: https://aiwatch.contoso.com/incidents/inc-7f3a\n",
				"Copilot flagged a jailbreak attempt in a Teams chat.",
			} {
				if !strings.Contains(string(text), want) {
					t.Errorf("body lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

// A title with a line break cannot add a header.
func TestEmailHeaderInjection(t *testing.T) {
	p := Payload{DeliveryID: "d1", Incident: Incident{Number: 3, Severity: "Low", Title: "x\r\nBcc: victim@example.com"}}
	from := &mail.Address{Address: "a@contoso.com"}
	msg := string(emailMessage(SMTP{}, from, nil, p, t0))
	if strings.Contains(msg, "\r\nBcc:") {
		t.Errorf("header injected:\n%s", msg)
	}
}
