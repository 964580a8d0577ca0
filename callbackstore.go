package omnicart

import (
	"context"
	"errors"
	"time"
)

// CallbackStore keeps callback endpoints, published events, deliveries and
// the delivery log, and reads the events outbox. Storage engines implement
// it (sqlite.Callbacks); package webhook holds the rules and uses it.
// Lookups of a missing record return an error wrapping ErrNotFound. The
// store holds no business rules: which endpoint gets which event, and what
// an attempt's outcome means, are decided by package webhook and handed in.
type CallbackStore interface {
	// CreateEndpoint stores a new endpoint. It returns ErrNotFound when the
	// merchant does not exist.
	CreateEndpoint(ctx context.Context, e *CallbackEndpoint) error
	// Endpoint returns one endpoint of a merchant.
	Endpoint(ctx context.Context, merchantID, id string) (*CallbackEndpoint, error)
	// Endpoints lists a merchant's endpoints, oldest first; with merchantID
	// "" it lists the enabled endpoints of every merchant.
	Endpoints(ctx context.Context, merchantID string) ([]*CallbackEndpoint, error)
	// UpdateEndpoint saves an endpoint's url, events, enabled flag and
	// reason, secrets and failing mark. When cancelPending is set (the
	// endpoint is being disabled) its pending deliveries are canceled in
	// the same transaction, finished at e.UpdatedAt.
	UpdateEndpoint(ctx context.Context, e *CallbackEndpoint, cancelPending bool) error
	// DeleteEndpoint removes an endpoint with its deliveries and log.
	DeleteEndpoint(ctx context.Context, merchantID, id string) error

	// Outbox returns the fan-out cursor and up to limit events after it,
	// oldest first.
	Outbox(ctx context.Context, limit int) (cursor int64, events []OutboxEvent, err error)
	// Publish records published events and their deliveries and moves the
	// cursor from `from` to `to`, atomically, if the cursor is still at
	// from; otherwise it changes nothing and returns ErrCursorMoved.
	// Deliveries to endpoints that no longer exist or are disabled are
	// skipped.
	Publish(ctx context.Context, from, to int64, events []CallbackEvent, deliveries []NewCallbackDelivery) error

	// NextDue returns the earliest next-attempt time of the pending
	// deliveries of enabled endpoints; ok is false when there are none.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// Claim hands owner due deliveries (next attempt at or before now,
	// endpoint enabled) to send. An endpoint is served by one owner at a
	// time: owner takes the lease of each endpoint with due deliveries
	// that no other owner holds (or whose lease expired), until `until`,
	// and gets due deliveries of each such endpoint, up to perEndpoint
	// counting those it holds already (held: per endpoint, the deliveries
	// being sent or sent and not yet recorded, which are not returned
	// again), up to limit in all. Per endpoint and cart, a delivery waits
	// while an earlier one of that cart has not had its first attempt, so
	// that receivers that answer get a cart's events in order.
	Claim(ctx context.Context, owner string, now, until time.Time, perEndpoint, limit int, held map[string][]int64) ([]CallbackClaim, error)
	// Extend renews owner's endpoint leases until `until`.
	Extend(ctx context.Context, owner string, until time.Time) error
	// Release gives up owner's endpoint leases (the process is stopping),
	// so that another process may take them at once.
	Release(ctx context.Context, owner string) error
	// Record saves the outcomes of attempts in one transaction: an attempt
	// log row each, and the delivery's new state when it is still pending
	// and owner still holds its endpoint's lease. It returns the endpoints
	// of the batch that are now disabled or removed, whose queued
	// deliveries the dispatcher drops.
	Record(ctx context.Context, owner string, outcomes []CallbackOutcome) (stopped []string, err error)

	// Events lists a merchant's published events, newest first.
	Events(ctx context.Context, merchantID string, q CallbackEventQuery) ([]CallbackEventRecord, error)
	// Event returns one published event of a merchant by public id.
	Event(ctx context.Context, merchantID, eventID string) (*CallbackEventRecord, error)
	// Deliveries lists the deliveries of one event, oldest first.
	Deliveries(ctx context.Context, merchantID, eventID string) ([]CallbackDeliveryRecord, error)
	// Attempts lists an endpoint's delivery log, newest first.
	Attempts(ctx context.Context, merchantID, endpointID string, limit int) ([]CallbackAttemptRecord, error)
	// AddDeliveries creates deliveries of published events (re-sends) and
	// returns their ids, in the order asked, 0 for a delivery skipped
	// because its endpoint is disabled or gone.
	AddDeliveries(ctx context.Context, ds []NewCallbackDelivery) ([]int64, error)
	// Prune deletes log rows and finished deliveries from before `before`,
	// looking at most at the oldest limit rows of each, and returns how
	// many rows went (0 when none of those was old enough).
	Prune(ctx context.Context, before time.Time, limit int) (int, error)
}

