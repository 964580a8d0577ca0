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
// checks that the cart could be paid here (131000 first of all for a
// merchant no provider serves, 123003 for a payment link on a channel with
// no sender: refuseUnpayable), and the existence, catalog, value, timer,
// privilege and active-timer checks, and returns an *omnicart.Error with
// every problem in reporting order when any is an error.
func (s *Service) Init(ctx context.Context, m *omnicart.Merchant, spec *omnicart.InitSpec, sp omnicart.StagedProblems) (*InitResult, error) {
	token := randomToken(32)
	res, err := s.change(ctx, func(u *unit) (any, error, error) {
		tx := u.tx
		// The merchant's test clock may have moved since authentication.
		m, err := tx.Merchant(ctx, m.ID)
		if err != nil {
			return nil, nil, err
		}
		now := m.Now(s.Now())
		if err := s.refuseUnpayable(m, spec, &sp); err != nil {
			return nil, nil, err
		}
		if spec.CartID != "" {
			exists, err := tx.CartExists(ctx, m.ID, spec.CartID)
			if err != nil {
				return nil, nil, err
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
				return nil, nil, err
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
		// Active-timer conflicts: an item of the new cart on which the
		// customer has an active timer in another cart. Checked also when
		// earlier checks failed, so that debug mode reports everything.
		if spec.CustomerID != "" {
			for i := range spec.Items {
				id := spec.Items[i].ID
				other, ok, err := tx.ActiveTimer(ctx, m.ID, spec.CustomerID, id, now, spec.CartID)
				if err != nil {
					return nil, nil, err
				}
				if ok {
					sp.Add(omnicart.StageConflicts, omnicart.Problem{Code: omnicart.CodeActiveTimer, Arg: spec.CustomerID, Args: []string{id, other}})
				}
			}
		}
		if sp.HasErrors() || c == nil {
			return nil, nil, problemsError(sp)
		}
		if a := actorOf(ctx); a != "" {
			c.AttributeEvents(a, 0)
		}
		if err := tx.CreateCart(ctx, c, hashToken(token), due(c, m)); err != nil {
			if errors.Is(err, omnicart.ErrConflict) {
				return nil, nil, omnicart.Errorf(omnicart.CodeCartExists, "")
			}
			return nil, nil, err
		}
		if err := enqueuePaymentLink(ctx, tx, c, m, token, s.Now()); err != nil {
			return nil, nil, err
		}
		return &InitResult{Cart: c, PayToken: token, Infos: sp.Ordered()}, nil, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*InitResult), nil
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
// problems. Unknown carts give 123001. The cart is read on the read pool;
// only when one of its deadlines is due does Status take the write path to
// fire it first, so that a status never shows a state its deadlines have
// already changed.
func (s *Service) Status(ctx context.Context, m *omnicart.Merchant, cartID string, f omnicart.Filter, sp omnicart.StagedProblems) (*StatusResult, error) {
	now := m.Now(s.Now())
	var c *omnicart.Cart
	if cartID != "" {
		// m was read by authentication just before: its test clock is
		// current.
		err := s.Store.Read(ctx, func(tx omnicart.Tx) error {
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
	if d, ok := c.NextDeadline(m.AutoActionLead()); ok && !d.After(now) {
		fired, err := s.fireCart(ctx, m.ID, cartID)
		if err != nil {
			return nil, err
		}
		c, now = fired.cart, fired.now
	}
	c.NormalizeTimers(now)
	idx, infos, err := c.SelectForStatus(f)
	if err != nil {
		return nil, err
	}
	return &StatusResult{Cart: c, Idx: idx, Now: now, Infos: infos}, nil
}

type firedCart struct {
	cart *omnicart.Cart
	now  time.Time
}

// fireCart fires what is due on one cart, in a change of its own, and
// returns the cart as saved.
func (s *Service) fireCart(ctx context.Context, merchantID, cartID string) (firedCart, error) {
	res, err := s.change(WithAnswerHook(ctx, nil), func(u *unit) (any, error, error) {
		m, c, now, err := u.openCart(ctx, merchantID, cartID, omnicart.StagedProblems{})
		if err != nil {
			return nil, nil, err
		}
		if err := u.save(ctx, m, c); err != nil {
			return nil, nil, err
		}
		return firedCart{cart: c.Clone(), now: now}, nil, nil
	})
	if err != nil {
		return firedCart{}, err
	}
	return res.(firedCart), nil
}

// Act runs capture, cancel or refund on the items a filter selects, and
// returns the itemIds acted on, in cart order. What was due on the cart
// fires first and stays fired even when the action is then refused.
func (s *Service) Act(ctx context.Context, m *omnicart.Merchant, a omnicart.Action, cartID string, f omnicart.Filter, sp omnicart.StagedProblems) ([]string, error) {
	res, err := s.change(ctx, func(u *unit) (any, error, error) {
		m, c, now, err := u.openCart(ctx, m.ID, cartID, sp)
		if err != nil {
			return nil, nil, err
		}
		idx, refusal := c.SelectForAction(f)
		var ops []omnicart.Operation
		var ids []string
		if refusal == nil {
			ops, ids, refusal = c.BeginAction(a, idx, newOpID)
		}
		if refusal != nil {
			return u.refuse(ctx, m, c, refusal)
		}
		if err := u.money(ctx, m, c, ops, now, time.Time{}); err != nil {
			return nil, nil, err
		}
		if err := u.save(ctx, m, c); err != nil {
			return nil, nil, err
		}
		return ids, nil, nil
	})
	if err != nil {
		return nil, err
	}
	ids, _ := res.([]string)
	return ids, nil
}

// timerConflicts applies the active-timer lock to a modify: a timer that
// becomes active for a customer (a new timer, or a new customerId) may not
// duplicate that customer's active timer on the same item in another cart
// (124102).
func timerConflicts(ctx context.Context, tx omnicart.Tx, m *omnicart.Merchant, before, after *omnicart.Cart, r omnicart.ModifyResult, now time.Time) error {
	if after.CustomerID == "" {
		return nil
	}
	var ps omnicart.Problems
	for i := range after.Items {
		it := &after.Items[i]
		if it.Timer == nil || !it.Timer.Active(now) {
			continue
		}
		if after.CustomerID == before.CustomerID && !contains(r.ModifiedTimers, it.ID) {
			continue
		}
		other, ok, err := tx.ActiveTimer(ctx, m.ID, after.CustomerID, it.ID, now, after.ID)
		if err != nil {
			return err
		}
		if ok {
			ps.Add(omnicart.Problem{Code: omnicart.CodeActiveTimer, Arg: after.CustomerID, Args: []string{it.ID, other}})
		}
	}
	if len(ps) > 0 {
		return &omnicart.Error{Problems: ps}
	}
	return nil
}

// Modify applies a modify request and runs the partial releases and refunds
// it implies. What was due on the cart fires first and stays fired even
// when the modification is then refused.
func (s *Service) Modify(ctx context.Context, m *omnicart.Merchant, cartID string, spec *omnicart.ModifySpec, sp omnicart.StagedProblems) (*omnicart.ModifyResult, error) {
	res, err := s.change(ctx, func(u *unit) (any, error, error) {
		m, c, now, err := u.openCart(ctx, m.ID, cartID, sp)
		if err != nil {
			return nil, nil, err
		}
		before := c.Clone()
		r, refusal := c.Modify(spec, m, now, newOpID)
		if refusal == nil {
			refusal = timerConflicts(ctx, u.tx, m, before, c, r, now)
		}
		if refusal != nil {
			return u.refuse(ctx, m, before, refusal) // keep only what the deadlines did
		}
		if err := u.money(ctx, m, c, r.Ops, now, time.Time{}); err != nil {
			return nil, nil, err
		}
		if err := u.save(ctx, m, c); err != nil {
			return nil, nil, err
		}
		return &r, nil, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*omnicart.ModifyResult), nil
}

// runOps calls the provider for each operation and settles it, at `at`
// (merchant time; zero means the merchant's now). A provider failure leaves
// the operation unsettled (its items stay ongoing) for Recover to retry, and
// is returned.
func (s *Service) runOps(ctx context.Context, m *omnicart.Merchant, ops []omnicart.Operation, at time.Time) error {
	if len(ops) == 0 {
		return nil
	}
	p, err := s.Provider(m)
	if err != nil {
		return err
	}
	// The change that started the operations has committed: finish them
	// even if the client goes away.
	ctx = context.WithoutCancel(ctx)
	var firstErr error
	for _, op := range ops {
		// A refused auto action is logged and settled, not the request's
		// answer.
		if err := s.runOp(ctx, p, op, at); err != nil && firstErr == nil && !op.Auto {
			firstErr = err
		}
	}
	return firstErr
}

// runOp calls the provider for one operation and settles it. A final
// refusal (omnicart.ErrRefused) is settled as failed (the items leave
// "ongoing" in the status they had) and returned; another failure is left
// for Recover and only logged: the request that started it has committed,
// and the items report "ongoing" until it settles.
func (s *Service) runOp(ctx context.Context, p omnicart.Provider, op omnicart.Operation, at time.Time) error {
	pctx, cancel := context.WithTimeout(ctx, ProviderTimeout)
	err := callProvider(pctx, p, op)
	cancel()
	switch {
	case err == nil:
		return s.settle(ctx, op, true, at)
	case errors.Is(err, omnicart.ErrRefused):
		s.Log.ErrorContext(ctx, "provider refused the operation", "op", op.OpID, "kind", op.Kind, "cart", op.CartID, "err", err)
		if serr := s.settle(ctx, op, false, at); serr != nil {
			return serr
		}
		return err
	}
	s.Log.ErrorContext(ctx, "provider operation failed; left for recovery", "op", op.OpID, "kind", op.Kind, "cart", op.CartID, "err", err)
	return nil
}

// ProviderTimeout bounds one provider call. Recover waits RecoverAfter
// (longer) before it treats an unsettled operation as abandoned, so that it
// never races a call still in flight.
const (
	ProviderTimeout = 30 * time.Second
	RecoverAfter    = 2 * time.Minute
)

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

// settle saves the outcome of an operation: a capture, release or refund
// is applied (or, when it failed, only its in-flight mark is cleared); an
// authorization is aborted, its outcome "voided" when ok (the provider
// gave back whatever it held), never "succeeded": nothing stays
// authorized, and the overview's money counts only succeeded operations.
func (s *Service) settle(ctx context.Context, op omnicart.Operation, ok bool, at time.Time) error {
	outcome := "succeeded"
	switch {
	case !ok:
		outcome = "failed"
	case op.Kind == omnicart.OpAuthorize:
		outcome = "voided"
	}
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		m, err := tx.Merchant(ctx, op.MerchantID)
		if err != nil {
			return err
		}
		now := m.Now(s.Now())
		if !at.IsZero() && at.Before(now) {
			now = at
		}
		c, err := tx.LockCart(ctx, op.MerchantID, op.CartID)
		if err != nil {
			return err
		}
		c.NormalizeTimers(now)
		before := c.Sequence
		if op.Kind == omnicart.OpAuthorize {
			c.AbortPending(op.OpID)
		} else {
			c.Settle(now, op.OpID, ok)
			if !ok && op.Auto {
				c.AutoActionRefused(op.ItemIDs) // the window is used up: no retry loop
			}
		}
		if err := tx.FinishOperation(ctx, op.OpID, outcome, now); err != nil {
			return err
		}
		if a := actorOf(ctx); a != "" && !op.Auto {
			// The request that started the operation settles it (remote
			// providers answer after its change committed).
			c.AttributeEvents(a, before)
		}
		return tx.SaveCart(ctx, c, due(c, m))
	})
}

// Recover settles operations that were recorded more than olderThan ago and
// never settled (the process stopped between the provider call and the
// save). Captures, releases and refunds are re-sent to the provider, which
// is idempotent by operation id; authorizations whose outcome is unknown are
// voided and their items wait for payment again. It returns how many
// operations it settled.
//
// Recovery is claimed, so that nodes sharing the database do not all
// retry the same operations: Recover leases them in batches of
// recoverBatch (Tx.ClaimUnfinishedOperations) for RecoverLease, longer than
// the batch's provider calls can take, and retries only what it leased. An
// operation whose retry failed again keeps its lease, so it is retried
// (by whichever node claims it) once the lease ends; a node that dies
// mid-batch leaves its claims to run out. One pass handles at most
// recoverPass operations.
func (s *Service) Recover(ctx context.Context, olderThan time.Duration) (int, error) {
	n := 0
	for done := 0; done < recoverPass; {
		var ops []omnicart.Operation
		err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
			now := s.Now()
			var err error
			ops, err = tx.ClaimUnfinishedOperations(ctx, now, now.Add(-olderThan), now.Add(RecoverLease), min(recoverBatch, recoverPass-done))
			return err
		})
		if err != nil {
			return n, err
		}
		n += s.recoverClaimed(ctx, ops)
		done += len(ops)
		if len(ops) < recoverBatch || ctx.Err() != nil {
			break
		}
	}
	return n, nil
}

// Recovery's claims: a pass claims batches of recoverBatch operations and
// stops after recoverPass; a claim lasts RecoverLease, longer than a
// batch's provider calls can take (recoverBatch × ProviderTimeout).
const (
	recoverBatch = 4
	recoverPass  = 100
	RecoverLease = recoverBatch*ProviderTimeout + 30*time.Second
)

// recoverClaimed retries and settles the operations Recover claimed, and
// returns how many it settled.
func (s *Service) recoverClaimed(ctx context.Context, ops []omnicart.Operation) int {
	n := 0
	for _, op := range ops {
		m, err := s.Merchant(ctx, op.MerchantID)
		if err != nil {
			s.Log.ErrorContext(ctx, "recovery: merchant", "op", op.OpID, "merchant", op.MerchantID, "err", err)
			continue
		}
		p, err := s.Provider(m)
		if err != nil {
			s.Log.ErrorContext(ctx, "recovery: no provider for the merchant", "op", op.OpID, "merchant", op.MerchantID, "err", err)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, ProviderTimeout)
		err = callProvider(pctx, p, op)
		cancel()
		ok := err == nil
		if err != nil && !errors.Is(err, omnicart.ErrRefused) {
			s.Log.ErrorContext(ctx, "recovery: provider operation failed again", "op", op.OpID, "err", err)
			continue
		}
		if err != nil {
			s.Log.ErrorContext(ctx, "recovery: provider refused the operation; settled as failed", "op", op.OpID, "err", err)
		}
		if err := s.settle(ctx, op, ok, time.Time{}); err != nil {
			s.Log.ErrorContext(ctx, "recovery: settling", "op", op.OpID, "err", err)
			continue
		}
		n++
	}
	return n
}
