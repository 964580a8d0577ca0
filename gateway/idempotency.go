package gateway

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/omnicart/omnicart"
)

// ErrKeyTaken is returned by StoreAnswer (and so by the use case whose
// answer hook called it) when another request stored an answer under the
// same Idempotency-Key first: the change of this request is rolled back,
// and the caller answers with the stored record instead.
var ErrKeyTaken = errors.New("idempotency key already answered")

// IdempotencyRecord returns the unexpired record stored under a merchant's
// Idempotency-Key, with its body opened. found is false when there is
// none.
func (s *Service) IdempotencyRecord(ctx context.Context, m *omnicart.Merchant, key string) (rec omnicart.IdempotentRecord, found bool, err error) {
	err = s.Store.View(ctx, func(tx omnicart.Tx) error {
		rec, err = tx.IdempotencyRecord(ctx, m.ID, key)
		return err
	})
	if errors.Is(err, omnicart.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if !rec.Fresh(s.Now()) {
		return omnicart.IdempotentRecord{}, false, nil
	}
	if rec.Body, err = s.openAnswer(rec.Body); err != nil {
		return rec, false, fmt.Errorf("idempotency key %q: %w", key, err)
	}
	return rec, true, nil
}

// StoreAnswer stores, in tx, the answer of the request that used a
// merchant's Idempotency-Key; its body is sealed. It returns ErrKeyTaken
// when an unexpired record exists under the key.
func (s *Service) StoreAnswer(ctx context.Context, tx omnicart.Tx, m *omnicart.Merchant, key string, rec omnicart.IdempotentRecord) error {
	now := s.Now()
	rec.CreatedAt = now
	sealed, err := s.sealAnswer(rec.Body)
	if err != nil {
		return err
	}
	rec.Body = sealed
	err = tx.PutIdempotencyRecord(ctx, m.ID, key, rec, now.Add(-omnicart.IdempotencyTTL))
	if errors.Is(err, omnicart.ErrConflict) {
		return ErrKeyTaken
	}
	return err
}

// StoreAnswerAlone stores the answer of a request that changed nothing, in
// a transaction of its own (see StoreAnswer).
func (s *Service) StoreAnswerAlone(ctx context.Context, m *omnicart.Merchant, key string, rec omnicart.IdempotentRecord) error {
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error { return s.StoreAnswer(ctx, tx, m, key, rec) })
}

// PruneIdempotencyRecords deletes expired idempotency records, a batch at
// a time, and returns how many it deleted.
func (s *Service) PruneIdempotencyRecords(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		var err error
		n, err = tx.PruneIdempotencyRecords(ctx, s.Now().Add(-omnicart.IdempotencyTTL), limit)
		return err
	})
	return n, err
}

// sealAnswer encrypts a stored answer with AES-256-GCM under AnswerKey
// (answers may carry a payment link's secret token, which the database
// must not reveal). Without an AnswerKey it refuses: storing in clear is
// never a silent fallback.
func (s *Service) sealAnswer(body []byte) ([]byte, error) {
	aead, err := s.answerAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(body)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, body, nil), nil
}

func (s *Service) openAnswer(sealed []byte) ([]byte, error) {
	aead, err := s.answerAEAD()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("stored answer too short")
	}
	body, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("stored answer does not open under this server's key: %w", err)
	}
	return body, nil
}

func (s *Service) answerAEAD() (cipher.AEAD, error) {
	if len(s.AnswerKey) != 32 {
		return nil, errors.New("gateway: no 32-byte AnswerKey to seal idempotent answers")
	}
	block, err := aes.NewCipher(s.AnswerKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
