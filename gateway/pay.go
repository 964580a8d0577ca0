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
	// Result is authorized, declined, rejected or expired.
	Result string
	Reason string
	Cart   *omnicart.Cart
}

// Payment results.
const (
	ResultAuthorized = "authorized"
	ResultDeclined   = "declined"
	ResultRejected   = "rejected"
	ResultExpired    = "expired"
)

// Pay authorizes the payable items of the cart of token with card. The card
// is passed to the provider and never stored. An expired cart, or one with
// nothing left to pay, gives ResultExpired.
func (s *Service) Pay(ctx context.Context, token string, card omnicart.Card) (*PayResult, error) {
	var op omnicart.Operation
	var fired []omnicart.Operation
	var m *omnicart.Merchant
	var res *PayResult
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		c, err := tx.LockCartByToken(ctx, hashToken(token))
		if errors.Is(err, omnicart.ErrNotFound) {
			return ErrUnknownToken
		}
		if err != nil {
			return err
		}
		if m, err = tx.Merchant(ctx, c.MerchantID); err != nil {
			return err
		}
		now := m.Now(s.Now())
		fired = catchUp(c, m, now)
		var ok bool
		if !c.Expired(now) {
			op, ok = c.BeginPayment(newOpID())
		}
		if !ok {
			res = &PayResult{Result: ResultExpired, Reason: "This payment link has expired or has nothing left to pay.", Cart: c}
			return s.saveWithOps(ctx, tx, m, c, fired, now)
		}
		return s.saveWithOps(ctx, tx, m, c, append(fired, op), now)
	})
	if err == nil && len(fired) > 0 {
		err = s.runOps(ctx, m, fired, time.Time{})
	}
	if err != nil || res != nil {
		return res, err
	}
	p, err := s.Provider(m)
	if err != nil {
		return nil, err
	}
	auth, authErr := p.Authorize(ctx, omnicart.AuthorizeRequest{Operation: op, Card: card})
	decline, declined := omnicart.IsDecline(authErr)
	if authErr != nil && !declined {
		// Outcome unknown: void whatever the provider may have held.
		s.Log.ErrorContext(ctx, "authorization failed", "op", op.OpID, "cart", op.CartID, "err", authErr)
		if err := p.Void(ctx, op.OpID); err != nil {
			return nil, err
		}
		return nil, s.settle(ctx, op, false, time.Time{})
	}
	var captures []omnicart.Operation
	err = s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		if m, err = tx.Merchant(ctx, op.MerchantID); err != nil {
			return err
		}
		now := m.Now(s.Now())
		c, err := tx.LockCart(ctx, op.MerchantID, op.CartID)
		if err != nil {
			return err
		}
		c.NormalizeTimers(now)
		outcome := "succeeded"
		if declined {
			outcome = "declined"
			res = &PayResult{Result: ResultDeclined, Reason: decline.Reason, Cart: c}
			if c.PaymentDeclined(now, op.OpID, decline.Reason, m.MaxDeclines) {
				res.Result = ResultRejected
			}
		} else {
			captures = c.PaymentAuthorized(now, op.OpID, auth.Ref, auth.Card, newOpID)
			res = &PayResult{Result: ResultAuthorized, Cart: c}
			if err := tx.CreateOperations(ctx, captures, now); err != nil {
				return err
			}
		}
		if err := tx.FinishOperation(ctx, op.OpID, outcome, now); err != nil {
			return err
		}
		return tx.SaveCart(ctx, c, due(c, m))
	})
	if err != nil {
		return nil, err
	}
	if err := s.runOps(ctx, m, captures, time.Time{}); err != nil {
		return nil, err
	}
	return res, nil
}
