package httpapi

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	l := &RateLimiter{Rate: 2, Burst: 3}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v wait=%v, want refused, 500ms", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Fatalf("another key was limited")
	}
	if ok, _ := l.allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatalf("a token did not come back after 1/rate")
	}
	if ok, _ := l.allow("a", now.Add(500*time.Millisecond)); ok {
		t.Fatalf("more than one token came back")
	}
	// Idle keys are forgotten and come back with a full burst.
	later := now.Add(2 * time.Minute)
	for i := range 3 {
		if ok, _ := l.allow("a", later); !ok {
			t.Fatalf("request %d after idling refused", i)
		}
	}
	if len(l.buckets) > 2 {
		t.Fatalf("%d buckets kept", len(l.buckets))
	}
	var off *RateLimiter
	if ok, _ := off.allow("a", now); !ok {
		t.Fatalf("a nil limiter limited")
	}
}
