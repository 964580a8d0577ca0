package webhook

import (
	"context"
	"errors"
	"time"
)

// Store keeps endpoints, published events, deliveries and the delivery log,
// and reads the events outbox. Package sqlite implements it. Lookups of a
// missing record return an error wrapping omnicart.ErrNotFound. The store
// holds no business rules: which endpoint gets which event, and what an
// attempt's outcome means, are decided by this package and handed in.
type Store interface {
	// CreateEndpoint stores a new endpoint. It returns omnicart.ErrNotFound
	// when the merchant does not exist.
	CreateEndpoint(ctx context.Context, e *Endpoint) error
	// Endpoint returns one endpoint of a merchant.
	Endpoint(ctx context.Context, merchantID, id string) (*Endpoint, error)
	// Endpoints lists a merchant's endpoints, oldest first; with merchantID
	// "" it lists the enabled endpoints of every merchant.
	Endpoints(ctx context.Context, merchantID string) ([]*Endpoint, error)
	// UpdateEndpoint saves an endpoint's url, events, enabled flag and
	// reason, secrets and failing mark. When cancelPending is set (the
	// endpoint is being disabled) its pending deliveries are canceled in
	// the same transaction, finished at e.UpdatedAt.
	UpdateEndpoint(ctx context.Context, e *Endpoint, cancelPending bool) error
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
	Publish(ctx context.Context, from, to int64, events []PublishedEvent, deliveries []NewDelivery) error

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
	// again), up to limit in all. Per endpoint and cart, a
	// delivery waits while an earlier one of that cart has not had its
	// first attempt, so that receivers that answer get a cart's events in
	// order.
	Claim(ctx context.Context, owner string, now, until time.Time, perEndpoint, limit int, held map[string][]int64) ([]Claim, error)
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
	Record(ctx context.Context, owner string, outcomes []Outcome) (stopped []string, err error)

	// Events lists a merchant's published events, newest first.
	Events(ctx context.Context, merchantID string, q EventQuery) ([]EventRecord, error)
	// Event returns one published event of a merchant by public id.
	Event(ctx context.Context, merchantID, eventID string) (*EventRecord, error)
	// Deliveries lists the deliveries of one event, oldest first.
	Deliveries(ctx context.Context, merchantID, eventID string) ([]DeliveryRecord, error)
	// Attempts lists an endpoint's delivery log, newest first.
	Attempts(ctx context.Context, merchantID, endpointID string, limit int) ([]AttemptRecord, error)
	// AddDeliveries creates deliveries of published events (re-sends) and
	// returns their ids, in the order asked, 0 for a delivery skipped
	// because its endpoint is disabled or gone.
	AddDeliveries(ctx context.Context, ds []NewDelivery) ([]int64, error)
	// Prune deletes log rows and finished deliveries from before `before`,
	// looking at most at the oldest limit rows of each, and returns how
	// many rows went (0 when none of those was old enough).
	Prune(ctx context.Context, before time.Time, limit int) (int, error)
}

// ErrCursorMoved is returned by Store.Publish when another fan-out moved
// the cursor first.
var ErrCursorMoved = errors.New("webhook: fan-out cursor moved")

// OutboxEvent is one event of the outbox, as the store saved it.
type OutboxEvent struct {
	PK         int64
	MerchantID string
	CartID     string
	CartPK     int64
	Sequence   int64
	Type       string
	// Body is the JSON of the omnicart.Event.
	Body []byte
}

// PublishedEvent is an outbox event with its public id and callback body.
type PublishedEvent struct {
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

// NewDelivery asks for one delivery of an event to an endpoint.
type NewDelivery struct {
	EventPK    int64
	EndpointID string
	CartPK     int64
	Sequence   int64
	DueAt      time.Time
}

// Claim is a leased delivery with what sending it needs.
type Claim struct {
	DeliveryID int64
	// Attempt is the number of this attempt (1 for the first).
	Attempt  int
	EventID  string
	Type     string
	Payload  []byte
	Endpoint Endpoint
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	DeliveryCanceled  = "canceled"
)

// Outcome is an attempt's result and what follows from it.
type Outcome struct {
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

// EventQuery filters Store.Events.
type EventQuery struct {
	CartID string
	Type   string
	// Before lists only events published before the event with this public
	// id (paging).
	Before string
	Limit  int
}

// EventRecord is a published event.
type EventRecord struct {
	ID        string
	Type      string
	CartID    string
	Sequence  int64
	Payload   []byte
	CreatedAt time.Time
	PK        int64
	CartPK    int64
}

// DeliveryRecord is the state of one delivery.
type DeliveryRecord struct {
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

// AttemptRecord is one row of an endpoint's delivery log.
type AttemptRecord struct {
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
