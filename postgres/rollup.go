package postgres

import (
	"context"
	"time"
)

// The Panel's overview figures (migration 0009_money_days) are written as
// move rows by triggers, in the transaction of the change they count, and
// folded into their totals here, off the request path: every node runs
// foldMoves every rollupEvery. Each fold takes up to rollupBatch moves
// that no other node is folding (FOR UPDATE SKIP LOCKED), deletes them and
// adds them to the totals in one statement, so a move is counted once
// whichever node folds it, and a reader, which adds the totals and the
// moves left in one statement, sees every move exactly once.

// rollupEvery is how often a node folds the moves.
const rollupEvery = 2 * time.Second

// rollupBatch bounds the moves one statement folds.
const rollupBatch = 5000

// foldMoves folds up to rollupBatch moves of each kind into their totals
// and returns how many totals it changed (0: no move was left). The totals are changed in key order, so
// two nodes folding at once wait for each other but never deadlock.
func (d *DB) foldMoves(ctx context.Context) (int64, error) {
	var n int64
	for _, sql := range []string{
		`WITH m AS (
			DELETE FROM money_day_moves WHERE id IN (SELECT id FROM money_day_moves ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
			RETURNING merchant_id, day, currency, authorized, captured, released, refunded
		)
		INSERT INTO money_days AS t (merchant_id, day, currency, authorized, captured, released, refunded)
		SELECT merchant_id, day, currency, sum(authorized), sum(captured), sum(released), sum(refunded)
		FROM m GROUP BY merchant_id, day, currency ORDER BY merchant_id, day, currency
		ON CONFLICT (merchant_id, day, currency) DO UPDATE SET
			authorized = t.authorized + EXCLUDED.authorized, captured = t.captured + EXCLUDED.captured,
			released = t.released + EXCLUDED.released, refunded = t.refunded + EXCLUDED.refunded`,
		`WITH m AS (
			DELETE FROM cart_status_moves WHERE id IN (SELECT id FROM cart_status_moves ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
			RETURNING merchant_id, status, n
		)
		INSERT INTO cart_status_counts AS t (merchant_id, status, n)
		SELECT merchant_id, status, sum(n) FROM m GROUP BY merchant_id, status ORDER BY merchant_id, status
		ON CONFLICT (merchant_id, status) DO UPDATE SET n = t.n + EXCLUDED.n`,
	} {
		tag, err := d.pool.Exec(ctx, sql, rollupBatch)
		if err != nil {
			return n, wrap("fold overview figures", err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// rollupLogEvery spaces the log lines of a fold that keeps failing.
const rollupLogEvery = time.Minute

// runRollup folds moves every rollupEvery until ctx is done; a fold that
// fails (the server away) is tried again at the next tick, and logged
// (SetLog) at most once every rollupLogEvery while it keeps failing, and
// once when it succeeds again.
func (d *DB) runRollup(ctx context.Context) {
	t := time.NewTicker(rollupEvery)
	defer t.Stop()
	var failing int      // failed folds since the last success
	var logged time.Time // when the last failure was logged
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := d.foldMoves(ctx)
			if err != nil && ctx.Err() == nil {
				failing++
				if l := d.log.Load(); l != nil && time.Since(logged) >= rollupLogEvery {
					l.Error("folding the Panel overview's figures failed; retrying every 2 s (the overview still counts every change)", "error", err, "failures", failing)
					logged = time.Now()
				}
			}
			if err == nil && failing > 0 {
				if l := d.log.Load(); l != nil {
					l.Info("folding the Panel overview's figures works again", "failures", failing)
				}
				failing, logged = 0, time.Time{}
			}
			if err != nil || n == 0 {
				break
			}
		}
	}
}
