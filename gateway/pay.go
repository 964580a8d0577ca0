package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

// PaymentPage is what the customer's payment page shows.
type PaymentPage struct {
	Merchant *omnicart.Merchant
	Cart     *omnicart.Cart
	// Names maps itemIds to catalog display names.
	Names map[string]string
	Now   time.Time
}

// ErrUnknownToken is returned for a payment token that matches no cart.
var ErrUnknownToken = errors.New("unknown payment token")

// Page loads what the payment page of token shows.
func (s *Service) Page(ctx context.Context, token string) (*PaymentPage, error) {
	pg := &PaymentPage{Names: map[string]string{}}
	err := s.Store.View(ctx, func(tx omnicart.Tx) error {
		c, err := tx.LockCartByToken(ctx, hashToken(token))
		if errors.Is(err, omnicart.ErrNotFound) {
			return ErrUnknownToken
		}
		if err != nil {
			return err
		}
		pg.Cart = c
		if pg.Merchant, err = tx.Merchant(ctx, c.MerchantID); err != nil {
			return err
		}
		pg.Now = pg.Merchant.Now(s.Now())
		ids := make([]string, len(c.Items))
		for i := range c.Items {
			ids[i] = c.Items[i].ID
		}
		names, err := tx.CatalogItems(ctx, c.MerchantID, ids)
		for _, n := range names {
			pg.Names[n.ItemID] = n.DisplayName
		}
		return err
	})
	return pg, err
}

// PayResult is the outcome of a payment attempt.
type PayResult struct {
	// Result is authorized, declined, rejected, expired or challenge.
	Result string
	Reason string
	Cart   *omnicart.Cart
	// Challenge is the pending 3-D Secure challenge of a challenge result.
	Challenge *omnicart.PendingChallenge
}

// Payment results.
const (
	ResultAuthorized = "authorized"
	ResultDeclined   = "declined"
	ResultRejected   = "rejected"
	ResultExpired    = "expired"
	ResultChallenge  = "challenge"
)

// ErrNoChallenge is returned by CompleteChallenge when the cart has no
// 3-D Secure challenge waiting for an answer.
var ErrNoChallenge = errors.New("no 3-D Secure challenge is pending")

const expiredReason = "This payment link has expired or has nothing left to pay."

// Pay authorizes the payable items of the cart of token with card. The card
// is passed to the provider and never stored. A cart that is already paid
// gives ResultAuthorized again and moves no money (the card is not tried);
// an expired cart, or one with nothing left to pay that was never paid,
// gives ResultExpired. When the issuer asks for a 3-D
// Secure challenge nothing is authorized yet: the result is ResultChallenge
// and the challenge is kept on the cart for CompleteChallenge (a new card
// payment replaces it). Unknown tokens give ErrUnknownToken.
func (s *Service) Pay(ctx context.Context, token string, card omnicart.Card) (*PayResult, error) {
	prepare := func(c *omnicart.Cart) error {
		c.Challenge = nil
		return nil
	}
	call := func(ctx context.Context, p omnicart.Provider, op omnicart.Operation) (omnicart.Authorization, error) {
		return p.Authorize(ctx, omnicart.AuthorizeRequest{Operation: op, Card: card, ThreeDS: true})
	}
	return s.authorize(ctx, token, prepare, call, true)
}

// CompleteChallenge answers the 3-D Secure challenge pending on the cart of
// token with code: a right code authorizes the payable items as Pay does, a
// wrong one is a decline (it counts toward the merchant's maximum). The
// challenge is used up either way. It returns ErrNoChallenge when none is
// pending and ErrUnknownToken for an unknown token. A cart that is already
// paid gives ResultAuthorized (a repeated answer after a lost one); an
// expired cart, or one with nothing left to pay that was never paid, gives
// ResultExpired.
func (s *Service) CompleteChallenge(ctx context.Context, token, code string) (*PayResult, error) {
	var ch *omnicart.PendingChallenge
	prepare := func(c *omnicart.Cart) error {
		if ch = c.TakeChallenge(); ch == nil {
			return ErrNoChallenge
		}
		return nil
	}
	call := func(ctx context.Context, p omnicart.Provider, op omnicart.Operation) (omnicart.Authorization, error) {
		chp, ok := p.(omnicart.Challenger)
		if !ok {
			return omnicart.Authorization{}, errors.New("the payment provider does not run 3-D Secure challenges")
		}
		return chp.CompleteChallenge(ctx, omnicart.ChallengeRequest{Operation: op, Ref: ch.Ref, Code: code})
	}
	return s.authorize(ctx, token, prepare, call, false)
}

