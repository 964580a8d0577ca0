package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
)

// txLedger is the ledger of Tx.Ledger as an omnicart.Ledger of its own,
// for the sandbox ledger suites: each Post runs in a transaction of its
// own, which commits even when the post is refused (as the sandbox issuer
// goes on after an insufficient-funds refusal, to record the decline), so
// a refused post must leave nothing behind in a transaction that goes on.
// Reads run in a View.
type txLedger struct{ s omnicart.Store }

var _ omnicart.Ledger = txLedger{}

func (l txLedger) Post(ctx context.Context, j omnicart.Journal) (posted bool, err error) {
	txErr := l.s.Tx(ctx, func(tx omnicart.Tx) error {
		posted, err = tx.Ledger().Post(ctx, j)
		return nil
	})
	if txErr != nil {
		return false, txErr
	}
	return posted, err
}

func (l txLedger) Journal(ctx context.Context, id string) (j omnicart.Journal, err error) {
	err = l.s.View(ctx, func(tx omnicart.Tx) error {
		j, err = tx.Ledger().Journal(ctx, id)
		return err
	})
	return j, err
}

func (l txLedger) Hold(ctx context.Context, ref string) (h omnicart.Hold, err error) {
	err = l.s.View(ctx, func(tx omnicart.Tx) error {
		h, err = tx.Ledger().Hold(ctx, ref)
		return err
	})
	return h, err
}

func (l txLedger) Balance(ctx context.Context, account, currency string) (b int64, err error) {
	err = l.s.View(ctx, func(tx omnicart.Tx) error {
		b, err = tx.Ledger().Balance(ctx, account, currency)
		return err
	})
	return b, err
}

func (l txLedger) Balances(ctx context.Context) (bs []omnicart.Balance, err error) {
	err = l.s.View(ctx, func(tx omnicart.Tx) error {
		bs, err = tx.Ledger().Balances(ctx)
		return err
	})
	return bs, err
}

func transfer(id, from, to string, amount int64) omnicart.Journal {
	return omnicart.Journal{ID: id, Kind: "test", Entries: []omnicart.Entry{
		{Account: from, Currency: "EUR", Amount: -amount},
		{Account: to, Currency: "EUR", Amount: amount},
	}}
}

// ledgerState is what a ledger holds, as seen through l.
type ledgerState struct {
	Balances []omnicart.Balance
	Journals map[string]string // id → kind, or the error of Journal
}

func stateOf(l omnicart.Ledger, ids ...string) (ledgerState, error) {
	ctx := context.Background()
	bs, err := l.Balances(ctx)
	if err != nil {
		return ledgerState{}, err
	}
	if len(bs) == 0 {
		bs = nil
	}
	st := ledgerState{Balances: bs, Journals: map[string]string{}}
	for _, id := range ids {
		j, err := l.Journal(ctx, id)
		switch {
		case errors.Is(err, omnicart.ErrNoJournal):
			st.Journals[id] = "none"
		case err != nil:
			return ledgerState{}, err
		default:
			st.Journals[id] = j.Kind
		}
	}
	return st, nil
}

