package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

// Message is one payment link to deliver, ready for a Sender.
type Message struct {
	// ID is unique per message and stable across retries (providers may use
	// it to drop duplicates).
	ID       string
	Channel  string // email, sms or push
	To       string // an email address, an E.164 number or a device token
	Merchant string // the merchant's name
	Amount   string // e.g. "2.50 EUR"
	Link     string // the payment page
	Expires  time.Time
	Subject  string
	Text     string // plain-text body with the link
}

// Sender delivers messages on one channel.
type Sender interface {
	// Send delivers msg. An error wrapped by Permanent will not be retried.
	Send(ctx context.Context, msg Message) error
	// Via names the transport ("smtp", "http").
	Via() string
}

// permanentError marks a refusal that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the dispatcher gives up at once instead of
// retrying (a provider refusing the recipient, for example).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Defaults of a Dispatcher.
const (
	DefaultMinBackoff  = 10 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultMaxAttempts = 12
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 20
)

// Dispatcher sends queued messages. Queue, PublicURL, Clock and Log are
// required; a nil Email, SMS or Push sender means the channel is not
// configured (sandbox outbox for test-mode merchants, failure otherwise).
type Dispatcher struct {
	Queue omnicart.NotificationQueue
	Email Sender
	SMS   Sender
	Push  Sender
	// PublicURL is the base of payment links ({PublicURL}/pay/{token}).
	PublicURL string
	// Clock tells the time of attempts and retries and runs the polls of
	// Run.
	Clock omnicart.Clock
	Log   *slog.Logger
	// MinBackoff is the delay before the first retry; each retry doubles
	// it, up to MaxBackoff, with up to 20% random jitter added.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts is how many attempts a message gets before it fails.
	MaxAttempts int
	// Lease is how long a claimed message is reserved for its sender; it
	// must be longer than a send can take.
	Lease time.Duration
	// Jitter returns a random duration in [0, d); nil uses math/rand.
	Jitter func(d time.Duration) time.Duration
}

// Run works off the queue until ctx ends, looking again interval (on the
// Clock) after each look, and at once while full batches come back. Errors
// are logged and retried.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) {
	t := d.Clock.NewTimer(interval)
	t.Stop() // armed only while the loop waits
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.ErrorContext(ctx, "delivering payment links", "err", err)
		}
		if err == nil && n == DefaultBatch && ctx.Err() == nil {
			continue
		}
		t.Reset(interval)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// RunOnce claims one batch of due messages and tries each once. It returns
// how many it claimed; errors are the queue's (a failed send is recorded on
// its message, not returned).
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	lease := d.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	batch, err := d.Queue.Claim(ctx, d.Clock.Now(), lease, DefaultBatch)
	if err != nil {
		return 0, err
	}
	var firstErr error
	for i := range batch {
		if err := d.deliver(ctx, &batch[i]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return len(batch), firstErr
}

func (d *Dispatcher) sender(channel string) Sender {
	switch channel {
	case omnicart.ChannelEmail:
		return d.Email
	case omnicart.ChannelSMS:
		return d.SMS
	case omnicart.ChannelPush:
		return d.Push
	}
	return nil
}

// deliver makes one attempt at n and records its outcome (even when ctx
// ends meanwhile: an interrupted send is recorded as a failed attempt).
func (d *Dispatcher) deliver(ctx context.Context, n *omnicart.Notification) error {
	record := context.WithoutCancel(ctx)
	now := d.Clock.Now()
	log := d.Log.With("notification", n.ID, "merchant", n.MerchantID, "cart", n.CartID, "channel", n.Channel, "attempt", n.Attempts)
	if !now.Before(n.ExpiresAt) {
		log.WarnContext(ctx, "payment link expired before it could be delivered")
		return d.Queue.Fail(record, n.ID, "the payment link expired before it could be delivered", now)
	}
	msg := d.Compose(n)
	s := d.sender(n.Channel)
	if s == nil {
		if !n.Sandbox {
			log.ErrorContext(ctx, "no provider configured for this channel")
			return d.Queue.Fail(record, n.ID, fmt.Sprintf("no %s provider is configured", n.Channel), now)
		}
		log.InfoContext(ctx, "payment link delivered to the sandbox outbox", "to", n.Recipient, "link", msg.Link)
		return d.Queue.Sent(record, n.ID, omnicart.ViaOutbox, now, true)
	}
	err := s.Send(ctx, msg)
	now = d.Clock.Now()
	if err == nil {
		log.InfoContext(ctx, "payment link sent", "via", s.Via())
		return d.Queue.Sent(record, n.ID, s.Via(), now, false)
	}
	reason := oneLine(err.Error())
	maxAttempts := d.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if IsPermanent(err) || n.Attempts >= maxAttempts {
		log.ErrorContext(ctx, "payment link could not be delivered; giving up", "via", s.Via(), "err", reason)
		return d.Queue.Fail(record, n.ID, reason, now)
	}
	next := now.Add(d.Backoff(n.Attempts))
	log.WarnContext(ctx, "payment link delivery failed; will retry", "via", s.Via(), "err", reason, "next_attempt_at", next)
	return d.Queue.Retry(record, n.ID, reason, next, now)
}

// Backoff is the delay after the given failed attempt (1 for the first):
// MinBackoff doubled per earlier attempt, capped at MaxBackoff, plus up to
// 20% jitter.
func (d *Dispatcher) Backoff(attempt int) time.Duration {
	lo, hi := d.MinBackoff, d.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	if hi < lo {
		hi = lo
	}
	b := lo
	for i := 1; i < attempt && b < hi; i++ {
		b *= 2
	}
	if b > hi {
		b = hi
	}
	jitter := d.Jitter
	if jitter == nil {
		jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	return b + jitter(b/5)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// Compose builds the message of notification n: its link, subject and
// text.
func (d *Dispatcher) Compose(n *omnicart.Notification) Message {
	amount := fmt.Sprintf("%d %s", n.Amount, n.Currency)
	if c, ok := omnicart.LookupCurrency(n.Currency); ok {
		amount = c.FormatAmount(n.Amount) + " " + n.Currency
	}
	link := strings.TrimRight(d.PublicURL, "/") + "/pay/" + n.PayToken
	merchant := strings.Join(strings.Fields(n.MerchantName), " ") // no line breaks in headers
	expires := n.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST")
	m := Message{
		ID: fmt.Sprintf("ntf_%d", n.ID), Channel: n.Channel, To: n.Recipient, Merchant: merchant,
		Amount: amount, Link: link, Expires: n.ExpiresAt,
		Subject: fmt.Sprintf("Your payment link from %s", merchant),
	}
	switch n.Channel {
	case omnicart.ChannelEmail:
		m.Text = fmt.Sprintf("Hello,\n\n%s asks you to pay %s.\n\nPay securely here:\n%s\n\nThis link expires on %s.\nIf you did not expect this message, you can ignore it.\n",
			merchant, amount, link, expires)
	default:
		m.Text = fmt.Sprintf("%s: pay %s at %s (link expires %s)", merchant, amount, link, expires)
	}
	return m
}
