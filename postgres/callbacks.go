package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

// Callbacks is the callback store (omnicart.CallbackStore) in the tables of
// migration 0004_callbacks, shared by every node that runs a dispatcher.
// Work is shared by claims on rows, never by a cursor or a lock held in a
// process:
//
//   - the outbox (callback_outbox, a row per event not fanned out yet,
//     written by a trigger on events) is claimed per row, FOR UPDATE SKIP
//     LOCKED, with a lease (owner, until); Publish deletes only the rows
//     the owner still holds, in the transaction that records the published
//     events and their deliveries;
//   - an endpoint is served by the owner of its row in callback_leases;
//     Record locks the batch's lease rows FOR SHARE and changes only the
//     deliveries of endpoints whose lease the owner still holds, so an
//     outcome and a takeover of the endpoint serialize;
//   - a delivery is created only while its endpoint row is locked FOR
//     SHARE and enabled, so that disabling an endpoint (which cancels its
//     pending deliveries) and a fan-out to it serialize.
//
// Statements that lock several rows lock them in id order, and the
// transactions that could still deadlock (with a merchant's endpoint
// change) run again (see retry).
type Callbacks struct {
	db *DB
}

var _ omnicart.CallbackStore = (*Callbacks)(nil)

// NewCallbacks returns the callback store kept in db.
func NewCallbacks(db *DB) *Callbacks { return &Callbacks{db: db} }

// ConcurrentWrites reports that write transactions of this engine run side
// by side, so that an event may take its id before another and commit
// after it (storetest.ConcurrentWriter: the callback suite then commits
// events out of id order for real).
func (s *Store) ConcurrentWrites() bool { return true }

// writeTx runs fn in one READ COMMITTED transaction, again when the server
// aborted it for a deadlock (see retry).
func (s *Callbacks) writeTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, s.db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
	})
}

const endpointCols = `id, merchant_id, url, events, enabled, disabled_reason, secret, previous_secret, previous_expires_at,
	failing_since, created_at, updated_at`

func scanEndpoint(sc pgx.Row) (*omnicart.CallbackEndpoint, error) {
	var e omnicart.CallbackEndpoint
	var prev *string
	var prevExp, failing *int64
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.MerchantID, &e.URL, &e.Events, &e.Enabled, &e.DisabledReason, &e.Secret, &prev, &prevExp, &failing,
		&created, &updated); err != nil {
		return nil, err
	}
	if len(e.Events) == 0 {
		e.Events = nil
	}
	if prev != nil {
		e.PreviousSecret = *prev
	}
	if prevExp != nil {
		e.PreviousExpiresAt = fromMs(*prevExp)
	}
	if failing != nil {
		e.FailingSince = fromMs(*failing)
	}
	e.CreatedAt, e.UpdatedAt = fromMs(created), fromMs(updated)
	return &e, nil
}

// strOrNil is s, or NULL for "".
func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// eventTypes is an endpoint's event list as a text[] (never NULL).
func eventTypes(types []string) []string {
	if types == nil {
		return []string{}
	}
	return types
}

// CreateEndpoint stores a new endpoint, or returns omnicart.ErrNotFound
// when its merchant does not exist.
func (s *Callbacks) CreateEndpoint(ctx context.Context, e *omnicart.CallbackEndpoint) error {
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO callback_endpoints(`+endpointCols+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE EXISTS (SELECT 1 FROM merchants WHERE id = $2)`,
		e.ID, e.MerchantID, e.URL, eventTypes(e.Events), e.Enabled, e.DisabledReason, e.Secret,
		strOrNil(e.PreviousSecret), msOrNil(e.PreviousExpiresAt), msOrNil(e.FailingSince), ms(e.CreatedAt), ms(e.UpdatedAt))
	if ownCode(err, "23503") { // the merchant went meanwhile
		return omnicart.ErrNotFound
	}
	if err != nil {
		return wrap("create callback endpoint", err)
	}
	if tag.RowsAffected() == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}

