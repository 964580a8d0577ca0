package omnicart

import "time"

// OpKind is the kind of a money operation at the provider.
type OpKind string

// Money operations.
const (
	OpAuthorize OpKind = "authorize"
	OpCapture   OpKind = "capture"
	OpRelease   OpKind = "release"
	OpRefund    OpKind = "refund"
)

// Operation is a money operation the cart asked the provider for. It is
// stored before the provider is called and settled after, so that a crash in
// between is recovered by calling the provider again with the same OpID.
type Operation struct {
	OpID       string   `json:"opId"`
	Kind       OpKind   `json:"kind"`
	MerchantID string   `json:"merchantId"`
	CartID     string   `json:"cartId"`
	ItemIDs    []string `json:"itemIds"`
	Currency   string   `json:"currency"`
	Amount     int64    `json:"amount"`
	AuthRef    string   `json:"authRef,omitempty"`
	// Auto marks the auto action of a capture window (started by a
	// deadline, not by a request).
	Auto bool `json:"auto,omitempty"`
}

// Action is a merchant action on authorized or completed items.
type Action string

// Actions of the merchant API.
const (
	ActionCapture Action = "capture"
	ActionCancel  Action = "cancel"
	ActionRefund  Action = "refund"
)

// BeginAction starts a capture, cancel or refund of the items at idx that are
// in the right status (authorized for capture and cancel, completed for
// refund) and have no operation in flight. It marks them ongoing and returns
// one operation per item, and the itemIds acted on, in cart order. With no
// such item it returns 124114 or 124115.
func (c *Cart) BeginAction(a Action, idx []int, newID func() string) ([]Operation, []string, error) {
	want, kind, none := StatusAuthorized, OpCapture, CodeNoneAuthorized
	switch a {
	case ActionCancel:
		kind = OpRelease
	case ActionRefund:
		want, kind, none = StatusCompleted, OpRefund, CodeNoneCompleted
	}
	var ops []Operation
	var ids []string
	for _, i := range idx {
		it := &c.Items[i]
		if it.Status != want || it.Pending != nil {
			continue
		}
		amount := it.Full
		if a == ActionRefund {
			amount = it.Captured - it.Refunded
		}
		op := c.newOp(kind, newID(), amount, it.ID)
		it.Pending = &PendingOp{OpID: op.OpID, Kind: kind, Amount: amount}
		ops = append(ops, op)
		ids = append(ids, it.ID)
	}
	if len(ops) == 0 {
		return nil, nil, Errorf(none, "")
	}
	return ops, ids, nil
}

func (c *Cart) newOp(kind OpKind, id string, amount int64, items ...string) Operation {
	return Operation{OpID: id, Kind: kind, MerchantID: c.MerchantID, CartID: c.ID, ItemIDs: items,
		Currency: c.Currency, Amount: amount, AuthRef: c.AuthRef}
}

// Payable returns the indexes of the items a payment now would authorize
// (initiated, nothing in flight) and their total.
func (c *Cart) Payable() ([]int, int64) {
	var idx []int
	var total int64
	for i := range c.Items {
		it := &c.Items[i]
		if it.Status == StatusInitiated && it.Pending == nil {
			idx = append(idx, i)
			total += it.Full
		}
	}
	return idx, total
}

// Paid reports whether a payment of the cart succeeded: some item was
// authorized (whatever became of it since: captured, canceled, refunded).
// Authorization covers every payable item at once, so a paid cart has
// nothing left to pay.
func (c *Cart) Paid() bool {
	for i := range c.Items {
		it := &c.Items[i]
		switch it.Status {
		case StatusAuthorized, StatusCaptured, StatusCompleted, StatusCanceled, StatusRefunded:
			return true // only an authorization leads to these
		}
		if it.HasReached(StatusAuthorized) {
			return true
		}
	}
	return false
}

// BeginPayment starts the authorization of every payable item. It returns
// false when there is nothing to pay.
func (c *Cart) BeginPayment(opID string) (Operation, bool) {
	idx, total := c.Payable()
	if len(idx) == 0 || total <= 0 {
		return Operation{}, false
	}
	ids := make([]string, 0, len(idx))
	for _, i := range idx {
		it := &c.Items[i]
		it.Pending = &PendingOp{OpID: opID, Kind: OpAuthorize, Amount: it.Full}
		ids = append(ids, it.ID)
	}
	op := c.newOp(OpAuthorize, opID, total, ids...)
	op.AuthRef = ""
	return op, true
}

