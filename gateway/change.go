package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

// A change is one write transaction of a use case. Every use case that
// changes carts goes through Service.change, which is the one place that
// knows three rules:
//
//   - commit what happened, then refuse: a request that fired due
//     deadlines and is then refused commits what fired, and the refusal is
//     answered after the commit (never returned out of a transaction that
//     must commit);
//   - money moves in the transaction when the provider keeps its books in
//     our database (omnicart.LocalProvider, the sandbox issuer): the cart
//     change, its operations, ledger entries, events and outbox rows commit
//     together. Operations at a provider across a network are recorded in
//     the transaction and run after the commit (record, call, settle);
//   - the request's answer hook (its idempotency record) joins the
//     transaction of the change it answers.

// AnswerHook is called inside the transaction of a change with the use
// case's result, or with its refusal, before the commit: what it writes
// commits with the change. An error from it rolls the change back and is
// returned by the use case.
type AnswerHook func(ctx context.Context, tx omnicart.Tx, result any, refusal error) error

type answerHookKey struct{}

// WithAnswerHook returns a context whose use cases call h in the
// transaction of their change. A refusal that changed nothing calls h in a
// transaction of its own.
func WithAnswerHook(ctx context.Context, h AnswerHook) context.Context {
	return context.WithValue(ctx, answerHookKey{}, h)
}

func answerHook(ctx context.Context) AnswerHook {
	h, _ := ctx.Value(answerHookKey{}).(AnswerHook)
	return h
}

type actorKey struct{}

// WithActor returns a context whose use cases record a as who made their
// changes: on the events a change produces (not those of the deadlines
// that fired before it), written in the change's transaction, and as the
// creator of the API keys they create. The Merchant API sets the key that
// authenticated the request, the Panel its signed-in user.
func WithActor(ctx context.Context, a omnicart.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorOf is the actor WithActor set on ctx ("" when none).
func actorOf(ctx context.Context) omnicart.Actor {
	a, _ := ctx.Value(actorKey{}).(omnicart.Actor)
	return a
}

// unit is what a change's function works with: the transaction, and the
// money operations it started.
type unit struct {
	s  *Service
	tx omnicart.Tx
	// later are operations at remote providers, run after the commit.
	later []laterOps
	// refused is the first final refusal of an operation run in the
	// transaction (settled as failed), returned after the commit.
	refused error
	// fired is set once a deadline fired in this change.
	fired bool
	// caughtUp is the cart's sequence once its due deadlines fired
	// (catchUp): the events after it are the request's own, which the
	// request's actor is recorded with.
	caughtUp int64
}

// refuse ends a change with a refusal: what fired on the way is saved and
// committed first; when nothing fired, nothing is written.
func (u *unit) refuse(ctx context.Context, m *omnicart.Merchant, c *omnicart.Cart, refusal error) (any, error, error) {
	if !u.fired {
		return nil, nil, refusal
	}
	if err := u.save(ctx, m, c); err != nil {
		return nil, nil, err
	}
	return nil, refusal, nil
}

type laterOps struct {
	m   *omnicart.Merchant
	ops []omnicart.Operation
	at  time.Time
}

// change runs fn in one write transaction. fn returns err to roll back
// everything it did; it returns a refusal to commit what it saved and have
// the refusal returned after the commit. A domain error (*omnicart.Error)
// returned as err is a refusal that changed nothing. Operations at remote
// providers run after the commit; their error is returned then.
func (s *Service) change(ctx context.Context, fn func(u *unit) (result any, refusal error, err error)) (any, error) {
	hook := answerHook(ctx)
	var u *unit
	var result any
	var refusal error
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		u = &unit{s: s, tx: tx}
		res, ref, err := fn(u)
		if err != nil {
			return err
		}
		if ref == nil {
			ref = u.refused
		}
		// With operations at a remote provider still to run, the answer is
		// not known yet: it is stored after them (below).
		if hook != nil && len(u.later) == 0 {
			if err := hook(ctx, tx, res, ref); err != nil {
				return err
			}
		}
		result, refusal = res, ref
		return nil
	})
	if err != nil {
		var de *omnicart.Error
		if hook != nil && errors.As(err, &de) {
			// A refusal that changed nothing: its answer is kept too.
			if herr := s.Store.Tx(ctx, func(tx omnicart.Tx) error { return hook(ctx, tx, nil, err) }); herr != nil {
				return nil, herr
			}
		}
		return nil, err
	}
	for _, l := range u.later {
		if err := s.runOps(ctx, l.m, l.ops, l.at); err != nil && refusal == nil {
			refusal = err
		}
	}
	if hook != nil && len(u.later) > 0 {
		// Remote operations: the answer is stored once their outcome is
		// known, in a transaction of its own (a crash in between leaves no
		// answer; a retry then sees the cart's state).
		if err := s.Store.Tx(context.WithoutCancel(ctx), func(tx omnicart.Tx) error { return hook(ctx, tx, result, refusal) }); err != nil {
			return nil, err
		}
	}
	return result, refusal
}

