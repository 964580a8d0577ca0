package sandbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/omnicart/omnicart"
)

// voidAttempts bounds how often Void re-reads a hold that changes under it.
const voidAttempts = 8

// Issuer is the test-mode issuer. It implements omnicart.Provider: it decides
// outcomes from the test card numbers and moves money on its Ledger. It is
// safe for concurrent use when its Ledger is.
type Issuer struct {
	ledger Ledger
	key    []byte
}

var _ omnicart.Provider = (*Issuer)(nil)

// New returns an issuer keeping its accounts on l and fingerprinting cards
// with HMAC-SHA256 under fingerprintKey (which it copies).
func New(l Ledger, fingerprintKey []byte) *Issuer {
	return &Issuer{ledger: l, key: append([]byte(nil), fingerprintKey...)}
}

// CardInfo returns what may be kept of the card number (spaces and dashes
// ignored): brand, last four digits and keyed fingerprint. ok is false when
// the number is not made of digits.
func (i *Issuer) CardInfo(number string) (info omnicart.CardInfo, ok bool) {
	d, ok := cardDigits(number)
	if !ok {
		return omnicart.CardInfo{}, false
	}
	return cardInfo(i.key, d), true
}

// Authorize places a hold of req.Amount on the card. The hold's reference
// is req.OpID. For the 3-D Secure test card with req.ThreeDS set it holds
// nothing and returns *omnicart.ChallengeError (see CompleteChallenge);
// without ThreeDS that card is authorized frictionlessly. It returns *omnicart.DeclineError when the card is declined
// (by its number, or by the ledger for insufficient funds); a declined OpID
// stays declined. Called again with the same OpID it returns the first
// outcome and moves nothing. Other errors wrap ErrInvalidOperation (no
// OpID, no currency, amount not positive), ErrConflict (OpID used by
// another kind of operation) or the ledger's error.
func (i *Issuer) Authorize(ctx context.Context, req omnicart.AuthorizeRequest) (omnicart.Authorization, error) {
	op := req.Operation
	if auth, done, err := i.priorAuthorization(ctx, op); done {
		return auth, err
	}
	digits, ok := cardDigits(req.Card.Number)
	tc := testCard{decline: ReasonUnknownCard}
	if ok {
		tc = testCardFor(digits)
	}
	if tc.decline != "" {
		return i.decline(ctx, op.OpID, tc.decline)
	}
	info := cardInfo(i.key, digits)
	card := CardAccount(info.Fingerprint)
	if err := i.fund(ctx, card, op.Currency, tc.opening); err != nil {
		return omnicart.Authorization{}, err
	}
	if tc.challenge && req.ThreeDS {
		return omnicart.Authorization{}, i.startChallenge(ctx, op, card, info)
	}
	return i.placeHold(ctx, op, card, info)
}

// priorAuthorization checks an authorizing operation and, when its OpID
// was already answered, returns that first outcome (done is true). done is
// also true with the error of a malformed operation.
func (i *Issuer) priorAuthorization(ctx context.Context, op omnicart.Operation) (omnicart.Authorization, bool, error) {
	if err := checkOp(op, KindAuthorize); err != nil {
		return omnicart.Authorization{}, true, err
	}
	j, ok, err := i.recorded(ctx, op.OpID, KindAuthorize)
	switch {
	case err != nil:
		return omnicart.Authorization{}, true, err
	case ok:
		auth, err := i.authOutcome(ctx, j)
		return auth, true, err
	}
	return omnicart.Authorization{}, false, nil
}

// placeHold moves op.Amount from the card account to the hold of op.OpID,
// or records the decline for insufficient funds.
func (i *Issuer) placeHold(ctx context.Context, op omnicart.Operation, card string, info omnicart.CardInfo) (omnicart.Authorization, error) {
	j, err := i.post(ctx, Journal{
		ID:      op.OpID,
		Kind:    KindAuthorize,
		Entries: move(card, HoldAccount(op.OpID), op.Currency, op.Amount),
		Hold:    &Hold{Ref: op.OpID, CardAccount: card, Currency: op.Currency, Amount: op.Amount, Card: info},
	})
	if errors.Is(err, ErrInsufficientFunds) {
		return i.decline(ctx, op.OpID, ReasonInsufficientFunds)
	}
	if err != nil {
		return omnicart.Authorization{}, fmt.Errorf("sandbox: authorize %s: %w", op.OpID, err)
	}
	return i.authOutcome(ctx, j)
}

// Capture moves op.Amount from the hold op.AuthRef to the merchant. More
// than the hold has left is refused with an error wrapping
// ErrInsufficientFunds, and the refusal is the outcome of op.OpID. Called
// again with the same OpID it returns the first outcome and moves nothing.
// Other errors wrap ErrInvalidOperation, ErrUnknownAuthorization,
// ErrConflict or the ledger's error.
func (i *Issuer) Capture(ctx context.Context, op omnicart.Operation) error {
	return i.settle(ctx, op, KindCapture, func(h Hold) []Entry {
		return move(HoldAccount(h.Ref), MerchantAccount(op.MerchantID), h.Currency, op.Amount)
	})
}

