package gateway

import (
	"context"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
)

// RecoverEvery is how often serve runs RunRecovery's pass.
const RecoverEvery = 5 * time.Second

// pruneBatch is how many expired idempotency records one recovery pass
// deletes at most.
const pruneBatch = 1000

// clock returns the clock the loops wait on: Clock, or the system clock
// when it is nil.
func (s *Service) clock() omnicart.Clock {
	if s.Clock != nil {
		return s.Clock
	}
	return clock.Real{}
}

// RunRecovery settles money operations left unsettled (by a crash, or a
// provider that failed without a final answer) for longer than
// RecoverAfter, and deletes expired idempotency records: at once, then
// every (on the service's Clock) after each pass, until ctx ends. Errors
// are logged and retried on the next pass.
func (s *Service) RunRecovery(ctx context.Context, every time.Duration) {
	t := s.clock().NewTimer(every)
	t.Stop() // armed only while the loop waits
	defer t.Stop()
	for {
		s.recoverOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		t.Reset(every)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// recoverOnce is one pass of RunRecovery.
func (s *Service) recoverOnce(ctx context.Context) {
	if n, err := s.Recover(ctx, RecoverAfter); err != nil && ctx.Err() == nil {
		s.Log.ErrorContext(ctx, "recovering unsettled operations", "err", err)
	} else if n > 0 {
		s.Log.InfoContext(ctx, "recovered unsettled operations", "count", n)
	}
	if _, err := s.PruneIdempotencyRecords(ctx, pruneBatch); err != nil && ctx.Err() == nil {
		s.Log.ErrorContext(ctx, "pruning expired idempotency records", "err", err)
	}
}
