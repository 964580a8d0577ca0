package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
)

// The suite never calls t.Fatal or t.FailNow inside a Tx callback: an
// engine may run the callback on a goroutine of its own.

// snapshot is what the suite reads back of a store, in one View.
type snapshot struct {
	Merchants     []string
	Offset        time.Duration // m1's clock offset
	Keys          int           // m1's API keys
	Catalog       []omnicart.CatalogItem
	Carts         map[string]string // cartId → document, of m1's carts named by the test
	Tokens        map[string]string // token → cartId
	Due           []omnicart.CartKey
	Timers        map[string]string // customer → cart with an active timer on pegasus
	Unfinished    []string
	Idempotency   map[string]string // key → request hash
	Notifications []int64
	Ledger        ledgerState
}

func takeSnapshot(tb testing.TB, s omnicart.Store, carts, tokens, customers, keys []string) snapshot {
	tb.Helper()
	ctx := context.Background()
	var sn snapshot
	// DueCarts may lock rows: read it in a transaction that may write.
	tx(tb, s, func(tx omnicart.Tx) error {
		var err error
		sn.Due, err = tx.DueCarts(ctx, t0.Add(1000*time.Hour), "", 100)
		return err
	})
	view(tb, s, func(tx omnicart.Tx) error {
		ms, err := tx.Merchants(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			sn.Merchants = append(sn.Merchants, m.ID)
			if m.ID == "m1" {
				sn.Offset = m.ClockOffset
			}
		}
		ks, err := tx.APIKeys(ctx, "m1")
		if err != nil {
			return err
		}
		sn.Keys = len(ks)
		if sn.Catalog, err = tx.CatalogItems(ctx, "m1", []string{"pegasus", "naga"}); err != nil {
			return err
		}
		sn.Carts = map[string]string{}
		for _, id := range carts {
			c, err := tx.Cart(ctx, "m1", id)
			switch {
			case errors.Is(err, omnicart.ErrNotFound):
				sn.Carts[id] = "none"
			case err != nil:
				return err
			default:
				sn.Carts[id] = docOf(tb, c)
			}
		}
		sn.Tokens = map[string]string{}
		for _, tok := range tokens {
			c, err := tx.LockCartByToken(ctx, []byte(tok))
			switch {
			case errors.Is(err, omnicart.ErrNotFound):
				sn.Tokens[tok] = "none"
			case err != nil:
				return err
			default:
				sn.Tokens[tok] = c.ID
			}
		}
		sn.Timers = map[string]string{}
		for _, cust := range customers {
			id, ok, err := tx.ActiveTimer(ctx, "m1", cust, "pegasus", t0.Add(time.Minute), "")
			if err != nil {
				return err
			}
			sn.Timers[cust] = fmt.Sprint(id, ok)
		}
		ops, err := tx.UnfinishedOperations(ctx, t0.Add(1000*time.Hour), 100)
		if err != nil {
			return err
		}
		for _, op := range ops {
			sn.Unfinished = append(sn.Unfinished, op.OpID)
		}
		sn.Idempotency = map[string]string{}
		for _, k := range keys {
			rec, err := tx.IdempotencyRecord(ctx, "m1", k)
			switch {
			case errors.Is(err, omnicart.ErrNotFound):
				sn.Idempotency[k] = "none"
			case err != nil:
				return err
			default:
				sn.Idempotency[k] = string(rec.RequestHash)
			}
		}
		ns, err := tx.Notifications(ctx, omnicart.NotificationQuery{})
		if err != nil {
			return err
		}
		sn.Notifications = notificationIDs(ns)
		sn.Ledger, err = stateOf(tx.Ledger(), "fund-1", "fund-2")
		return err
	})
	return sn
}

