package omnicart

import (
	"slices"
	"time"
)

// Status is an item's payment status.
type Status string

// Payment statuses. StatusOngoing is never stored: it is reported instead of
// the stored status while a money operation on the item is in flight.
const (
	StatusInitiated  Status = "initiated"
	StatusAuthorized Status = "authorized"
	StatusCaptured   Status = "captured"
	StatusCompleted  Status = "completed"
	StatusCanceled   Status = "canceled"
	StatusRefunded   Status = "refunded"
	StatusRejected   Status = "rejected"
	StatusExpired    Status = "expired"
	StatusOngoing    Status = "ongoing"
)

// ParseStatus returns the stored status named s (not "ongoing").
func ParseStatus(s string) (Status, bool) {
	switch st := Status(s); st {
	case StatusInitiated, StatusAuthorized, StatusCaptured, StatusCompleted,
		StatusCanceled, StatusRefunded, StatusRejected, StatusExpired:
		return st, true
	}
	return "", false
}

// AmountMode says how an item's full amount is computed.
type AmountMode string

// Amount modes.
const (
	AmountDeclared   AmountMode = "declared"
	AmountCalculated AmountMode = "calculated"
)

// AutoAction is what a capture window does when it runs out.
type AutoAction string

// Auto actions.
const (
	AutoCancel   AutoAction = "cancel"
	AutoComplete AutoAction = "complete"
)

// PaymentSnapshot is the pricing of an item as the merchant gave it.
type PaymentSnapshot struct {
	Amount   int64      `json:"amount"`
	Mode     AmountMode `json:"amountMode"`
	Quantity Decimal    `json:"quantity"`
	Modifier Decimal    `json:"amountModifier"`
}

// FullAmount is the amount the snapshot prices the item at: Amount when
// declared, Amount × Quantity × Modifier (rounded half away from zero) when
// calculated. ok is false when the result is below 1 or above MaxAmount.
func (p PaymentSnapshot) FullAmount() (int64, bool) {
	if p.Mode != AmountCalculated {
		return p.Amount, p.Amount >= 1 && p.Amount <= MaxAmount
	}
	v, ok := CalculateAmount(p.Amount, p.Quantity, p.Modifier)
	return v, ok && v >= 1
}

// CaptureSettings decide whether an authorized item waits for capture and
// what happens when its capture window runs out.
type CaptureSettings struct {
	TwoStep    bool       `json:"capture"`
	AutoAction AutoAction `json:"autoAction"`
	WindowSecs int64      `json:"windowSecs"`
}

// PendingOp is a money operation in flight at the provider for one item. While
// it exists the item reports StatusOngoing.
type PendingOp struct {
	OpID   string `json:"opId"`
	Kind   OpKind `json:"kind"`
	Amount int64  `json:"amount"`
	// NewSnapshot is the pricing the item takes when a partial release or
	// refund (a modify) succeeds.
	NewSnapshot *PaymentSnapshot `json:"newSnapshot,omitempty"`
}

// Item is one line of a cart.
type Item struct {
	ID      string          `json:"id"`
	Tag     string          `json:"tag,omitempty"`
	Status  Status          `json:"status"`
	Reached []Status        `json:"reached"`
	Payment PaymentSnapshot `json:"payment"`
	Capture CaptureSettings `json:"captureSettings"`
	Timer   *Timer          `json:"timer,omitempty"`
	// Initiated is the full amount at init; it never changes.
	Initiated int64 `json:"initiated"`
	// Full is the current full amount while initiated or authorized (after
	// partial cancellations).
	Full     int64 `json:"full"`
	Captured int64 `json:"captured"`
	Refunded int64 `json:"refunded"`
	// CaptureDueAt is when the capture window of an authorized two-step item
	// runs out (zero when there is none).
	CaptureDueAt time.Time `json:"captureDueAt,omitzero"`
	// Warned records that the auto-action warning of the current capture
	// window was emitted.
	Warned  bool       `json:"warned,omitempty"`
	Pending *PendingOp `json:"pending,omitempty"`
}

// ReportedStatus is the status shown to the merchant: StatusOngoing while a
// money operation is in flight, else the stored status.
func (it *Item) ReportedStatus() Status {
	if it.Pending != nil {
		return StatusOngoing
	}
	return it.Status
}

// Amounts are the four amounts OmniCart reports per item and per cart.
type Amounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

// Add returns the sum of two amount sets.
func (a Amounts) Add(b Amounts) Amounts {
	return Amounts{a.Initiated + b.Initiated, a.Captured + b.Captured, a.Refunded + b.Refunded, a.Current + b.Current}
}

