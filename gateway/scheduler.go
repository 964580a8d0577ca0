package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/omnicart/omnicart"
)

// FireDue fires the deadlines of up to limit carts that are due now, in one
// transaction, and then runs the money operations they started. It returns
// how many carts it processed. Each cart fires everything due on it, in
// deadline order and each at its own moment, so a deadline fires once and
// never before its time however late the call comes.
func (s *Service) FireDue(ctx context.Context, limit int) (int, error) {
	real := s.Now()
	type work struct {
		m   *omnicart.Merchant
		ops []omnicart.Operation
	}
	var todo []work
	n := 0
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		todo, n = todo[:0], 0
		keys, err := tx.DueCarts(ctx, real, "", limit)
		if err != nil {
			return err
		}
		merchants := map[string]*omnicart.Merchant{}
		for _, k := range keys {
			m := merchants[k.MerchantID]
			if m == nil {
				if m, err = tx.Merchant(ctx, k.MerchantID); err != nil {
					return err
				}
				merchants[k.MerchantID] = m
			}
			c, err := tx.LockCart(ctx, k.MerchantID, k.CartID)
			if errors.Is(err, omnicart.ErrNotFound) {
				continue // taken by another node or gone
			}
			if err != nil {
				return err
			}
			now := m.Now(real)
			ops := catchUp(c, m, now)
			if err := s.saveWithOps(ctx, tx, m, c, ops, now); err != nil {
				return err
			}
			n++
			if len(ops) > 0 {
				todo = append(todo, work{m, ops})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var firstErr error
	for _, w := range todo {
		if err := s.runOps(ctx, w.m, w.ops, time.Time{}); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return n, firstErr
}

// fireNext fires the single earliest due deadline of a merchant at its own
// moment. It reports false when nothing is due.
func (s *Service) fireNext(ctx context.Context, merchantID string) (bool, error) {
	var m *omnicart.Merchant
	var ops []omnicart.Operation
	var at time.Time
	fired := false
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		var err error
		if m, err = tx.Merchant(ctx, merchantID); err != nil {
			return err
		}
		keys, err := tx.DueCarts(ctx, s.Now(), merchantID, 1)
		if err != nil || len(keys) == 0 {
			return err
		}
		c, err := tx.LockCart(ctx, keys[0].MerchantID, keys[0].CartID)
		if err != nil {
			return err
		}
		now := m.Now(s.Now())
		lead := m.AutoActionLead()
		if d, ok := c.NextDeadline(lead); ok && !d.After(now) {
			at = d
			ops = c.Tick(d, lead, newOpID)
		}
		fired = true
		return s.saveWithOps(ctx, tx, m, c, ops, now)
	})
	if err != nil || !fired {
		return false, err
	}
	return true, s.runOps(ctx, m, ops, at)
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

// RunScheduler fires due deadlines until ctx ends: it polls every interval
// and, while work remains, immediately again. Errors are logged and retried.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration, batch int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.FireDue(ctx, batch)
		if err != nil && ctx.Err() == nil {
			s.Log.ErrorContext(ctx, "firing due deadlines", "err", err)
		}
		if n == batch && err == nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