// testLedgerInTx checks the ledger of Tx.Ledger as part of its
// transaction: a transaction reads its own posts, nobody else does before
// the commit; a refused post leaves nothing while the transaction goes
// on; a rollback takes every post back.
func testLedgerInTx(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	fund := sandbox.FundingAccount("EUR")
	ids := []string{"fund", "move", "over", "bad", "rolled-back"}
	empty := ledgerState{Journals: map[string]string{"fund": "none", "move": "none", "over": "none", "bad": "none", "rolled-back": "none"}}
	outside := func(when string, want ledgerState) {
		t.Helper()
		for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"View": s.View, "Read": s.Read} {
			err := run(ctx, func(tx omnicart.Tx) error {
				got, err := stateOf(tx.Ledger(), ids...)
				if err == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("%s, in %s: %+v, want %+v", when, name, got, want)
				}
				return err
			})
			if err != nil {
				t.Errorf("%s, in %s: %v", when, name, err) // not Fatal: called in a Tx callback
			}
		}
	}
	funding := transfer("fund", fund, "card:a", 1000)
	funding.Kind = sandbox.KindFund
	committed := ledgerState{
		Balances: []omnicart.Balance{{Account: "card:a", Currency: "EUR", Amount: 700}, {Account: "card:b", Currency: "EUR", Amount: 300},
			{Account: fund, Currency: "EUR", Amount: -1000}},
		Journals: map[string]string{"fund": sandbox.KindFund, "move": "test", "over": "none", "bad": "none", "rolled-back": "none"},
	}
	tx(t, s, func(tx omnicart.Tx) error {
		l := tx.Ledger()
		post := func(j omnicart.Journal, want bool, wantErr error) {
			t.Helper()
			posted, err := l.Post(ctx, j)
			if posted != want || !errors.Is(err, wantErr) {
				t.Errorf("Post %s = %v, %v; want %v, %v", j.ID, posted, err, want, wantErr)
			}
		}
		post(funding, true, nil)
		post(funding, false, nil)
		if b, err := l.Balance(ctx, "card:a", "EUR"); b != 1000 || err != nil {
			t.Errorf("own post not read in the transaction: %d, %v", b, err)
		}
		post(transfer("over", "card:a", "card:b", 1001), false, omnicart.ErrInsufficientFunds)
		post(omnicart.Journal{ID: "bad", Kind: "test", Entries: []omnicart.Entry{{Account: "card:a", Currency: "EUR", Amount: 1}}},
			false, omnicart.ErrInvalidJournal)
		post(transfer("move", "card:a", "card:b", 300), true, nil)
		got, err := stateOf(l, ids...)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, committed) {
			t.Errorf("in the transaction: %+v, want %+v", got, committed)
		}
		outside("before the commit", empty)
		return nil
	})
	outside("after the commit", committed)

	// A rollback takes back every post of the transaction.
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		l := tx.Ledger()
		if _, err := l.Post(ctx, transfer("rolled-back", "card:a", "card:c", 700)); err != nil {
			return err
		}
		if _, err := l.Post(ctx, transfer("over", fund, "card:c", 1)); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Tx = %v", err)
	}
	outside("after a rollback", committed)
	// The ids rolled back are free.
	tx(t, s, func(tx omnicart.Tx) error {
		posted, err := tx.Ledger().Post(ctx, transfer("rolled-back", "card:a", "card:c", 1))
		if !posted || err != nil {
			t.Errorf("Post of an id rolled back = %v, %v", posted, err)
		}
		return err
	})
}

// testLedgerRace has two transactions spend most of one balance at once:
// each posts its debit (the funds are there when it checks), then waits for
// the other to have posted too before it commits. Exactly one debit may
// stand; the other transaction must end with ErrInsufficientFunds (an
// engine that checks balances early and applies them at commit runs that
// transaction again), and the balance never goes negative. An engine with
// one writer runs the two one after the other: the wait then times out.
func testLedgerRace(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	fund := sandbox.FundingAccount("EUR")
	tx(t, s, func(tx omnicart.Tx) error {
		_, err := tx.Ledger().Post(ctx, transfer("fund", fund, "card:a", 1000))
		return err
	})
	var posted sync.WaitGroup
	posted.Add(2)
	results := make(chan error, 2)
	for _, id := range []string{"spend-1", "spend-2"} {
		go func() {
			first := true
			var postErr error
			err := s.Tx(ctx, func(tx omnicart.Tx) error {
				_, postErr = tx.Ledger().Post(ctx, transfer(id, "card:a", "merchant:m", 600))
				if first {
					first = false
					posted.Done()
					waitOrTimeout(&posted, time.Second)
				}
				return nil
			})
			results <- errors.Join(err, postErr)
		}()
	}
	var spent, refused int
	for range 2 {
		switch err := <-results; {
		case err == nil:
			spent++
		case errors.Is(err, omnicart.ErrInsufficientFunds):
			refused++
		default:
			t.Errorf("concurrent spend: %v", err)
		}
	}
	if spent != 1 || refused != 1 {
		t.Errorf("%d spends stood and %d were refused, want 1 and 1", spent, refused)
	}
	view(t, s, func(tx omnicart.Tx) error {
		for account, want := range map[string]int64{"card:a": 400, "merchant:m": 600} {
			if b, err := tx.Ledger().Balance(ctx, account, "EUR"); b != want || err != nil {
				t.Errorf("balance of %s = %d, %v; want %d", account, b, err, want)
			}
		}
		return nil
	})
}

// waitOrTimeout waits for wg, at most d.
func waitOrTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
