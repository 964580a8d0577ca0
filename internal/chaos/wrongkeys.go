package chaos

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The wrong-key flood: legitimate clients drive cart lifecycles for
// Config.Baseline while every request they send is timed; then they go on
// while floodWorkers goroutines send Config.WrongKeys requests with wrong
// API keys (random and well-formed, derived from a real key, revoked,
// malformed) to every authenticated endpoint, and the legitimate requests
// are timed again. Every wrong key must get 401 111000, never a 5xx.
// p50 and p99 of both samples are in the report (µs).
//
// The keys derived from a real key are derived from the second merchant's
// (the hostile phase's), and requests that would change something name its
// carts: a wrong key the server let through would not disturb the carts
// the campaign checks (it would fail wrong-key).

const (
	floodWorkers = 16
	probeClients = 4
)

// wrongKey is one way of sending a wrong key: the Api-Access-Token header
// values (none: no header).
type wrongKey struct {
	kind   string
	values func(rng *rand.Rand) []string
}

func randomToken(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// wrongKeys lists the ways. real is a real key, revoked a revoked one.
func wrongKeys(real, revoked string) []wrongKey {
	one := func(f func(rng *rand.Rand) string) func(*rand.Rand) []string {
		return func(rng *rand.Rand) []string { return []string{f(rng)} }
	}
	printable := func(rng *rand.Rand, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x20 + rng.IntN(0x7f-0x20))
		}
		return string(b)
	}
	odd := []string{`' OR '1'='1`, `"; DROP TABLE api_keys; --`, `%00`, `../../../../etc/passwd`, `${jndi:ldap://x.invalid/a}`,
		`{{7*7}}`, `\u0000`, `ock_test_*`, `*`, `%`, `null`, `undefined`, `[object Object]`, `ock_test_`, `ock_`, `0`, `-1`,
		`Basic dXNlcjpwYXNz`, "\t", `<script>alert(1)</script>`}
	keys := []wrongKey{
		{"random well-formed test key", one(func(rng *rand.Rand) string { return "ock_test_" + randomToken(rng, 32) })},
		{"random well-formed live key", one(func(rng *rand.Rand) string { return "ock_live_" + randomToken(rng, 32) })},
		{"real key, one character changed", one(func(rng *rand.Rand) string {
			b := []byte(real)
			i := 9 + rng.IntN(len(b)-9)
			for b[i] == real[i] {
				b[i] = randomToken(rng, 3)[rng.IntN(4)]
			}
			return string(b)
		})},
		{"real key, last character missing", one(func(*rand.Rand) string { return real[:len(real)-1] })},
		{"real key, one character more", one(func(rng *rand.Rand) string { return real + randomToken(rng, 3)[:1] })},
		{"real key, first half", one(func(*rand.Rand) string { return real[:len(real)/2] })},
		{"real key, other case", one(func(*rand.Rand) string {
			return strings.Map(func(r rune) rune {
				switch {
				case r >= 'a' && r <= 'z':
					return r - 32
				case r >= 'A' && r <= 'Z':
					return r + 32
				}
				return r
			}, real)
		})},
		{"real key after Bearer", one(func(*rand.Rand) string { return "Bearer " + real })},
		{"real key, first character percent-encoded", one(func(*rand.Rand) string { return fmt.Sprintf("%%%02X", real[0]) + real[1:] })},
		{"empty", one(func(*rand.Rand) string { return "" })},
		{"no header", func(*rand.Rand) []string { return nil }},
		{"random printable", one(func(rng *rand.Rand) string { return printable(rng, 1+rng.IntN(300)) })},
		{"random bytes 0x80-0xff", one(func(rng *rand.Rand) string {
			b := make([]byte, 1+rng.IntN(100))
			for i := range b {
				b[i] = byte(0x80 + rng.IntN(0x80))
			}
			return string(b)
		})},
		{"UTF-8 text", one(func(rng *rand.Rand) string {
			runes := []rune("ключ🔑密钥مفتاحé\u200b\u202e\ufeff")
			var sb strings.Builder
			for range 1 + rng.IntN(40) {
				sb.WriteRune(runes[rng.IntN(len(runes))])
			}
			return sb.String()
		})},
		{"long (4-8 KB)", one(func(rng *rand.Rand) string { return "ock_test_" + randomToken(rng, 3000+rng.IntN(3000)) })},
		{"odd value", one(func(rng *rand.Rand) string { return odd[rng.IntN(len(odd))] })},
		{"two wrong keys", func(rng *rand.Rand) []string {
			return []string{"ock_test_" + randomToken(rng, 32), "ock_test_" + randomToken(rng, 32)}
		}},
	}
	if revoked != "" {
		keys = append(keys, wrongKey{"revoked key", one(func(*rand.Rand) string { return revoked })})
	}
	return keys
}

