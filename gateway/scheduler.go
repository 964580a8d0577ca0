package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
)

// FireDue fires the deadlines of up to limit carts that are due now and
// returns how many carts it fired. Each cart is one change of its own (the
// group writer still commits them together): a cart that fails (its
// provider errs) rolls back alone, is logged, and does not hold the others
// back. A change claims its cart (Tx.ClaimCart), so nodes sharing a database
// skip carts another node is firing, and re-checks that something is due
// on it. Each cart fires everything due on it, in deadline order and each at
// its own moment, so a deadline fires once and never before its time
// however late the call comes.
func (s *Service) FireDue(ctx context.Context, limit int) (int, error) {
	real := s.Now()
	var keys []omnicart.CartKey
	if err := s.Store.Read(ctx, func(tx omnicart.Tx) error {
		var err error
		keys, err = tx.DueCarts(ctx, real, "", limit)
		return err
	}); err != nil || len(keys) == 0 {
		return 0, err
	}
	var (
		mu       sync.Mutex
		fired    int
		failed   int
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, fireParallel)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, err := s.fireCartAt(ctx, k, real)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed++
				if firstErr == nil {
					firstErr = err
				}
				if ctx.Err() == nil {
					s.Log.ErrorContext(ctx, "firing a cart's deadlines", "merchant", k.MerchantID, "cart", k.CartID, "err", err)
				}
			case ok:
				fired++
			}
		}()
	}
	wg.Wait()
	if failed == len(keys) {
		return fired, firstErr
	}
	return fired, nil
}

// fireParallel bounds the changes FireDue has waiting for the writer at
// once.
const fireParallel = 64

// fireCartAt fires what is due at real time `real` on one cart, if it can
// claim the cart and something is still due. It reports whether it fired.
func (s *Service) fireCartAt(ctx context.Context, k omnicart.CartKey, real time.Time) (bool, error) {
	fired := false
	_, err := s.change(WithAnswerHook(ctx, nil), func(u *unit) (any, error, error) {
		fired = false
		c, err := u.tx.ClaimCart(ctx, k.MerchantID, k.CartID)
		if errors.Is(err, omnicart.ErrNotFound) {
			return nil, nil, nil // another node has it, or it is gone
		}
		if err != nil {
			return nil, nil, err
		}
		m, err := u.tx.Merchant(ctx, k.MerchantID)
		if err != nil {
			return nil, nil, err
		}
		now := m.Now(real)
		if d, ok := c.NextDeadline(m.AutoActionLead()); !ok || d.After(now) {
			return nil, nil, nil // fired meanwhile
		}
		if err := u.catchUp(ctx, m, c, now); err != nil {
			return nil, nil, err
		}
		fired = true
		return nil, nil, u.save(ctx, m, c)
	})
	return fired && err == nil, err
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
