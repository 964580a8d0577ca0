package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/omnicart/omnicart"
)

// Manager runs the callback management use cases for the CLI and the
// management API. Store and Now are required.
type Manager struct {
	Store omnicart.CallbackStore
	Now   func() time.Time
	// AllowPrivate accepts URLs whose host is literally a loopback, private
	// or link-local address (the operator's CLI, or a server started with
	// --allow-private-callbacks).
	AllowPrivate bool
	// Notify, when set, is called after a re-send created deliveries (the
	// server pokes its dispatcher so that they go out at once).
	Notify func()
}

// DefaultOverlap is how long the previous secret keeps signing after a
// rotation when no overlap is given.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap is the longest rotation overlap accepted.
const MaxOverlap = 7 * 24 * time.Hour

// NewEndpoint describes an endpoint to add. Events empty means every event
// type; Enabled nil means enabled.
type NewEndpoint struct {
	URL     string
	Events  []string
	Enabled *bool
}

// AddEndpoint adds an endpoint to a merchant and returns it with its
// signing secret, which is shown only this once. Errors: *omnicart.Error
// for a bad URL (122001/123003) or event list (123003); omnicart.ErrNotFound
// (wrapped) for an unknown merchant.
func (m *Manager) AddEndpoint(ctx context.Context, merchantID string, ne NewEndpoint) (*omnicart.CallbackEndpoint, string, error) {
	if err := CheckURL(ne.URL, m.AllowPrivate); err != nil {
		return nil, "", err
	}
	events := EventTypes()
	if ne.Events != nil {
		var err error
		if events, err = CheckEvents(ne.Events); err != nil {
			return nil, "", err
		}
	}
	existing, err := m.Store.Endpoints(ctx, merchantID)
	if err != nil {
		return nil, "", err
	}
	if len(existing) >= MaxEndpointsPerMerchant {
		// Each endpoint multiplies every event; a bound keeps one merchant
		// from turning callbacks into a flood.
		return nil, "", omnicart.Errorf(omnicart.CodeInvalidValue, "endpoints")
	}
	now := m.Now()
	e := &omnicart.CallbackEndpoint{ID: newEndpointID(), MerchantID: merchantID, URL: ne.URL, Events: events, Enabled: true,
		Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
	if ne.Enabled != nil && !*ne.Enabled {
		e.Enabled, e.DisabledReason = false, "disabled by the merchant"
	}
	if err := m.Store.CreateEndpoint(ctx, e); err != nil {
		return nil, "", fmt.Errorf("merchant %s: %w", merchantID, err)
	}
	return e, e.Secret, nil
}

// MaxEndpointsPerMerchant bounds how many callback endpoints a merchant may
// register (more is refused with 123003 "endpoints has invalid value").
const MaxEndpointsPerMerchant = 20

// Endpoints lists a merchant's endpoints.
func (m *Manager) Endpoints(ctx context.Context, merchantID string) ([]*omnicart.CallbackEndpoint, error) {
	return m.Store.Endpoints(ctx, merchantID)
}

// Endpoint returns one endpoint, or an error wrapping omnicart.ErrNotFound.
func (m *Manager) Endpoint(ctx context.Context, merchantID, id string) (*omnicart.CallbackEndpoint, error) {
	if merchantID == "" {
		return nil, fmt.Errorf("endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	return m.Store.Endpoint(ctx, merchantID, id)
}

// EndpointPatch changes some of an endpoint's settings; nil fields stay.
type EndpointPatch struct {
	URL     *string
	Events  []string
	Enabled *bool
}

// UpdateEndpoint changes an endpoint's URL, event types or enabled flag,
// in one transaction with the endpoint read in it (a concurrent change,
// such as a delivery that disables it, is never overwritten with what
// was read before it). Disabling cancels its pending deliveries in that
// transaction; enabling clears the reason it was disabled and its failing
// mark. Errors as AddEndpoint, and omnicart.ErrNotFound for an unknown
// endpoint.
func (m *Manager) UpdateEndpoint(ctx context.Context, merchantID, id string, p EndpointPatch) (*omnicart.CallbackEndpoint, error) {
	if merchantID == "" {
		return nil, fmt.Errorf("endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	now := m.Now()
	return m.Store.UpdateEndpoint(ctx, merchantID, id, func(e *omnicart.CallbackEndpoint) (bool, error) {
		return m.applyPatch(e, p, now)
	})
}

// applyPatch checks p and applies it to e at now (an unknown endpoint is
// reported before a bad patch: the store calls it once e is found). It
// reports whether e's pending deliveries are to be canceled (it is being
// disabled).
func (m *Manager) applyPatch(e *omnicart.CallbackEndpoint, p EndpointPatch, now time.Time) (bool, error) {
	if p.URL != nil {
		if err := CheckURL(*p.URL, m.AllowPrivate); err != nil {
			return false, err
		}
		e.URL = *p.URL
	}
	if p.Events != nil {
		events, err := CheckEvents(p.Events)
		if err != nil {
			return false, err
		}
		e.Events = events
	}
	cancel := false
	if p.Enabled != nil && *p.Enabled != e.Enabled {
		e.Enabled = *p.Enabled
		if e.Enabled {
			e.DisabledReason, e.FailingSince = "", time.Time{}
		} else {
			e.DisabledReason, cancel = "disabled by the merchant", true
		}
	}
	e.UpdatedAt = now
	return cancel, nil
}

// RemoveEndpoint deletes an endpoint with its pending deliveries and its
// delivery log. Unknown endpoints give omnicart.ErrNotFound.
func (m *Manager) RemoveEndpoint(ctx context.Context, merchantID, id string) error {
	if _, err := m.Endpoint(ctx, merchantID, id); err != nil {
		return err
	}
	return m.Store.DeleteEndpoint(ctx, merchantID, id)
}

// RotateSecret gives an endpoint a new signing secret and returns it (shown
// only this once). The old secret keeps signing, next to the new one, for
// overlap (0 stops it at once; at most MaxOverlap, else 123003
// "overlapSecs has invalid value"). A rotation during an overlap drops the
// oldest secret. The secrets are read and written in one transaction, so
// two rotations at once are one after the other: the second keeps the
// first's new secret as its previous one.
func (m *Manager) RotateSecret(ctx context.Context, merchantID, id string, overlap time.Duration) (*omnicart.CallbackEndpoint, string, error) {
	if overlap < 0 || overlap > MaxOverlap {
		return nil, "", omnicart.Errorf(omnicart.CodeInvalidValue, "overlapSecs")
	}
	if merchantID == "" {
		return nil, "", fmt.Errorf("endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	now := m.Now()
	e, err := m.Store.UpdateEndpoint(ctx, merchantID, id, func(e *omnicart.CallbackEndpoint) (bool, error) {
		e.PreviousSecret, e.PreviousExpiresAt = "", time.Time{}
		if overlap > 0 {
			e.PreviousSecret, e.PreviousExpiresAt = e.Secret, now.Add(overlap)
		}
		e.Secret, e.UpdatedAt = NewSecret(), now
		return false, nil
	})
	if err != nil {
		return nil, "", err
	}
	return e, e.Secret, nil
}

// Events lists a merchant's recent events, newest first (limit 1..200,
// default 50).
func (m *Manager) Events(ctx context.Context, merchantID string, q omnicart.CallbackEventQuery) ([]omnicart.CallbackEventRecord, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	return m.Store.Events(ctx, merchantID, q)
}

// EventDetail is an event with its deliveries.
type EventDetail struct {
	Event      omnicart.CallbackEventRecord
	Deliveries []omnicart.CallbackDeliveryRecord
}

// Event returns one event of a merchant with its deliveries, or an error
// wrapping omnicart.ErrNotFound.
func (m *Manager) Event(ctx context.Context, merchantID, eventID string) (*EventDetail, error) {
	ev, err := m.Store.Event(ctx, merchantID, eventID)
	if err != nil {
		return nil, err
	}
	ds, err := m.Store.Deliveries(ctx, merchantID, eventID)
	if err != nil {
		return nil, err
	}
	return &EventDetail{Event: *ev, Deliveries: ds}, nil
}

// Attempts returns an endpoint's delivery log, newest first (limit 1..500,
// default 100). Unknown endpoints give omnicart.ErrNotFound.
func (m *Manager) Attempts(ctx context.Context, merchantID, endpointID string, limit int) ([]omnicart.CallbackAttemptRecord, error) {
	if _, err := m.Endpoint(ctx, merchantID, endpointID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return m.Store.Attempts(ctx, merchantID, endpointID, limit)
}

// Resent is one delivery created by Resend.
type Resent struct {
	DeliveryID int64
	EndpointID string
}

// Resend sends an event again, with the same id and body, signed anew at
// sending: to one endpoint when endpointID is given (whatever its event
// types, if enabled; else 123003 "endpointId has invalid value"), or else to
// every enabled endpoint subscribed to the event's type. It returns the new
// deliveries (none when no endpoint qualifies). Unknown events and
// endpoints give omnicart.ErrNotFound.
func (m *Manager) Resend(ctx context.Context, merchantID, eventID, endpointID string) ([]Resent, error) {
	ev, err := m.Store.Event(ctx, merchantID, eventID)
	if err != nil {
		return nil, err
	}
	var targets []*omnicart.CallbackEndpoint
	if endpointID != "" {
		e, err := m.Endpoint(ctx, merchantID, endpointID)
		if err != nil {
			return nil, err
		}
		if !e.Enabled {
			return nil, omnicart.Errorf(omnicart.CodeInvalidValue, "endpointId")
		}
		targets = append(targets, e)
	} else {
		all, err := m.Store.Endpoints(ctx, merchantID)
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if e.Enabled && e.Wants(ev.Type) {
				targets = append(targets, e)
			}
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	now := m.Now()
	ds := make([]omnicart.NewCallbackDelivery, 0, len(targets))
	for _, e := range targets {
		ds = append(ds, omnicart.NewCallbackDelivery{EventPK: ev.PK, EndpointID: e.ID, CartPK: ev.CartPK, Sequence: ev.Sequence, DueAt: now})
	}
	ids, err := m.Store.AddDeliveries(ctx, ds)
	if err != nil {
		return nil, err
	}
	var out []Resent
	for i, id := range ids {
		if id != 0 {
			out = append(out, Resent{DeliveryID: id, EndpointID: ds[i].EndpointID})
		}
	}
	if len(out) > 0 && m.Notify != nil {
		m.Notify()
	}
	return out, nil
}
