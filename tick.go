package omnicart

import "time"

// Tick fires everything due on the cart at `at`: timers that end, the cart's
// expiry (waiting items become expired), auto-action warnings, and capture
// windows that run out (their auto action becomes a release or capture
// operation, returned for the caller to run and settle). Tick is idempotent:
// what has fired is recorded in the cart and does not fire again.
func (c *Cart) Tick(at time.Time, lead time.Duration, newID func() string) []Operation {
	c.NormalizeTimers(at)
	moves := map[int][]Status{}
	var notices []AutoActionNotice
	var ops []Operation
	for i := range c.Items {
		it := &c.Items[i]
		if it.Pending != nil {
			continue
		}
		if it.Status == StatusInitiated && c.Expired(at) {
			moves[i] = []Status{StatusExpired}
			continue
		}
		if it.Status != StatusAuthorized || it.CaptureDueAt.IsZero() {
			continue
		}
		if !it.Warned && !at.Before(it.warnAt(lead)) {
			it.Warned = true
			notices = append(notices, AutoActionNotice{ItemID: it.ID, AutoAction: it.Capture.AutoAction, DueAt: it.CaptureDueAt})
		}
		if at.Before(it.CaptureDueAt) {
			continue
		}
		kind := OpRelease
		if it.Capture.AutoAction == AutoComplete {
			kind = OpCapture
		}
		op := c.newOp(kind, newID(), it.Full, it.ID)
		op.Auto = true
		it.Pending = &PendingOp{OpID: op.OpID, Kind: kind, Amount: it.Full}
		ops = append(ops, op)
	}
	if len(notices) > 0 {
		c.emit(Event{Type: EventAutoActionPending, At: at, AutoActions: notices})
	}
	c.setStatus(at, moves)
	return ops
}
