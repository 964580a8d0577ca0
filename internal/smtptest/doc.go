// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// the loopback interface for tests: optional STARTTLS with a certificate
// made for the test, optional AUTH PLAIN with one user, recipients that can
// be refused with a chosen reply code, and every accepted message kept.
package smtptest
