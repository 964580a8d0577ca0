package clock

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
)

// Fake is a clock that moves only when told to. Its timers fire when Set or
// Advance moves the time to or past their deadline, in deadline order, each
// at most once per move (a loop that re-arms a timer while the clock moves
// waits for the next move). A timer of zero or negative duration fires at
// once. Fake is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	armed   []*fakeTimer
	changed chan struct{} // closed and replaced when armed changes
}

var _ omnicart.Clock = (*Fake)(nil)

// NewFake returns a fake clock showing t.
func NewFake(t time.Time) *Fake {
	return &Fake{now: t, changed: make(chan struct{})}
}

// Now returns the fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the time forward by d and fires the timers that fall due.
// A negative d is treated as zero.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moveLocked(f.now.Add(max(d, 0)))
}

// Set moves the time to t and fires the timers that fall due. Moving
// backwards fires nothing; timers keep their deadlines.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moveLocked(t)
}

func (f *Fake) moveLocked(t time.Time) {
	f.now = t
	var due []*fakeTimer
	f.armed = slices.DeleteFunc(f.armed, func(ft *fakeTimer) bool {
		if ft.at.After(t) {
			return false
		}
		due = append(due, ft)
		return true
	})
	if len(due) == 0 {
		return
	}
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, ft := range due {
		ft.fireLocked(t)
	}
	f.notifyLocked()
}

// Timers returns how many timers are armed (created or reset, and neither
// fired nor stopped since).
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.armed)
}

// WaitTimers waits until at least n timers are armed — typically until the
// loops under test have finished their work and wait for the clock — and
// returns nil, or ctx's error when ctx ends first.
func (f *Fake) WaitTimers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		ok, ch := len(f.armed) >= n, f.changed
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// NewTimer returns a timer that fires when the fake reaches now+d.
func (f *Fake) NewTimer(d time.Duration) omnicart.ClockTimer {
	ft := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	ft.armLocked(d)
	return ft
}

// fakeTimer is a timer of a Fake. Its channel holds at most the one value
// of its last firing; Stop and Reset drain it, as time.Timer does.
type fakeTimer struct {
	f  *Fake
	c  chan time.Time
	at time.Time
}

func (ft *fakeTimer) C() <-chan time.Time { return ft.c }

func (ft *fakeTimer) Stop() bool {
	ft.f.mu.Lock()
	defer ft.f.mu.Unlock()
	return ft.stopLocked()
}

func (ft *fakeTimer) Reset(d time.Duration) bool {
	ft.f.mu.Lock()
	defer ft.f.mu.Unlock()
	was := ft.stopLocked()
	ft.armLocked(d)
	return was
}

// stopLocked disarms the timer and drops a value not yet received, and
// reports whether it was armed.
func (ft *fakeTimer) stopLocked() bool {
	select {
	case <-ft.c:
	default:
	}
	i := slices.Index(ft.f.armed, ft)
	if i < 0 {
		return false
	}
	ft.f.armed = slices.Delete(ft.f.armed, i, i+1)
	ft.f.notifyLocked()
	return true
}

func (ft *fakeTimer) armLocked(d time.Duration) {
	ft.at = ft.f.now.Add(d)
	if d <= 0 {
		ft.fireLocked(ft.f.now)
		return
	}
	ft.f.armed = append(ft.f.armed, ft)
	ft.f.notifyLocked()
}

func (ft *fakeTimer) fireLocked(now time.Time) {
	select {
	case ft.c <- now:
	default: // the previous value was not received (cannot happen: firing disarms)
	}
}