// testRollback checks that a transaction whose callback fails leaves
// nothing of what it did, whatever it touched: merchants, keys, the
// catalog, carts and their deadlines, tokens and timers, operations,
// idempotency records, notifications, the ledger, the test clock.
func testRollback(t *testing.T, e Engine) {
	s := e.Store
	ctx := context.Background()
	m := merchant(t, s, "m1")
	kept := newCart(t, m, "cart-kept", "cust-kept", true, t0)
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.CreateCart(ctx, kept, []byte("tok-kept"), due(kept, m)); err != nil {
			return err
		}
		if err := tx.CreateOperations(ctx, []omnicart.Operation{{OpID: "op-kept", Kind: omnicart.OpCapture, MerchantID: "m1",
			CartID: "cart-kept", ItemIDs: []string{"naga"}, Currency: "EUR", Amount: 1100, AuthRef: "auth"}}, t0); err != nil {
			return err
		}
		if err := tx.EnqueueNotification(ctx, message("m1", "cart-kept", omnicart.ChannelEmail, t0)); err != nil {
			return err
		}
		_, err := tx.Ledger().Post(ctx, transfer("fund-1", sandbox.FundingAccount("EUR"), "card:a", 100))
		return err
	})
	carts, tokens := []string{"cart-kept", "cart-rolled-back"}, []string{"tok-kept", "tok-rolled-back"}
	customers, keys := []string{"cust-kept", "cust-rolled-back"}, []string{"key-rolled-back"}
	before := takeSnapshot(t, s, carts, tokens, customers, keys)

	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		for _, step := range []func() error{
			func() error {
				return tx.CreateMerchant(ctx, &omnicart.Merchant{ID: "m9", Name: "Shop m9", Mode: omnicart.ModeTest,
					CartExpirySecs: 60, Privileges: omnicart.DefaultPrivileges(), CreatedAt: t0})
			},
			func() error {
				return tx.CreateAPIKey(ctx, &omnicart.APIKey{Prefix: "ock_test_rollbck", MerchantID: "m1", Hash: []byte("hash-rb"), CreatedAt: t0})
			},
			func() error {
				return tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}})
			},
			func() error {
				c := newCart(t, m, "cart-rolled-back", "cust-rolled-back", true, t0)
				return tx.CreateCart(ctx, c, []byte("tok-rolled-back"), due(c, m))
			},
			func() error {
				c, err := tx.LockCart(ctx, "m1", "cart-kept")
				if err != nil {
					return err
				}
				c.Tick(t0.Add(7200*time.Second), m.AutoActionLead(), func() string { return "op-tick" })
				c.Items[0].Timer = nil
				c.Items[1].Tag = "rampart"
				return tx.SaveCart(ctx, c, time.Time{})
			},
			func() error { return tx.FinishOperation(ctx, "op-kept", "succeeded", t0) },
			func() error {
				return tx.CreateOperations(ctx, []omnicart.Operation{{OpID: "op-rolled-back", Kind: omnicart.OpRelease, MerchantID: "m1",
					CartID: "cart-rolled-back", ItemIDs: []string{"naga"}, Currency: "EUR", Amount: 1100, AuthRef: "auth"}}, t0)
			},
			func() error {
				return tx.PutIdempotencyRecord(ctx, "m1", "key-rolled-back", answer("h", t0), t0.Add(-omnicart.IdempotencyTTL))
			},
			func() error {
				return tx.EnqueueNotification(ctx, message("m1", "cart-rolled-back", omnicart.ChannelSMS, t0))
			},
			func() error {
				_, err := tx.Ledger().Post(ctx, transfer("fund-2", sandbox.FundingAccount("EUR"), "card:a", 5))
				return err
			},
			func() error {
				_, err := tx.Ledger().Post(ctx, transfer("fund-1-spent", "card:a", "card:b", 100))
				return err
			},
			func() error { return tx.AdvanceClock(ctx, "m1", time.Hour) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Tx = %v, want the callback's error", err)
	}
	if after := takeSnapshot(t, s, carts, tokens, customers, keys); !reflect.DeepEqual(after, before) {
		t.Errorf("after a rollback:\n%+v\nwant\n%+v", after, before)
	}

	// A store error the callback returns rolls back what came before it.
	err = s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.EnqueueNotification(ctx, message("m1", "cart-kept", omnicart.ChannelPush, t0)); err != nil {
			return err
		}
		return tx.CreateCart(ctx, newCart(t, m, "cart-kept", "", false, t0), []byte("tok-other"), time.Time{})
	})
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("Tx = %v, want ErrConflict", err)
	}
	if after := takeSnapshot(t, s, carts, tokens, customers, keys); !reflect.DeepEqual(after, before) {
		t.Errorf("after a failed CreateCart:\n%+v\nwant\n%+v", after, before)
	}
}

