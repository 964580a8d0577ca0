package gateway

import (
	"context"

	"github.com/omnicart/omnicart"
)

// ClaimIdempotencyKey takes a merchant's Idempotency-Key for a request with
// the given hash. When it returns claimed, the caller runs the request and
// then calls FinishIdempotencyKey; otherwise rec is the key's earlier
// request: its stored response when done, or a request still running.
func (s *Service) ClaimIdempotencyKey(ctx context.Context, m *omnicart.Merchant, key string, hash []byte) (rec omnicart.IdempotentRecord, claimed bool, err error) {
	now := s.Now()
	err = s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		rec, claimed, err = tx.ClaimIdempotencyKey(ctx, m.ID, key, hash, now, now.Add(-omnicart.IdempotencyStale))
		return err
	})
	return rec, claimed, err
}

// FinishIdempotencyKey stores the response of a claimed key (status 0
// releases the key without storing anything, for responses a retry should
// not see again).
func (s *Service) FinishIdempotencyKey(ctx context.Context, m *omnicart.Merchant, key string, status int, body []byte) error {
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		return tx.FinishIdempotencyKey(ctx, m.ID, key, status, body, s.Now())
	})
}
