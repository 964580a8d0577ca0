package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

func (t *txn) IdempotencyRecord(ctx context.Context, merchantID, key string) (omnicart.IdempotentRecord, error) {
	var rec omnicart.IdempotentRecord
	var created int64
	err := t.q.QueryRow(ctx, `SELECT request_hash, method, path, status, code, body, created_at FROM idempotency_records
		WHERE merchant_id = $1 AND key = $2`, merchantID, key).
		Scan(&rec.RequestHash, &rec.Method, &rec.Path, &rec.Status, &rec.Code, &rec.Body, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, omnicart.ErrNotFound
	}
	if err != nil {
		return rec, wrap("load idempotency record", err)
	}
	rec.CreatedAt = fromMs(created)
	return rec, nil
}

// PutIdempotencyRecord inserts the record, or replaces one created before
// replaceBefore. A record inserted by a transaction still running makes
// the insert wait for it: once it committed, its record is fresh and this
// one conflicts (omnicart.ErrConflict); once it rolled back, this one is
// inserted.
func (t *txn) PutIdempotencyRecord(ctx context.Context, merchantID, key string, rec omnicart.IdempotentRecord, replaceBefore time.Time) error {
	if err := t.writable("store idempotency record"); err != nil {
		return err
	}
	tag, err := t.q.Exec(ctx, `INSERT INTO idempotency_records(merchant_id, key, request_hash, method, path, status, code, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash, method = excluded.method, path = excluded.path,
			status = excluded.status, code = excluded.code, body = excluded.body, created_at = excluded.created_at
		WHERE idempotency_records.created_at < $10`,
		merchantID, key, rec.RequestHash, rec.Method, rec.Path, rec.Status, rec.Code, rec.Body, ms(rec.CreatedAt), ms(replaceBefore))
	if err != nil {
		return wrap("store idempotency record", err)
	}
	if tag.RowsAffected() == 0 {
		return omnicart.ErrConflict
	}
	return nil
}

// PruneIdempotencyRecords deletes up to limit expired records, skipping
// those another transaction holds, so that nodes pruning at once do not
// wait for each other.
func (t *txn) PruneIdempotencyRecords(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := t.writable("prune idempotency records"); err != nil {
		return 0, err
	}
	tag, err := t.q.Exec(ctx, `DELETE FROM idempotency_records WHERE (merchant_id, key) IN (
		SELECT merchant_id, key FROM idempotency_records WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		ms(before), limit)
	if err != nil {
		return 0, wrap("prune idempotency records", err)
	}
	return int(tag.RowsAffected()), nil
}
