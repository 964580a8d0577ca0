package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/hmacpool"
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
	// LinkSenders reports whether a payment-link channel (email, sms,
	// push) has a sender configured (SMTP, an SMS or push provider); nil
	// means none has. Test-mode merchants do without: their messages go
	// to the sandbox outbox.
	LinkSenders func(channel string) bool
	Log         *slog.Logger

	// KeyUses, when set, records when API keys were last used (KeyUsed;
	// RunKeyUses writes them).
	KeyUses *KeyUses

	// keyHashers holds HMACs keyed with KeyPepper for HashKey, which
	// every API request runs.
	keyHashers hmacpool.Pool
}

// ErrNoProvider is returned by Service.Provider for a merchant that has no
// way to move money (a live merchant while no acquirer is configured).
var ErrNoProvider = errors.New("no payment provider for this merchant")

// CanPay reports whether a provider serves merchants of the given mode:
// false for live mode while no live provider is configured. Readiness and
// the payment page say so instead of failing.
func (s *Service) CanPay(mode omnicart.Mode) bool {
	if s.Provider == nil {
		return false
	}
	_, err := s.Provider(&omnicart.Merchant{Mode: mode})
	return !errors.Is(err, ErrNoProvider)
}

// refuseUnpayable adds to sp the refusals of a cart that this server could
// not be paid or its link delivered: first of all 131000 for a merchant no
// provider serves (a live merchant while no live provider is configured:
// its customers could never pay), then 123003
// paymentForm.deliveryOption for a payment link on a channel that has no
// sender for this merchant (it could never be sent). Either way the
// merchant never holds a paymentUrl that cannot work or believes a link
// was sent that cannot be.
func (s *Service) refuseUnpayable(m *omnicart.Merchant, spec *omnicart.InitSpec, sp *omnicart.StagedProblems) error {
	if _, err := s.Provider(m); errors.Is(err, ErrNoProvider) {
		first := omnicart.Staged{Stage: omnicart.StageBody, Problem: omnicart.Problem{Code: omnicart.CodeMethodNotAllowed}}
		*sp = append(omnicart.StagedProblems{first}, *sp...)
	} else if err != nil {
		return err
	}
	if !s.canSendLink(m, spec.PaymentForm.DeliveryOption) {
		sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "paymentForm.deliveryOption"})
	}
	return nil
}

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
	m := s.keyHashers.Get(s.KeyPepper)
	io.WriteString(m, raw)
	sum := m.Sum(nil)
	s.keyHashers.Put(m)
	return sum
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the merchant and key for a raw API key. Unknown and
// revoked keys give a 111000 error. It records no use of the key: the
// Merchant API calls KeyUsed for that.
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