// testViewAndRead checks what reads see: nothing of a transaction before
// it commits; in a View, one snapshot for all its reads, whatever commits
// meanwhile; in Read, and in a View that starts later, what committed.
func testViewAndRead(t *testing.T, e Engine) {
	s := e.Store
	ctx := context.Background()
	m := merchant(t, s, "m1")
	a := newCart(t, m, "cart-a", "cust-a", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, a, []byte("tok-a"), due(a, m)) })
	carts, tokens := []string{"cart-a", "cart-b", "cart-c"}, []string{"tok-a", "tok-b", "tok-c"}
	customers, keys := []string{"cust-b", "cust-c"}, []string{"key-b", "key-c"}
	// read is the part of a snapshot that needs no transaction that may
	// write, read through tx.
	read := func(tx omnicart.Tx) (snapshot, error) {
		var sn snapshot
		m, err := tx.Merchant(ctx, "m1")
		if err != nil {
			return sn, err
		}
		sn.Offset = m.ClockOffset
		sn.Carts, sn.Tokens, sn.Timers, sn.Idempotency = map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
		for _, id := range carts {
			c, err := tx.Cart(ctx, "m1", id)
			if err != nil && !errors.Is(err, omnicart.ErrNotFound) {
				return sn, err
			}
			if err == nil {
				sn.Carts[id] = docOf(t, c)
			}
		}
		for _, tok := range tokens {
			c, err := tx.LockCartByToken(ctx, []byte(tok))
			if err != nil && !errors.Is(err, omnicart.ErrNotFound) {
				return sn, err
			}
			if err == nil {
				sn.Tokens[tok] = c.ID
			}
		}
		for _, cust := range customers {
			id, ok, err := tx.ActiveTimer(ctx, "m1", cust, "pegasus", t0.Add(time.Minute), "")
			if err != nil {
				return sn, err
			}
			if ok {
				sn.Timers[cust] = id
			}
		}
		ops, err := tx.UnfinishedOperations(ctx, t0.Add(time.Hour), 10)
		if err != nil {
			return sn, err
		}
		for _, op := range ops {
			sn.Unfinished = append(sn.Unfinished, op.OpID)
		}
		for _, k := range keys {
			rec, err := tx.IdempotencyRecord(ctx, "m1", k)
			if err != nil && !errors.Is(err, omnicart.ErrNotFound) {
				return sn, err
			}
			if err == nil {
				sn.Idempotency[k] = string(rec.RequestHash)
			}
		}
		ns, err := tx.Notifications(ctx, omnicart.NotificationQuery{MerchantID: "m1"})
		if err != nil {
			return sn, err
		}
		sn.Notifications = notificationIDs(ns)
		sn.Ledger, err = stateOf(tx.Ledger(), "fund-b", "fund-c")
		return sn, err
	}
	// change commits a cart, its token and timer, an operation, an
	// idempotency record, a notification, a ledger post, a clock advance
	// and a change to cart-a, all named after name.
	change := func(tx omnicart.Tx, name string) error {
		c := newCart(t, m, "cart-"+name, "cust-"+name, true, t0)
		if err := tx.CreateCart(ctx, c, []byte("tok-"+name), due(c, m)); err != nil {
			return err
		}
		if err := tx.CreateOperations(ctx, []omnicart.Operation{{OpID: "op-" + name, Kind: omnicart.OpCapture, MerchantID: "m1",
			CartID: c.ID, ItemIDs: []string{"naga"}, Currency: "EUR", Amount: 1100, AuthRef: "auth"}}, t0); err != nil {
			return err
		}
		if err := tx.PutIdempotencyRecord(ctx, "m1", "key-"+name, answer(name, t0), t0.Add(-omnicart.IdempotencyTTL)); err != nil {
			return err
		}
		if err := tx.EnqueueNotification(ctx, message("m1", c.ID, omnicart.ChannelEmail, t0)); err != nil {
			return err
		}
		if _, err := tx.Ledger().Post(ctx, transfer("fund-"+name, sandbox.FundingAccount("EUR"), "card:"+name, 100)); err != nil {
			return err
		}
		if err := tx.AdvanceClock(ctx, "m1", time.Minute); err != nil {
			return err
		}
		got, err := tx.LockCart(ctx, "m1", "cart-a")
		if err != nil {
			return err
		}
		got.Items[1].Tag = name
		return tx.SaveCart(ctx, got, due(got, m))
	}
	readIn := func(run func(context.Context, func(omnicart.Tx) error) error) snapshot {
		t.Helper()
		var sn snapshot
		if err := run(ctx, func(tx omnicart.Tx) error {
			var err error
			sn, err = read(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return sn
	}
	initial := readIn(s.View)
	if got := readIn(s.Read); !reflect.DeepEqual(got, initial) {
		t.Fatalf("Read and View differ:\n%+v\n%+v", got, initial)
	}

	// Before the commit, nobody else sees the transaction's writes; the
	// transaction does.
	var inTx snapshot
	tx(t, s, func(tx omnicart.Tx) error {
		if err := change(tx, "b"); err != nil {
			return err
		}
		var err error
		if inTx, err = read(tx); err != nil {
			return err
		}
		for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"View": s.View, "Read": s.Read} {
			if err := run(ctx, func(tx omnicart.Tx) error {
				got, err := read(tx)
				if err == nil && !reflect.DeepEqual(got, initial) {
					t.Errorf("%s during a transaction sees its writes:\n%+v\nwant\n%+v", name, got, initial)
				}
				return err
			}); err != nil {
				t.Errorf("%s: %v", name, err) // not Fatal: called in a Tx callback
			}
		}
		return nil
	})
	if reflect.DeepEqual(inTx, initial) || inTx.Tokens["tok-b"] != "cart-b" || inTx.Offset != time.Minute {
		t.Fatalf("a transaction does not read its own writes: %+v", inTx)
	}
	afterB := readIn(s.View)
	if !reflect.DeepEqual(afterB, inTx) {
		t.Fatalf("View after the commit:\n%+v\nwant what the transaction read:\n%+v", afterB, inTx)
	}
	if got := readIn(s.Read); !reflect.DeepEqual(got, afterB) {
		t.Fatalf("Read after the commit:\n%+v\nwant\n%+v", got, afterB)
	}

	// A View's reads are one snapshot: a change committed between two of
	// them is seen by neither.
	var first, second snapshot
	view(t, s, func(vtx omnicart.Tx) error {
		var err error
		if first, err = read(vtx); err != nil {
			return err
		}
		if err := s.Tx(ctx, func(tx omnicart.Tx) error { return change(tx, "c") }); err != nil {
			return err
		}
		if got := readIn(s.Read); got.Tokens["tok-c"] != "cart-c" {
			t.Errorf("Read after a commit does not see it: %+v", got)
		}
		second, err = read(vtx)
		return err
	})
	if !reflect.DeepEqual(first, afterB) {
		t.Errorf("View's first reads:\n%+v\nwant\n%+v", first, afterB)
	}
	if !reflect.DeepEqual(second, first) {
		t.Errorf("a View saw a change committed during it:\n%+v\nwant\n%+v", second, first)
	}
	afterC := readIn(s.View)
	if afterC.Tokens["tok-c"] != "cart-c" || afterC.Offset != 2*time.Minute || afterC.Idempotency["key-c"] != "c" {
		t.Errorf("View after the commit: %+v", afterC)
	}
	if got := readIn(s.Read); !reflect.DeepEqual(got, afterC) {
		t.Errorf("Read after the commit:\n%+v\nwant\n%+v", got, afterC)
	}
}

// testConcurrent runs writers on one cart in parallel: every increment of a
// field done under LockCart survives (no lost update, no "locked" error).
func testConcurrent(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-concurrent", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok"), time.Time{}) })
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			errs <- s.Tx(ctx, func(tx omnicart.Tx) error {
				var got *omnicart.Cart
				var err error
				if i%2 == 0 {
					got, err = tx.LockCart(ctx, "m1", "cart-concurrent")
				} else {
					got, err = tx.LockCartByToken(ctx, []byte("tok"))
				}
				if err != nil {
					return err
				}
				got.Items[0].Payment.Amount++
				return tx.SaveCart(ctx, got, time.Time{})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
	}
	if got := loadCart(t, s, "m1", "cart-concurrent"); got.Items[0].Payment.Amount != 250+writers {
		t.Errorf("amount after %d increments = %d", writers, got.Items[0].Payment.Amount)
	}
}

