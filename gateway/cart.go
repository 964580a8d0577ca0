package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/omnicart/omnicart"
)

// InitResult is a created cart and the secret token of its payment page.
type InitResult struct {
	Cart     *omnicart.Cart
	PayToken string
	Infos    omnicart.Problems
}

// Init opens a cart. sp holds what the request decoder found; Init adds the
// existence, catalog, value, timer, privilege and active-timer checks, and
// returns an *omnicart.Error with every problem in reporting order when any
// is an error.
func (s *Service) Init(ctx context.Context, m *omnicart.Merchant, spec *omnicart.InitSpec, sp omnicart.StagedProblems) (*InitResult, error) {
	now := s.Now()
	token := randomToken(32)
	var res *InitResult
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		if spec.CartID != "" {
			exists, err := tx.CartExists(ctx, m.ID, spec.CartID)
			if err != nil {
				return err
			}
			if exists {
				sp.Add(omnicart.StageExists, omnicart.Problem{Code: omnicart.CodeCartExists})
			}
		}
		if len(spec.Items) > 0 {
			ids := make([]string, len(spec.Items))
			for i := range spec.Items {
				ids[i] = spec.Items[i].ID
			}
			known, err := tx.CatalogItems(ctx, m.ID, ids)
			if err != nil {
				return err
			}
			have := make(map[string]bool, len(known))
			for _, k := range known {
				have[k.ItemID] = true
			}
			for _, id := range ids {
				if !have[id] {
					sp.Add(omnicart.StageCatalog, omnicart.Problem{Code: omnicart.CodeItemNotInCatalog, Arg: id})
				}
			}
		}
		c := omnicart.NewCart(spec, m, now, &sp)
		// Active-timer conflicts: only meaningful for a well-formed cart.
		if c != nil && c.CustomerID != "" {
			for _, id := range c.ActiveTimerItems(now) {
				other, ok, err := tx.ActiveTimer(ctx, m.ID, c.CustomerID, id, now)
				if err != nil {
					return err
				}
				if ok {
					sp.Add(omnicart.StageConflicts, omnicart.Problem{Code: omnicart.CodeActiveTimer, Arg: c.CustomerID, Args: []string{id, other}})
				}
			}
		}
		if sp.HasErrors() || c == nil {
			return problemsError(sp)
		}
		if err := tx.CreateCart(ctx, c, hashToken(token)); err != nil {
			if errors.Is(err, omnicart.ErrConflict) {
				return omnicart.Errorf(omnicart.CodeCartExists, "")
			}
			return err
		}
		res = &InitResult{Cart: c, PayToken: token, Infos: sp.Ordered()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func problemsError(sp omnicart.StagedProblems) error {
	return &omnicart.Error{Problems: sp.Ordered()}
}

// StatusResult is a cart as of Now, with the indexes of the items in the
// request's scope.
type StatusResult struct {
	Cart  *omnicart.Cart
	Idx   []int
	Now   time.Time
	Infos omnicart.Problems
}

// Status reads a cart through a status filter. sp holds the decoder's
// problems. Unknown carts give 123001.
func (s *Service) Status(ctx context.Context, m *omnicart.Merchant, cartID string, f omnicart.Filter, sp omnicart.StagedProblems) (*StatusResult, error) {
	now := s.Now()
	var c *omnicart.Cart
	if cartID != "" {
		err := s.Store.View(ctx, func(tx omnicart.Tx) error {
			var err error
			c, err = tx.Cart(ctx, m.ID, cartID)
			return err
		})
		if errors.Is(err, omnicart.ErrNotFound) {
			sp.Add(omnicart.StageExists, omnicart.Problem{Code: omnicart.CodeCartNotFound})
		} else if err != nil {
			return nil, err
		}
	}
	if sp.HasErrors() {
		return nil, problemsError(sp)
	}
	c.NormalizeTimers(now)
	idx, infos, err := c.SelectForStatus(f)
	if err != nil {
		return nil, err
	}
	return &StatusResult{Cart: c, Idx: idx, Now: now, Infos: infos}, nil
}

// lockForChange loads a cart for update inside tx, adding 123001 to sp when
// it does not exist, and returns the decoder's problems as an error.
func lockForChange(ctx context.Context, tx omnicart.Tx, m *omnicart.Merchant, cartID string, sp omnicart.StagedProblems, now time.Time) (*omnicart.Cart, error) {
	var c *omnicart.Cart
	if cartID != "" {
		var err error
		c, err = tx.LockCart(ctx, m.ID, cartID)
		if errors.Is(err, omnicart.ErrNotFound) {
			sp.Add(omnicart.StageExists, omnicart.Problem{Code: omnicart.CodeCartNotFound})
		} else if err != nil {
			return nil, err
		}
	}
	if sp.HasErrors() {
		return nil, problemsError(sp)
	}
	c.NormalizeTimers(now)
	return c, nil
}

// Act runs capture, cancel or refund on the items a filter selects, and
// returns the itemIds acted on, in cart order.
func (s *Service) Act(ctx context.Context, m *omnicart.Merchant, a omnicart.Action, cartID string, f omnicart.Filter, sp omnicart.StagedProblems) ([]string, error) {
	now := s.Now()
	var ops []omnicart.Operation
	var ids []string
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		c, err := lockForChange(ctx, tx, m, cartID, sp, now)
		if err != nil {
			return err
		}
		idx, err := c.SelectForAction(f)
		if err != nil {
			return err
		}
		ops, ids, err = c.BeginAction(a, idx, newOpID)
		if err != nil {
			return err
		}
		if err := tx.CreateOperations(ctx, ops, now); err != nil {
			return err
		}
		return tx.SaveCart(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	if err := s.runOps(ctx, m, ops); err != nil {
		return nil, err
	}
	return ids, nil
}

// Modify applies a modify request and runs the partial releases and refunds
// it implies.
func (s *Service) Modify(ctx context.Context, m *omnicart.Merchant, cartID string, spec *omnicart.ModifySpec, sp omnicart.StagedProblems) (*omnicart.ModifyResult, error) {
	now := s.Now()
	var res omnicart.ModifyResult
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		c, err := lockForChange(ctx, tx, m, cartID, sp, now)
		if err != nil {
			return err
		}
		res, err = c.Modify(spec, m, now, newOpID)
		if err != nil {
			return err
		}
		if err := tx.CreateOperations(ctx, res.Ops, now); err != nil {
			return err
		}
		return tx.SaveCart(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	if err := s.runOps(ctx, m, res.Ops); err != nil {
		return nil, err
	}
	return &res, nil
}

// runOps calls the provider for each operation and settles it. A provider
// failure leaves the operation unsettled (its items stay ongoing) for Recover
// to retry, and is returned.
func (s *Service) runOps(ctx context.Context, m *omnicart.Merchant, ops []omnicart.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	p, err := s.Provider(m)
	if err != nil {
		return err
	}
	var firstErr error
	for _, op := range ops {
		if err := callProvider(ctx, p, op); err != nil {
			s.Log.ErrorContext(ctx, "provider operation failed; left for recovery", "op", op.OpID, "kind", op.Kind, "cart", op.CartID, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err := s.settle(ctx, op, true); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func callProvider(ctx context.Context, p omnicart.Provider, op omnicart.Operation) error {
	switch op.Kind {
	case omnicart.OpCapture:
		return p.Capture(ctx, op)
	case omnicart.OpRelease:
		return p.Release(ctx, op)
	case omnicart.OpRefund:
		return p.Refund(ctx, op)
	case omnicart.OpAuthorize:
		return p.Void(ctx, op.OpID)
	}
	return fmt.Errorf("unknown operation kind %q", op.Kind)
}

// settle saves the outcome of a capture, release or refund.
func (s *Service) settle(ctx context.Context, op omnicart.Operation, ok bool) error {
	now := s.Now()
	outcome := "succeeded"
	if !ok {
		outcome = "failed"
	}
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, op.MerchantID, op.CartID)
		if err != nil {
			return err
		}
		c.NormalizeTimers(now)
		if op.Kind == omnicart.OpAuthorize {
			c.AbortPending(op.OpID)
		} else {
			c.Settle(now, op.OpID, ok)
		}
		if err := tx.FinishOperation(ctx, op.OpID, outcome, now); err != nil {
			return err
		}
		return tx.SaveCart(ctx, c)
	})
}

// Recover settles operations that were recorded more than olderThan ago and
// never settled (the process stopped between the provider call and the
// save). Captures, releases and refunds are re-sent to the provider, which
// is idempotent by operation id; authorizations whose outcome is unknown are
// voided and their items wait for payment again. It returns how many
// operations it settled.
func (s *Service) Recover(ctx context.Context, olderThan time.Duration) (int, error) {
	var ops []omnicart.Operation
	err := s.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		ops, err = tx.UnfinishedOperations(ctx, s.Now().Add(-olderThan), 100)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, op := range ops {
		m, err := s.Merchant(ctx, op.MerchantID)
		if err != nil {
			return n, err
		}
		p, err := s.Provider(m)
		if err != nil {
			return n, err
		}
		if err := callProvider(ctx, p, op); err != nil {
			s.Log.ErrorContext(ctx, "recovery: provider operation failed again", "op", op.OpID, "err", err)
			continue
		}
		if err := s.settle(ctx, op, true); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