// authorize runs a payment. With a local provider (the sandbox issuer) the
// whole payment is one change: the cart is locked, what is due fires, a
// cart already paid answers ResultAuthorized without calling the provider,
// prepare looks at the cart, the authorization runs against the provider's
// books in the same transaction, and its outcome (with the captures of
// one-step items) is applied before the commit. With a remote provider the
// authorization is recorded first, the provider is called outside the
// transaction (bounded by ProviderTimeout), and the answer is applied in a
// second transaction (finishAuthorization). A challenge answer is valid
// only when challengeOK.
func (s *Service) authorize(ctx context.Context, token string, prepare func(*omnicart.Cart) error,
	call func(context.Context, omnicart.Provider, omnicart.Operation) (omnicart.Authorization, error), challengeOK bool) (*PayResult, error) {
	var remote *remoteAuth
	res, err := s.change(ctx, func(u *unit) (any, error, error) {
		c, err := u.tx.LockCartByToken(ctx, hashToken(token))
		if errors.Is(err, omnicart.ErrNotFound) {
			return nil, nil, ErrUnknownToken
		}
		if err != nil {
			return nil, nil, err
		}
		m, err := u.tx.Merchant(ctx, c.MerchantID)
		if err != nil {
			return nil, nil, err
		}
		now := m.Now(s.Now())
		if err := u.catchUp(ctx, m, c, now); err != nil {
			return nil, nil, err
		}
		if payable, _ := c.Payable(); len(payable) == 0 && c.Paid() {
			// A repeated payment of a paid cart (a double click, an app
			// retrying after a lost answer): no money moves, and the
			// answer is the outcome of the payment that succeeded,
			// whatever became of its items since.
			if u.fired {
				if err := u.save(ctx, m, c); err != nil {
					return nil, nil, err
				}
			}
			return &PayResult{Result: ResultAuthorized, Cart: c}, nil, nil
		}
		var op omnicart.Operation
		ok := false
		if !c.Expired(now) {
			if refused := prepare(c); refused != nil {
				return u.refuse(ctx, m, c, refused)
			}
			op, ok = c.BeginPayment(newOpID())
		}
		if !ok {
			c.Challenge = nil
			if err := u.save(ctx, m, c); err != nil {
				return nil, nil, err
			}
			return &PayResult{Result: ResultExpired, Reason: expiredReason, Cart: c}, nil, nil
		}
		if err := u.tx.CreateOperations(ctx, []omnicart.Operation{op}, s.Now()); err != nil {
			return nil, nil, err
		}
		p, err := u.local(m)
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			// Remote: commit the pending authorization, call after.
			remote = &remoteAuth{m: m, op: op}
			return nil, nil, u.save(ctx, m, c)
		}
		auth, authErr := call(ctx, p, op)
		res, err := u.applyAuthorization(ctx, m, c, op, auth, authErr, challengeOK, now)
		if err != nil {
			return nil, nil, err
		}
		return res, nil, u.save(ctx, m, c)
	})
	if err != nil {
		return nil, err
	}
	if remote == nil {
		return res.(*PayResult), nil
	}
	p, err := s.Provider(remote.m)
	if err != nil {
		return nil, s.abortAuthorization(ctx, nil, remote.op, err)
	}
	actx, cancel := context.WithTimeout(ctx, ProviderTimeout)
	auth, authErr := call(actx, p, remote.op)
	cancel()
	return s.finishAuthorization(ctx, p, remote.op, auth, authErr, challengeOK)
}

// remoteAuth is an authorization recorded for a remote provider, to be
// called after the commit.
type remoteAuth struct {
	m  *omnicart.Merchant
	op omnicart.Operation
}