// ErrCursorMoved is returned by CallbackStore.Publish when another fan-out
// moved the cursor first.
var ErrCursorMoved = errors.New("callbacks: fan-out cursor moved")

// Statuses of a callback endpoint as reported to merchants.
const (
	EndpointActive   = "active"
	EndpointFailing  = "failing"
	EndpointDisabled = "disabled"
)

// CallbackEndpoint is one of a merchant's callback receivers.
type CallbackEndpoint struct {
	ID         string
	MerchantID string
	URL        string
	// Events are the event types the endpoint receives.
	Events  []string
	Enabled bool
	// DisabledReason says why a disabled endpoint was disabled (by the
	// merchant, or by a 410 answer).
	DisabledReason string
	// Secret signs every delivery.
	Secret string
	// PreviousSecret also signs deliveries until PreviousExpiresAt (the
	// overlap of a rotation).
	PreviousSecret    string
	PreviousExpiresAt time.Time
	// FailingSince is set when a delivery to the endpoint exhausted its
	// retries, and cleared by the next successful delivery.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Status is the endpoint's status as reported: EndpointDisabled,
// EndpointFailing or EndpointActive.
func (e *CallbackEndpoint) Status() string {
	switch {
	case !e.Enabled:
		return EndpointDisabled
	case !e.FailingSince.IsZero():
		return EndpointFailing
	}
	return EndpointActive
}

// Wants reports whether the endpoint is subscribed to events of type t.
func (e *CallbackEndpoint) Wants(t string) bool {
	for _, v := range e.Events {
		if v == t {
			return true
		}
	}
	return false
}

// Secrets returns the secrets that sign a delivery sent at now: the current
// one, then the previous one while the rotation overlap lasts.
func (e *CallbackEndpoint) Secrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousSecret != "" && now.Before(e.PreviousExpiresAt) {
		out = append(out, e.PreviousSecret)
	}
	return out
}

// OutboxEvent is one event of the outbox (the events a store writes with
// the cart change that causes them), as the store saved it.
type OutboxEvent struct {
	PK         int64
	MerchantID string
	CartID     string
	CartPK     int64
	Sequence   int64
	Type       string
	// Body is the JSON of the Event.
	Body []byte
}

// CallbackEvent is an outbox event being published, with its public id and
// callback body.
type CallbackEvent struct {
	PK         int64
	ID         string
	MerchantID string
	CartID     string
	CartPK     int64
	Sequence   int64
	Type       string
	Payload    []byte
	CreatedAt  time.Time
}

// NewCallbackDelivery asks for one delivery of a published event to an
// endpoint.
type NewCallbackDelivery struct {
	EventPK    int64
	EndpointID string
	CartPK     int64
	Sequence   int64
	DueAt      time.Time
}

// CallbackClaim is a leased delivery with what sending it needs.
type CallbackClaim struct {
	DeliveryID int64
	// Attempt is the number of this attempt (1 for the first).
	Attempt  int
	EventID  string
	Type     string
	Payload  []byte
	Endpoint CallbackEndpoint
}

// Statuses of a callback delivery.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	DeliveryCanceled  = "canceled"
)

// CallbackOutcome is a delivery attempt's result and what follows from it.
type CallbackOutcome struct {
	DeliveryID int64
	EndpointID string
	Attempt    int
	At         time.Time
	// HTTPStatus is the receiver's status code, 0 when none was received.
	HTTPStatus int
	Latency    time.Duration
	Error      string
	// Response is the start of the receiver's answer body.
	Response string
	// Status is the delivery's new status; NextAttemptAt is set when it
	// stays pending.
	Status        string
	NextAttemptAt time.Time
	// DisableEndpoint (with DisabledReason) disables the endpoint and
	// cancels its pending deliveries (a 410 answer).
	DisableEndpoint bool
	DisabledReason  string
	// Failing marks the endpoint failing (retries exhausted); Healthy
	// clears the mark (a success).
	Failing bool
	Healthy bool
}

// CallbackEventQuery filters CallbackStore.Events.
type CallbackEventQuery struct {
	CartID string
	Type   string
	// Before lists only events published before the event with this public
	// id (paging).
	Before string
	Limit  int
}

// CallbackEventRecord is a published event.
type CallbackEventRecord struct {
	ID        string
	Type      string
	CartID    string
	Sequence  int64
	Payload   []byte
	CreatedAt time.Time
	PK        int64
	CartPK    int64
}

// CallbackDeliveryRecord is the state of one delivery.
type CallbackDeliveryRecord struct {
	ID            int64
	EndpointID    string
	EventID       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	FinishedAt    time.Time
}

// CallbackAttemptRecord is one row of an endpoint's delivery log.
type CallbackAttemptRecord struct {
	DeliveryID int64
	EventID    string
	EventType  string
	CartID     string
	Attempt    int
	At         time.Time
	HTTPStatus int
	Latency    time.Duration
	Error      string
	Response   string
	// Status is the delivery's status now.
	Status string
}