// money runs operations the change started on cart c of merchant m, at now
// (merchant time): it records them and, with a local provider, calls it in
// the transaction and applies the outcomes to c (one status event for all
// of them). With a remote provider the operations stay pending on the cart
// and run after the commit; `at` is the moment they settle at (zero: when
// they are answered). A final refusal of an auto action (Operation.Auto: a
// capture window's, started by a deadline) uses its window up and is only
// logged, never the request's answer; a refusal of the request's own
// operations is returned after the commit.
func (u *unit) money(ctx context.Context, m *omnicart.Merchant, c *omnicart.Cart, ops []omnicart.Operation, now, at time.Time) error {
	if len(ops) == 0 {
		return nil
	}
	// Operations are stamped in real time, which Recover compares with.
	if err := u.tx.CreateOperations(ctx, ops, u.s.Now()); err != nil {
		return err
	}
	p, err := u.local(m)
	if err != nil {
		return err
	}
	if p == nil {
		u.later = append(u.later, laterOps{m: m, ops: ops, at: at})
		return nil
	}
	if !at.IsZero() && at.Before(now) {
		now = at
	}
	outcomes := make(map[string]bool, len(ops))
	var refusedAuto []string
	for _, op := range ops {
		err := callProvider(ctx, p, op)
		outcome := "succeeded"
		if err != nil {
			if !errors.Is(err, omnicart.ErrRefused) {
				return err // the whole change rolls back, money included
			}
			u.s.Log.ErrorContext(ctx, "provider refused the operation", "op", op.OpID, "kind", op.Kind, "cart", op.CartID, "auto", op.Auto, "err", err)
			outcome = "failed"
			switch {
			case op.Auto:
				refusedAuto = append(refusedAuto, op.ItemIDs...)
			case u.refused == nil:
				u.refused = err
			}
		}
		outcomes[op.OpID] = err == nil
		if op.Kind == omnicart.OpAuthorize {
			c.AbortPending(op.OpID)
		}
		if err := u.tx.FinishOperation(ctx, op.OpID, outcome, now); err != nil {
			return err
		}
	}
	c.SettleAll(now, outcomes)
	c.AutoActionRefused(refusedAuto)
	return nil
}

// local returns m's provider working inside the transaction, or nil when
// m's provider is remote.
func (u *unit) local(m *omnicart.Merchant) (omnicart.Provider, error) {
	p, err := u.s.Provider(m)
	if err != nil {
		return nil, err
	}
	if lp, ok := p.(omnicart.LocalProvider); ok {
		return lp.In(u.tx), nil
	}
	return nil, nil
}

// openCart loads the merchant (its test clock may have moved since
// authentication) and locks its cart for a change, adding 123001 to sp
// when the cart does not exist; the decoder's problems are returned as a
// refusal. It then fires whatever is due on the cart, so that a request
// never acts on a state its deadlines have already changed.
func (u *unit) openCart(ctx context.Context, merchantID, cartID string, sp omnicart.StagedProblems) (*omnicart.Merchant, *omnicart.Cart, time.Time, error) {
	// The cart first: an engine may read its merchant with it (the
	// merchant is locked before the cart either way).
	var c *omnicart.Cart
	var err error
	if cartID != "" {
		c, err = u.tx.LockCart(ctx, merchantID, cartID)
		if errors.Is(err, omnicart.ErrNotFound) {
			sp.Add(omnicart.StageExists, omnicart.Problem{Code: omnicart.CodeCartNotFound})
		} else if err != nil {
			return nil, nil, time.Time{}, err
		}
	}
	m, err := u.tx.Merchant(ctx, merchantID)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	now := m.Now(u.s.Now())
	if sp.HasErrors() {
		return nil, nil, time.Time{}, problemsError(sp)
	}
	if err := u.catchUp(ctx, m, c, now); err != nil {
		return nil, nil, time.Time{}, err
	}
	return m, c, now, nil
}

// catchUp fires every deadline of the cart that is due at now, in deadline
// order, each at its own moment, and runs the operations they start.
func (u *unit) catchUp(ctx context.Context, m *omnicart.Merchant, c *omnicart.Cart, now time.Time) error {
	lead := m.AutoActionLead()
	// Each Tick consumes at least one deadline and an item has at most
	// three (warning, capture window, timer); the bound only guards against
	// a bug looping forever.
	for range 3*len(c.Items) + 8 {
		d, ok := c.NextDeadline(lead)
		if !ok || d.After(now) {
			break
		}
		u.fired = true
		if err := u.money(ctx, m, c, c.Tick(d, lead, newOpID), now, d); err != nil {
			return err
		}
	}
	c.NormalizeTimers(now)
	u.caughtUp = c.Sequence
	return nil
}

// save saves the cart with its next deadline, and the request's actor
// with the events the request produced.
func (u *unit) save(ctx context.Context, m *omnicart.Merchant, c *omnicart.Cart) error {
	if a := actorOf(ctx); a != "" {
		c.AttributeEvents(a, u.caughtUp)
	}
	return u.tx.SaveCart(ctx, c, due(c, m))
}

// due is the real moment of the cart's next deadline (zero for none):
// deadlines are kept in merchant time in the cart, and storage indexes
// them in real time, so a test clock's offset is taken off here.
func due(c *omnicart.Cart, m *omnicart.Merchant) time.Time {
	d, ok := c.NextDeadline(m.AutoActionLead())
	if !ok {
		return time.Time{}
	}
	return d.Add(-m.ClockOffset)
}

func problemsError(sp omnicart.StagedProblems) error {
	return &omnicart.Error{Problems: sp.Ordered()}
}