// applyAuthorization applies the provider's answer to the authorization
// op to the cart (locked in u's transaction): a hold authorizes the items
// and captures the one-step ones, a decline counts toward the merchant's
// maximum, a challenge (when challengeOK) waits for the customer's code.
// Any other error is returned: the outcome is unknown.
func (u *unit) applyAuthorization(ctx context.Context, m *omnicart.Merchant, c *omnicart.Cart, op omnicart.Operation,
	auth omnicart.Authorization, authErr error, challengeOK bool, now time.Time) (*PayResult, error) {
	decline, declined := omnicart.IsDecline(authErr)
	challenge, challenged := omnicart.IsChallenge(authErr)
	challenged = challenged && challengeOK
	if authErr != nil && !declined && !challenged {
		return nil, authErr
	}
	var res *PayResult
	outcome := "succeeded"
	var captures []omnicart.Operation
	switch {
	case challenged:
		outcome = "challenge"
		c.PaymentChallenged(now, op.OpID, challenge)
		res = &PayResult{Result: ResultChallenge, Cart: c, Challenge: c.Challenge}
	case declined:
		outcome = "declined"
		res = &PayResult{Result: ResultDeclined, Reason: decline.Reason, Cart: c}
		if c.PaymentDeclined(now, op.OpID, decline.Reason, m.MaxDeclines) {
			res.Result = ResultRejected
		}
	default:
		captures = c.PaymentAuthorized(now, op.OpID, auth.Ref, auth.Card, newOpID)
		res = &PayResult{Result: ResultAuthorized, Cart: c}
	}
	if err := u.tx.FinishOperation(ctx, op.OpID, outcome, now); err != nil {
		return nil, err
	}
	if err := u.money(ctx, m, c, captures, now, time.Time{}); err != nil {
		return nil, err
	}
	return res, nil
}

// abortAuthorization handles an authorization whose outcome is unknown: the
// provider (when there is one) voids whatever it may have held under op,
// and the cart's items wait for payment again. It returns cause, or the
// error that prevented the clean-up.
func (s *Service) abortAuthorization(ctx context.Context, p omnicart.Provider, op omnicart.Operation, cause error) error {
	s.Log.ErrorContext(ctx, "authorization failed", "op", op.OpID, "cart", op.CartID, "err", cause)
	if p != nil {
		if err := p.Void(ctx, op.OpID); err != nil {
			return err // left for Recover
		}
	}
	if err := s.settle(ctx, op, false, time.Time{}); err != nil {
		return err
	}
	return cause
}

// finishAuthorization is the second transaction of a payment at a remote
// provider: it applies the provider's answer to op to the cart. A
// challenge is only a valid answer when challengeOK.
func (s *Service) finishAuthorization(ctx context.Context, p omnicart.Provider, op omnicart.Operation, auth omnicart.Authorization, authErr error, challengeOK bool) (*PayResult, error) {
	_, declined := omnicart.IsDecline(authErr)
	_, challenged := omnicart.IsChallenge(authErr)
	if authErr != nil && !declined && !(challenged && challengeOK) {
		// Outcome unknown: void whatever the provider may have held.
		return nil, s.abortAuthorization(ctx, p, op, authErr)
	}
	stale := false
	res, err := s.change(ctx, func(u *unit) (any, error, error) {
		m, err := u.tx.Merchant(ctx, op.MerchantID)
		if err != nil {
			return nil, nil, err
		}
		now := m.Now(s.Now())
		c, err := u.tx.LockCart(ctx, op.MerchantID, op.CartID)
		if err != nil {
			return nil, nil, err
		}
		c.NormalizeTimers(now)
		if !c.Waiting(op.OpID) {
			// Recovery gave this authorization up (and voided it) while
			// the provider was answering: nothing of it may apply now.
			stale = true
			return &PayResult{Result: ResultExpired, Reason: "This payment attempt took too long and was cancelled; please try again.", Cart: c}, nil, nil
		}
		res, err := u.applyAuthorization(ctx, m, c, op, auth, authErr, challengeOK, now)
		if err != nil {
			return nil, nil, err
		}
		return res, nil, u.save(ctx, m, c)
	})
	if err != nil {
		return nil, err
	}
	if stale && p != nil {
		if err := p.Void(ctx, op.OpID); err != nil {
			return nil, err
		}
	}
	return res.(*PayResult), nil
}
