package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Values of the Merchant API's enumerations.
const (
	// Amount modes (PaymentBox.AmountMode, AmountChange.AmountMode).
	AmountDeclared   = "declared"   // the item's amount is its full amount
	AmountCalculated = "calculated" // full amount = amount × quantity × amountModifier

	// Capture window auto actions (CaptureSettings.AutoAction).
	AutoCancel   = "cancel"
	AutoComplete = "complete"

	// Payment-link delivery options (PaymentForm.DeliveryOption).
	DeliveryRedirect = "redirect"
	DeliveryEmail    = "email"
	DeliverySMS      = "sms"
	DeliveryPush     = "push"

	// Payment statuses of items (ItemStatus.PaymentStatus), also timer
	// trigger events (Timer.TriggerEvent) with TriggerManual.
	StatusInitiated  = "initiated"
	StatusOngoing    = "ongoing" // a money operation is in flight
	StatusAuthorized = "authorized"
	StatusCaptured   = "captured"
	StatusCompleted  = "completed"
	StatusCanceled   = "canceled"
	StatusRefunded   = "refunded"
	StatusRejected   = "rejected"
	StatusExpired    = "expired"
	TriggerManual    = "manual"

	// Timer statuses (TimerSnapshot.TimerStatus).
	TimerPending = "pending"
	TimerStarted = "started"
	TimerPaused  = "paused"
	TimerStopped = "stopped"
	TimerElapsed = "elapsed"

	// Manual timer actions (TimerChange.ManualAction).
	TimerStart = "start"
	TimerPause = "pause"
	TimerStop  = "stop"
)

// Bool returns a pointer to v, for the optional booleans of requests.
func Bool(v bool) *bool { return &v }

// Int64 returns a pointer to v, for the optional integers of requests.
func Int64(v int64) *int64 { return &v }

// String returns a pointer to v, for the optional strings of requests.
func String(v string) *string { return &v }

// Decimal returns the exact decimal literal s (such as "2.5") as a JSON
// number, for quantities and amount modifiers (at most six fractional
// digits); it is never rounded through binary floating point.
func Decimal(s string) json.Number { return json.Number(s) }

// InitRequest opens a cart (POST /init).
type InitRequest struct {
	// CartID is yours: 9–36 characters of [A-Za-z0-9_-], unique for your
	// merchant.
	CartID string `json:"cartId"`
	// CustomerID (1–64 printable characters) is required when an item has
	// a timer.
	CustomerID string `json:"customerId,omitempty"`
	// Currency is an ISO 4217 code ("EUR", "XAU").
	Currency string `json:"currency"`
	// CartExpiry is how many seconds the cart may be paid (60–2592000;
	// needs the privilege). Zero means the merchant's default.
	CartExpiry int64 `json:"cartExpiry,omitempty"`
	// Scope holds cart and tag settings that items inherit.
	Scope *Scope `json:"scope,omitempty"`
	// Items are the cart's items, in order; at least one.
	Items []Item `json:"items"`
	// PaymentForm says how the customer gets the payment link; nil means
	// redirect with no return URL.
	PaymentForm *PaymentForm `json:"paymentForm,omitempty"`
	// Debug asks the server to check the whole request and list every
	// problem (or information message) it finds.
	Debug bool `json:"debug,omitempty"`
}

// Scope holds the settings of the cart and of tags.
type Scope struct {
	Cart *Settings     `json:"cart,omitempty"`
	Tags []TagSettings `json:"tags,omitempty"`
}

// Settings are the settings of a level (cart, tag or item). An item
// inherits them field by field: its own, else its tag's, else the cart's,
// else the default.
type Settings struct {
	PaymentBox *PaymentBox `json:"paymentBox,omitempty"`
	// EnableTimer turns the item timer of Timer on (it needs CustomerID).
	EnableTimer *bool  `json:"enableTimer,omitempty"`
	Timer       *Timer `json:"timer,omitempty"`
}

