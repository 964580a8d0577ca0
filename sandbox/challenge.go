package sandbox

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/omnicart/omnicart"
)

// KindChallenge is the kind of the journal that records a pending 3-D
// Secure challenge. It moves no money; its Hold record (with the amount
// asked) keeps the card account, so that answering the challenge does not
// need the card number again.
const KindChallenge = "challenge"

// ChallengeCode is the one-time code that passes the sandbox's 3-D Secure
// challenge.
const ChallengeCode = "123456"

var _ omnicart.Challenger = (*Issuer)(nil)

// startChallenge records the challenge of authorization op on card and
// returns the *omnicart.ChallengeError that asks for it. Recording is
// idempotent by op.OpID.
func (i *Issuer) startChallenge(ctx context.Context, op omnicart.Operation, card string, info omnicart.CardInfo) error {
	ref := KindChallenge + ":" + op.OpID
	if _, err := i.post(ctx, Journal{ID: ref, Kind: KindChallenge,
		Hold: &Hold{Ref: ref, CardAccount: card, Currency: op.Currency, Amount: op.Amount, Card: info}}); err != nil {
		return fmt.Errorf("sandbox: challenge %s: %w", op.OpID, err)
	}
	return &omnicart.ChallengeError{Ref: ref, Card: info}
}

// CompleteChallenge answers the challenge req.Ref: with ChallengeCode it
// places a hold of req.Amount on the challenged card under req.OpID, as
// Authorize does (insufficient funds is still a decline); any other code is
// declined with ReasonAuthentication. Called again with the same OpID it
// returns the first outcome. Errors wrap ErrInvalidOperation (malformed
// operation, currency other than the challenge's), ErrUnknownAuthorization
// (no such challenge), ErrConflict or the ledger's error.
func (i *Issuer) CompleteChallenge(ctx context.Context, req omnicart.ChallengeRequest) (omnicart.Authorization, error) {
	op := req.Operation
	if auth, done, err := i.priorAuthorization(ctx, op); done {
		return auth, err
	}
	j, ok, err := i.recorded(ctx, req.Ref, KindChallenge)
	if err != nil {
		return omnicart.Authorization{}, err
	}
	if !ok {
		return omnicart.Authorization{}, fmt.Errorf("sandbox: challenge %q: %w", req.Ref, ErrUnknownAuthorization)
	}
	h := j.Hold
	if h == nil {
		got, err := i.ledger.Hold(ctx, req.Ref)
		if err != nil {
			return omnicart.Authorization{}, fmt.Errorf("sandbox: challenge %q: %w", req.Ref, err)
		}
		h = &got
	}
	if h.Currency != op.Currency {
		return omnicart.Authorization{}, fmt.Errorf("sandbox: challenge %q is in %s, operation %s in %s: %w",
			req.Ref, h.Currency, op.OpID, op.Currency, ErrInvalidOperation)
	}
	if subtle.ConstantTimeCompare([]byte(req.Code), []byte(ChallengeCode)) != 1 {
		return i.decline(ctx, op.OpID, ReasonAuthentication)
	}
	return i.placeHold(ctx, op, h.CardAccount, h.Card)
}
