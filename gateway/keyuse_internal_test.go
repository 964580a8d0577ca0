package gateway

import (
	"strconv"
	"testing"
	"time"
)

// TestKeyUseThrottleIsBounded: the throttle records a key once per
// interval, again after it (or when the clock went back), and remembers at
// most keyUseKeys keys.
func TestKeyUseThrottleIsBounded(t *testing.T) {
	u := NewKeyUses()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		at   time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(time.Second), false},
		{t0.Add(KeyUseInterval - time.Nanosecond), false},
		{t0.Add(KeyUseInterval), true},
		{t0, true}, // the clock went back
	} {
		if got := u.due("k", c.at); got != c.want {
			t.Errorf("%d: due(%v) = %v, want %v", i, c.at, got, c.want)
		}
	}
	for i := range 3 * keyUseKeys {
		u.due(strconv.Itoa(i), t0)
	}
	if len(u.last) > keyUseKeys {
		t.Errorf("throttle remembers %d keys, want at most %d", len(u.last), keyUseKeys)
	}
	u = NewKeyUses()
	for i := range keyUseKeys {
		u.due(strconv.Itoa(i), t0)
	}
	if !u.due("late", t0.Add(2*KeyUseInterval)) {
		t.Error("a key new to a full throttle is not due")
	}
	if len(u.last) != 1 {
		t.Errorf("after an interval the full throttle keeps %d keys, want only the new one", len(u.last))
	}
}