// PaymentBox holds payment settings.
type PaymentBox struct {
	// AmountMode is AmountDeclared (default) or AmountCalculated.
	AmountMode string `json:"amountMode,omitempty"`
	// AmountModifier multiplies calculated amounts (default 1).
	AmountModifier json.Number `json:"amountModifier,omitempty"`
	// Capture: true (default) holds the money until Capture, Cancel or
	// the capture window's auto action; false captures at once.
	Capture         *bool            `json:"capture,omitempty"`
	CaptureSettings *CaptureSettings `json:"captureSettings,omitempty"`
}

// CaptureSettings is the capture window of two-step payments.
type CaptureSettings struct {
	// AutoAction is what happens when the window ends with the item still
	// authorized: AutoCancel (default) or AutoComplete.
	AutoAction string `json:"autoAction,omitempty"`
	// Value is the window in seconds (default 172800).
	Value int64 `json:"value,omitempty"`
}

// Timer is an item timer.
type Timer struct {
	// TriggerEvent is the payment status that starts the timer, or
	// TriggerManual.
	TriggerEvent string `json:"triggerEvent"`
	// Value is the timer's length in seconds; 0 never ends.
	Value int64 `json:"value"`
}

// TagSettings are the settings of the items carrying Tag.
type TagSettings struct {
	Tag string
	Settings
}

// MarshalJSON writes {"<tag>": {settings}}.
func (t TagSettings) MarshalJSON() ([]byte, error) { return keyed(t.Tag, t.Settings) }

// UnmarshalJSON reads {"<tag>": {settings}}.
func (t *TagSettings) UnmarshalJSON(b []byte) error {
	key, err := unkeyed(b, &t.Settings)
	t.Tag = key
	return err
}

// Item is one item of a cart.
type Item struct {
	// ItemID is an item of your catalog.
	ItemID string
	// Amount is in the currency's minor units (per unit when the amount
	// mode is calculated).
	Amount int64
	// Quantity is a decimal (see Decimal); empty means 1.
	Quantity json.Number
	// Tag groups items for scope settings and filters.
	Tag string
	Settings
}

type itemFields struct {
	Amount   int64       `json:"amount"`
	Quantity json.Number `json:"quantity,omitempty"`
	Tag      string      `json:"tag,omitempty"`
	Settings
}

// MarshalJSON writes {"<itemId>": {...}}.
func (it Item) MarshalJSON() ([]byte, error) {
	return keyed(it.ItemID, itemFields{Amount: it.Amount, Quantity: it.Quantity, Tag: it.Tag, Settings: it.Settings})
}

// UnmarshalJSON reads {"<itemId>": {...}}.
func (it *Item) UnmarshalJSON(b []byte) error {
	var f itemFields
	key, err := unkeyed(b, &f)
	*it = Item{ItemID: key, Amount: f.Amount, Quantity: f.Quantity, Tag: f.Tag, Settings: f.Settings}
	return err
}

// PaymentForm says how the customer gets the payment link: DeliveryRedirect
// with the absolute URL the customer returns to after paying, or
// DeliveryEmail, DeliverySMS (E.164) or DeliveryPush (a device token),
// on which OmniCart sends the link.
type PaymentForm struct {
	DeliveryOption string `json:"deliveryOption"`
	Value          string `json:"value,omitempty"`
}

// InitResult is the answer to Init.
type InitResult struct {
	Meta `json:"-"`
	// CartID is the new cart's id.
	CartID string `json:"-"`
	// PaymentURL is the hosted payment page of the cart; apps may post
	// the card to it as JSON (Pay).
	PaymentURL string `json:"paymentUrl"`
	// ExpiresAt is when the cart stops accepting payment.
	ExpiresAt time.Time `json:"expiresAt"`
}

// StatusQuery holds the status filters. The items kept are those with
// any of Tags or ItemIDs (all items when both are empty), narrowed by
// TimerEnabled.
type StatusQuery struct {
	Tags         []string
	ItemIDs      []string
	TimerEnabled *bool
	Debug        bool
}

