package automate

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// sendEmail sends the incident as a plain-text mail over SMTP. STARTTLS is
// used whenever the server offers it (smtp.starttls: auto), or demanded
// (required); the password is only sent over TLS, or to a loopback server.
// SMTP 5xx replies fail the delivery, everything else is retried.
func (e *Engine) sendEmail(ctx context.Context, b *book, d delivery) result {
	p, err := decodePayload(d.payload)
	if err != nil {
		return result{reason: err.Error()}
	}
	s := b.SMTP
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return result{reason: "smtp.from is not an email address"}
	}
	var to []*mail.Address
	for _, t := range s.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return result{reason: fmt.Sprintf("smtp.to %q is not an email address", t)}
		}
		to = append(to, a)
	}
	msg := emailMessage(s, from, to, p, e.now())

	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.port()))
	tlsCfg := e.tlsConfig(s.Host)
	var conn net.Conn
	if s.ImplicitTLS {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return result{retry: true, reason: "cannot connect to the SMTP server: " + err.Error()}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return smtpResult("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return smtpResult("EHLO", err)
	}
	if !s.ImplicitTLS && s.StartTLS != "never" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return smtpResult("STARTTLS", err)
			}
		} else if s.StartTLS == "required" {
			return result{reason: "the SMTP server does not offer STARTTLS and smtp.starttls is required"}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return result{reason: "the SMTP server offers no AUTH but smtp.username is set"}
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, b.password, s.Host)); err != nil {
			return smtpResult("AUTH", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return smtpResult("MAIL FROM", err)
	}
	for _, t := range to {
		if err := c.Rcpt(t.Address); err != nil {
			return smtpResult("RCPT TO "+t.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpResult("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpResult("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpResult("DATA", err)
	}
	// The message is accepted once DATA ends; a failed QUIT loses nothing.
	_ = c.Quit()
	return result{ok: true, code: 250}
}

func (e *Engine) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.tls != nil {
		cfg = e.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// smtpResult classifies an SMTP error: a 5xx reply is permanent.
func smtpResult(step string, err error) result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return result{retry: te.Code < 500, code: te.Code, reason: fmt.Sprintf("SMTP %s: %d %s", step, te.Code, te.Msg)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return result{retry: true, reason: fmt.Sprintf("SMTP %s: no answer in time", step)}
	}
	return result{retry: true, reason: fmt.Sprintf("SMTP %s: %v", step, err)}
}

func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// emailMessage builds the RFC 5322 message: headers, then a
// quoted-printable UTF-8 plain-text body.
func emailMessage(s SMTP, from *mail.Address, to []*mail.Address, p Payload, now time.Time) []byte {
	prefix := s.SubjectPrefix
	if prefix == "" {
		prefix = "[aiwatch]"
	}
	subject := oneLine(prefix + " " + p.Incident.Severity + " " + p.headline())

	var body strings.Builder
	fmt.Fprintf(&body, "aiwatch %s\n\n", p.headline())
	for _, f := range p.facts() {
		fmt.Fprintf(&body, "%s: %s\n", f[0], f[1])
	}
	if ents := p.entityLines(); len(ents) > 0 {
		body.WriteString("\nEntities:\n")
		for _, l := range ents {
			fmt.Fprintf(&body, "  - %s\n", l)
		}
	}
	if p.IncidentURL != "" {
		fmt.Fprintf(&body, "\nLink: %s\n", p.IncidentURL)
	}
	if d := strings.TrimSpace(p.Incident.Description); d != "" {
		fmt.Fprintf(&body, "\nDescription:\n%s\n", d)
	}
	fmt.Fprintf(&body, "\n-- \nSent by aiwatch automation rule %q, delivery %s.\n", p.AutomationRule, p.DeliveryID)

	var m bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&m, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	var tos []string
	for _, t := range to {
		tos = append(tos, t.String())
	}
	hdr("To", strings.Join(tos, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+p.DeliveryID+"@aiwatch>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr(HeaderDelivery, p.DeliveryID)
	m.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&m)
	_, _ = qp.Write([]byte(body.String()))
	_ = qp.Close()
	return m.Bytes()
}
