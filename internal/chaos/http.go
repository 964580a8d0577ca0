package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// envelope is the body of every Merchant API answer.
type envelope struct {
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// answer is one HTTP answer of the server.
type answer struct {
	Status     int
	Replayed   bool   // Idempotent-Replayed: true
	RetryAfter string // the Retry-After header
	Raw        []byte
	envelope
	At time.Time
}

func (a *answer) String() string {
	if a == nil {
		return "no answer"
	}
	raw := strings.TrimSpace(string(a.Raw))
	if len(raw) > 300 {
		raw = raw[:300] + "…"
	}
	s := fmt.Sprintf("HTTP %d %s", a.Status, raw)
	if a.Replayed {
		s += " (replayed)"
	}
	return s
}

// request is one logical request of a client: an Idempotency-Key and a
// body, sent as many times as it takes to get an answer.
type request struct {
	Kind   string // init, pay, capture, cancel, refund, modify
	Method string
	URL    string
	Key    string // Idempotency-Key; empty for the payment page
	Body   string
	Scope  []string // itemIds the request is about

	Attempts  int
	Refused   int // attempts refused before reaching the server (connection refused)
	Lost      int // attempts whose answer was lost after sending: transport error or 5xx
	Running   int // attempts answered 124191 (the key is held by an earlier attempt)
	LastError string
	FirstSent time.Time
	LastSent  time.Time
	Answer    *answer // nil while unresolved
	// Stuck is set when the key still answered 124191 after the server
	// had been up for more than Config.StuckAfter: the client gave up.
	Stuck bool
	// Late is the answer of the retry sent after the campaign, for a request
	// given up or unresolved.
	Late *answer
}

// retried reports whether an attempt of r may have reached the server
// without its answer reaching the client.
func (r *request) retried() bool { return r.Lost > 0 || r.Running > 0 }

// httpClient returns the client of the campaign. Requests are made non
// replayable (see send), so that net/http never resends one on its own: every
// retry is the campaign's, and counted.
func httpClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// send sends one attempt.
func (c *campaign) send(ctx context.Context, method, url, key, body string, auth bool) (*answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	// net/http resends a request with a body on a broken keep-alive
	// connection when it can rewind the body and the request carries an
	// Idempotency-Key. Without GetBody it never does.
	req.GetBody = nil
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Api-Access-Token", c.apiKey)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return c.roundTrip(c.http, req)
}

// roundTrip sends req with hc and reads the whole answer. Every answer of
// the campaign passes here: a 5xx fails check no-5xx (the clients still
// retry it), and requests whose context carries latencies are timed.
func (c *campaign) roundTrip(hc *http.Client, req *http.Request) (*answer, error) {
	c.gate.RLock()
	defer c.gate.RUnlock()
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if l, ok := req.Context().Value(latencyKey{}).(*latencies); ok {
		l.add(time.Since(t0))
	}
	a := &answer{Status: resp.StatusCode, Replayed: resp.Header.Get("Idempotent-Replayed") == "true",
		RetryAfter: resp.Header.Get("Retry-After"), Raw: raw, At: time.Now()}
	_ = json.Unmarshal(raw, &a.envelope) // the payment page answers another shape
	c.stats.answers.Add(1)
	if a.Status >= 500 {
		c.stats.answers5xx.Add(1)
		c.fail(check5xx, "%s %s answered %s", req.Method, showURL(req.URL.Path, req.URL.RawQuery), a)
	}
	return a, nil
}

// showURL renders a request's path for messages, without payment tokens
// and without the bulk of a long query.
func showURL(path, query string) string {
	if strings.HasPrefix(path, "/pay/") {
		challenge := strings.HasSuffix(path, "/challenge")
		path = "/pay/…"
		if challenge {
			path += "/challenge"
		}
	}
	if len(path) > 120 {
		path = path[:120] + "…"
	}
	if query != "" {
		if len(query) > 80 {
			query = query[:80] + "…"
		}
		path += "?" + query
	}
	return path
}

// latencyKey carries a *latencies in a request's context: the requests
// sent under it are timed (from sending to the last byte of the answer).
type latencyKey struct{}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func withLatencies(ctx context.Context, l *latencies) context.Context {
	return context.WithValue(ctx, latencyKey{}, l)
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
}

// quantiles returns the number of samples and the given quantiles
// (nearest rank).
func (l *latencies) quantiles(qs ...float64) (int, []time.Duration) {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	slices.Sort(d)
	out := make([]time.Duration, len(qs))
	if len(d) == 0 {
		return 0, out
	}
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(d)))) - 1
		out[i] = d[min(max(k, 0), len(d)-1)]
	}
	return len(d), out
}

