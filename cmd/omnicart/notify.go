package main

import (
	"context"
	"flag"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/notify"
)

// notifyConfig is how `serve` delivers payment links (paymentForm email, sms
// and push). A channel left unconfigured delivers test-mode merchants'
// messages to the sandbox outbox (/sandbox/outbox and the log).
type notifyConfig struct {
	email   *notify.SMTP
	sms     *notify.HTTP
	push    *notify.HTTP
	backoff time.Duration
}

// notifyFlags declares the delivery flags of `serve` on fs and returns the
// function that checks them once parsed.
func notifyFlags(fs *flag.FlagSet, getenv func(string) string) func() (notifyConfig, error) {
	smtpHost := fs.String("smtp-host", getenv("OMNICART_SMTP_HOST"), "SMTP relay for payment-link emails (env OMNICART_SMTP_HOST; empty: sandbox outbox)")
	smtpPort := fs.String("smtp-port", envOr(getenv, "OMNICART_SMTP_PORT", "587"), "SMTP relay port (env OMNICART_SMTP_PORT)")
	smtpUser := fs.String("smtp-user", getenv("OMNICART_SMTP_USER"), "SMTP user name (env OMNICART_SMTP_USER)")
	smtpPassword := fs.String("smtp-password", getenv("OMNICART_SMTP_PASSWORD"), "SMTP password (env OMNICART_SMTP_PASSWORD; prefer the environment)")
	smtpFrom := fs.String("smtp-from", getenv("OMNICART_SMTP_FROM"), "sender address of payment-link emails (env OMNICART_SMTP_FROM)")
	smtpTLS := fs.String("smtp-starttls", envOr(getenv, "OMNICART_SMTP_STARTTLS", "true"), "require STARTTLS on the SMTP connection (env OMNICART_SMTP_STARTTLS)")
	smsURL := fs.String("sms-url", getenv("OMNICART_SMS_URL"), "SMS provider endpoint, JSON POST (env OMNICART_SMS_URL; empty: sandbox outbox)")
	smsToken := fs.String("sms-token", getenv("OMNICART_SMS_TOKEN"), "bearer token of the SMS provider (env OMNICART_SMS_TOKEN)")
	pushURL := fs.String("push-url", getenv("OMNICART_PUSH_URL"), "push provider endpoint, JSON POST (env OMNICART_PUSH_URL; empty: sandbox outbox)")
	pushToken := fs.String("push-token", getenv("OMNICART_PUSH_TOKEN"), "bearer token of the push provider (env OMNICART_PUSH_TOKEN)")
	backoff := fs.Duration("notify-retry-min", envDuration(getenv, "OMNICART_NOTIFY_RETRY_MIN", notify.DefaultMinBackoff),
		"delay before the first retry of a payment-link message; it doubles per attempt up to 1h (env OMNICART_NOTIFY_RETRY_MIN)")
	return func() (notifyConfig, error) {
		cfg := notifyConfig{backoff: *backoff}
		if cfg.backoff <= 0 {
			return cfg, usageError{"--notify-retry-min must be positive"}
		}
		if *smtpHost != "" {
			port, err := strconv.Atoi(*smtpPort)
			if err != nil || port < 1 || port > 65535 {
				return cfg, usageError{fmt.Sprintf("--smtp-port %q is not a port number", *smtpPort)}
			}
			starttls, err := strconv.ParseBool(*smtpTLS)
			if err != nil {
				return cfg, usageError{fmt.Sprintf("--smtp-starttls %q is not true or false", *smtpTLS)}
			}
			if a, err := mail.ParseAddress(*smtpFrom); err != nil || a.Address != *smtpFrom {
				return cfg, usageError{fmt.Sprintf("--smtp-from %q is not an email address", *smtpFrom)}
			}
			cfg.email = &notify.SMTP{Host: *smtpHost, Port: port, Username: *smtpUser, Password: *smtpPassword,
				From: *smtpFrom, StartTLS: starttls}
		}
		for _, ch := range []struct {
			name, url, token string
			dst              **notify.HTTP
		}{{omnicart.ChannelSMS, *smsURL, *smsToken, &cfg.sms}, {omnicart.ChannelPush, *pushURL, *pushToken, &cfg.push}} {
			if ch.url == "" {
				continue
			}
			if err := notify.ValidEndpoint(ch.url); err != nil {
				return cfg, usageError{fmt.Sprintf("--%s-url: %v", ch.name, err)}
			}
			*ch.dst = &notify.HTTP{Channel: ch.name, URL: ch.url, Token: ch.token}
		}
		return cfg, nil
	}
}

// hasSender reports whether payment links on channel go out through a
// configured sender (gateway.Service.LinkSenders).
func (c notifyConfig) hasSender(channel string) bool {
	switch channel {
	case omnicart.ChannelEmail:
		return c.email != nil
	case omnicart.ChannelSMS:
		return c.sms != nil
	case omnicart.ChannelPush:
		return c.push != nil
	}
	return false
}

func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	if v := getenv(key); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// startNotify runs the payment-link dispatcher until ctx ends and returns a
// channel closed when it has stopped.
func startNotify(ctx context.Context, a *app, cfg notifyConfig, publicURL string) <-chan struct{} {
	d := &notify.Dispatcher{Queue: a.db.notify, PublicURL: publicURL, Clock: a.clock,
		Log: a.log, MinBackoff: cfg.backoff}
	channels := map[string]string{}
	if cfg.email != nil {
		d.Email = cfg.email
		channels["email"] = "smtp " + cfg.email.Host
	}
	if cfg.sms != nil {
		d.SMS = cfg.sms
		channels["sms"] = "http"
	}
	if cfg.push != nil {
		d.Push = cfg.push
		channels["push"] = "http"
	}
	for _, ch := range []string{omnicart.ChannelEmail, omnicart.ChannelSMS, omnicart.ChannelPush} {
		if channels[ch] == "" {
			channels[ch] = "sandbox outbox (" + publicURL + "/sandbox/outbox)"
		}
	}
	a.log.Info("payment links: dispatcher started", "email", channels["email"], "sms", channels["sms"], "push", channels["push"])
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx, 250*time.Millisecond)
	}()
	return done
}
