package omnicart

import "time"

// Clock tells the time and makes timers. Every loop that waits (the
// callback and payment-link dispatchers, the scheduler, recovery) takes one
// instead of calling time.Now, time.After or time.Sleep, so that tests move
// time instead of sleeping. Package clock has the real clock and the one
// fake shared by every test.
//
// The domain itself reads no clock: its functions are handed the time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now (at once when d
	// is zero or negative).
	NewTimer(d time.Duration) ClockTimer
}

// ClockTimer is a one-shot timer of a Clock, with the semantics of
// time.Timer since Go 1.23: after Stop or Reset returns, no value from
// before is received from C.
type ClockTimer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns false when the
	// timer had already fired or been stopped.
	Stop() bool
	// Reset makes the timer fire d from now, whether or not it was
	// running. It returns whether it was running.
	Reset(d time.Duration) bool
}