// Amounts are an item's or a cart's amounts in minor units.
type Amounts struct {
	// Initiated is the full amount at init; it never changes.
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	// Current is what the item is worth now: the full amount while
	// initiated or authorized, captured − refunded once captured, else 0.
	Current int64 `json:"current"`
}

// StatusData is a cart's status: the status answer's data, and the data
// of every callback event.
type StatusData struct {
	CartID     string `json:"cartId"`
	CustomerID string `json:"customerId,omitempty"`
	Currency   string `json:"currency"`
	// TotalAmounts sums the items listed.
	TotalAmounts Amounts `json:"totalAmounts"`
	// Items are in the cart's order.
	Items []ItemStatus `json:"items"`
}

// Item returns the item with this id, or nil.
func (d *StatusData) Item(itemID string) *ItemStatus {
	for i := range d.Items {
		if d.Items[i].ItemID == itemID {
			return &d.Items[i]
		}
	}
	return nil
}

// CartStatus is the answer to Status. Meta.Code is an information code
// (CodeStatusNoTags … CodeStatusNoNoTimer) when a filter matched nothing
// while other items remained.
type CartStatus struct {
	Meta `json:"-"`
	StatusData
}

// ItemStatus is one item of a status.
type ItemStatus struct {
	ItemID string `json:"-"`
	// PaymentStatus is one of the Status… constants.
	PaymentStatus   string           `json:"paymentStatus"`
	ItemAmounts     Amounts          `json:"itemAmounts"`
	Tag             string           `json:"tag,omitempty"`
	PaymentSnapshot PaymentSnapshot  `json:"paymentSnapshot"`
	TimerSnapshot   *TimerSnapshot   `json:"timerSnapshot,omitempty"`
	CaptureSnapshot *CaptureSnapshot `json:"captureSnapshot,omitempty"`
}

type itemStatusFields ItemStatus

// MarshalJSON writes {"<itemId>": {...}}.
func (it ItemStatus) MarshalJSON() ([]byte, error) { return keyed(it.ItemID, itemStatusFields(it)) }

// UnmarshalJSON reads {"<itemId>": {...}}.
func (it *ItemStatus) UnmarshalJSON(b []byte) error {
	var f itemStatusFields
	key, err := unkeyed(b, &f)
	*it = ItemStatus(f)
	it.ItemID = key
	return err
}

// PaymentSnapshot is an item's current payment settings.
type PaymentSnapshot struct {
	Amount         int64       `json:"amount"`
	AmountMode     string      `json:"amountMode"`
	Quantity       json.Number `json:"quantity"`
	AmountModifier json.Number `json:"amountModifier"`
}

// TimerSnapshot is an item timer's state.
type TimerSnapshot struct {
	TriggerEvent string `json:"triggerEvent"`
	// TimerStatus is one of the Timer… status constants.
	TimerStatus string `json:"timerStatus"`
	// RemainingSecs is nil for a timer that never ends.
	RemainingSecs *int64 `json:"remainingSecs"`
}

// CaptureSnapshot is the capture window of an authorized item.
type CaptureSnapshot struct {
	AutoAction    string `json:"autoAction"`
	RemainingSecs int64  `json:"remainingSecs"`
}

// ActionRequest captures, cancels or refunds the items of a cart that
// FilterBox selects (all of them when it is nil).
type ActionRequest struct {
	CartID    string     `json:"cartId"`
	FilterBox *FilterBox `json:"filterBox,omitempty"`
	Debug     bool       `json:"debug,omitempty"`
}

// FilterBox selects items: those with any of Tags or ItemIDs (all items
// when both are empty), narrowed by TimerEnabled. Every listed tag and
// itemId must be in the cart.
type FilterBox struct {
	Tags         []string `json:"tags,omitempty"`
	ItemIDs      []string `json:"itemIds,omitempty"`
	TimerEnabled *bool    `json:"timerEnabled,omitempty"`
}