// testConcurrentChanges runs many transactions at once, each writing a cart,
// an operation, an idempotency record, a notification, a ledger post and
// an increment of a shared cart; one in three fails at the end. Each
// commits or rolls back whole, whatever ran beside it.
func testConcurrentChanges(t *testing.T, e Engine) {
	s := e.Store
	ctx := context.Background()
	m := merchant(t, s, "m1")
	shared := newCart(t, m, "cart-shared", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, shared, []byte("tok-shared"), time.Time{}) })
	const writers = 30
	fund := sandbox.FundingAccount("EUR")
	fails := func(i int) bool { return i%3 == 0 }
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("%02d", i)
			errs[i] = s.Tx(ctx, func(tx omnicart.Tx) error {
				c := newCart(t, m, "cart-"+name, "cust-"+name, true, t0.Add(time.Duration(i)*time.Millisecond))
				if err := tx.CreateCart(ctx, c, []byte("tok-"+name), due(c, m)); err != nil {
					return err
				}
				if err := tx.CreateOperations(ctx, []omnicart.Operation{{OpID: "op-" + name, Kind: omnicart.OpCapture, MerchantID: "m1",
					CartID: c.ID, ItemIDs: []string{"naga"}, Currency: "EUR", Amount: 1100, AuthRef: "auth"}}, t0); err != nil {
					return err
				}
				if err := tx.PutIdempotencyRecord(ctx, "m1", "key-"+name, answer(name, t0), t0.Add(-omnicart.IdempotencyTTL)); err != nil {
					return err
				}
				if err := tx.EnqueueNotification(ctx, message("m1", c.ID, omnicart.ChannelEmail, t0)); err != nil {
					return err
				}
				if _, err := tx.Ledger().Post(ctx, transfer("fund-"+name, fund, "card:"+name, int64(i+1))); err != nil {
					return err
				}
				// A refused post does not fail the transaction.
				if _, err := tx.Ledger().Post(ctx, transfer("over-"+name, "card:"+name, "card:x", int64(i+2))); !errors.Is(err, omnicart.ErrInsufficientFunds) {
					return fmt.Errorf("overdraw: %v, want ErrInsufficientFunds", err)
				}
				got, err := tx.LockCart(ctx, "m1", "cart-shared")
				if err != nil {
					return err
				}
				got.Items[0].Payment.Amount++
				if err := tx.SaveCart(ctx, got, time.Time{}); err != nil {
					return err
				}
				if fails(i) {
					return errRollback
				}
				return nil
			})
		})
	}
	wg.Wait()
	var committed, funded int64
	for i, err := range errs {
		switch {
		case fails(i) && !errors.Is(err, errRollback):
			t.Errorf("writer %d: %v, want its own error", i, err)
		case !fails(i) && err != nil:
			t.Errorf("writer %d: %v", i, err)
		case !fails(i):
			committed++
			funded += int64(i + 1)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	view(t, s, func(tx omnicart.Tx) error {
		for i := range writers {
			name := fmt.Sprintf("%02d", i)
			want := !fails(i)
			ok, err := tx.CartExists(ctx, "m1", "cart-"+name)
			if err != nil {
				return err
			}
			_, tokErr := tx.LockCartByToken(ctx, []byte("tok-"+name))
			_, timer, err := tx.ActiveTimer(ctx, "m1", "cust-"+name, "pegasus", t0.Add(time.Minute), "")
			if err != nil {
				return err
			}
			_, recErr := tx.IdempotencyRecord(ctx, "m1", "key-"+name)
			ns, err := tx.Notifications(ctx, omnicart.NotificationQuery{MerchantID: "m1", CartID: "cart-" + name})
			if err != nil {
				return err
			}
			_, jErr := tx.Ledger().Journal(ctx, "fund-"+name)
			_, overErr := tx.Ledger().Journal(ctx, "over-"+name)
			got := fmt.Sprint(ok, tokErr == nil, timer, recErr == nil, len(ns) == 1, jErr == nil, overErr == nil)
			if wantS := fmt.Sprint(want, want, want, want, want, want, false); got != wantS {
				t.Errorf("writer %d (commits: %v): cart, token, timer, record, notification, journal, refused journal = %s", i, want, got)
			}
		}
		ops, err := tx.UnfinishedOperations(ctx, t0.Add(time.Hour), 100)
		if err != nil {
			return err
		}
		if int64(len(ops)) != committed {
			t.Errorf("%d operations, want %d", len(ops), committed)
		}
		if b, err := tx.Ledger().Balance(ctx, fund, "EUR"); err != nil || b != -funded {
			t.Errorf("funding balance = %d, %v; want %d", b, err, -funded)
		}
		bs, err := tx.Ledger().Balances(ctx)
		if err != nil {
			return err
		}
		if err := sandbox.CheckBalances(bs); err != nil {
			t.Error(err)
		}
		c, err := tx.Cart(ctx, "m1", "cart-shared")
		if err != nil {
			return err
		}
		if c.Items[0].Payment.Amount != 250+committed {
			t.Errorf("shared cart amount = %d, want %d", c.Items[0].Payment.Amount, 250+committed)
		}
		return nil
	})
}
