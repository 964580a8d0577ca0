package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/omnicart/omnicart"
)

// The payment-link delivery queue of migration 0005_notify. Messages are
// written by the /init transaction (txn.EnqueueNotification) and worked off
// by package notify through NotifyQueue (omnicart.NotificationQueue).

const notifyColumns = `id, merchant_id, cart_id, channel, recipient, pay_token, merchant_name, amount, currency,
	expires_at, sandbox, state, attempts, next_attempt_at, last_error, via, created_at, updated_at, sent_at`

func (t *txn) EnqueueNotification(ctx context.Context, n *omnicart.Notification) error {
	res, err := t.exec(ctx, `INSERT INTO notify_messages(merchant_id, cart_id, channel, recipient, pay_token,
		merchant_name, amount, currency, expires_at, sandbox, state, attempts, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?)`,
		n.MerchantID, n.CartID, n.Channel, n.Recipient, n.PayToken, n.MerchantName, n.Amount, n.Currency,
		ms(n.ExpiresAt), n.Sandbox, ms(n.NextAttemptAt), ms(n.CreatedAt), ms(n.CreatedAt))
	if err != nil {
		return wrap("enqueue notification", err)
	}
	n.ID, err = res.LastInsertId()
	n.State = omnicart.NotificationQueued
	return wrap("enqueue notification", err)
}

func (t *txn) Notifications(ctx context.Context, q omnicart.NotificationQuery) ([]omnicart.Notification, error) {
	if t.tx == nil {
		return listNotifications(ctx, t.db.ro, q)
	}
	return listNotifications(ctx, t.tx, q)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func listNotifications(ctx context.Context, db querier, q omnicart.NotificationQuery) ([]omnicart.Notification, error) {
	where, args := "1 = 1", []any{}
	if q.MerchantID != "" {
		where += " AND merchant_id = ?"
		args = append(args, q.MerchantID)
	}
	if q.CartID != "" {
		where += " AND cart_id = ?"
		args = append(args, q.CartID)
	}
	if q.Via != "" {
		where += " AND via = ?"
		args = append(args, q.Via)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.QueryContext(ctx, `SELECT `+notifyColumns+` FROM notify_messages WHERE `+where+` ORDER BY id DESC LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, wrap("list notifications", err)
	}
	defer rows.Close()
	var out []omnicart.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, wrap("list notifications", err)
		}
		out = append(out, n)
	}
	return out, wrap("list notifications", rows.Err())
}

func scanNotification(sc interface{ Scan(...any) error }) (omnicart.Notification, error) {
	var n omnicart.Notification
	var expires, next, created, updated int64
	var sent sql.NullInt64
	err := sc.Scan(&n.ID, &n.MerchantID, &n.CartID, &n.Channel, &n.Recipient, &n.PayToken, &n.MerchantName, &n.Amount,
		&n.Currency, &expires, &n.Sandbox, &n.State, &n.Attempts, &next, &n.LastError, &n.Via, &created, &updated, &sent)
	if err != nil {
		return n, err
	}
	n.ExpiresAt, n.NextAttemptAt, n.CreatedAt, n.UpdatedAt = fromMs(expires), fromMs(next), fromMs(created), fromMs(updated)
	if sent.Valid {
		n.SentAt = fromMs(sent.Int64)
	}
	return n, nil
}

// NotifyQueue is the payment-link delivery queue (omnicart.NotificationQueue)
// that package notify works off. Every method is one short write
// transaction, so several processes on the same file share the work safely.
type NotifyQueue struct {
	db *DB
}

var _ omnicart.NotificationQueue = (*NotifyQueue)(nil)

// NewNotifyQueue returns the delivery queue kept in db.
func NewNotifyQueue(db *DB) *NotifyQueue { return &NotifyQueue{db: db} }

// Claim leases up to limit queued messages due at now, oldest due first:
// each one's attempt count goes up by one and its next attempt moves to
// now+lease, so no other worker takes it meanwhile and a worker that dies
// lets it come back. Errors are the database's.
func (q *NotifyQueue) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]omnicart.Notification, error) {
	var out []omnicart.Notification
	err := q.db.WriteTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT `+notifyColumns+` FROM notify_messages
			WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			out[i].Attempts++
			out[i].NextAttemptAt = until
			if _, err := tx.ExecContext(ctx, `UPDATE notify_messages SET attempts = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
				out[i].Attempts, ms(until), ms(now), out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, wrap("claim notifications", err)
}

// Sent marks message id delivered via `via` at `at`. Unless keepToken, the
// payment token is forgotten.
func (q *NotifyQueue) Sent(ctx context.Context, id int64, via string, at time.Time, keepToken bool) error {
	return q.update(ctx, `UPDATE notify_messages SET state = 'sent', via = ?, sent_at = ?, updated_at = ?, last_error = '',
		pay_token = CASE WHEN ? THEN pay_token ELSE '' END WHERE id = ?`, via, ms(at), ms(at), keepToken, id)
}

// Retry records a failed attempt of message id and when to try again.
func (q *NotifyQueue) Retry(ctx context.Context, id int64, reason string, next, at time.Time) error {
	return q.update(ctx, `UPDATE notify_messages SET last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'queued'`,
		reason, ms(next), ms(at), id)
}

// Fail marks message id failed for good and forgets its payment token.
func (q *NotifyQueue) Fail(ctx context.Context, id int64, reason string, at time.Time) error {
	return q.update(ctx, `UPDATE notify_messages SET state = 'failed', last_error = ?, updated_at = ?, pay_token = '' WHERE id = ?`,
		reason, ms(at), id)
}

func (q *NotifyQueue) update(ctx context.Context, stmt string, args ...any) error {
	return wrap("update notification", q.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, stmt, args...)
		return err
	}))
}
