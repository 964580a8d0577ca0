package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
)

var t0 = time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)

func fired(tm omnicart.ClockTimer) bool {
	select {
	case <-tm.C():
		return true
	default:
		return false
	}
}

func TestFakeTimers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, f *clock.Fake)
	}{
		{"fires at its deadline, not before", func(t *testing.T, f *clock.Fake) {
			tm := f.NewTimer(time.Second)
			f.Advance(999 * time.Millisecond)
			if fired(tm) {
				t.Fatal("fired early")
			}
			f.Advance(time.Millisecond)
			select {
			case at := <-tm.C():
				if !at.Equal(t0.Add(time.Second)) {
					t.Fatalf("fired with %s", at)
				}
			default:
				t.Fatal("did not fire at its deadline")
			}
			f.Advance(time.Hour)
			if fired(tm) {
				t.Fatal("fired twice")
			}
		}},
		{"zero and negative durations fire at once", func(t *testing.T, f *clock.Fake) {
			if !fired(f.NewTimer(0)) || !fired(f.NewTimer(-time.Second)) {
				t.Fatal("did not fire at once")
			}
		}},
		{"stop prevents firing", func(t *testing.T, f *clock.Fake) {
			tm := f.NewTimer(time.Second)
			if !tm.Stop() {
				t.Fatal("Stop of a running timer returned false")
			}
			f.Advance(time.Minute)
			if fired(tm) || tm.Stop() {
				t.Fatal("a stopped timer fired")
			}
		}},
		{"reset drops a value not received", func(t *testing.T, f *clock.Fake) {
			tm := f.NewTimer(time.Second)
			f.Advance(time.Second)
			if tm.Reset(time.Second) {
				t.Fatal("Reset of a fired timer reported it running")
			}
			if fired(tm) {
				t.Fatal("a stale value survived Reset")
			}
			f.Advance(time.Second)
			if !fired(tm) {
				t.Fatal("the reset timer did not fire")
			}
		}},
		{"set moves both ways", func(t *testing.T, f *clock.Fake) {
			tm := f.NewTimer(time.Minute)
			f.Set(t0.Add(-time.Hour))
			if fired(tm) || !f.Now().Equal(t0.Add(-time.Hour)) {
				t.Fatal("moving back fired a timer or did not move")
			}
			f.Set(t0.Add(time.Minute))
			if !fired(tm) {
				t.Fatal("Set past the deadline did not fire")
			}
		}},
		{"timers counts the armed ones", func(t *testing.T, f *clock.Fake) {
			a, _ := f.NewTimer(time.Second), f.NewTimer(time.Minute)
			if n := f.Timers(); n != 2 {
				t.Fatalf("%d armed", n)
			}
			a.Stop()
			f.Advance(time.Minute)
			if n := f.Timers(); n != 0 {
				t.Fatalf("%d armed after firing", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, clock.NewFake(t0))
		})
	}
}

// TestFakeDrivesALoop runs a loop that waits on the fake as the
// dispatchers do, and moves it with WaitTimers and Advance: nothing sleeps.
func TestFakeDrivesALoop(t *testing.T) {
	t.Parallel()
	f := clock.NewFake(t0)
	ticks := make(chan time.Time, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tm := f.NewTimer(time.Second)
		defer tm.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tm.C():
				ticks <- f.Now()
				tm.Reset(time.Second)
			}
		}
	}()
	wait, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	for i := 1; i <= 3; i++ {
		if err := f.WaitTimers(wait, 1); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Second)
		if got := <-ticks; !got.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("tick %d at %s", i, got)
		}
	}
	cancel()
	<-done
	if err := f.WaitTimers(wait, 0); err != nil {
		t.Fatal(err)
	}
}

func TestReal(t *testing.T) {
	t.Parallel()
	c := clock.Real{}
	if now := c.Now(); now.Location() != time.UTC || time.Since(now) > time.Minute {
		t.Fatalf("Now = %s", now)
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if tm.Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
}
