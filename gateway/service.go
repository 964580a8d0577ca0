package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/omnicart/omnicart"
)

// Service runs the use cases. All fields are required but Clock.
type Service struct {
	Store omnicart.Store
	// Provider returns the provider that moves money for a merchant: the
	// sandbox issuer in test mode.
	Provider func(m *omnicart.Merchant) (omnicart.Provider, error)
	// Now reads the clock.
	Now func() time.Time
	// Clock runs the waits of RunScheduler and RunRecovery; nil means the
	// system clock. It should tell the time Now tells (cmd sets Now to
	// Clock.Now; tests share one clock.Fake between them).
	Clock omnicart.Clock
	// KeyPepper keys the hash under which API keys are stored.
	KeyPepper []byte
	// AnswerKey (32 bytes) seals the answers stored under Idempotency-Keys.
	// It is kept outside the database, so that a dump of the database does
	// not reveal the payment links those answers carry.
	AnswerKey []byte
	Log       *slog.Logger
}

// ErrNoProvider is returned by Service.Provider for a merchant that has no
// way to move money (a live merchant while no acquirer is configured).
var ErrNoProvider = errors.New("no payment provider for this merchant")

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS cannot give randomness: nothing safe to do
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newOpID() string { return "op_" + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// HashKey is the keyed hash under which an API key is stored and looked up.
func (s *Service) HashKey(raw string) []byte {
	m := hmac.New(sha256.New, s.KeyPepper)
	m.Write([]byte(raw))
	return m.Sum(nil)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the merchant and key for a raw API key. Unknown and
// revoked keys give a 111000 error.
func (s *Service) Authenticate(ctx context.Context, raw string) (*omnicart.Merchant, *omnicart.APIKey, error) {
	if raw == "" {
		return nil, nil, omnicart.Errorf(omnicart.CodeAuth, "")
	}
	var m *omnicart.Merchant
	var k *omnicart.APIKey
	err := s.Store.Read(ctx, func(tx omnicart.Tx) error {
		var err error
		k, err = tx.APIKeyByHash(ctx, s.HashKey(raw))
		if err != nil {
			return err
		}
		m, err = tx.Merchant(ctx, k.MerchantID)
		return err
	})
	if errors.Is(err, omnicart.ErrNotFound) {
		return nil, nil, omnicart.Errorf(omnicart.CodeAuth, "")
	}
	if err != nil {
		return nil, nil, err
	}
	return m, k, nil
}

// Merchant loads a merchant.
func (s *Service) Merchant(ctx context.Context, id string) (*omnicart.Merchant, error) {
	var m *omnicart.Merchant
	err := s.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		m, err = tx.Merchant(ctx, id)
		return err
	})
	return m, err
}