// revokedKey creates a key for the second merchant and revokes it.
func (c *campaign) revokedKey(ctx context.Context) string {
	out, err := c.srv.admin(ctx, "key", "create", "--merchant", c.other.merchantID)
	if err != nil {
		c.fail(checkUnexpected, "creating a key to revoke: %v", err)
		return ""
	}
	key := strings.TrimSpace(string(out))
	if len(key) < 16 {
		c.fail(checkUnexpected, "key create printed %q", out)
		return ""
	}
	if _, err := c.srv.admin(ctx, "key", "revoke", "--merchant", c.other.merchantID, key[:16]); err != nil {
		c.fail(checkUnexpected, "revoking a key: %v", err)
		return ""
	}
	return key
}

// floodPhase times legitimate requests without, then with the flood.
func (c *campaign) floodPhase(ctx context.Context, rng *rand.Rand) {
	if c.cfg.WrongKeys < 0 {
		return
	}
	revoked := c.revokedKey(ctx)
	// A cart of the second merchant for the requests that name one.
	target := fmt.Sprintf("wrongkey-target-%d", rng.IntN(1e6))
	body := fmt.Sprintf(`{"cartId":%q,"currency":"EUR","items":[{"h1":{"amount":100}}]}`, target)
	if a, err := c.sendAs(ctx, c.other.apiKey, http.MethodPost, "/init", "", body, ""); err != nil || a.Status != http.StatusCreated {
		c.fail(checkUnexpected, "wrong keys: the target cart was not created: %v %s", err, a)
	}

	base := &latencies{}
	c.probe(ctx, rng, base, "probe-a", func() { sleep(ctx, nil, c.cfg.Baseline) })
	flood := &latencies{}
	var took time.Duration
	c.probe(ctx, rng, flood, "probe-b", func() {
		t0 := time.Now()
		c.flood(ctx, rng, wrongKeys(c.other.apiKey, revoked), target)
		took = time.Since(t0)
	})
	nb, qb := base.quantiles(0.5, 0.99)
	nf, qf := flood.quantiles(0.5, 0.99)
	us := func(d time.Duration) int { return int(d.Microseconds()) }
	c.stats.set("latency", "without flood: requests", nb)
	c.stats.set("latency", "without flood: p50 µs", us(qb[0]))
	c.stats.set("latency", "without flood: p99 µs", us(qb[1]))
	c.stats.set("latency", "with flood: requests", nf)
	c.stats.set("latency", "with flood: p50 µs", us(qf[0]))
	c.stats.set("latency", "with flood: p99 µs", us(qf[1]))
	c.stats.set("wrong keys", "flood ms", int(took.Milliseconds()))
	if took > 0 {
		c.stats.set("wrong keys", "per second", int(float64(c.cfg.WrongKeys)/took.Seconds()))
	}
	c.logf("wrong keys: %d in %s; legitimate requests p50/p99 %s/%s without the flood (%d), %s/%s with it (%d)",
		c.cfg.WrongKeys, took.Round(time.Millisecond), qb[0].Round(10*time.Microsecond), qb[1].Round(10*time.Microsecond), nb,
		qf[0].Round(10*time.Microsecond), qf[1].Round(10*time.Microsecond), nf)
}

