package omnicart

import (
	"context"
	"errors"
	"time"
)

// ChallengeError is returned by Provider.Authorize, for a request with
// ThreeDS set, when the issuer wants the cardholder to pass a 3-D Secure
// challenge before it authorizes. Nothing is held. Ref names the pending
// challenge for Challenger.CompleteChallenge; Card is what may be shown of
// the card ("visa ending 3220").
type ChallengeError struct {
	Ref  string
	Card CardInfo
}

func (e *ChallengeError) Error() string { return "3-D Secure challenge required" }

// IsChallenge reports whether err asks for a challenge, and returns it.
func IsChallenge(err error) (*ChallengeError, bool) {
	var c *ChallengeError
	ok := errors.As(err, &c)
	return c, ok
}

// ChallengeRequest answers a pending challenge: when Code is right, the
// provider authorizes Operation (a new authorization, with its own OpID) on
// the card of the challenge Ref. The card number is not needed again.
type ChallengeRequest struct {
	Operation
	Ref  string
	Code string
}

// Challenger is implemented by providers that run 3-D Secure challenges.
type Challenger interface {
	// CompleteChallenge authorizes req.Operation when req.Code is right. A
	// wrong code is a *DeclineError. It is idempotent by req.OpID like
	// Authorize, and Void undoes it the same way.
	CompleteChallenge(ctx context.Context, req ChallengeRequest) (Authorization, error)
}

// PendingChallenge is a 3-D Secure challenge the customer has to answer
// before the cart's payment is authorized.
type PendingChallenge struct {
	Ref    string    `json:"ref"`
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"`
	Card   CardInfo  `json:"card"`
}

// PaymentChallenged settles an authorization the provider answered with a
// challenge: the items of opID wait for payment again (so that cart expiry
// still applies to them) and the challenge is kept until it is answered.
// No status changes.
func (c *Cart) PaymentChallenged(now time.Time, opID string, ch *ChallengeError) {
	var amount int64
	for i := range c.Items {
		it := &c.Items[i]
		if p := it.Pending; p != nil && p.OpID == opID {
			amount += p.Amount
			it.Pending = nil
		}
	}
	c.Challenge = &PendingChallenge{Ref: ch.Ref, At: now, Amount: amount, Card: ch.Card}
}

// TakeChallenge returns the pending challenge and forgets it: a challenge is
// answered at most once. It returns nil when none is pending.
func (c *Cart) TakeChallenge() *PendingChallenge {
	ch := c.Challenge
	c.Challenge = nil
	return ch
}
