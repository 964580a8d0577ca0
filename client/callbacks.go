package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Callback event types.
const (
	EventPaymentStatusChanged     = "payment.status_changed"
	EventTimerStatusChanged       = "timer.status_changed"
	EventPaymentAutoActionPending = "payment.auto_action_pending"
)

// Endpoint statuses (CallbackEndpoint.Status).
const (
	EndpointActive   = "active"
	EndpointFailing  = "failing"
	EndpointDisabled = "disabled"
)

// CallbackEndpoint is a URL that receives the merchant's callbacks.
type CallbackEndpoint struct {
	EndpointID string `json:"endpointId"`
	URL        string `json:"url"`
	// Events are the event types sent to it.
	Events  []string `json:"events"`
	Enabled bool     `json:"enabled"`
	// Status is EndpointActive, EndpointFailing or EndpointDisabled.
	Status         string `json:"status"`
	DisabledReason string `json:"disabledReason,omitempty"`
	// FailingSince is set while the endpoint is failing.
	FailingSince time.Time `json:"failingSince,omitzero"`
	// PreviousSecretExpiresAt is set during a rotation's overlap, while
	// the previous secret still signs.
	PreviousSecretExpiresAt time.Time `json:"previousSecretExpiresAt,omitzero"`
	CreatedAt               time.Time `json:"createdAt"`
	UpdatedAt               time.Time `json:"updatedAt"`
	// Secret ("whsec_…") is only set in the answers to
	// AddCallbackEndpoint and RotateCallbackSecret: keep it then.
	Secret string `json:"secret,omitempty"`
}