// isRefused reports whether err means the attempt never reached a server.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// pause sleeps between min and max, or less when ctx ends.
func pause(ctx context.Context, rng *rand.Rand, min, max time.Duration) {
	d := min
	if max > min {
		d += time.Duration(rng.Int64N(int64(max - min)))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// do sends r until it is answered: transport errors, 5xx and 124191 are
// retried with the same key and body. It gives up (r.Stuck) when the key
// answers 124191 although the server has been up for more than
// StuckAfter, and returns nil then or when ctx ends (r stays unresolved).
func (c *campaign) do(ctx context.Context, rng *rand.Rand, r *request) *answer {
	auth := r.Kind != "pay"
	for ctx.Err() == nil {
		now := time.Now()
		if r.FirstSent.IsZero() {
			r.FirstSent = now
		}
		r.LastSent = now
		r.Attempts++
		c.stats.attempts.Add(1)
		a, err := c.send(ctx, r.Method, r.URL, r.Key, r.Body, auth)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil && isRefused(err):
			r.Refused++
			pause(ctx, rng, 30*time.Millisecond, 120*time.Millisecond)
		case err != nil:
			r.Lost++
			r.LastError = err.Error()
			pause(ctx, rng, 30*time.Millisecond, 120*time.Millisecond)
		case a.Status >= 500:
			r.Lost++
			r.LastError = a.String()
			pause(ctx, rng, 50*time.Millisecond, 200*time.Millisecond)
		case a.Status == http.StatusConflict && a.Code == codeRunning && r.Key != "":
			r.Running++
			if up := c.srv.uptime(); up > c.cfg.StuckAfter {
				r.Stuck = true
				c.fail(checkStuckKey, "%s %s key %q still answers 124191 (in progress) with the server up for %s after its last restart (%d attempts, first sent %s ago)",
					r.Kind, r.cartOf(), r.Key, up.Round(time.Millisecond), r.Attempts, time.Since(r.FirstSent).Round(time.Millisecond))
				return nil
			}
			// Retry-After says 1 s; a shorter pause measures better how
			// long the key stays held.
			pause(ctx, rng, 150*time.Millisecond, 350*time.Millisecond)
		default:
			r.Answer = a
			return a
		}
	}
	return nil
}

// cartOf names the cart of a request for messages.
func (r *request) cartOf() string {
	var b struct {
		CartID string `json:"cartId"`
	}
	if json.Unmarshal([]byte(r.Body), &b) == nil && b.CartID != "" {
		return "cart " + b.CartID
	}
	return r.URL
}

// getStatus reads a cart's status, retrying transport errors and 5xx
// until ctx ends.
func (c *campaign) getStatus(ctx context.Context, rng *rand.Rand, cartID string) (*answer, *cartStatus, error) {
	return c.getStatusAs(ctx, rng, c.apiKey, cartID)
}

// getStatusAs is getStatus with another merchant's API key; cartID is
// escaped for the path.
func (c *campaign) getStatusAs(ctx context.Context, rng *rand.Rand, apiKey, cartID string) (*answer, *cartStatus, error) {
	for ctx.Err() == nil {
		a, err := c.sendAs(ctx, apiKey, http.MethodGet, "/status/"+cartID, "", "", "")
		if err != nil || a.Status >= 500 {
			pause(ctx, rng, 30*time.Millisecond, 120*time.Millisecond)
			continue
		}
		if a.Status != http.StatusOK {
			return a, nil, nil
		}
		st, err := parseStatus(a.Data)
		if err != nil {
			return a, nil, fmt.Errorf("status of %s: %v: %s", cartID, err, a.Raw)
		}
		return a, st, nil
	}
	return nil, nil, ctx.Err()
}

// jsonString quotes s as JSON.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}
