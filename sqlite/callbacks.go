package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
)

// Callbacks is the callback store (omnicart.CallbackStore) in the tables of
// migrations 0004_callbacks and 0008_callback_outbox (the outbox: a row per
// event not fanned out yet). Writes are short transactions through
// DB.WriteTx; SQLite runs one writer at a time, so the outbox claims and
// the endpoint leases are safe with several processes on one file. Batches
// go to SQLite as JSON arrays (json_each), so that a batch costs a few
// statements whatever its size.
type Callbacks struct {
	db *DB

	// stmts caches the statements of the delivery path, prepared once per
	// connection (parsing SQL costs more than running these statements).
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

var _ omnicart.CallbackStore = (*Callbacks)(nil)

// NewCallbacks returns the callback store kept in db.
func NewCallbacks(db *DB) *Callbacks { return &Callbacks{db: db, stmts: map[string]*sql.Stmt{}} }

// stmt returns the cached prepared statement of query, bound to tx when tx
// is not nil.
func (s *Callbacks) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[query]
	if st == nil {
		var err error
		if st, err = s.db.db.PrepareContext(ctx, query); err != nil {
			s.mu.Unlock()
			return nil, wrap("prepare", err)
		}
		s.stmts[query] = st
	}
	s.mu.Unlock()
	if tx != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

const endpointCols = `id, merchant_id, url, events, enabled, disabled_reason, secret, previous_secret, previous_expires_at, failing_since, created_at, updated_at`

func scanEndpoint(sc interface{ Scan(...any) error }) (*omnicart.CallbackEndpoint, error) {
	var e omnicart.CallbackEndpoint
	var events string
	var enabled int
	var prev sql.NullString
	var prevExp, failing sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.MerchantID, &e.URL, &events, &enabled, &e.DisabledReason, &e.Secret, &prev, &prevExp, &failing, &created, &updated); err != nil {
		return nil, err
	}
	if events != "" {
		e.Events = strings.Split(events, ",")
	}
	e.Enabled = enabled == 1
	e.PreviousSecret = prev.String
	if prevExp.Valid {
		e.PreviousExpiresAt = fromMs(prevExp.Int64)
	}
	if failing.Valid {
		e.FailingSince = fromMs(failing.Int64)
	}
	e.CreatedAt, e.UpdatedAt = fromMs(created), fromMs(updated)
	return &e, nil
}

// nullMs is a time in milliseconds, or NULL for the zero time.
func nullMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateEndpoint stores a new endpoint, or returns omnicart.ErrNotFound
// when its merchant does not exist.
func (s *Callbacks) CreateEndpoint(ctx context.Context, e *omnicart.CallbackEndpoint) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO callback_endpoints(`+endpointCols+`)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM merchants WHERE id = ?)`,
			e.ID, e.MerchantID, e.URL, strings.Join(e.Events, ","), boolInt(e.Enabled), e.DisabledReason, e.Secret,
			nullStr(e.PreviousSecret), nullMs(e.PreviousExpiresAt), nullMs(e.FailingSince), ms(e.CreatedAt), ms(e.UpdatedAt), e.MerchantID)
		if err != nil {
			return wrap("create callback endpoint", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return omnicart.ErrNotFound
		}
		return nil
	})
}

// Endpoint returns one endpoint of a merchant or omnicart.ErrNotFound.
func (s *Callbacks) Endpoint(ctx context.Context, merchantID, id string) (*omnicart.CallbackEndpoint, error) {
	row := s.db.db.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM callback_endpoints WHERE id = ? AND merchant_id = ?`, id, merchantID)
	e, err := scanEndpoint(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
	}
	return e, wrap("load callback endpoint", err)
}

