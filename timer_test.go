package omnicart

import (
	"testing"
	"time"
)

// TestTimerPauseKeepsExactTime: pausing and resuming many times never
// lengthens a timer (the time left is kept exactly, rounded only when
// reported).
func TestTimerPauseKeepsExactTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := NewTimer("manual", 10)
	tm.start(now)
	for range 8 {
		now = now.Add(300 * time.Millisecond)
		if code := tm.manual(now, ActionPause); code != CodeSuccess {
			t.Fatalf("pause: %s", code)
		}
		now = now.Add(time.Hour)
		if code := tm.manual(now, ActionStart); code != CodeSuccess {
			t.Fatalf("start: %s", code)
		}
	}
	// 2.4 s ran; 7.6 s are left, reported as 8.
	if r := tm.RemainingAt(now); r == nil || *r != 8 {
		t.Fatalf("remaining = %v", r)
	}
	if s := tm.StatusAt(now.Add(7599 * time.Millisecond)); s != TimerStarted {
		t.Fatalf("status just before the end = %s", s)
	}
	if s := tm.StatusAt(now.Add(7600 * time.Millisecond)); s != TimerElapsed {
		t.Fatalf("status at the end = %s", s)
	}
}
