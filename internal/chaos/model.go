package chaos

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Codes the campaign tells apart.
const (
	codeOK           = "000000"
	codeCartExists   = "124101"
	codeNoneAuth     = "124114"
	codeNoneComplete = "124115"
	codeNoCart       = "123001"
	codeRunning      = "124191"
)

// Payment statuses.
const (
	stInitiated  = "initiated"
	stAuthorized = "authorized"
	stCaptured   = "captured"
	stCompleted  = "completed"
	stCanceled   = "canceled"
	stRefunded   = "refunded"
	stOngoing    = "ongoing"
	stExpired    = "expired"
)

// cartExpiry is the merchant's cart expiry (`merchant create
// --cart-expiry`): an unpaid cart's items expire after it. Expiring carts
// set a shorter one of their own (Cart.Expiry).
const cartExpiry = 2 * time.Hour

// shortExpiry is the cartExpiry of expiring carts: the least /init accepts.
const shortExpiry = 60 * time.Second

// amounts are an item's or a cart's amounts in /status.
type amounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

func (a amounts) add(b amounts) amounts {
	return amounts{a.Initiated + b.Initiated, a.Captured + b.Captured, a.Refunded + b.Refunded, a.Current + b.Current}
}

// itemStatus is one item of /status.
type itemStatus struct {
	PaymentStatus string  `json:"paymentStatus"`
	ItemAmounts   amounts `json:"itemAmounts"`
}

// cartStatus is the data of /status.
type cartStatus struct {
	CartID       string                  `json:"cartId"`
	Currency     string                  `json:"currency"`
	TotalAmounts amounts                 `json:"totalAmounts"`
	Items        []map[string]itemStatus `json:"items"`
	byID         map[string]itemStatus
	raw          json.RawMessage
}

func parseStatus(data json.RawMessage) (*cartStatus, error) {
	st := &cartStatus{byID: map[string]itemStatus{}, raw: data}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, err
	}
	for _, el := range st.Items {
		for id, it := range el {
			st.byID[id] = it
		}
	}
	return st, nil
}

