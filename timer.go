package omnicart

import "time"

// TimerStatus is the state of an item timer.
type TimerStatus string

// Timer statuses. Pending, started and paused timers are active.
const (
	TimerPending TimerStatus = "pending"
	TimerStarted TimerStatus = "started"
	TimerPaused  TimerStatus = "paused"
	TimerStopped TimerStatus = "stopped"
	TimerElapsed TimerStatus = "elapsed"
)

// TriggerManual is the trigger of a timer that only a manual start starts.
const TriggerManual = "manual"

// Manual timer actions of /modify.
const (
	ActionStart = "start"
	ActionPause = "pause"
	ActionStop  = "stop"
)

// Timer is a per-customer item timer. Its state is a function of time: a
// started timer whose deadline has passed is elapsed, which Normalize records.
type Timer struct {
	Trigger string      `json:"trigger"`
	Status  TimerStatus `json:"status"`
	// Infinite timers (value 0) never elapse.
	Infinite bool `json:"infinite,omitempty"`
	// Left is the time left at Since (when started) or now (when pending,
	// paused or stopped), exactly: it is rounded up to whole seconds only
	// when reported, so pausing and resuming never lengthens a timer.
	Left  time.Duration `json:"left"`
	Since time.Time     `json:"since,omitzero"`
}

// TimerChange is one timer's status transition, as reported in events.
type TimerChange struct {
	ItemID string      `json:"itemId"`
	From   TimerStatus `json:"from"`
	To     TimerStatus `json:"to"`
	// RemainingSecs is the timer's remaining time as of the event (nil for
	// an infinite or removed timer).
	RemainingSecs *int64 `json:"remainingSecs"`
}

// NewTimer returns a pending timer with the given trigger and value (0 means
// no end). Call Arm to start it if its trigger was already reached.
func NewTimer(trigger string, value int64) *Timer {
	return &Timer{Trigger: trigger, Status: TimerPending, Left: time.Duration(value) * time.Second, Infinite: value == 0}
}

// Active reports whether the timer is pending, started or paused at now.
func (t *Timer) Active(now time.Time) bool {
	s := t.StatusAt(now)
	return s == TimerPending || s == TimerStarted || s == TimerPaused
}

// Deadline returns when a started, finite timer elapses.
func (t *Timer) Deadline() (time.Time, bool) {
	if t.Status != TimerStarted || t.Infinite {
		return time.Time{}, false
	}
	return t.Since.Add(t.Left), true
}

// StatusAt is the timer's status at now.
func (t *Timer) StatusAt(now time.Time) TimerStatus {
	if d, ok := t.Deadline(); ok && !now.Before(d) {
		return TimerElapsed
	}
	return t.Status
}

// RemainingAt returns the seconds left at now, or nil for an infinite timer.
func (t *Timer) RemainingAt(now time.Time) *int64 {
	if t.Infinite {
		return nil
	}
	r := ceilSecs(t.leftAt(now))
	return &r
}

// leftAt is the exact time left at now.
func (t *Timer) leftAt(now time.Time) time.Duration {
	switch t.StatusAt(now) {
	case TimerStarted:
		d, _ := t.Deadline()
		return d.Sub(now)
	case TimerElapsed:
		return 0
	}
	return t.Left
}

// Normalize records an elapse that happened by now. It reports the change,
// if any.
func (t *Timer) Normalize(now time.Time) (TimerChange, bool) {
	if t.Status == TimerStarted && t.StatusAt(now) == TimerElapsed {
		t.Status, t.Left = TimerElapsed, 0
		return TimerChange{From: TimerStarted, To: TimerElapsed}, true
	}
	return TimerChange{}, false
}

func (t *Timer) start(now time.Time) {
	t.Status = TimerStarted
	t.Since = now
}

func (t *Timer) pause(now time.Time) {
	t.Left = t.leftAt(now)
	t.Status = TimerPaused
	t.Since = time.Time{}
}

// onStatus starts a pending timer whose trigger the item just reached.
func (t *Timer) onStatus(now time.Time, s Status) (TimerChange, bool) {
	if t.Status == TimerPending && t.Trigger == string(s) {
		t.start(now)
		return TimerChange{From: TimerPending, To: TimerStarted}, true
	}
	return TimerChange{}, false
}

// arm starts a pending timer whose trigger the item has already reached.
func (t *Timer) arm(now time.Time, it *Item) (TimerChange, bool) {
	if t.Status == TimerPending && t.Trigger != TriggerManual && it.HasReached(Status(t.Trigger)) {
		t.start(now)
		return TimerChange{From: TimerPending, To: TimerStarted}, true
	}
	return TimerChange{}, false
}

// setValue replaces the remaining seconds (0 = no end). A started timer runs
// on from now with the new value.
func (t *Timer) setValue(now time.Time, v int64) {
	t.Infinite = v == 0
	t.Left = time.Duration(v) * time.Second
	if t.Status == TimerStarted {
		t.Since = now
	}
}

// manual applies a manual action. It returns the code of an invalid or no-op
// transition (CodeSuccess when the transition happened).
func (t *Timer) manual(now time.Time, action string) Code {
	switch action {
	case ActionStart:
		switch t.Status {
		case TimerPending, TimerPaused:
			t.start(now)
			return CodeSuccess
		case TimerStarted:
			return CodeTimerAlreadyStart
		case TimerStopped:
			return CodeStartStopped
		case TimerElapsed:
			return CodeStartElapsed
		}
	case ActionPause:
		switch t.Status {
		case TimerStarted:
			t.pause(now)
			return CodeSuccess
		case TimerPaused:
			return CodeTimerAlreadyPause
		case TimerPending:
			return CodePausePending
		case TimerElapsed:
			return CodePauseElapsed
		case TimerStopped:
			return CodePauseStopped
		}
	case ActionStop:
		switch t.Status {
		case TimerStarted, TimerPaused:
			t.Left = t.leftAt(now)
			t.Status = TimerStopped
			t.Since = time.Time{}
			return CodeSuccess
		case TimerStopped:
			return CodeTimerAlreadyStop
		case TimerPending:
			return CodeStopPending
		case TimerElapsed:
			return CodeStopElapsed
		}
	}
	return CodeInvalidItemValue
}

// NormalizeTimers records every timer elapse that happened by now and emits
// one timer event for them.
func (c *Cart) NormalizeTimers(now time.Time) {
	var changes []TimerChange
	for i := range c.Items {
		if t := c.Items[i].Timer; t != nil {
			if tc, ok := t.Normalize(now); ok {
				tc.ItemID = c.Items[i].ID
				changes = append(changes, tc)
			}
		}
	}
	if len(changes) > 0 {
		c.emit(Event{Type: EventTimerStatusChanged, At: now, Timers: changes})
	}
}
