package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

// FireDue fires the deadlines of up to limit carts that are due now, in one
// change, and returns how many carts it fired. The change claims the due
// carts (Tx.DueCarts: skip-locked on engines with row locks, so nodes
// sharing a database take different carts) and fires each inside a
// savepoint of its own: a cart that fails (its provider errs) rolls back
// alone, is logged, and does not hold the others back. Each cart fires
// everything due on it, in deadline order and each at its own moment, so a
// deadline fires once and never before its time however late the call
// comes.
func (s *Service) FireDue(ctx context.Context, limit int) (int, error) {
	real := s.Now()
	fired := 0
	_, err := s.change(WithAnswerHook(ctx, nil), func(u *unit) (any, error, error) {
		fired = 0
		keys, err := u.tx.DueCarts(ctx, real, "", limit)
		if err != nil {
			return nil, nil, err
		}
		merchants := map[string]*omnicart.Merchant{}
		for _, k := range keys {
			later := len(u.later)
			err := u.tx.Savepoint(ctx, func() error {
				m := merchants[k.MerchantID]
				if m == nil {
					var err error
					if m, err = u.tx.Merchant(ctx, k.MerchantID); err != nil {
						return err
					}
					merchants[k.MerchantID] = m
				}
				c, err := u.tx.ClaimCart(ctx, k.MerchantID, k.CartID)
				if errors.Is(err, omnicart.ErrNotFound) {
					return nil // taken by another node, or gone
				}
				if err != nil {
					return err
				}
				now := m.Now(real)
				if d, ok := c.NextDeadline(m.AutoActionLead()); !ok || d.After(now) {
					return nil // fired meanwhile
				}
				if err := u.catchUp(ctx, m, c, now); err != nil {
					return err
				}
				if err := u.save(ctx, m, c); err != nil {
					return err
				}
				fired++
				return nil
			})
			if err != nil {
				u.later = u.later[:later] // its remote operations were rolled back too
				if ctx.Err() == nil {
					s.Log.ErrorContext(ctx, "firing a cart's deadlines", "merchant", k.MerchantID, "cart", k.CartID, "err", err)
				}
			}
		}
		return nil, nil, nil
	})
	if err != nil {
		return 0, err
	}
	return fired, nil
}

// fireNext fires the single earliest due deadline of a merchant at its own
// moment. It reports false when nothing is due.
func (s *Service) fireNext(ctx context.Context, merchantID string) (bool, error) {
	fired := false
	_, err := s.change(WithAnswerHook(ctx, nil), func(u *unit) (any, error, error) {
		m, err := u.tx.Merchant(ctx, merchantID)
		if err != nil {
			return nil, nil, err
		}
		keys, err := u.tx.DueCarts(ctx, s.Now(), merchantID, 1)
		if err != nil || len(keys) == 0 {
			return nil, nil, err
		}
		c, err := u.tx.LockCart(ctx, keys[0].MerchantID, keys[0].CartID)
		if err != nil {
			return nil, nil, err
		}
		now := m.Now(s.Now())
		lead := m.AutoActionLead()
		if d, ok := c.NextDeadline(lead); ok && !d.After(now) {
			if err := u.money(ctx, m, c, c.Tick(d, lead, newOpID), now, d); err != nil {
				return nil, nil, err
			}
		}
		u.caughtUp = c.Sequence // a deadline's events: no request's actor
		fired = true
		return nil, nil, u.save(ctx, m, c)
	})
	return fired && err == nil, err
}

// AdvanceClock moves a test-mode merchant's clock forward by d and fires,
// before returning, every deadline of that merchant that falls due, in
// deadline order. It returns the merchant's new now. Live merchants get
// 131000.
func (s *Service) AdvanceClock(ctx context.Context, m *omnicart.Merchant, d time.Duration) (time.Time, error) {
	if m.Mode != omnicart.ModeTest {
		return time.Time{}, omnicart.Errorf(omnicart.CodeMethodNotAllowed, "")
	}
	if err := s.Store.Tx(ctx, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, m.ID, d) }); err != nil {
		return time.Time{}, err
	}
	for {
		more, err := s.fireNext(ctx, m.ID)
		if err != nil {
			return time.Time{}, err
		}
		if !more {
			break
		}
	}
	m2, err := s.Merchant(ctx, m.ID)
	if err != nil {
		return time.Time{}, err
	}
	return m2.Now(s.Now()), nil
}

// RunScheduler fires due deadlines until ctx ends: it looks again interval
// (on the service's Clock) after each look and, while work remains, at once.
// Errors are logged and retried.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration, batch int) {
	t := s.clock().NewTimer(interval)
	t.Stop() // armed only while the loop waits
	defer t.Stop()
	for {
		n, err := s.FireDue(ctx, batch)
		if err != nil && ctx.Err() == nil {
			s.Log.ErrorContext(ctx, "firing due deadlines", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		if n == batch && err == nil {
			continue
		}
		t.Reset(interval)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}