// Amounts returns the item's amounts.
func (it *Item) Amounts() Amounts {
	a := Amounts{Initiated: it.Initiated, Captured: it.Captured, Refunded: it.Refunded}
	switch it.Status {
	case StatusInitiated, StatusAuthorized:
		a.Current = it.Full
	case StatusCaptured, StatusCompleted:
		a.Current = it.Captured - it.Refunded
	}
	return a
}

// HasReached reports whether the item has ever been in status s.
func (it *Item) HasReached(s Status) bool {
	for _, r := range it.Reached {
		if r == s {
			return true
		}
	}
	return false
}

// warnAt is when the auto-action warning of the item's capture window is
// due: lead before the window runs out, but never before the window
// started (the authorization), so that a window shorter than the lead is
// announced when it opens, not at a time before the payment that opened
// it. CaptureDueAt must be set.
func (it *Item) warnAt(lead time.Duration) time.Time {
	window := time.Duration(it.Capture.WindowSecs) * time.Second
	if window < 0 {
		window = 0
	}
	return it.CaptureDueAt.Add(-min(lead, window))
}

// Change is one item's status transition, as reported in events.
type Change struct {
	ItemID string `json:"itemId"`
	From   Status `json:"from"`
	To     Status `json:"to"`
}

// Decline records one refused payment attempt.
type Decline struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// CardInfo is what OmniCart keeps of a card: never the number or the CVC.
type CardInfo struct {
	Brand       string `json:"brand"`
	Last4       string `json:"last4"`
	Fingerprint string `json:"fingerprint"`
}

// PaymentForm says how the payment link reaches the customer.
type PaymentForm struct {
	DeliveryOption string `json:"deliveryOption"`
	Value          string `json:"value,omitempty"`
}

// Cart is the aggregate the merchant API acts on. Every change to a cart and
// its events is saved in one transaction.
type Cart struct {
	MerchantID  string      `json:"merchantId"`
	ID          string      `json:"cartId"`
	CustomerID  string      `json:"customerId,omitempty"`
	Currency    string      `json:"currency"`
	CreatedAt   time.Time   `json:"createdAt"`
	ExpiresAt   time.Time   `json:"expiresAt"`
	PaymentForm PaymentForm `json:"paymentForm"`
	Items       []Item      `json:"items"`
	// AuthRef is the provider's reference of the hold, once authorized.
	AuthRef  string    `json:"authRef,omitempty"`
	Card     *CardInfo `json:"card,omitempty"`
	Declines []Decline `json:"declines,omitempty"`
	// Challenge is the 3-D Secure challenge the customer must answer
	// before the payment is authorized (see challenge.go).
	Challenge *PendingChallenge `json:"challenge,omitempty"`
	// Sequence is the number of events the cart has produced.
	Sequence int64 `json:"sequence"`
	// LastEventAt is the time of the cart's latest event: event times
	// never run backwards within a cart's sequence.
	LastEventAt time.Time `json:"lastEventAt,omitzero"`

	events []Event
}

// Event is a domain event produced by a state change, saved with it.
type Event struct {
	Type     string        `json:"type"`
	CartID   string        `json:"cartId"`
	Sequence int64         `json:"sequence"`
	At       time.Time     `json:"createdAt"`
	Changes  []Change      `json:"changes,omitempty"`
	Timers   []TimerChange `json:"timers,omitempty"`
	// AutoActions are the upcoming capture-window actions of a
	// payment.auto_action_pending event.
	AutoActions []AutoActionNotice `json:"autoActions,omitempty"`
	// Data is the cart's status data as of the event.
	Data *StatusView `json:"data,omitempty"`
	// Actor is who made the change that produced the event, when a
	// request made it (AttributeEvents); stored next to the event, never
	// in its body or callback payload.
	Actor Actor `json:"-"`
}

// AutoActionNotice announces a capture window's coming auto action.
type AutoActionNotice struct {
	ItemID     string     `json:"itemId"`
	AutoAction AutoAction `json:"autoAction"`
	DueAt      time.Time  `json:"dueAt"`
}

// Event types.
const (
	EventPaymentStatusChanged = "payment.status_changed"
	EventTimerStatusChanged   = "timer.status_changed"
	EventAutoActionPending    = "payment.auto_action_pending"
)

// TakeEvents returns the events produced since the last call and forgets
// them. Stores call it when saving the cart.
func (c *Cart) TakeEvents() []Event {
	ev := c.events
	c.events = nil
	return ev
}

