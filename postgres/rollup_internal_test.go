package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestFoldMovesWhileSettling settles operations and changes carts'
// statuses from several goroutines while two others fold the moves (as
// two nodes do), then folds what is left: the figures read during and
// after are whole (every move counted once), and no move remains.
func TestFoldMovesWhileSettling(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	s, p := NewStore(db), NewPanel(db)
	if err := s.Tx(ctx, func(tx omnicart.Tx) error {
		return tx.CreateMerchant(ctx, &omnicart.Merchant{ID: "m1", Name: "M"})
	}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("op-%d-%d", w, i)
				err := s.Tx(ctx, func(tx omnicart.Tx) error {
					op := omnicart.Operation{OpID: id, Kind: omnicart.OpCapture, MerchantID: "m1", CartID: "c", ItemIDs: []string{"a"}, Currency: "EUR", Amount: 3}
					if err := tx.CreateOperations(ctx, []omnicart.Operation{op}, day); err != nil {
						return err
					}
					if err := tx.FinishOperation(ctx, id, "succeeded", day); err != nil {
						return err
					}
					// A status gained and another lost, as a cart's save does.
					if _, err := tx.(*txn).q.Exec(ctx, `INSERT INTO cart_status_moves(merchant_id, status, n) VALUES ('m1', 'completed', 1), ('m1', 'authorized', -1)`); err != nil {
						return err
					}
					_, err := tx.Merchant(ctx, "m1") // sends the deferred writes
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var folders sync.WaitGroup
	for range 2 {
		folders.Add(1)
		go func() {
			defer folders.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.foldMoves(ctx); err != nil {
					errs <- err
					return
				}
				got, err := p.MoneyDays(ctx, "m1", day, day)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 1 && got[0].Captured%3 != 0 {
					errs <- fmt.Errorf("captured %d: not a whole number of captures", got[0].Captured)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	folders.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for {
		n, err := db.foldMoves(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	got, err := p.MoneyDays(ctx, "m1", day, day)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]omnicart.MoneyDay{{Day: omnicart.DayOf(omnicart.DayNumber(day)), Currency: "EUR", Captured: 3 * workers * each}})
	if fmt.Sprint(got) != want {
		t.Errorf("MoneyDays after folding = %v, want %v", got, want)
	}
	counts, err := p.CartStatusCounts(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != fmt.Sprintf("map[completed:%d]", workers*each) {
		t.Errorf("CartStatusCounts after folding = %v, want completed %d (authorized below zero is not shown)", counts, workers*each)
	}
	var left int
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM money_day_moves) + (SELECT count(*) FROM cart_status_moves)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d moves left after folding", left)
	}
	var folded int64
	if err := db.pool.QueryRow(ctx, `SELECT captured FROM money_days WHERE merchant_id = 'm1'`).Scan(&folded); err != nil || folded != 3*workers*each {
		t.Errorf("money_days holds %d (%v), want %d", folded, err, 3*workers*each)
	}
}
