package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

func (t *txn) IdempotencyRecord(ctx context.Context, merchantID, key string) (omnicart.IdempotentRecord, error) {
	var rec omnicart.IdempotentRecord
	var created int64
	err := t.queryRow(ctx, `SELECT request_hash, method, path, status, code, body, created_at FROM idempotency_records WHERE merchant_id = ? AND key = ?`,
		merchantID, key).Scan(&rec.RequestHash, &rec.Method, &rec.Path, &rec.Status, &rec.Code, &rec.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, omnicart.ErrNotFound
	}
	if err != nil {
		return rec, wrap("load idempotency record", err)
	}
	rec.CreatedAt = fromMs(created)
	return rec, nil
}

func (t *txn) PutIdempotencyRecord(ctx context.Context, merchantID, key string, rec omnicart.IdempotentRecord, replaceBefore time.Time) error {
	res, err := t.exec(ctx, `INSERT INTO idempotency_records(merchant_id, key, request_hash, method, path, status, code, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash, method = excluded.method, path = excluded.path,
			status = excluded.status, code = excluded.code, body = excluded.body, created_at = excluded.created_at
		WHERE idempotency_records.created_at < ?`,
		merchantID, key, rec.RequestHash, rec.Method, rec.Path, rec.Status, rec.Code, rec.Body, ms(rec.CreatedAt), ms(replaceBefore))
	if err != nil {
		return wrap("store idempotency record", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("store idempotency record", err)
	} else if n == 0 {
		return omnicart.ErrConflict
	}
	return nil
}

func (t *txn) PruneIdempotencyRecords(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM idempotency_records WHERE (merchant_id, key) IN (SELECT merchant_id, key FROM idempotency_records WHERE created_at < ? LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, wrap("prune idempotency records", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("prune idempotency records", err)
}