// Release gives op.Amount of the hold op.AuthRef back to the card. Its
// errors and idempotency are those of Capture.
func (i *Issuer) Release(ctx context.Context, op omnicart.Operation) error {
	return i.settle(ctx, op, KindRelease, func(h Hold) []Entry {
		return move(HoldAccount(h.Ref), h.CardAccount, h.Currency, op.Amount)
	})
}

// Refund moves op.Amount from the merchant back to the card of the
// authorization op.AuthRef. More than the merchant's balance is refused with
// an error wrapping ErrInsufficientFunds. Its errors and idempotency are
// otherwise those of Capture.
func (i *Issuer) Refund(ctx context.Context, op omnicart.Operation) error {
	return i.settle(ctx, op, KindRefund, func(h Hold) []Entry {
		return move(MerchantAccount(op.MerchantID), h.CardAccount, h.Currency, op.Amount)
	})
}

// Void releases whatever remains on the hold of the authorization opID back
// to the card. When opID was never authorized, Void records it as declined
// (ReasonVoided) so that an Authorize call still in flight cannot place the
// hold later; it moves no money then. Void is idempotent. Errors wrap
// ErrInvalidOperation (empty opID) or the ledger's error.
func (i *Issuer) Void(ctx context.Context, opID string) error {
	if opID == "" {
		return fmt.Errorf("sandbox: void: no opId: %w", ErrInvalidOperation)
	}
	h, err := i.ledger.Hold(ctx, opID)
	if errors.Is(err, ErrNotFound) {
		posted, err := i.ledger.Post(ctx, Journal{ID: opID, Kind: KindAuthorize, Refusal: ReasonVoided})
		if err != nil {
			return fmt.Errorf("sandbox: void %s: %w", opID, err)
		}
		if posted {
			return nil
		}
		// Something was recorded under opID meanwhile: a hold, or not.
		h, err = i.ledger.Hold(ctx, opID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox: void %s: %w", opID, err)
	}
	id := KindVoid + ":" + opID
	for range voidAttempts {
		if _, done, err := i.recorded(ctx, id, KindVoid); err != nil || done {
			return err
		}
		left, err := i.ledger.Balance(ctx, HoldAccount(opID), h.Currency)
		if err != nil {
			return fmt.Errorf("sandbox: void %s: %w", opID, err)
		}
		if left <= 0 {
			// Nothing left to give back. Below zero, another transaction
			// spent from the hold after this one's own post was checked
			// (an engine that checks balances early and applies them at
			// commit): giving back a negative amount would charge the
			// card, so nothing moves, and the commit refuses the overdrawn
			// hold and runs the transaction again.
			return nil
		}
		_, err = i.ledger.Post(ctx, Journal{ID: id, Kind: KindVoid, Entries: move(HoldAccount(opID), h.CardAccount, h.Currency, left)})
		if errors.Is(err, ErrInsufficientFunds) {
			continue // the hold shrank since we read it
		}
		if err != nil {
			return fmt.Errorf("sandbox: void %s: %w", opID, err)
		}
		return nil
	}
	return fmt.Errorf("sandbox: void %s: hold kept changing", opID)
}

// settle runs a capture, release or refund: the movement entries(hold) of
// the authorization op.AuthRef, idempotent by op.OpID.
func (i *Issuer) settle(ctx context.Context, op omnicart.Operation, kind string, entries func(Hold) []Entry) (err error) {
	defer func() {
		// These outcomes are final for this OpID: tell the gateway so.
		if errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrUnknownAuthorization) ||
			errors.Is(err, ErrInvalidOperation) || errors.Is(err, ErrConflict) {
			err = fmt.Errorf("%w: %w", omnicart.ErrRefused, err)
		}
	}()
	if err := checkOp(op, kind); err != nil {
		return err
	}
	// An OpID answered before is not looked up first: its journal makes
	// the post below a no-op, and post returns what was recorded.
	h, err := i.ledger.Hold(ctx, op.AuthRef)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("sandbox: %s %s: authorization %q: %w", kind, op.OpID, op.AuthRef, ErrUnknownAuthorization)
	}
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: %w", kind, op.OpID, err)
	}
	if h.Currency != op.Currency {
		return fmt.Errorf("sandbox: %s %s: currency %s, authorization %q is in %s: %w",
			kind, op.OpID, op.Currency, op.AuthRef, h.Currency, ErrInvalidOperation)
	}
	j, err := i.post(ctx, Journal{ID: op.OpID, Kind: kind, Entries: entries(h)})
	if errors.Is(err, ErrInsufficientFunds) {
		j, err = i.post(ctx, Journal{ID: op.OpID, Kind: kind, Refusal: fmt.Sprintf("insufficient funds for %d %s", op.Amount, op.Currency)})
	}
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: %w", kind, op.OpID, err)
	}
	return outcome(j)
}