// probe runs probeClients legitimate clients, timing every request they
// send into lat, while during runs.
func (c *campaign) probe(ctx context.Context, rng *rand.Rand, lat *latencies, prefix string, during func()) {
	stop := make(chan struct{})
	pctx := withLatencies(ctx, lat)
	var wg sync.WaitGroup
	for i := range probeClients {
		r := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
		wg.Go(func() { c.client(pctx, stop, fmt.Sprintf("%s-%d", prefix, i), false, r) })
	}
	during()
	close(stop)
	wg.Wait()
}

// flood sends c.cfg.WrongKeys requests with wrong keys.
func (c *campaign) flood(ctx context.Context, rng *rand.Rand, keys []wrongKey, target string) {
	type endpoint struct{ method, path, body string }
	endpoints := []endpoint{
		{http.MethodPost, "/init", fmt.Sprintf(`{"cartId":"wrongkey-never-%d","currency":"EUR","items":[{"h1":{"amount":100}}]}`, rng.IntN(1e6))},
		{http.MethodGet, "/status/" + target, ""},
		{http.MethodPost, "/capture", fmt.Sprintf(`{"cartId":%q}`, target)},
		{http.MethodPost, "/cancel", fmt.Sprintf(`{"cartId":%q}`, target)},
		{http.MethodPost, "/refund", fmt.Sprintf(`{"cartId":%q}`, target)},
		{http.MethodPatch, "/modify", fmt.Sprintf(`{"cartId":%q,"modifyBox":{"items":[{"h1":{"modifyAmount":{"amount":50}}}]}}`, target)},
		{http.MethodPost, "/sandbox/clock", `{"advanceSecs":1}`},
		{http.MethodGet, "/deliveries/" + target, ""},
		{http.MethodGet, "/callbacks/endpoints", ""},
		{http.MethodGet, "/sandbox/outbox", ""},
		{http.MethodDelete, "/init", ""},
		{http.MethodGet, "/capture", ""},
		{http.MethodGet, "/idempotency-keys/wrongkey-lookup", ""},
	}
	hc := httpClient()
	defer hc.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range floodWorkers {
		r := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= c.cfg.WrongKeys {
					return
				}
				k := keys[i%len(keys)]
				ep := endpoints[r.IntN(len(endpoints))]
				vals := k.values(r)
				req, err := http.NewRequestWithContext(ctx, ep.method, c.base+ep.path, strings.NewReader(ep.body))
				if err != nil {
					c.fail(checkUnexpected, "wrong key %s: %v", k.kind, err)
					continue
				}
				req.GetBody = nil
				if ep.body != "" {
					req.Header.Set("Content-Type", "application/json")
					if r.IntN(2) == 0 {
						req.Header.Set("Idempotency-Key", "wrongkey-"+randomToken(r, 8))
					}
				}
				for _, v := range vals {
					req.Header.Add("Api-Access-Token", v)
				}
				a, err := c.roundTrip(hc, req)
				c.stats.count("wrong keys", k.kind)
				switch {
				case err != nil:
					if ctx.Err() == nil {
						c.fail(checkWrongKey, "%s (%.60q) on %s %s: no answer: %v", k.kind, vals, ep.method, ep.path, err)
					}
				case a.Status == http.StatusUnauthorized && a.Code == "111000":
					c.stats.count("wrong keys", "answered 401 111000")
				default:
					c.fail(checkWrongKey, "%s (%.60q) on %s %s: %s, want 401 111000", k.kind, vals, ep.method, ep.path, a)
				}
			}
		})
	}
	wg.Wait()
}

// sendAs sends one request with the given API key (and Idempotency-Key,
// if any).
func (c *campaign) sendAs(ctx context.Context, apiKey, method, path, ctype, body, idemKey string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.GetBody = nil
	switch {
	case ctype != "":
		req.Header.Set("Content-Type", ctype)
	case body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("Api-Access-Token", apiKey)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return c.roundTrip(c.http, req)
}