// NewCallbackEndpoint registers an endpoint.
type NewCallbackEndpoint struct {
	// URL is an http or https URL without credentials or fragment.
	URL string `json:"url"`
	// Events are the event types to send; empty means every type.
	Events []string `json:"events,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// CallbackEndpointUpdate changes an endpoint; nil fields stay.
type CallbackEndpointUpdate struct {
	URL     *string  `json:"url,omitempty"`
	Events  []string `json:"events,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}

// CallbackAttempt is one delivery attempt of an endpoint's log.
type CallbackAttempt struct {
	DeliveryID int64     `json:"deliveryId"`
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	CartID     string    `json:"cartId"`
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	// HTTPStatus is nil when no answer came (connection error, timeout).
	HTTPStatus *int   `json:"httpStatus"`
	LatencyMs  int64  `json:"latencyMs"`
	Error      string `json:"error,omitempty"`
	// Response is the start of the endpoint's answer.
	Response string `json:"response,omitempty"`
	// DeliveryStatus is the delivery's state now: pending, succeeded,
	// failed or canceled.
	DeliveryStatus string `json:"deliveryStatus"`
}

// EventQuery selects callback events; zero fields do not filter.
type EventQuery struct {
	CartID string
	// Type is one of the Event… type constants.
	Type string
	// Before is an event id: only older events are listed (paging).
	Before string
	// Limit is 1–200 (default 50).
	Limit int
}

// Event is a callback event: the body OmniCart posts to endpoints.
type Event struct {
	// ID is stable: retries and re-sends carry the same id (and
	// webhook-id), so duplicates can be dropped by it.
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"createdAt"`
	CartID    string    `json:"cartId"`
	// Sequence starts at 1 per cart and grows by one per event of the
	// cart; order a cart's events by it, not by arrival.
	Sequence int64         `json:"sequence"`
	Changes  []EventChange `json:"changes"`
	// Data is the cart's status as of the event.
	Data *StatusData `json:"data"`
	// Raw is the event's JSON as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an event and keeps its JSON in Raw.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = Event(p)
	e.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// EventChange is one change of an event. Payment changes carry From, To
// (payment statuses) and ItemAmounts; timer changes From, To (timer
// statuses) and RemainingSecs (nil for a timer that never ends);
// auto-action notices AutoAction and DueAt.
type EventChange struct {
	ItemID        string    `json:"itemId"`
	From          string    `json:"from,omitempty"`
	To            string    `json:"to,omitempty"`
	ItemAmounts   *Amounts  `json:"itemAmounts,omitempty"`
	RemainingSecs *int64    `json:"remainingSecs,omitempty"`
	AutoAction    string    `json:"autoAction,omitempty"`
	DueAt         time.Time `json:"dueAt,omitzero"`
}

// EventDetail is an event with its deliveries.
type EventDetail struct {
	Event      Event           `json:"event"`
	Deliveries []EventDelivery `json:"deliveries"`
}

// EventDelivery is the delivery of an event to one endpoint.
type EventDelivery struct {
	DeliveryID int64  `json:"deliveryId"`
	EndpointID string `json:"endpointId"`
	// Status is pending, succeeded, failed or canceled.
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"nextAttemptAt,omitzero"`
	LastHTTPStatus *int      `json:"lastHttpStatus"`
	LastError      string    `json:"lastError,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	FinishedAt     time.Time `json:"finishedAt,omitzero"`
}

// Resent is the answer to ResendCallbackEvent: the new deliveries.
type Resent struct {
	EventID    string `json:"eventId"`
	Deliveries []struct {
		DeliveryID int64  `json:"deliveryId"`
		EndpointID string `json:"endpointId"`
	} `json:"deliveries"`
}

func endpointPath(id string, rest string) string {
	return "/callbacks/endpoints/" + url.PathEscape(id) + rest
}

// ListCallbackEndpoints returns the merchant's callback endpoints (their
// secrets are never shown here). Managing callbacks needs a key allowed
// every method (*Error CodeMethodNotAllowed otherwise).
func (c *Client) ListCallbackEndpoints(ctx context.Context, opts ...CallOption) ([]CallbackEndpoint, error) {
	var res struct {
		Endpoints []CallbackEndpoint `json:"endpoints"`
	}
	if _, _, err := c.call(ctx, read("/callbacks/endpoints"), nil, &res, opts); err != nil {
		return nil, err
	}
	return res.Endpoints, nil
}

// AddCallbackEndpoint registers an endpoint and returns it with its
// signing secret, shown this once. The server refuses URLs whose host is
// literally a loopback or private address unless it allows private
// callbacks (*Error CodeInvalidValue).
func (c *Client) AddCallbackEndpoint(ctx context.Context, ep NewCallbackEndpoint, opts ...CallOption) (*CallbackEndpoint, error) {
	var res CallbackEndpoint
	if _, _, err := c.call(ctx, request{method: http.MethodPost, url: "/callbacks/endpoints"}, ep, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetCallbackEndpoint returns one endpoint; an unknown id is *Error
// CodeNotFound.
func (c *Client) GetCallbackEndpoint(ctx context.Context, endpointID string, opts ...CallOption) (*CallbackEndpoint, error) {
	var res CallbackEndpoint
	if _, _, err := c.call(ctx, read(endpointPath(endpointID, "")), nil, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateCallbackEndpoint changes an endpoint's URL, events or enabled
// state.
func (c *Client) UpdateCallbackEndpoint(ctx context.Context, endpointID string, u CallbackEndpointUpdate, opts ...CallOption) (*CallbackEndpoint, error) {
	var res CallbackEndpoint
	// Setting fields to given values may be done twice.
	rq := request{method: http.MethodPatch, url: endpointPath(endpointID, ""), replaySafe: true}
	if _, _, err := c.call(ctx, rq, u, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// EnableCallbackEndpoint enables an endpoint (also one the server disabled
// after a 410 Gone).
func (c *Client) EnableCallbackEndpoint(ctx context.Context, endpointID string, opts ...CallOption) (*CallbackEndpoint, error) {
	return c.UpdateCallbackEndpoint(ctx, endpointID, CallbackEndpointUpdate{Enabled: Bool(true)}, opts...)
}

// DisableCallbackEndpoint disables an endpoint: nothing is sent to it and
// its pending deliveries are canceled.
func (c *Client) DisableCallbackEndpoint(ctx context.Context, endpointID string, opts ...CallOption) (*CallbackEndpoint, error) {
	return c.UpdateCallbackEndpoint(ctx, endpointID, CallbackEndpointUpdate{Enabled: Bool(false)}, opts...)
}

// RemoveCallbackEndpoint removes an endpoint and its delivery log.
func (c *Client) RemoveCallbackEndpoint(ctx context.Context, endpointID string, opts ...CallOption) error {
	_, _, err := c.call(ctx, request{method: http.MethodDelete, url: endpointPath(endpointID, "")}, nil, nil, opts)
	return err
}

// RotateCallbackSecret gives an endpoint a new signing secret, returned in
// the answer. The previous secret also signs for overlap (0 to 7 days;
// nil means the server's default, 24 hours): during it every callback
// carries both signatures, so receivers can switch at their pace.
func (c *Client) RotateCallbackSecret(ctx context.Context, endpointID string, overlap *time.Duration, opts ...CallOption) (*CallbackEndpoint, error) {
	var body any
	if overlap != nil {
		body = struct {
			OverlapSecs int64 `json:"overlapSecs"`
		}{int64(*overlap / time.Second)}
	}
	var res CallbackEndpoint
	rq := request{method: http.MethodPost, url: endpointPath(endpointID, "/rotate")}
	if _, _, err := c.call(ctx, rq, body, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// CallbackDeliveries returns an endpoint's delivery log, one entry per
// attempt, newest first; limit is 1–500 (0: the server's default, 100).
func (c *Client) CallbackDeliveries(ctx context.Context, endpointID string, limit int, opts ...CallOption) ([]CallbackAttempt, error) {
	path := endpointPath(endpointID, "/deliveries")
	if limit != 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var res struct {
		Deliveries []CallbackAttempt `json:"deliveries"`
	}
	if _, _, err := c.call(ctx, read(path), nil, &res, opts); err != nil {
		return nil, err
	}
	return res.Deliveries, nil
}

// CallbackEvents returns recent events, newest first.
func (c *Client) CallbackEvents(ctx context.Context, q EventQuery, opts ...CallOption) ([]Event, error) {
	v := url.Values{}
	if q.CartID != "" {
		v.Set("cartId", q.CartID)
	}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/callbacks/events"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res struct {
		Events []Event `json:"events"`
	}
	if _, _, err := c.call(ctx, read(path), nil, &res, opts); err != nil {
		return nil, err
	}
	return res.Events, nil
}

// CallbackEvent returns one event with its deliveries.
func (c *Client) CallbackEvent(ctx context.Context, eventID string, opts ...CallOption) (*EventDetail, error) {
	var res EventDetail
	if _, _, err := c.call(ctx, read("/callbacks/events/"+url.PathEscape(eventID)), nil, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// ResendCallbackEvent sends an event again, with the same id and body,
// signed anew: to endpointID if not empty (if enabled, whatever its event
// types), else to every enabled endpoint subscribed to its type.
func (c *Client) ResendCallbackEvent(ctx context.Context, eventID, endpointID string, opts ...CallOption) (*Resent, error) {
	var body any
	if endpointID != "" {
		body = struct {
			EndpointID string `json:"endpointId"`
		}{endpointID}
	}
	var res Resent
	rq := request{method: http.MethodPost, url: "/callbacks/events/" + url.PathEscape(eventID) + "/resend"}
	if _, _, err := c.call(ctx, rq, body, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}
