package clock

import (
	"time"

	"github.com/omnicart/omnicart"
)

// Real is the system clock.
type Real struct{}

var _ omnicart.Clock = Real{}

// Now returns the current time in UTC (wall clock only: converting to UTC
// drops the monotonic reading, as the times stores give back have none).
func (Real) Now() time.Time { return time.Now().UTC() }

// NewTimer returns a time.Timer that fires d from now.
func (Real) NewTimer(d time.Duration) omnicart.ClockTimer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
