package postgres

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

// The payment-link delivery queue of migration 0003_notify. Messages are
// written by the /init transaction (txn.EnqueueNotification) and worked off
// by package notify through NotifyQueue (omnicart.NotificationQueue).

const notifyColumns = `id, merchant_id, cart_id, channel, recipient, pay_token, merchant_name, amount, currency,
	expires_at, sandbox, state, attempts, next_attempt_at, last_error, via, created_at, updated_at, sent_at`

func (t *txn) EnqueueNotification(ctx context.Context, n *omnicart.Notification) error {
	if err := t.writable("enqueue notification"); err != nil {
		return err
	}
	err := t.q.QueryRow(ctx, `INSERT INTO notify_messages(merchant_id, cart_id, channel, recipient, pay_token,
		merchant_name, amount, currency, expires_at, sandbox, state, attempts, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $12, $12) RETURNING id`,
		n.MerchantID, n.CartID, n.Channel, n.Recipient, n.PayToken, n.MerchantName, n.Amount, n.Currency,
		ms(n.ExpiresAt), n.Sandbox, ms(n.NextAttemptAt), ms(n.CreatedAt)).Scan(&n.ID)
	if err != nil {
		return wrap("enqueue notification", err)
	}
	n.State = omnicart.NotificationQueued
	return nil
}

func (t *txn) Notifications(ctx context.Context, q omnicart.NotificationQuery) ([]omnicart.Notification, error) {
	// One statement per combination of filters (each prepared and cached
	// once), rather than "$1 = '' OR ..." conditions a generic plan could
	// not use an index for.
	where, args := "TRUE", []any{}
	for _, f := range []struct{ col, v string }{{"merchant_id", q.MerchantID}, {"cart_id", q.CartID}, {"via", q.Via}} {
		if f.v != "" {
			args = append(args, f.v)
			where += " AND " + f.col + " = $" + strconv.Itoa(len(args))
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := t.q.Query(ctx, `SELECT `+notifyColumns+` FROM notify_messages WHERE `+where+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, wrap("list notifications", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (omnicart.Notification, error) {
		var s notificationScan
		err := row.Scan(s.dest()...)
		return s.value(), err
	})
	return out, wrap("list notifications", err)
}

// notificationScan receives the notifyColumns of a row.
type notificationScan struct {
	n                               omnicart.Notification
	expires, next, created, updated int64
	sent                            *int64
}

func (s *notificationScan) dest() []any {
	n := &s.n
	return []any{&n.ID, &n.MerchantID, &n.CartID, &n.Channel, &n.Recipient, &n.PayToken, &n.MerchantName, &n.Amount,
		&n.Currency, &s.expires, &n.Sandbox, &n.State, &n.Attempts, &s.next, &n.LastError, &n.Via, &s.created, &s.updated, &s.sent}
}

func (s *notificationScan) value() omnicart.Notification {
	n := s.n
	n.ExpiresAt, n.NextAttemptAt, n.CreatedAt, n.UpdatedAt = fromMs(s.expires), fromMs(s.next), fromMs(s.created), fromMs(s.updated)
	if s.sent != nil {
		n.SentAt = fromMs(*s.sent)
	}
	return n
}

// NotifyQueue is the payment-link delivery queue (omnicart.NotificationQueue)
// that package notify works off. Every method is one statement, so one
// short transaction: nodes share the queue through row locks.
type NotifyQueue struct {
	db *DB
}

var _ omnicart.NotificationQueue = (*NotifyQueue)(nil)

// NewNotifyQueue returns the delivery queue kept in db.
func NewNotifyQueue(db *DB) *NotifyQueue { return &NotifyQueue{db: db} }

// Claim leases up to limit queued messages due at now, earliest due first,
// in one statement: it locks them FOR UPDATE SKIP LOCKED (messages another
// node is claiming are left to it), counts the attempt and moves the next
// attempt to now+lease, so no other worker takes them meanwhile and a
// worker that dies lets them come back. Errors are the server's.
func (q *NotifyQueue) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]omnicart.Notification, error) {
	type claimed struct {
		due int64
		n   omnicart.Notification
	}
	rows, err := q.db.pool.Query(ctx, `WITH c AS (
			SELECT id, next_attempt_at AS due FROM notify_messages WHERE state = 'queued' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE notify_messages n SET attempts = n.attempts + 1, next_attempt_at = $3, updated_at = $1
		FROM c WHERE n.id = c.id
		RETURNING c.due, `+claimColumns, ms(now), limit, ms(now.Add(lease)))
	if err != nil {
		return nil, wrap("claim notifications", err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
		var c claimed
		var s notificationScan
		err := row.Scan(append([]any{&c.due}, s.dest()...)...)
		c.n = s.value()
		return c, err
	})
	if err != nil {
		return nil, wrap("claim notifications", err)
	}
	// RETURNING keeps no order: earliest due first, as claimed.
	slices.SortFunc(got, func(a, b claimed) int {
		return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.n.ID, b.n.ID))
	})
	out := make([]omnicart.Notification, len(got))
	for i, c := range got {
		out[i] = c.n
	}
	return out, nil
}

// claimColumns are notifyColumns of the updated row (n).
var claimColumns = func() string {
	cols := strings.Split(notifyColumns, ",")
	for i, c := range cols {
		cols[i] = "n." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// Sent marks message id delivered via `via` at `at`. Unless keepToken, the
// payment token is forgotten.
func (q *NotifyQueue) Sent(ctx context.Context, id int64, via string, at time.Time, keepToken bool) error {
	return q.update(ctx, `UPDATE notify_messages SET state = 'sent', via = $1, sent_at = $2, updated_at = $2, last_error = '',
		pay_token = CASE WHEN $3::boolean THEN pay_token ELSE '' END WHERE id = $4`, via, ms(at), keepToken, id)
}

// Retry records a failed attempt of message id and when to try again. A
// message no longer queued (sent or failed meanwhile) is left as it is.
func (q *NotifyQueue) Retry(ctx context.Context, id int64, reason string, next, at time.Time) error {
	return q.update(ctx, `UPDATE notify_messages SET last_error = $1, next_attempt_at = $2, updated_at = $3 WHERE id = $4 AND state = 'queued'`,
		reason, ms(next), ms(at), id)
}

// Fail marks message id failed for good and forgets its payment token.
func (q *NotifyQueue) Fail(ctx context.Context, id int64, reason string, at time.Time) error {
	return q.update(ctx, `UPDATE notify_messages SET state = 'failed', last_error = $1, updated_at = $2, pay_token = '' WHERE id = $3`,
		reason, ms(at), id)
}

func (q *NotifyQueue) update(ctx context.Context, stmt string, args ...any) error {
	_, err := q.db.pool.Exec(ctx, stmt, args...)
	return wrap("update notification", err)
}