// ActionResult is the answer to Capture, Cancel and Refund.
type ActionResult struct {
	Meta `json:"-"`
	// ItemIDs are the items acted on, in cart order.
	ItemIDs []string `json:"itemIds"`
}

// ModifyRequest changes a cart (PATCH /modify).
type ModifyRequest struct {
	CartID    string    `json:"cartId"`
	ModifyBox ModifyBox `json:"modifyBox"`
	Debug     bool      `json:"debug,omitempty"`
}

// ModifyBox holds the changes.
type ModifyBox struct {
	CustomerID string       `json:"customerId,omitempty"`
	Scope      *ModifyScope `json:"scope,omitempty"`
	Items      []ModifyItem `json:"items,omitempty"`
}

// ModifyScope holds cart-wide and per-tag changes. Their AmountChange may
// only carry AmountMode and AmountModifier.
type ModifyScope struct {
	Cart *ModifyLevel `json:"cart,omitempty"`
	Tags []ModifyTag  `json:"tags,omitempty"`
}

// ModifyLevel is a change of amounts and timers.
type ModifyLevel struct {
	ModifyAmount *AmountChange `json:"modifyAmount,omitempty"`
	ModifyTimer  *TimerChange  `json:"modifyTimer,omitempty"`
}

// ModifyTag is a change of the items carrying Tag (after this request's
// retagging).
type ModifyTag struct {
	Tag string
	ModifyLevel
}

// MarshalJSON writes {"<tag>": {...}}.
func (t ModifyTag) MarshalJSON() ([]byte, error) { return keyed(t.Tag, t.ModifyLevel) }

// UnmarshalJSON reads {"<tag>": {...}}.
func (t *ModifyTag) UnmarshalJSON(b []byte) error {
	key, err := unkeyed(b, &t.ModifyLevel)
	t.Tag = key
	return err
}

// AmountChange lowers an amount. In initiated items it reprices; in
// authorized items the difference is released from the hold (partial
// cancellation); in completed items it is refunded (partial refund). The
// new amount may not exceed the current one, nor be zero.
type AmountChange struct {
	Amount         int64       `json:"amount,omitempty"`
	AmountMode     string      `json:"amountMode,omitempty"`
	Quantity       json.Number `json:"quantity,omitempty"`
	AmountModifier json.Number `json:"amountModifier,omitempty"`
}

// TimerChange changes an item timer.
type TimerChange struct {
	// TriggerEvent replaces the trigger; a pending timer whose new
	// trigger was already reached starts at once.
	TriggerEvent string `json:"triggerEvent,omitempty"`
	// ManualAction is TimerStart, TimerPause or TimerStop.
	ManualAction string `json:"manualAction,omitempty"`
	// TimerValue replaces the remaining seconds (0: never ends).
	TimerValue *int64 `json:"timerValue,omitempty"`
}

// ModifyItem is a change of one item.
type ModifyItem struct {
	ItemID string
	// Tag retags the item (in any status); empty leaves it.
	Tag          string
	ModifyAmount *AmountChange
	ModifyTimer  *TimerChange
	// EnableTimer false removes the item's timer.
	EnableTimer *bool
}

type modifyItemFields struct {
	Tag          string        `json:"tag,omitempty"`
	ModifyAmount *AmountChange `json:"modifyAmount,omitempty"`
	ModifyTimer  *TimerChange  `json:"modifyTimer,omitempty"`
	EnableTimer  *bool         `json:"enableTimer,omitempty"`
}

// MarshalJSON writes {"<itemId>": {...}}.
func (it ModifyItem) MarshalJSON() ([]byte, error) {
	return keyed(it.ItemID, modifyItemFields{Tag: it.Tag, ModifyAmount: it.ModifyAmount, ModifyTimer: it.ModifyTimer, EnableTimer: it.EnableTimer})
}

