package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

func (t *txn) ClaimIdempotencyKey(ctx context.Context, merchantID, key string, hash []byte, now, staleBefore time.Time) (omnicart.IdempotentRecord, bool, error) {
	var rec omnicart.IdempotentRecord
	var state string
	var created, updated int64
	err := t.queryRow(ctx, `SELECT request_hash, state, status, body, created_at, updated_at FROM idempotency_keys WHERE merchant_id = ? AND key = ?`,
		merchantID, key).Scan(&rec.RequestHash, &state, &rec.Status, &rec.Body, &created, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return rec, false, wrap("load idempotency key", err)
	case created > ms(now.Add(-omnicart.IdempotencyTTL)) && (state == "done" || updated > ms(staleBefore)):
		rec.Done = state == "done"
		return rec, false, nil
	}
	_, err = t.exec(ctx, `INSERT INTO idempotency_keys(merchant_id, key, request_hash, state, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)
		ON CONFLICT(merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'running', status = 0, body = NULL,
		created_at = excluded.created_at, updated_at = excluded.updated_at`, merchantID, key, hash, ms(now), ms(now))
	if err != nil {
		return rec, false, wrap("claim idempotency key", err)
	}
	// Old records go as new ones come.
	if _, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ? AND state = 'done'`, ms(now.Add(-omnicart.IdempotencyTTL))); err != nil {
		return rec, false, wrap("prune idempotency keys", err)
	}
	return omnicart.IdempotentRecord{RequestHash: hash}, true, nil
}

func (t *txn) FinishIdempotencyKey(ctx context.Context, merchantID, key string, status int, body []byte, now time.Time) error {
	if status == 0 {
		_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE merchant_id = ? AND key = ? AND state = 'running'`, merchantID, key)
		return wrap("release idempotency key", err)
	}
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET state = 'done', status = ?, body = ?, updated_at = ? WHERE merchant_id = ? AND key = ?`,
		status, body, ms(now), merchantID, key)
	return wrap("finish idempotency key", err)
}
