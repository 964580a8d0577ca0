package client

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of a call (see the package documentation
// for which failures are retried). Zero fields take their defaults.
type RetryPolicy struct {
	// MaxAttempts is the most times a request is sent, the first one
	// included (default 5); 1 turns retries off.
	MaxAttempts int
	// MinDelay is the wait before the first retry when the server gave no
	// Retry-After (default 200 ms); it doubles per retry, with jitter, up
	// to MaxDelay (default 5 s).
	MinDelay time.Duration
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After that is waited for (default
	// 30 s); a longer one ends the call with the answer received.
	MaxRetryAfter time.Duration
}

// Default retry policy values.
const (
	DefaultMaxAttempts   = 5
	DefaultMinDelay      = 200 * time.Millisecond
	DefaultMaxDelay      = 5 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MinDelay <= 0 {
		p.MinDelay = DefaultMinDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// decide says whether the attempt-th attempt, which ended with ans or err,
// is retried, and after how long.
func (p RetryPolicy) decide(rq request, ans *answer, err error, attempt int) (time.Duration, bool) {
	if attempt >= p.MaxAttempts {
		return 0, false
	}
	if err != nil {
		if rq.replaySafe || neverSent(err) {
			return p.backoff(attempt), true
		}
		return 0, false
	}
	switch {
	case ans.status == http.StatusTooManyRequests:
		// Refused before anything was done.
	case ans.status == http.StatusConflict && envelopeCode(ans.raw) == CodeIdempotencyRunning:
		// The first request with this key is still running.
	case ans.status == http.StatusServiceUnavailable && rq.replaySafe:
	default:
		return 0, false
	}
	if d, ok := retryAfter(ans.header.Get("Retry-After"), time.Now()); ok {
		if d > p.MaxRetryAfter {
			return 0, false
		}
		return d, true
	}
	return p.backoff(attempt), true
}

// backoff is the wait after the attempt-th attempt: MinDelay doubled per
// attempt up to MaxDelay, then between half of it and all of it.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + mrand.N(half+1)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// neverSent reports whether a transport error happened before the request
// could reach the server (no connection was made), so that sending it
// again cannot act twice.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// envelopeCode is the code of an envelope body, or "".
func envelopeCode(raw []byte) string {
	var env struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return ""
	}
	return env.Code
}

// NewIdempotencyKey returns a new random Idempotency-Key (a version 4
// UUID). Make one before a request whose outcome must survive your own
// restarts, store it, and send it with WithIdempotencyKey.
func NewIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("omnicart client: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
