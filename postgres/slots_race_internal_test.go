package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
)

// TestConcurrentDebitsOnFundedSlot runs two debits of 100 at once on a
// card that holds 1,000,000 on one slot (its funding's). Each finds the
// funds on that slot and, besides its 100, moves a share of what the slot
// keeps to its own slot: together they must not take more than the slot
// has, or the second commit would fail the slot's CHECK (errBalanceRace)
// and run again with every slot of the card locked, although the card
// holds 10,000 times what both need.
func TestConcurrentDebitsOnFundedSlot(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	s := NewStore(db)
	const card, cur = "card:fp-review", "EUR"
	funding := omnicart.FundingPrefix + cur
	fund := omnicart.Journal{ID: "fund-1", Kind: "fund", Entries: []omnicart.Entry{{Account: funding, Currency: cur, Amount: -1_000_000}, {Account: card, Currency: cur, Amount: 1_000_000}}}
	if _, err := NewLedger(db).Post(ctx, fund); err != nil {
		t.Fatal(err)
	}
	f := slotOf(fund.ID)
	var ids []string
	for i := 0; len(ids) < 2; i++ {
		id := fmt.Sprintf("debit-%d", i)
		if s := slotOf(id); s != f && (len(ids) == 0 || slotOf(ids[0]) != s) {
			ids = append(ids, id)
		}
	}
	var posted sync.WaitGroup
	posted.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.tx(ctx, func(tx omnicart.Tx) error {
				_, err := tx.Ledger().Post(ctx, omnicart.Journal{ID: id, Kind: "authorize", Entries: []omnicart.Entry{
					{Account: card, Currency: cur, Amount: -100}, {Account: "hold:" + id, Currency: cur, Amount: 100}}})
				posted.Done()
				posted.Wait() // both have checked and spread before either commits
				return err
			}, false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if errors.Is(err, errBalanceRace) {
			t.Errorf("debit %s of 100 on a card holding 1,000,000 lost a race for funds: %v", ids[i], err)
		} else if err != nil {
			t.Errorf("debit %s: %v", ids[i], err)
		}
	}
}