// UnmarshalJSON reads {"<itemId>": {...}}.
func (it *ModifyItem) UnmarshalJSON(b []byte) error {
	var f modifyItemFields
	key, err := unkeyed(b, &f)
	*it = ModifyItem{ItemID: key, Tag: f.Tag, ModifyAmount: f.ModifyAmount, ModifyTimer: f.ModifyTimer, EnableTimer: f.EnableTimer}
	return err
}

// ModifyResult is the answer to Modify.
type ModifyResult struct {
	Meta `json:"-"`
	// ModifiedAmounts are the items whose amount or amount settings
	// changed; ModifiedTimers those whose timer changed.
	ModifiedAmounts []string `json:"modifiedAmounts"`
	ModifiedTimers  []string `json:"modifiedTimers"`
}

// ClockResult is the answer to AdvanceClock.
type ClockResult struct {
	Meta `json:"-"`
	// Now is the merchant's clock after the move.
	Now time.Time `json:"now"`
}

// LinkDelivery is a payment-link message and its delivery state.
type LinkDelivery struct {
	Channel       string    `json:"channel"` // email, sms, push
	Recipient     string    `json:"recipient"`
	State         string    `json:"state"` // queued, sent, failed
	Attempts      int       `json:"attempts"`
	Via           string    `json:"via,omitempty"` // smtp, http, outbox
	LastError     string    `json:"lastError,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	SentAt        time.Time `json:"sentAt,omitzero"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
}

// IdempotencyRecord is what the server stored for an Idempotency-Key: the
// request made under it and the answer it got.
type IdempotencyRecord struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	// HTTPStatus and Code are those of the stored answer.
	HTTPStatus int       `json:"httpStatus"`
	Code       string    `json:"code"`
	CreatedAt  time.Time `json:"createdAt"`
	// Response is the stored answer: its envelope as JSON.
	Response json.RawMessage `json:"response"`
}

// Result returns the stored answer as the call would have: an *Error when
// it was not a success, else nil after decoding its data into v (unless v
// is nil), for instance an *ActionResult for a capture.
func (r *IdempotencyRecord) Result(v any) error {
	env, err := parseEnvelope(r.Response)
	if r.HTTPStatus < 200 || r.HTTPStatus > 299 {
		e := &Error{HTTPStatus: r.HTTPStatus, Code: r.Code, IdempotencyKey: r.IdempotencyKey, Method: r.Method, Path: r.Path}
		if env != nil {
			e.Message, e.Debug, e.Timestamp = env.Message, env.Debug, parseStamp(env.Timestamp)
		} else {
			e.Body = truncate(r.Response, 512)
		}
		return e
	}
	if err != nil {
		return fmt.Errorf("omnicart: stored answer of %s is not an envelope: %w", r.IdempotencyKey, err)
	}
	if v == nil {
		return nil
	}
	if len(env.Data) == 0 {
		return errors.New("omnicart: the stored answer has no data")
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return err
	}
	if ir, ok := v.(*InitResult); ok {
		ir.CartID = env.CartID
	}
	return nil
}

// CodeInfo is one entry of the code catalogue.
type CodeInfo struct {
	Code string `json:"code"`
	// HTTPStatus is 0 for codes only ever listed in debug.
	HTTPStatus int    `json:"httpStatus"`
	Message    string `json:"message"`
	Meaning    string `json:"meaning"`
}

// keyed writes {"<key>": v}.
func keyed(key string, v any) ([]byte, error) {
	if key == "" {
		return nil, errors.New("omnicart: empty id")
	}
	k, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	val, err := jsonBody(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(k)+len(val)+3)
	out = append(out, '{')
	out = append(out, k...)
	out = append(out, ':')
	out = append(out, val...)
	return append(out, '}'), nil
}

// unkeyed reads {"<key>": v} (one key) into v and returns the key.
func unkeyed(b []byte, v any) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	if len(m) != 1 {
		return "", fmt.Errorf("omnicart: want an object with one id, got %d keys in %s", len(m), bytes.TrimSpace(b))
	}
	for k, raw := range m {
		return k, json.Unmarshal(raw, v)
	}
	return "", nil
}