// fund credits the card account with its opening balance, once per currency.
func (i *Issuer) fund(ctx context.Context, card, currency string, opening int64) error {
	if opening == 0 {
		return nil
	}
	// A post is idempotent by id: once the card is funded in this
	// currency, this one finds the journal recorded and changes nothing
	// (no other kind of journal has an id starting with "fund:").
	id := KindFund + ":" + currency + ":" + card
	if _, err := i.ledger.Post(ctx, Journal{ID: id, Kind: KindFund, Entries: move(FundingAccount(currency), card, currency, opening)}); err != nil {
		return fmt.Errorf("sandbox: fund %s: %w", card, err)
	}
	return nil
}

// decline records the refusal of authorization opID and returns the outcome
// recorded under opID (the refusal, or what a concurrent call recorded).
func (i *Issuer) decline(ctx context.Context, opID, reason string) (omnicart.Authorization, error) {
	j, err := i.post(ctx, Journal{ID: opID, Kind: KindAuthorize, Refusal: reason})
	if err != nil {
		return omnicart.Authorization{}, fmt.Errorf("sandbox: authorize %s: %w", opID, err)
	}
	return i.authOutcome(ctx, j)
}

// authOutcome turns the journal recorded for an authorization into its
// outcome.
func (i *Issuer) authOutcome(ctx context.Context, j Journal) (omnicart.Authorization, error) {
	if j.Refusal != "" {
		return omnicart.Authorization{}, &omnicart.DeclineError{Reason: j.Refusal}
	}
	h := j.Hold
	if h == nil {
		got, err := i.ledger.Hold(ctx, j.ID)
		if err != nil {
			return omnicart.Authorization{}, fmt.Errorf("sandbox: authorize %s: hold: %w", j.ID, err)
		}
		h = &got
	}
	return omnicart.Authorization{Ref: h.Ref, Card: h.Card}, nil
}

// outcome is the result of a recorded capture, release or refund.
func outcome(j Journal) error {
	if j.Refusal != "" {
		return fmt.Errorf("sandbox: %s %s refused: %s: %w", j.Kind, j.ID, j.Refusal, ErrInsufficientFunds)
	}
	return nil
}

// post posts j and returns the journal recorded under j.ID: j when it was
// posted, the earlier one when it was not.
func (i *Issuer) post(ctx context.Context, j Journal) (Journal, error) {
	posted, err := i.ledger.Post(ctx, j)
	if err != nil || posted {
		return j, err
	}
	prev, ok, err := i.recorded(ctx, j.ID, j.Kind)
	if err != nil {
		return Journal{}, err
	}
	if !ok {
		return Journal{}, fmt.Errorf("sandbox: %s %s: ledger neither posted nor recorded it", j.Kind, j.ID)
	}
	return prev, nil
}

// recorded returns the journal recorded under id, and whether there is one.
// A journal of another kind is an error wrapping ErrConflict.
func (i *Issuer) recorded(ctx context.Context, id, kind string) (Journal, bool, error) {
	j, err := i.ledger.Journal(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Journal{}, false, nil
	}
	if err != nil {
		return Journal{}, false, fmt.Errorf("sandbox: %s %s: %w", kind, id, err)
	}
	if j.Kind != kind {
		return Journal{}, false, fmt.Errorf("sandbox: %s %s: id used by a %s: %w", kind, id, j.Kind, ErrConflict)
	}
	return j, true, nil
}

// checkOp validates the fields of op that kind uses.
func checkOp(op omnicart.Operation, kind string) error {
	var problem string
	switch {
	case op.OpID == "":
		problem = "no opId"
	case op.Currency == "":
		problem = "no currency"
	case op.Amount < 0 || (kind == KindAuthorize && op.Amount == 0):
		problem = fmt.Sprintf("amount %d", op.Amount)
	case kind != KindAuthorize && op.AuthRef == "":
		problem = "no authRef"
	case (kind == KindCapture || kind == KindRefund) && op.MerchantID == "":
		problem = "no merchantId"
	default:
		return nil
	}
	return fmt.Errorf("sandbox: %s %s: %s: %w", kind, op.OpID, problem, ErrInvalidOperation)
}

var _ omnicart.LocalProvider = (*Issuer)(nil)

// In returns the issuer working on the ledger of tx: what it moves commits
// or rolls back with tx.
func (i *Issuer) In(tx omnicart.Tx) omnicart.Provider {
	return &Issuer{ledger: tx.Ledger(), key: i.key}
}