// ongoing returns the items reported ongoing.
func (st *cartStatus) ongoing() []string {
	var out []string
	for id, it := range st.byID {
		if it.PaymentStatus == stOngoing {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// statuses summarizes the items' statuses for messages.
func (st *cartStatus) statuses() string {
	var parts []string
	for _, el := range st.Items {
		for id, it := range el {
			parts = append(parts, fmt.Sprintf("%s=%s%+v", id, it.PaymentStatus, it.ItemAmounts))
		}
	}
	return strings.Join(parts, " ")
}

// item is what a client knows about one item of its cart.
type item struct {
	ID      string
	Amount  int64
	TwoStep bool   // capture: true (waits authorized for /capture)
	Auto    string // autoAction of a two-step item: cancel or complete
	Window  time.Duration
	// TimerTrigger and TimerSecs are the item timer's triggerEvent and
	// value ("" when the item has no timer).
	TimerTrigger string
	TimerSecs    int64

	// Requests sent that may touch the item (answered or not).
	CaptureSent, CancelSent, RefundSent, ModifySent bool
	ModifyAmount                                    int64 // the amount of the partial refund's modify
	// Acknowledged (2xx) changes naming the item.
	CaptureAcked, CancelAcked, RefundAcked, ModifyAcked bool
	actedBy                                             map[string]string // kind → key of the 2xx request that acted on it
}

// cart is what a client knows about one of its carts.
type cart struct {
	ID     string
	Items  []*item
	PayURL string

	// CustomerID is sent with carts that have item timers (one customer
	// per cart, so that the active-timer lock of /init never refuses one).
	CustomerID string
	// Expiry is the cart's own cartExpiry (0: the merchant's); Unpaid
	// carts are never paid, so that their expiry fires.
	Expiry time.Duration
	Unpaid bool
	// Card is the card number the client pays with, as typed.
	Card string

	InitSent, InitAcked bool
	InitAt              time.Time // when /init was first sent
	InitAnswered        time.Time // when its 201 came back
	PaySent, PayAcked   bool
	PayFirstSent        time.Time // earliest moment an authorization may have happened
	PayLastSent         time.Time // latest moment an authorization may have happened
	Abandoned           string    // why the client stopped driving the cart
	Requests            []*request

	final *cartStatus // last status read by the final check
}

func (c *cart) item(id string) *item {
	for _, it := range c.Items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// twoStep returns the two-step items among ids (all items when ids is
// empty).
func (c *cart) twoStep(ids []string) []*item {
	var out []*item
	for _, it := range c.Items {
		if it.TwoStep && (len(ids) == 0 || slices.Contains(ids, it.ID)) {
			out = append(out, it)
		}
	}
	return out
}

// slack is how much the campaign's clock may disagree with the server's
// about when a capture window ends.
const slack = 300 * time.Millisecond

// windowMayHaveEnded reports whether the capture window of a two-step item
// may have ended by at: it starts when the item is authorized, at the
// earliest when the first payment attempt was sent.
func (c *cart) windowMayHaveEnded(it *item, at time.Time) bool {
	return c.PaySent && !c.PayFirstSent.IsZero() && at.Sub(c.PayFirstSent) >= it.Window-slack
}

// windowHasEnded reports whether the capture window of a two-step item has
// surely ended by at, with a second for the scheduler to fire it.
func (c *cart) windowHasEnded(it *item, at time.Time) bool {
	return !c.PayLastSent.IsZero() && at.Sub(c.PayLastSent) >= it.Window+time.Second
}

// allowed returns the statuses the item may have at `at` given what the
// client sent and what the server acknowledged. final is true when the
// server has been up long enough for due deadlines to have fired. ongoing
// is never in the set: callers decide about it.
func (c *cart) allowed(it *item, at time.Time, final bool) map[string]bool {
	s := map[string]bool{}
	if !c.PayAcked {
		s[stInitiated] = true
		if at.Sub(c.InitAt) >= c.expiry()-slack {
			s[stExpired] = true
		}
		// Never paid and surely past its expiry (with a second for the
		// scheduler): the expiry has fired.
		if final && !c.PaySent && !c.InitAnswered.IsZero() && at.Sub(c.InitAnswered) >= c.expiry()+time.Second {
			delete(s, stInitiated)
		}
	}
	if c.PaySent {
		if !it.TwoStep {
			s[stCompleted] = true
		} else {
			if !final || !c.windowHasEnded(it, at) {
				s[stAuthorized] = true
			}
			if c.windowMayHaveEnded(it, at) {
				if it.Auto == "cancel" {
					s[stCanceled] = true
				} else {
					s[stCompleted] = true
				}
			}
			if it.CaptureSent {
				s[stCompleted] = true
			}
			if it.CancelSent {
				s[stCanceled] = true
			}
		}
		if s[stCompleted] {
			s[stCaptured] = true // reported between capture and settlement, if ever
			if it.RefundSent {
				s[stRefunded] = true
			}
		}
	}
	keep := func(ok ...string) {
		for k := range s {
			if !slices.Contains(ok, k) {
				delete(s, k)
			}
		}
	}
	switch {
	case it.RefundAcked:
		keep(stRefunded)
	case it.CaptureAcked || it.ModifyAcked:
		keep(stCaptured, stCompleted, stRefunded)
	case it.CancelAcked:
		keep(stCanceled)
	}
	return s
}

// checkItem checks one item's status against the client's knowledge; it
// returns what is wrong, or "".
func (c *cart) checkItem(it *item, got itemStatus, at time.Time, final bool) (check, problem string) {
	a := got.ItemAmounts
	if a.Initiated != it.Amount {
		return checkAmounts, fmt.Sprintf("initiated %d, but /init said %d", a.Initiated, it.Amount)
	}
	if a.Captured != 0 && a.Captured != it.Amount {
		return checkAmounts, fmt.Sprintf("captured %d: neither 0 nor the full amount %d (captured twice or partly?)", a.Captured, it.Amount)
	}
	if a.Refunded < 0 || a.Refunded > a.Captured {
		return checkAmounts, fmt.Sprintf("refunded %d beyond captured %d", a.Refunded, a.Captured)
	}
	if got.PaymentStatus == stOngoing {
		return "", ""
	}
	var want int64
	switch got.PaymentStatus {
	case stInitiated, stAuthorized:
		want = it.Amount
		if a.Captured != 0 || a.Refunded != 0 {
			return checkAmounts, fmt.Sprintf("%s with captured %d refunded %d", got.PaymentStatus, a.Captured, a.Refunded)
		}
	case stCaptured, stCompleted:
		want = a.Captured - a.Refunded
		if a.Captured != it.Amount {
			return checkAmounts, fmt.Sprintf("%s with captured %d, want %d", got.PaymentStatus, a.Captured, it.Amount)
		}
		switch {
		case it.ModifyAcked && a.Current != it.ModifyAmount:
			return checkAckedVisible, fmt.Sprintf("the partial refund to %d was acknowledged, but current is %d", it.ModifyAmount, a.Current)
		case !it.ModifySent && a.Refunded != 0:
			return checkAmounts, fmt.Sprintf("refunded %d without any refund sent", a.Refunded)
		case it.ModifySent && a.Current != it.Amount && a.Current != it.ModifyAmount:
			return checkAmounts, fmt.Sprintf("current %d: neither the full amount %d nor the modified %d", a.Current, it.Amount, it.ModifyAmount)
		}
	case stRefunded:
		if a.Refunded != a.Captured || a.Captured != it.Amount {
			return checkAmounts, fmt.Sprintf("refunded with captured %d refunded %d, want both %d", a.Captured, a.Refunded, it.Amount)
		}
	default: // canceled, expired, rejected
		if a.Captured != 0 || a.Refunded != 0 {
			return checkAmounts, fmt.Sprintf("%s with captured %d refunded %d", got.PaymentStatus, a.Captured, a.Refunded)
		}
	}
	if a.Current != want {
		return checkAmounts, fmt.Sprintf("%s with current %d, want %d", got.PaymentStatus, a.Current, want)
	}
	allowed := c.allowed(it, at, final)
	if !allowed[got.PaymentStatus] {
		return checkAckedVisible, fmt.Sprintf("status %s, want one of %s given %s", got.PaymentStatus, setString(allowed), c.history(it))
	}
	return "", ""
}

// checkCart checks every item of a status and the totals; report is called
// for each problem. ongoingOK tells whether ongoing items are acceptable.
func (c *cart) checkCart(st *cartStatus, at time.Time, final bool, report func(check, detail string)) {
	var sum amounts
	for _, it := range c.Items {
		got, ok := st.byID[it.ID]
		if !ok {
			report(checkAckedVisible, fmt.Sprintf("cart %s: item %s missing from /status: %s", c.ID, it.ID, st.raw))
			continue
		}
		sum = sum.add(got.ItemAmounts)
		if check, problem := c.checkItem(it, got, at, final); problem != "" {
			report(check, fmt.Sprintf("cart %s item %s (%s): %s", c.ID, it.ID, c.describe(it), problem))
		}
	}
	if len(st.byID) != len(c.Items) {
		report(checkAckedVisible, fmt.Sprintf("cart %s: /status lists %d items, /init had %d: %s", c.ID, len(st.byID), len(c.Items), st.raw))
	}
	if sum != st.TotalAmounts {
		report(checkAmounts, fmt.Sprintf("cart %s: totalAmounts %+v is not the sum of the items %+v", c.ID, st.TotalAmounts, sum))
	}
}

// expiry is the cart's expiry.
func (c *cart) expiry() time.Duration {
	if c.Expiry > 0 {
		return c.Expiry
	}
	return cartExpiry
}

// describe is an item's settings for messages.
func (c *cart) describe(it *item) string {
	if !it.TwoStep {
		return fmt.Sprintf("one-step, %d", it.Amount)
	}
	return fmt.Sprintf("two-step, %d, autoAction %s after %s", it.Amount, it.Auto, it.Window)
}

// history is what was sent and acknowledged for an item, for messages.
func (c *cart) history(it *item) string {
	var h []string
	flag := func(sent, acked bool, name string) {
		switch {
		case acked:
			h = append(h, name+" acked")
		case sent:
			h = append(h, name+" sent")
		}
	}
	flag(c.PaySent, c.PayAcked, "pay")
	flag(it.CaptureSent, it.CaptureAcked, "capture")
	flag(it.CancelSent, it.CancelAcked, "cancel")
	flag(it.ModifySent, it.ModifyAcked, fmt.Sprintf("modify to %d", it.ModifyAmount))
	flag(it.RefundSent, it.RefundAcked, "refund")
	if len(h) == 0 {
		return "nothing sent"
	}
	return strings.Join(h, ", ")
}

func setString(s map[string]bool) string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return "[" + strings.Join(out, " ") + "]"
}

// statusOf lists the statuses of the given items.
func (st *cartStatus) statusOf(ids []string) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, id+"="+st.byID[id].PaymentStatus)
	}
	return strings.Join(parts, " ")
}