// PaymentAuthorized settles a successful authorization: the items become
// authorized, two-step items get their capture deadline, and the card
// summary is kept. It returns capture operations for one-step items, which
// the caller runs like a merchant capture.
func (c *Cart) PaymentAuthorized(now time.Time, opID, authRef string, card CardInfo, newID func() string) []Operation {
	if !c.Waiting(opID) {
		return nil
	}
	c.AuthRef = authRef
	c.Card = &card
	moves := map[int][]Status{}
	var oneStep []int
	for i := range c.Items {
		it := &c.Items[i]
		if it.Pending == nil || it.Pending.OpID != opID {
			continue
		}
		it.Pending = nil
		moves[i] = []Status{StatusAuthorized}
		if it.Capture.TwoStep {
			it.CaptureDueAt = now.Add(time.Duration(it.Capture.WindowSecs) * time.Second)
		} else {
			oneStep = append(oneStep, i)
		}
	}
	c.setStatus(now, moves)
	var ops []Operation
	for _, i := range oneStep {
		it := &c.Items[i]
		op := c.newOp(OpCapture, newID(), it.Full, it.ID)
		it.Pending = &PendingOp{OpID: op.OpID, Kind: OpCapture, Amount: it.Full}
		ops = append(ops, op)
	}
	return ops
}

// PaymentDeclined records a refused authorization. After maxDeclines
// declines the waiting items become rejected; it reports whether they did.
func (c *Cart) PaymentDeclined(now time.Time, opID, reason string, maxDeclines int) bool {
	if !c.Waiting(opID) {
		return false
	}
	c.Declines = append(c.Declines, Decline{At: now, Reason: reason})
	reject := len(c.Declines) >= maxDeclines
	moves := map[int][]Status{}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Pending == nil || it.Pending.OpID != opID {
			continue
		}
		it.Pending = nil
		if reject {
			moves[i] = []Status{StatusRejected}
		}
	}
	c.setStatus(now, moves)
	return reject
}

// Settle applies the outcome of a capture, release or refund operation. A
// failed operation only clears the in-flight mark. Settling an operation the
// cart no longer waits for does nothing, so settling is idempotent.
func (c *Cart) Settle(now time.Time, opID string, ok bool) {
	c.SettleAll(now, map[string]bool{opID: ok})
}

// SettleAll applies the outcomes (true: succeeded) of several capture,
// release or refund operations at once, with one status event listing
// every item they moved.
func (c *Cart) SettleAll(now time.Time, outcomes map[string]bool) {
	moves := map[int][]Status{}
	for i := range c.Items {
		it := &c.Items[i]
		p := it.Pending
		if p == nil {
			continue
		}
		ok, settled := outcomes[p.OpID]
		if !settled {
			continue
		}
		it.Pending = nil
		if !ok {
			continue
		}
		switch p.Kind {
		case OpCapture:
			it.Captured = p.Amount
			it.CaptureDueAt = time.Time{}
			moves[i] = []Status{StatusCaptured, StatusCompleted}
		case OpRelease:
			if p.NewSnapshot != nil {
				it.Full -= p.Amount
				it.Payment = *p.NewSnapshot
				continue
			}
			it.CaptureDueAt = time.Time{}
			moves[i] = []Status{StatusCanceled}
		case OpRefund:
			it.Refunded += p.Amount
			if p.NewSnapshot != nil {
				it.Payment = *p.NewSnapshot
				continue
			}
			moves[i] = []Status{StatusRefunded}
		}
	}
	c.setStatus(now, moves)
}

// Waiting reports whether some item still waits for the outcome of the
// operation opID.
func (c *Cart) Waiting(opID string) bool {
	for i := range c.Items {
		if p := c.Items[i].Pending; p != nil && p.OpID == opID {
			return true
		}
	}
	return false
}

// AbortPending clears an authorization whose outcome is unknown (the
// provider has been told to void it): its items wait for payment again.
func (c *Cart) AbortPending(opID string) {
	for i := range c.Items {
		if p := c.Items[i].Pending; p != nil && p.OpID == opID {
			c.Items[i].Pending = nil
		}
	}
}

// AutoActionRefused records that the provider refused, for good, the auto
// action a capture window started on the items: the window is used up (it
// fires no more), the items stay as they were, and the merchant must
// capture or cancel them.
func (c *Cart) AutoActionRefused(itemIDs []string) {
	for _, id := range itemIDs {
		if it := c.Item(id); it != nil {
			it.CaptureDueAt = time.Time{}
		}
	}
}
