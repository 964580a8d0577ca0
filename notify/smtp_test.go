package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart/internal/smtptest"
	"github.com/omnicart/omnicart/notify"
)

func testMessage(to string) notify.Message {
	return notify.Message{ID: "ntf_7", Channel: "email", To: to, Merchant: "Tower & Rampart Ünited", Amount: "13.50 EUR",
		Link: "https://pay.example/pay/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Subject: "Your payment link from Tower & Rampart Ünited",
		Text:    "Hello,\n\nTower & Rampart Ünited asks you to pay 13.50 EUR.\n\nPay securely here:\nhttps://pay.example/pay/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n"}
}

func sender(srv *smtptest.Server, starttls bool, user, pass string) *notify.SMTP {
	s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "shop@omnicart.example", StartTLS: starttls,
		Username: user, Password: pass, Timeout: 20 * time.Second}
	if srv.Roots != nil {
		s.TLSConfig = &tls.Config{RootCAs: srv.Roots}
	}
	return s
}

// TestSMTPStartTLS sends through a real SMTP server that offers STARTTLS and
// requires a login: the session is encrypted before the credentials go out,
// and the message arrives whole.
func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: true, User: "relay-user", Password: "relay-secret"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	msg := testMessage("ada@customer.example")
	if err := sender(srv, true, "relay-user", "relay-secret").Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if !m.TLS || m.User != "relay-user" || m.From != "shop@omnicart.example" || len(m.To) != 1 || m.To[0] != "ada@customer.example" {
		t.Fatalf("envelope %+v", m)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("subject %q (%v), want %q", subject, err, msg.Subject)
	}
	from, err := parsed.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "shop@omnicart.example" || from[0].Name != msg.Merchant {
		t.Errorf("From %v %v", from, err)
	}
	if parsed.Header.Get("Message-Id") == "" || parsed.Header.Get("Date") == "" {
		t.Error("no Message-ID or Date")
	}
	body, _ := io.ReadAll(parsed.Body)
	if !strings.Contains(decodeQP(t, body), msg.Link) {
		t.Errorf("body lacks the link:\n%s", body)
	}
}

// TestSMTPRequiresStartTLS refuses to send (and never sends credentials)
// when the relay does not offer STARTTLS.
func TestSMTPRequiresStartTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	err := sender(srv, true, "", "").Send(t.Context(), testMessage("ada@customer.example"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS error", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a message went out in clear")
	}
	// Explicitly allowed, plain SMTP to a local relay works.
	if err := sender(srv, false, "", "").Send(t.Context(), testMessage("ada@customer.example")); err != nil {
		t.Fatal(err)
	}
}

// TestSMTPErrors classifies failures: a refused recipient (5xx) is
// permanent, a temporary refusal (4xx) and bad credentials are retried.
func TestSMTPErrors(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: true, User: "u", Password: "p",
		Refuse: map[string]int{"gone@customer.example": 550, "busy@customer.example": 451}})
	s := sender(srv, true, "u", "p")
	err := s.Send(t.Context(), testMessage("gone@customer.example"))
	if err == nil || !notify.IsPermanent(err) {
		t.Errorf("550: err = %v, want permanent", err)
	}
	err = s.Send(t.Context(), testMessage("busy@customer.example"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("451: err = %v, want a retryable error", err)
	}
	err = sender(srv, true, "u", "wrong").Send(t.Context(), testMessage("ada@customer.example"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("bad password: err = %v, want a retryable error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages accepted", n)
	}
}

func decodeQP(t *testing.T, b []byte) string {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