// Endpoints lists a merchant's endpoints (every merchant's enabled ones
// when merchantID is empty).
func (s *Callbacks) Endpoints(ctx context.Context, merchantID string) ([]*omnicart.CallbackEndpoint, error) {
	q, args := `SELECT `+endpointCols+` FROM callback_endpoints WHERE merchant_id = ? ORDER BY created_at, id`, []any{merchantID}
	if merchantID == "" {
		q, args = `SELECT `+endpointCols+` FROM callback_endpoints WHERE enabled = 1 ORDER BY created_at, id`, nil
	}
	rows, err := s.db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list callback endpoints", err)
	}
	defer rows.Close()
	var out []*omnicart.CallbackEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const cancelPendingSQL = `UPDATE callback_deliveries SET status = 'canceled', next_attempt_at = NULL,
	last_error = 'endpoint disabled', finished_at = ? WHERE endpoint_id = ? AND status = 'pending'`

// UpdateEndpoint reads the endpoint, lets change change it and saves it,
// canceling its pending deliveries when change asks, in one unit of the
// writer's transaction (see omnicart.CallbackStore).
func (s *Callbacks) UpdateEndpoint(ctx context.Context, merchantID, id string,
	change func(*omnicart.CallbackEndpoint) (bool, error)) (*omnicart.CallbackEndpoint, error) {
	var out *omnicart.CallbackEndpoint
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		e, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM callback_endpoints WHERE id = ? AND merchant_id = ?`,
			id, merchantID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
		}
		if err != nil {
			return wrap("load callback endpoint", err)
		}
		cancelPending, err := change(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE callback_endpoints SET url = ?, events = ?, enabled = ?, disabled_reason = ?, secret = ?,
			previous_secret = ?, previous_expires_at = ?, failing_since = ?, updated_at = ? WHERE id = ? AND merchant_id = ?`,
			e.URL, strings.Join(e.Events, ","), boolInt(e.Enabled), e.DisabledReason, e.Secret, nullStr(e.PreviousSecret),
			nullMs(e.PreviousExpiresAt), nullMs(e.FailingSince), ms(e.UpdatedAt), id, merchantID); err != nil {
			return wrap("update callback endpoint", err)
		}
		if cancelPending {
			if _, err := tx.ExecContext(ctx, cancelPendingSQL, ms(e.UpdatedAt), id); err != nil {
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

// DeleteEndpoint removes an endpoint with its deliveries and log.
func (s *Callbacks) DeleteEndpoint(ctx context.Context, merchantID, id string) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM callback_endpoints WHERE id = ? AND merchant_id = ?`, id, merchantID)
		if err != nil {
			return wrap("delete callback endpoint", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("callback endpoint %s: %w", id, omnicart.ErrNotFound)
		}
		return nil
	})
}

const eventCols = `event_pk, id, type, cart_id, cart_pk, sequence, payload, created_at`

func scanEvent(sc interface{ Scan(...any) error }) (*omnicart.CallbackEventRecord, error) {
	var e omnicart.CallbackEventRecord
	var created int64
	if err := sc.Scan(&e.PK, &e.ID, &e.Type, &e.CartID, &e.CartPK, &e.Sequence, &e.Payload, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMs(created)
	return &e, nil
}

// Events lists a merchant's published events, newest first.
func (s *Callbacks) Events(ctx context.Context, merchantID string, q omnicart.CallbackEventQuery) ([]omnicart.CallbackEventRecord, error) {
	where := []string{"merchant_id = ?"}
	args := []any{merchantID}
	if q.CartID != "" {
		where, args = append(where, "cart_id = ?"), append(args, q.CartID)
	}
	if q.Type != "" {
		where, args = append(where, "type = ?"), append(args, q.Type)
	}
	if q.Before != "" {
		where = append(where, "event_pk < COALESCE((SELECT event_pk FROM callback_events WHERE id = ? AND merchant_id = ?), 0)")
		args = append(args, q.Before, merchantID)
	}
	args = append(args, q.Limit)
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+eventCols+` FROM callback_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY event_pk DESC LIMIT ?`, args...)
	if err != nil {
		return nil, wrap("list events", err)
	}
	defer rows.Close()
	var out []omnicart.CallbackEventRecord
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// Event returns one published event of a merchant.
func (s *Callbacks) Event(ctx context.Context, merchantID, eventID string) (*omnicart.CallbackEventRecord, error) {
	row := s.db.db.QueryRowContext(ctx, `SELECT `+eventCols+` FROM callback_events WHERE id = ? AND merchant_id = ?`, eventID, merchantID)
	e, err := scanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("event %s: %w", eventID, omnicart.ErrNotFound)
	}
	return e, wrap("load event", err)
}

// Deliveries lists the deliveries of one event.
func (s *Callbacks) Deliveries(ctx context.Context, merchantID, eventID string) ([]omnicart.CallbackDeliveryRecord, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT d.id, d.endpoint_id, ce.id, d.status, d.attempts, d.next_attempt_at, d.last_status,
		d.last_error, d.created_at, d.finished_at
		FROM callback_deliveries d JOIN callback_events ce ON ce.event_pk = d.event_pk
		WHERE ce.id = ? AND ce.merchant_id = ? ORDER BY d.id`, eventID, merchantID)
	if err != nil {
		return nil, wrap("list deliveries", err)
	}
	defer rows.Close()
	var out []omnicart.CallbackDeliveryRecord
	for rows.Next() {
		var d omnicart.CallbackDeliveryRecord
		var next, last, finished sql.NullInt64
		var created int64
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.Status, &d.Attempts, &next, &last, &d.LastError, &created, &finished); err != nil {
			return nil, err
		}
		if next.Valid {
			d.NextAttemptAt = fromMs(next.Int64)
		}
		d.LastStatus = int(last.Int64)
		d.CreatedAt = fromMs(created)
		if finished.Valid {
			d.FinishedAt = fromMs(finished.Int64)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Attempts lists an endpoint's delivery log, newest first.
func (s *Callbacks) Attempts(ctx context.Context, merchantID, endpointID string, limit int) ([]omnicart.CallbackAttemptRecord, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT a.delivery_id, ce.id, ce.type, ce.cart_id, a.attempt, a.at, a.http_status, a.latency_ms,
		a.error, a.response, d.status
		FROM callback_attempts a JOIN callback_deliveries d ON d.id = a.delivery_id
		JOIN callback_events ce ON ce.event_pk = d.event_pk JOIN callback_endpoints e ON e.id = a.endpoint_id
		WHERE a.endpoint_id = ? AND e.merchant_id = ? ORDER BY a.id DESC LIMIT ?`, endpointID, merchantID, limit)
	if err != nil {
		return nil, wrap("list attempts", err)
	}
	defer rows.Close()
	var out []omnicart.CallbackAttemptRecord
	for rows.Next() {
		var a omnicart.CallbackAttemptRecord
		var at, latency int64
		var status sql.NullInt64
		if err := rows.Scan(&a.DeliveryID, &a.EventID, &a.EventType, &a.CartID, &a.Attempt, &at, &status, &latency, &a.Error, &a.Response, &a.Status); err != nil {
			return nil, err
		}
		a.At, a.HTTPStatus, a.Latency = fromMs(at), int(status.Int64), time.Duration(latency)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// Prune deletes, among the oldest `limit` log rows and the oldest `limit`
// deliveries, the attempts made and the deliveries finished before
// `before`. Both tables are written in time order (a delivery finishes
// within three days of its creation), so walking them by id finds the old
// rows first without keeping an index on time.
func (s *Callbacks) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	total := 0
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM callback_attempts WHERE id IN (SELECT id FROM (SELECT id, at FROM callback_attempts ORDER BY id LIMIT ?) WHERE at < ?)`,
			`DELETE FROM callback_deliveries WHERE id IN (SELECT id FROM (SELECT id, finished_at FROM callback_deliveries ORDER BY id LIMIT ?)
				WHERE finished_at < ?)`,
		} {
			res, err := tx.ExecContext(ctx, q, limit, ms(before))
			if err != nil {
				return wrap("prune delivery log", err)
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
		return nil
	})
	return total, err
}
