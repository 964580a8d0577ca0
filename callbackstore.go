package omnicart

import (
	"context"
	"time"
)

// CallbackStore keeps callback endpoints, published events, deliveries and
// the delivery log, and hands out the events outbox. Storage engines
// implement it (sqlite.Callbacks) and pass storetest.RunCallbacks; package
// webhook holds the rules and uses it. Lookups of a missing record return
// an error wrapping ErrNotFound. The store holds no business rules: which
// endpoint gets which event, what an attempt's outcome means, and in which
// order a cart's deliveries may go are decided by package webhook and
// handed in. Work is shared between processes by claims on rows (leases
// with an owner and an end), never by cursors, so several dispatchers may
// run on one database.
type CallbackStore interface {
	// CreateEndpoint stores a new endpoint. It returns ErrNotFound when the
	// merchant does not exist.
	CreateEndpoint(ctx context.Context, e *CallbackEndpoint) error
	// Endpoint returns one endpoint of a merchant.
	Endpoint(ctx context.Context, merchantID, id string) (*CallbackEndpoint, error)
	// Endpoints lists a merchant's endpoints, oldest first; with merchantID
	// "" it lists the enabled endpoints of every merchant.
	Endpoints(ctx context.Context, merchantID string) ([]*CallbackEndpoint, error)
	// UpdateEndpoint changes one endpoint of a merchant in one
	// transaction: it reads the endpoint, locked against other changes
	// until the transaction ends, hands it to change, and saves what
	// change made of its url, events, enabled flag and reason, secrets,
	// failing mark and UpdatedAt. When change reports cancelPending (the
	// endpoint is being disabled) its pending deliveries are canceled in
	// the same transaction, finished at UpdatedAt. An error from change
	// rolls everything back and is returned as it is. change must only
	// compute; it may be called again, with the endpoint read anew, when
	// the engine runs the transaction again. UpdateEndpoint returns the
	// endpoint as saved, or an error wrapping ErrNotFound when the
	// merchant has no such endpoint (change is then not called).
	UpdateEndpoint(ctx context.Context, merchantID, id string, change func(e *CallbackEndpoint) (cancelPending bool, err error)) (*CallbackEndpoint, error)
	// DeleteEndpoint removes an endpoint with its deliveries and log.
	DeleteEndpoint(ctx context.Context, merchantID, id string) error

	// ClaimOutbox leases to owner, until `until`, up to limit events of the
	// outbox (events not fanned out yet) that no other owner holds, oldest
	// first. A lease that ran out by now is free, so the events of a fan-out
	// that stopped are taken over; events are claimed per row, so an event
	// that commits after later ones were fanned out is claimed all the same.
	ClaimOutbox(ctx context.Context, owner string, now, until time.Time, limit int) ([]OutboxEvent, error)
	// Publish takes out of the outbox the events among done (their PKs)
	// that owner claimed last and that are still in it, and records, in the
	// same transaction, the published events and deliveries that belong to
	// those; the rest (events taken over by another owner, or already
	// published) are left alone, with their events and deliveries. It
	// returns how many events it took out of the outbox. Deliveries to
	// endpoints that no longer exist or are disabled are skipped.
	Publish(ctx context.Context, owner string, done []int64, events []CallbackEvent, deliveries []NewCallbackDelivery) (int, error)

	// NextDue returns the earliest next-attempt time of the pending
	// deliveries of enabled endpoints; ok is false when there are none.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// Claim hands r.Owner due deliveries (next attempt at or before r.Now,
	// endpoint enabled) to send. An endpoint is served by one owner at a
	// time: the owner takes the lease of each endpoint with due deliveries
	// that no other owner holds (or whose lease ran out), until r.Until.
	// For each endpoint it holds, the store offers r.Ready the endpoint's
	// due deliveries that are not in r.Held (the deliveries the owner is
	// sending or has sent and not yet recorded), earliest next attempt
	// first (then by id), each with the facts of its cart the ordering
	// rule reads, all read in one consistent view; it returns those Ready
	// accepts, up to r.PerEndpoint per endpoint counting the held ones, and
	// up to r.Limit in all. The store applies no ordering rule of its own.
	Claim(ctx context.Context, r CallbackClaimRequest) ([]CallbackClaim, error)
	// Extend renews owner's endpoint leases until `until`.
	Extend(ctx context.Context, owner string, until time.Time) error
	// Release gives up owner's endpoint leases and outbox claims (the
	// process is stopping), so that another process may take them at once.
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
// the cart change that causes them, in its transaction, and keeps there
// until they are published), as the store saved it.
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

// CallbackClaimRequest asks CallbackStore.Claim for deliveries to send.
type CallbackClaimRequest struct {
	// Owner is the dispatcher claiming; it leases endpoints until Until.
	Owner      string
	Now, Until time.Time
	// PerEndpoint bounds the deliveries Owner holds per endpoint (Held
	// counted); Limit bounds the deliveries returned.
	PerEndpoint, Limit int
	// Held lists, per endpoint id, the deliveries Owner is sending or has
	// sent and not yet recorded; they are not offered again.
	Held map[string][]int64
	// Ready decides whether a due delivery may be sent now (the ordering
	// rule); nil accepts every one. It runs while the store's transaction
	// is open, so it must only compute.
	Ready func(CallbackCandidate) bool
}

// CallbackCandidate is a due delivery offered by CallbackStore.Claim, with
// the facts of its cart that the ordering rule reads.
type CallbackCandidate struct {
	DeliveryID int64
	EndpointID string
	CartPK     int64
	Sequence   int64
	// Attempts is how many attempts the delivery had so far.
	Attempts int
	// FirstID and FirstSequence name the earliest (by sequence, then id)
	// pending delivery of the same cart to the same endpoint that has had
	// no attempt yet — possibly this one; FirstID is 0 when there is none.
	FirstID, FirstSequence int64
	// Unpublished is the lowest sequence of the cart's events still in the
	// outbox (not fanned out yet), 0 when there is none.
	Unpublished int64
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
