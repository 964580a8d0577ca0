package httpapi

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// RateLimiter is a token bucket per API key: Rate requests per second on
// average, up to Burst at once. The zero Rate disables it.
//
// It is in memory, per server process, and shares nothing between nodes:
// with N nodes behind a load balancer a key may make N times the rate in
// all. The budget across nodes is the operator's: give each node
// --rate-limit R/N for R in all when the balancer spreads requests evenly
// (docs/OPERATIONS.md). Holding the buckets in the database would cost a
// write per request; a per-node budget costs nothing and is exact enough
// for its purpose, shielding the service from one key's flood.
type RateLimiter struct {
	Rate  float64
	Burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// allow takes a token for key at now. When none is left it returns false
// and how long until one is.
func (l *RateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.Rate <= 0 {
		return true, 0
	}
	burst := math.Max(l.Burst, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	// Forget idle keys now and then, so that the map stays small.
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.at).Seconds()*l.Rate >= burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
		return false, wait
	}
	b.tokens--
	return true, 0
}

func retryAfter(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}