// Endpoint returns one endpoint of a merchant or omnicart.ErrNotFound.
func (s *Callbacks) Endpoint(ctx context.Context, merchantID, id string) (*omnicart.CallbackEndpoint, error) {
	e, err := scanEndpoint(s.db.pool.QueryRow(ctx, `SELECT `+endpointCols+` FROM callback_endpoints WHERE id = $1 AND merchant_id = $2`,
		id, merchantID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	return e, wrap("load callback endpoint", err)
}

// Endpoints lists a merchant's endpoints (every merchant's enabled ones
// when merchantID is empty), oldest first.
func (s *Callbacks) Endpoints(ctx context.Context, merchantID string) ([]*omnicart.CallbackEndpoint, error) {
	q, args := `SELECT `+endpointCols+` FROM callback_endpoints WHERE merchant_id = $1 ORDER BY created_at, id`, []any{merchantID}
	if merchantID == "" {
		q, args = `SELECT `+endpointCols+` FROM callback_endpoints WHERE enabled ORDER BY created_at, id`, nil
	}
	rows, err := s.db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list callback endpoints", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*omnicart.CallbackEndpoint, error) { return scanEndpoint(r) })
	return out, wrap("list callback endpoints", err)
}

// cancelPendingSQL cancels an endpoint's pending deliveries ($1: when, $2:
// the endpoint).
const cancelPendingSQL = `UPDATE callback_deliveries SET status = 'canceled', next_attempt_at = NULL,
	last_error = 'endpoint disabled', finished_at = $1 WHERE endpoint_id = $2 AND status = 'pending'`

// UpdateEndpoint reads the endpoint FOR UPDATE, lets change change it and
// saves it, canceling its pending deliveries when change asks, in one
// transaction (see omnicart.CallbackStore). The endpoint's row stays
// locked until the deliveries are canceled, so no fan-out adds one in
// between, and a concurrent change waits and then reads what this one
// saved (see Callbacks).
func (s *Callbacks) UpdateEndpoint(ctx context.Context, merchantID, id string,
	change func(*omnicart.CallbackEndpoint) (bool, error)) (*omnicart.CallbackEndpoint, error) {
	var out *omnicart.CallbackEndpoint
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		e, err := scanEndpoint(tx.QueryRow(ctx, `SELECT `+endpointCols+` FROM callback_endpoints WHERE id = $1 AND merchant_id = $2 FOR UPDATE`,
			id, merchantID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
		}
		if err != nil {
			return wrap("load callback endpoint", err)
		}
		cancelPending, err := change(e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE callback_endpoints SET url = $1, events = $2, enabled = $3, disabled_reason = $4, secret = $5,
			previous_secret = $6, previous_expires_at = $7, failing_since = $8, updated_at = $9 WHERE id = $10 AND merchant_id = $11`,
			e.URL, eventTypes(e.Events), e.Enabled, e.DisabledReason, e.Secret, strOrNil(e.PreviousSecret),
			msOrNil(e.PreviousExpiresAt), msOrNil(e.FailingSince), ms(e.UpdatedAt), id, merchantID); err != nil {
			return wrap("update callback endpoint", err)
		}
		if cancelPending {
			if _, err := tx.Exec(ctx, cancelPendingSQL, ms(e.UpdatedAt), id); err != nil {
				return wrap("cancel pending deliveries", err)
			}
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteEndpoint removes an endpoint with its deliveries, lease and log,
// or returns omnicart.ErrNotFound when the merchant has no such endpoint.
func (s *Callbacks) DeleteEndpoint(ctx context.Context, merchantID, id string) error {
	var n int64
	err := retry(ctx, func() error {
		tag, err := s.db.pool.Exec(ctx, `DELETE FROM callback_endpoints WHERE id = $1 AND merchant_id = $2`, id, merchantID)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return wrap("delete callback endpoint", err)
	}
	if n == 0 {
		return fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	return nil
}

const eventCols = `event_pk, id, type, cart_id, cart_pk, sequence, payload, created_at`

func scanEvent(sc pgx.Row) (omnicart.CallbackEventRecord, error) {
	var e omnicart.CallbackEventRecord
	var created int64
	err := sc.Scan(&e.PK, &e.ID, &e.Type, &e.CartID, &e.CartPK, &e.Sequence, &e.Payload, &created)
	e.CreatedAt = fromMs(created)
	return e, err
}

// Events lists a merchant's published events, newest first.
func (s *Callbacks) Events(ctx context.Context, merchantID string, q omnicart.CallbackEventQuery) ([]omnicart.CallbackEventRecord, error) {
	where := []string{"merchant_id = $1"}
	args := []any{merchantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.CartID != "" {
		where = append(where, "cart_id = "+arg(q.CartID))
	}
	if q.Type != "" {
		where = append(where, "type = "+arg(q.Type))
	}
	if q.Before != "" {
		where = append(where, "event_pk < COALESCE((SELECT event_pk FROM callback_events WHERE id = "+arg(q.Before)+" AND merchant_id = $1), 0)")
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+eventCols+` FROM callback_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY event_pk DESC LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, wrap("list events", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (omnicart.CallbackEventRecord, error) { return scanEvent(r) })
	return out, wrap("list events", err)
}

// Event returns one published event of a merchant, or
// omnicart.ErrNotFound.
func (s *Callbacks) Event(ctx context.Context, merchantID, eventID string) (*omnicart.CallbackEventRecord, error) {
	e, err := scanEvent(s.db.pool.QueryRow(ctx, `SELECT `+eventCols+` FROM callback_events WHERE id = $1 AND merchant_id = $2`,
		eventID, merchantID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("event %s: %w", eventID, omnicart.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("load event", err)
	}
	return &e, nil
}

// Deliveries lists the deliveries of one event, oldest first.
func (s *Callbacks) Deliveries(ctx context.Context, merchantID, eventID string) ([]omnicart.CallbackDeliveryRecord, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT d.id, d.endpoint_id, ce.id, d.status, d.attempts, d.next_attempt_at, d.last_status,
		d.last_error, d.created_at, d.finished_at
		FROM callback_deliveries d JOIN callback_events ce ON ce.event_pk = d.event_pk
		WHERE ce.id = $1 AND ce.merchant_id = $2 ORDER BY d.id`, eventID, merchantID)
	if err != nil {
		return nil, wrap("list deliveries", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (omnicart.CallbackDeliveryRecord, error) {
		var d omnicart.CallbackDeliveryRecord
		var next, finished *int64
		var last *int32
		var created int64
		err := r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.Status, &d.Attempts, &next, &last, &d.LastError, &created, &finished)
		if next != nil {
			d.NextAttemptAt = fromMs(*next)
		}
		if last != nil {
			d.LastStatus = int(*last)
		}
		d.CreatedAt = fromMs(created)
		if finished != nil {
			d.FinishedAt = fromMs(*finished)
		}
		return d, err
	})
	return out, wrap("list deliveries", err)
}

// Attempts lists an endpoint's delivery log, newest first.
func (s *Callbacks) Attempts(ctx context.Context, merchantID, endpointID string, limit int) ([]omnicart.CallbackAttemptRecord, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT a.delivery_id, ce.id, ce.type, ce.cart_id, a.attempt, a.at, a.http_status, a.latency_ms,
		a.error, a.response, d.status
		FROM callback_attempts a JOIN callback_deliveries d ON d.id = a.delivery_id
		JOIN callback_events ce ON ce.event_pk = d.event_pk JOIN callback_endpoints e ON e.id = a.endpoint_id
		WHERE a.endpoint_id = $1 AND e.merchant_id = $2 ORDER BY a.id DESC LIMIT $3`, endpointID, merchantID, limit)
	if err != nil {
		return nil, wrap("list attempts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (omnicart.CallbackAttemptRecord, error) {
		var a omnicart.CallbackAttemptRecord
		var at, latency int64
		var status *int32
		err := r.Scan(&a.DeliveryID, &a.EventID, &a.EventType, &a.CartID, &a.Attempt, &at, &status, &latency, &a.Error, &a.Response, &a.Status)
		a.At, a.Latency = fromMs(at), time.Duration(latency)*time.Millisecond
		if status != nil {
			a.HTTPStatus = int(*status)
		}
		return a, err
	})
	return out, wrap("list attempts", err)
}

// Prune deletes, among the oldest `limit` log rows and the oldest `limit`
// deliveries, the attempts made and the deliveries finished before
// `before`, and returns how many rows went. Both tables are written in
// time order (a delivery finishes within days of its creation), so walking
// them by id finds the old rows first without an index on time. Pending
// deliveries are never finished, so a prune and an outcome do not meet.
func (s *Callbacks) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	total := 0
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM callback_attempts WHERE id IN (SELECT id FROM (SELECT id, at FROM callback_attempts ORDER BY id LIMIT $1) o
				WHERE at < $2)`,
			`DELETE FROM callback_deliveries WHERE id IN (SELECT id FROM (SELECT id, finished_at FROM callback_deliveries ORDER BY id LIMIT $1) o
				WHERE finished_at < $2)`,
		} {
			tag, err := tx.Exec(ctx, q, limit, ms(before))
			if err != nil {
				return wrap("prune delivery log", err)
			}
			total += int(tag.RowsAffected())
		}
		return nil
	})
	return total, err
}
