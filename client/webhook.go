package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names, as OmniCart sends them.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultWebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, unless WebhookVerifier.Tolerance says
// otherwise.
const DefaultWebhookTolerance = 5 * time.Minute

// MaxWebhookBody bounds the body VerifyRequest reads.
const MaxWebhookBody = 4 << 20

// Verification failures; Verify's errors wrap one of them.
var (
	// ErrWebhookHeaders: a Standard Webhooks header is missing or
	// malformed.
	ErrWebhookHeaders = errors.New("omnicart webhook: missing or malformed webhook-id, webhook-timestamp or webhook-signature header")
	// ErrWebhookTimestamp: the timestamp is outside the tolerance (a
	// replay, or a clock far off).
	ErrWebhookTimestamp = errors.New("omnicart webhook: timestamp outside the tolerance")
	// ErrWebhookSignature: no signature of the header matches any secret.
	ErrWebhookSignature = errors.New("omnicart webhook: no matching signature")
	// ErrWebhookSecret: a configured secret is not "whsec_" and base64.
	ErrWebhookSecret = errors.New("omnicart webhook: secret is not whsec_ and base64")
)

// WebhookVerifier checks the Standard Webhooks signature of OmniCart's
// callbacks: the webhook-signature header lists one or more "v1,<base64>"
// entries (two during a secret rotation), each an HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>" keyed by the base64-decoded
// part of an endpoint secret after "whsec_". The body must be the bytes
// received, before any parsing.
//
// A WebhookVerifier may be used from several goroutines at once.
type WebhookVerifier struct {
	// Secrets are the endpoint's secrets ("whsec_…") a callback may be
	// signed with: during a rotation on your side, the new and the old
	// one. A callback verifies when any signature matches any secret.
	Secrets []string
	// Tolerance is how far webhook-timestamp may be from Now, either way;
	// 0 means DefaultWebhookTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewWebhookVerifier returns a verifier for secrets, checking that each
// is a valid "whsec_" secret.
func NewWebhookVerifier(secrets ...string) (*WebhookVerifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret", ErrWebhookSecret)
	}
	for _, s := range secrets {
		if _, err := webhookKey(s); err != nil {
			return nil, err
		}
	}
	return &WebhookVerifier{Secrets: append([]string(nil), secrets...)}, nil
}

// VerifyWebhook checks a callback's headers and body against secrets with
// the default tolerance.
func VerifyWebhook(header http.Header, body []byte, secrets ...string) error {
	return (&WebhookVerifier{Secrets: secrets}).Verify(header, body)
}

// webhookKey decodes a secret: base64 after an optional "whsec_" prefix.
func webhookKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, ErrWebhookSecret
	}
	return key, nil
}

// Verify checks the signature and timestamp of a callback. The error
// wraps ErrWebhookHeaders, ErrWebhookTimestamp, ErrWebhookSignature or
// ErrWebhookSecret.
func (v *WebhookVerifier) Verify(header http.Header, body []byte) error {
	id := header.Get(HeaderWebhookID)
	ts := header.Get(HeaderWebhookTimestamp)
	sigs := header.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q", ErrWebhookHeaders, ts)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultWebhookTolerance
	}
	diff := now().Unix() - secs
	if diff > int64(tol/time.Second) || -diff > int64(tol/time.Second) {
		return fmt.Errorf("%w: %d s from now", ErrWebhookTimestamp, diff)
	}
	if len(v.Secrets) == 0 {
		return fmt.Errorf("%w: no secret", ErrWebhookSecret)
	}
	var given [][]byte
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue // other schemes (v1a) are not OmniCart's
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		given = append(given, b)
	}
	if len(given) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrWebhookHeaders)
	}
	for _, s := range v.Secrets {
		key, err := webhookKey(s)
		if err != nil {
			return err
		}
		want := webhookMAC(key, id, ts, body)
		for _, g := range given {
			if hmac.Equal(g, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// VerifyRequest reads a callback request's body (at most MaxWebhookBody
// bytes), verifies it and returns the event.
func (v *WebhookVerifier) VerifyRequest(r *http.Request) (*Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return nil, fmt.Errorf("omnicart webhook: read body: %w", err)
	}
	if len(body) > MaxWebhookBody {
		return nil, errors.New("omnicart webhook: body too large")
	}
	if err := v.Verify(r.Header, body); err != nil {
		return nil, err
	}
	return ParseEvent(body)
}

// ParseEvent decodes a callback body. Verify it first.
func ParseEvent(body []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("omnicart webhook: decode event: %w", err)
	}
	return &e, nil
}

// SignWebhook returns a webhook-signature header value for a message:
// one "v1,<base64>" entry per secret, space-separated. It is for tests of
// receivers; OmniCart signs the callbacks it sends.
func SignWebhook(id string, timestamp int64, body []byte, secrets ...string) (string, error) {
	var b strings.Builder
	for i, s := range secrets {
		key, err := webhookKey(s)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(webhookMAC(key, id, strconv.FormatInt(timestamp, 10), body)))
	}
	return b.String(), nil
}

func webhookMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
