package omnicart

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
)

// Card is what the customer typed. It is handed to the provider and never
// stored or logged.
type Card struct {
	Number string
	Expiry string // MM/YY
	CVC    string
	Holder string
}

// String hides the card: only the last four digits are shown, so that a
// card printed by mistake (%v, a log attribute) leaks nothing.
func (c Card) String() string {
	d := make([]byte, 0, len(c.Number))
	for i := 0; i < len(c.Number); i++ {
		if c.Number[i] >= '0' && c.Number[i] <= '9' {
			d = append(d, c.Number[i])
		}
	}
	if len(d) < 4 {
		return "card ****"
	}
	return "card ****" + string(d[len(d)-4:])
}

// GoString hides the card from %#v like String.
func (c Card) GoString() string { return c.String() }

// MarshalJSON hides the card from JSON (a request logged or stored as JSON)
// like String.
func (c Card) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue hides the card from structured logs like String.
func (c Card) LogValue() slog.Value { return slog.StringValue(c.String()) }

// AuthorizeRequest asks the provider to hold Amount on the customer's card.
type AuthorizeRequest struct {
	Operation
	Card Card
	// ThreeDS says the customer is present and can answer a 3-D Secure
	// challenge: a provider that wants one then returns *ChallengeError
	// instead of authorizing (see Challenger).
	ThreeDS bool
}

// Authorization is a granted hold.
type Authorization struct {
	Ref  string
	Card CardInfo
}

// DeclineError is returned by Provider.Authorize when the issuer refuses the
// payment. Reason is safe to show to the customer.
type DeclineError struct {
	Reason string
}

func (e *DeclineError) Error() string { return "declined: " + e.Reason }

// IsDecline reports whether err is a decline, and returns it.
func IsDecline(err error) (*DeclineError, bool) {
	var d *DeclineError
	ok := errors.As(err, &d)
	return d, ok
}

// ErrRefused is wrapped by a provider's Capture, Release or Refund error when
// the refusal is final: calling again with the same OpID gives the same
// refusal, so there is nothing to retry.
var ErrRefused = errors.New("operation refused by the provider")

// Provider moves money: the sandbox issuer in test mode, an acquirer in live
// mode. Every method is idempotent by the operation's OpID: calling it again
// with the same OpID returns the first outcome and moves no more money.
type Provider interface {
	// Authorize places a hold. It returns *DeclineError when the issuer
	// refuses.
	Authorize(ctx context.Context, req AuthorizeRequest) (Authorization, error)
	// Capture moves Amount of the hold AuthRef to the merchant.
	Capture(ctx context.Context, op Operation) error
	// Release gives Amount of the hold AuthRef back to the customer.
	Release(ctx context.Context, op Operation) error
	// Refund returns Amount of captured money to the customer.
	Refund(ctx context.Context, op Operation) error
	// Void undoes the authorization made under opID, if there is one. It is
	// used when the outcome of an Authorize call is unknown.
	Void(ctx context.Context, opID string) error
}

// LocalProvider is a provider that keeps its books in OmniCart's own
// database (the sandbox issuer). In returns the provider working inside tx:
// the money it moves commits or rolls back with the cart change that moved
// it, so an operation needs no transaction of its own and no recovery.
// Providers across a network do not implement it; their operations run
// around the transaction (recorded, called, settled).
type LocalProvider interface {
	Provider
	In(tx Tx) Provider
}