// AttributeEvents records a as the actor of the events the cart produced
// since the last TakeEvents whose sequence is above after (the events of
// a request, after those of the deadlines that fired before it) and that
// have none yet.
func (c *Cart) AttributeEvents(a Actor, after int64) {
	for i := range c.events {
		if e := &c.events[i]; e.Sequence > after && e.Actor == "" {
			e.Actor = a
		}
	}
}

// emit records an event. Its time is when it happened (the moment a
// deadline fired or a request ran), but never earlier than the cart's
// previous event: an outcome applied late (a remote operation settled at
// the deadline that started it) or a clock that stepped back does not
// date an event before one that precedes it in the sequence.
func (c *Cart) emit(e Event) {
	if e.At.Before(c.LastEventAt) {
		e.At = c.LastEventAt
	}
	c.LastEventAt = e.At
	c.Sequence++
	e.Sequence = c.Sequence
	e.CartID = c.ID
	for k := range e.Timers {
		if it := c.Item(e.Timers[k].ItemID); it != nil && it.Timer != nil {
			e.Timers[k].RemainingSecs = it.Timer.RemainingAt(e.At)
		}
	}
	v := c.View(nil, e.At)
	e.Data = &v
	c.events = append(c.events, e)
}

// Clone returns a deep copy of the cart, with the events it has produced
// and not yet handed to storage (the events themselves are shared: they
// are not changed once produced).
func (c *Cart) Clone() *Cart {
	d := *c
	d.Items = slices.Clone(c.Items)
	for i := range d.Items {
		it := &d.Items[i]
		it.Reached = slices.Clone(it.Reached)
		it.Timer = clonePtr(it.Timer)
		if it.Pending != nil {
			p := *it.Pending
			p.NewSnapshot = clonePtr(p.NewSnapshot)
			it.Pending = &p
		}
	}
	d.Card = clonePtr(c.Card)
	d.Declines = slices.Clone(c.Declines)
	d.Challenge = clonePtr(c.Challenge)
	d.events = slices.Clone(c.events)
	return &d
}

// clonePtr returns a pointer to a copy of *p, nil for nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Item returns the item with the given itemId, or nil.
func (c *Cart) Item(id string) *Item {
	for i := range c.Items {
		if c.Items[i].ID == id {
			return &c.Items[i]
		}
	}
	return nil
}

// Totals sums the amounts of the items at the given indexes.
func (c *Cart) Totals(idx []int) Amounts {
	var t Amounts
	for _, i := range idx {
		t = t.Add(c.Items[i].Amounts())
	}
	return t
}

// All returns the indexes of every item, in cart order.
func (c *Cart) All() []int {
	idx := make([]int, len(c.Items))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Expired reports whether the cart's payment window has closed at now.
func (c *Cart) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// setStatus moves items to new statuses, recording reached statuses, starting
// timers that wait for them, and emitting one payment event for the batch.
func (c *Cart) setStatus(now time.Time, moves map[int][]Status) {
	var changes []Change
	var timers []TimerChange
	for _, i := range sortedKeys(moves) {
		it := &c.Items[i]
		for _, to := range moves[i] {
			if it.Status == to {
				continue
			}
			changes = append(changes, Change{ItemID: it.ID, From: it.Status, To: to})
			it.Status = to
			if !it.HasReached(to) {
				it.Reached = append(it.Reached, to)
			}
			if it.Timer != nil {
				if tc, ok := it.Timer.onStatus(now, to); ok {
					tc.ItemID = it.ID
					timers = append(timers, tc)
				}
			}
		}
	}
	if len(changes) > 0 {
		c.emit(Event{Type: EventPaymentStatusChanged, At: now, Changes: changes})
	}
	if len(timers) > 0 {
		c.emit(Event{Type: EventTimerStatusChanged, At: now, Timers: timers})
	}
}

func sortedKeys(m map[int][]Status) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// NextDeadline is the earliest moment something is due on the cart: cart
// expiry while items wait for payment, a capture window or its warning
// (lead before it, or when the window opened if it is shorter than lead),
// or a running timer's end. Items with an operation in
// flight are skipped: their deadline comes back when it settles.
func (c *Cart) NextDeadline(lead time.Duration) (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Pending == nil {
			if it.Status == StatusInitiated {
				consider(c.ExpiresAt)
			}
			if it.Status == StatusAuthorized && !it.CaptureDueAt.IsZero() {
				if !it.Warned {
					consider(it.warnAt(lead))
				}
				consider(it.CaptureDueAt)
			}
		}
		if it.Timer != nil {
			if d, ok := it.Timer.Deadline(); ok {
				consider(d)
			}
		}
	}
	return next, !next.IsZero()
}
