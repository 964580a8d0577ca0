package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

func testCarts(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	c := newCart(t, m1, "cart-00001", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-1"), due(c, m1)) })
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		return tx.CreateCart(ctx, newCart(t, m1, "cart-00001", "", false, t0), []byte("tok-2"), time.Time{})
	})
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("duplicate cartId: %v, want ErrConflict", err)
	}
	// The refused cart left nothing, the first one is intact.
	view(t, s, func(tx omnicart.Tx) error {
		if _, err := tx.LockCartByToken(ctx, []byte("tok-2")); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("token of the refused cart: %v, want ErrNotFound", err)
		}
		got, err := tx.LockCartByToken(ctx, []byte("tok-1"))
		if err != nil || docOf(t, got) != docOf(t, c) {
			t.Errorf("first cart after a duplicate: %+v, %v", got, err)
		}
		return nil
	})
	// Within one transaction too.
	err = s.Tx(ctx, func(tx omnicart.Tx) error {
		c := newCart(t, m1, "cart-00002", "", false, t0)
		if err := tx.CreateCart(ctx, c, []byte("tok-4"), time.Time{}); err != nil {
			return err
		}
		return tx.CreateCart(ctx, newCart(t, m1, "cart-00002", "", false, t0), []byte("tok-5"), time.Time{})
	})
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("duplicate cartId in one transaction: %v, want ErrConflict", err)
	}
	// Another merchant may use the same cartId.
	c2 := newCart(t, m2, "cart-00001", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c2, []byte("tok-3"), time.Time{}) })

	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-00001")
		if err != nil {
			return err
		}
		if got.Items[0].ID != "pegasus" || got.Items[1].ID != "naga" || got.Items[1].Tag != "tower" || got.Items[0].Initiated != 250 {
			t.Errorf("loaded cart: %+v", got.Items)
		}
		ops, _, err := got.BeginAction(omnicart.ActionCancel, got.All(), func() string { return "op-x" })
		if err == nil || len(ops) != 0 {
			t.Errorf("cancel of initiated items: %v %v", ops, err)
		}
		got.Items[1].Tag = "rampart"
		return tx.SaveCart(ctx, got, due(got, m1))
	})
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.Cart(ctx, "m1", "cart-00001")
		if err != nil || got.Items[1].Tag != "rampart" {
			t.Errorf("saved change lost: %+v %v", got, err)
		}
		other, err := tx.Cart(ctx, "m2", "cart-00001")
		if err != nil || other.Items[1].Tag != "tower" {
			t.Errorf("other merchant's cart changed: %+v %v", other, err)
		}
		byTok, err := tx.LockCartByToken(ctx, []byte("tok-3"))
		if err != nil || byTok.MerchantID != "m2" {
			t.Errorf("LockCartByToken = %+v, %v", byTok, err)
		}
		if _, err := tx.Cart(ctx, "m1", "missing-cart"); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("missing cart: %v", err)
		}
		if _, err := tx.LockCartByToken(ctx, []byte("nope")); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}
		if ok, err := tx.CartExists(ctx, "m1", "cart-00001"); !ok || err != nil {
			t.Errorf("CartExists = %v, %v", ok, err)
		}
		if ok, err := tx.CartExists(ctx, "m3", "cart-00001"); ok || err != nil {
			t.Errorf("CartExists for another merchant = %v, %v", ok, err)
		}
		return nil
	})
}

// testCartDocuments checks that a cart is stored whole and its events are
// taken: every way of loading it gives back the document saved, and its
// event sequence goes on from the saved one.
func testCartDocuments(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-doc", "cust-1", true, t0)
	c.PaymentForm = omnicart.PaymentForm{DeliveryOption: omnicart.ChannelEmail, Value: "ada@example.com"}
	c.Declines = []omnicart.Decline{{At: t0.Add(time.Second), Reason: "Card blocked"}}
	c.Card = &omnicart.CardInfo{Brand: "visa", Last4: "1111", Fingerprint: "fp"}
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-doc"), due(c, m)) })
	checkLoads := func(want string) {
		t.Helper()
		for _, way := range []struct {
			name string
			run  func(context.Context, func(omnicart.Tx) error) error
		}{{"Tx", s.Tx}, {"View", s.View}, {"Read", s.Read}} {
			err := way.run(ctx, func(tx omnicart.Tx) error {
				for _, load := range []struct {
					name string
					load func() (*omnicart.Cart, error)
				}{
					{"Cart", func() (*omnicart.Cart, error) { return tx.Cart(ctx, "m1", "cart-doc") }},
					{"LockCart", func() (*omnicart.Cart, error) { return tx.LockCart(ctx, "m1", "cart-doc") }},
					{"LockCartByToken", func() (*omnicart.Cart, error) { return tx.LockCartByToken(ctx, []byte("tok-doc")) }},
				} {
					got, err := load.load()
					if err != nil {
						t.Errorf("%s in %s: %v", load.name, way.name, err)
						continue
					}
					if doc := docOf(t, got); doc != want {
						t.Errorf("%s in %s loaded\n%s\nwant\n%s", load.name, way.name, doc, want)
					}
					if ev := got.TakeEvents(); len(ev) != 0 {
						t.Errorf("%s in %s loaded a cart with %d events to save", load.name, way.name, len(ev))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", way.name, err)
			}
		}
	}
	checkLoads(docOf(t, c))

	// Each change's events are taken by the save, and the sequence goes on
	// from the stored cart's.
	lead := m.AutoActionLead()
	var seqs []int64
	for _, at := range []time.Time{t0.Add(600 * time.Second), t0.Add(7200 * time.Second)} {
		var saved *omnicart.Cart
		tx(t, s, func(tx omnicart.Tx) error {
			got, err := tx.LockCart(ctx, "m1", "cart-doc")
			if err != nil {
				return err
			}
			before := got.Sequence
			got.Tick(at, lead, func() string { return "op-tick" })
			if got.Sequence == before {
				return fmt.Errorf("Tick at %s produced no event", at)
			}
			if err := tx.SaveCart(ctx, got, due(got, m)); err != nil {
				return err
			}
			if ev := got.TakeEvents(); len(ev) != 0 {
				t.Errorf("SaveCart left %d events untaken", len(ev))
			}
			saved = got
			return nil
		})
		seqs = append(seqs, saved.Sequence)
		checkLoads(docOf(t, saved))
	}
	if seqs[0] < 1 || seqs[1] <= seqs[0] {
		t.Errorf("event sequences after two changes: %v", seqs)
	}

	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		return tx.SaveCart(ctx, newCart(t, m, "cart-never-created", "", false, t0), time.Time{})
	})
	if !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("SaveCart of a cart never created: %v, want ErrNotFound", err)
	}
	view(t, s, func(tx omnicart.Tx) error {
		if ok, err := tx.CartExists(ctx, "m1", "cart-never-created"); ok || err != nil {
			t.Errorf("a failed SaveCart created the cart: %v, %v", ok, err)
		}
		return nil
	})
}

func testActiveTimers(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-timer1", "cust-1", true, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-1"), due(c, m)) })
	check := func(at time.Time, item string, want bool) {
		t.Helper()
		_ = s.View(ctx, func(tx omnicart.Tx) error {
			id, ok, err := tx.ActiveTimer(ctx, "m1", "cust-1", item, at, "")
			if err != nil || ok != want || (ok && id != "cart-timer1") {
				t.Errorf("ActiveTimer(%s at %s) = %q, %v, %v; want %v", item, at, id, ok, err, want)
			}
			return nil
		})
	}
	check(t0.Add(time.Minute), "pegasus", true)
	check(t0.Add(time.Minute), "naga", false) // no timer on naga
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		if _, ok, _ := tx.ActiveTimer(ctx, "m1", "cust-1", "pegasus", t0.Add(time.Minute), "cart-timer1"); ok {
			t.Errorf("ActiveTimer found the excepted cart")
		}
		return nil
	})
	check(t0.Add(600*time.Second), "pegasus", false)
	// A stopped timer releases the lock.
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-timer1")
		if err != nil {
			return err
		}
		stop := "stop"
		if _, err := got.Modify(&omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: "pegasus", Timer: &omnicart.TimerChangeSpec{Action: &stop}}}}, m, t0.Add(time.Minute), func() string { return "x" }); err != nil {
			return err
		}
		return tx.SaveCart(ctx, got, due(got, m))
	})
	check(t0.Add(2*time.Minute), "pegasus", false)
}

// testTimerIndex checks that the active-timer index follows what the cart
// document says, however the cart changed: timers removed (in the
// transaction that created the cart, or later), a new customer, a timer
// added to a cart that had none.
func testTimerIndex(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	at := t0.Add(time.Minute)
	active := func(customer, item string) []string {
		t.Helper()
		var ids []string
		view(t, s, func(tx omnicart.Tx) error {
			except := ""
			for {
				id, ok, err := tx.ActiveTimer(ctx, "m1", customer, item, at, except)
				if err != nil || !ok {
					return err
				}
				ids = append(ids, id)
				if len(ids) > 1 || except != "" {
					return nil
				}
				except = id
			}
		})
		return ids
	}
	removeTimers := func(c *omnicart.Cart) {
		for i := range c.Items {
			c.Items[i].Timer = nil
		}
	}

	// Created and saved without its timer in one transaction.
	tx(t, s, func(tx omnicart.Tx) error {
		c := newCart(t, m, "cart-a", "cust-a", true, t0)
		if err := tx.CreateCart(ctx, c, []byte("tok-a"), due(c, m)); err != nil {
			return err
		}
		removeTimers(c)
		return tx.SaveCart(ctx, c, due(c, m))
	})
	if got := active("cust-a", "pegasus"); len(got) != 0 {
		t.Errorf("timer removed in the creating transaction still active in %v", got)
	}

	// Loaded, stripped of its timer, saved, in one transaction after the
	// one that created it.
	c := newCart(t, m, "cart-b", "cust-b", true, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-b"), due(c, m)) })
	if got := active("cust-b", "pegasus"); fmt.Sprint(got) != "[cart-b]" {
		t.Fatalf("active timers of cust-b: %v", got)
	}
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-b")
		if err != nil {
			return err
		}
		removeTimers(got)
		return tx.SaveCart(ctx, got, due(got, m))
	})
	if got := active("cust-b", "pegasus"); len(got) != 0 {
		t.Errorf("removed timer still active in %v", got)
	}

	// A new customer takes the timers along.
	c = newCart(t, m, "cart-c", "cust-c", true, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-c"), due(c, m)) })
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-c")
		if err != nil {
			return err
		}
		got.CustomerID = "cust-d"
		return tx.SaveCart(ctx, got, due(got, m))
	})
	if got := active("cust-c", "pegasus"); len(got) != 0 {
		t.Errorf("timer still active for the former customer in %v", got)
	}
	if got := active("cust-d", "pegasus"); fmt.Sprint(got) != "[cart-c]" {
		t.Errorf("active timers of the new customer: %v", got)
	}

	// A timer given to a cart that had none, in two transactions and in
	// one.
	c = newCart(t, m, "cart-e", "cust-e", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-e"), due(c, m)) })
	withTimer := newCart(t, m, "cart-e", "cust-e", true, t0)
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-e")
		if err != nil {
			return err
		}
		got.Items[0].Timer = withTimer.Items[0].Timer
		return tx.SaveCart(ctx, got, due(got, m))
	})
	tx(t, s, func(tx omnicart.Tx) error {
		c := newCart(t, m, "cart-f", "cust-e", false, t0)
		if err := tx.CreateCart(ctx, c, []byte("tok-f"), due(c, m)); err != nil {
			return err
		}
		c.Items[0].Timer = newCart(t, m, "cart-f", "cust-e", true, t0).Items[0].Timer
		return tx.SaveCart(ctx, c, due(c, m))
	})
	got := active("cust-e", "pegasus")
	slices.Sort(got)
	if fmt.Sprint(got) != "[cart-e cart-f]" {
		t.Errorf("timers added later: active in %v, want cart-e and cart-f", got)
	}
}

func testDeadlines(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	// m1's carts fall due at +600 s (timer) and +7200 s (expiry); m2's at
	// +7200 s.
	a := newCart(t, m1, "cart-due-a", "c", true, t0)
	b := newCart(t, m1, "cart-due-b", "", false, t0.Add(time.Second))
	c := newCart(t, m2, "cart-due-c", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error {
		for i, x := range []*omnicart.Cart{a, b, c} {
			m := m1
			if x == c {
				m = m2
			}
			if err := tx.CreateCart(ctx, x, []byte(fmt.Sprintf("tok-%d", i)), due(x, m)); err != nil {
				return err
			}
		}
		return nil
	})
	dueAt := func(now time.Time, merchantID string) []string {
		var ids []string
		_ = s.Tx(ctx, func(tx omnicart.Tx) error {
			keys, err := tx.DueCarts(ctx, now, merchantID, 10)
			if err != nil {
				t.Error(err)
				return err
			}
			for _, k := range keys {
				ids = append(ids, k.MerchantID+"/"+k.CartID)
			}
			return nil
		})
		return ids
	}
	if got := dueAt(t0.Add(599*time.Second), ""); len(got) != 0 {
		t.Fatalf("due before time: %v", got)
	}
	if got := dueAt(t0.Add(600*time.Second), ""); fmt.Sprint(got) != "[m1/cart-due-a]" {
		t.Fatalf("due at +600 s: %v", got)
	}
	if got := dueAt(t0.Add(7201*time.Second), ""); fmt.Sprint(got) != "[m1/cart-due-a m2/cart-due-c m1/cart-due-b]" {
		t.Fatalf("due at +7201 s, earliest first: %v", got)
	}
	if got := dueAt(t0.Add(7201*time.Second), "m2"); fmt.Sprint(got) != "[m2/cart-due-c]" {
		t.Fatalf("due for m2 only: %v", got)
	}
	// Advancing m1's clock by an hour brings its deadlines an hour closer
	// in real time, and not m2's.
	tx(t, s, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "m1", time.Hour) })
	if got := dueAt(t0.Add(7201*time.Second-time.Hour), ""); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b]" {
		t.Fatalf("after advancing m1: %v", got)
	}
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		m, err := tx.Merchant(ctx, "m1")
		if err != nil || m.ClockOffset != time.Hour {
			t.Errorf("clock offset = %v, %v", m.ClockOffset, err)
		}
		return nil
	})
	// Deadlines are stored in real time, as given: the caller takes the
	// merchant's offset off (a merchant-time deadline of t0+2h is t0+1h
	// in real time after the advance).
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-due-b")
		if err != nil {
			return err
		}
		return tx.SaveCart(ctx, got, t0.Add(2*time.Hour-time.Hour))
	})
	if got := dueAt(t0.Add(time.Hour), "m1"); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b]" {
		t.Fatalf("re-saved deadline: %v", got)
	}
	// A cart created after the advance has its deadline stored against
	// the new offset too.
	d := newCart(t, m1, "cart-due-d", "", false, t0.Add(time.Hour+time.Second))
	m1Later := *m1
	m1Later.ClockOffset = time.Hour
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, d, []byte("tok-d"), due(d, &m1Later)) })
	if got := dueAt(t0.Add(7201*time.Second-time.Millisecond), "m1"); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b]" {
		t.Fatalf("a cart created after the advance, before its deadline: %v", got)
	}
	if got := dueAt(t0.Add(7201*time.Second), "m1"); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b m1/cart-due-d]" {
		t.Fatalf("a cart created after the advance, at its deadline: %v", got)
	}
	// limit takes the earliest.
	if got := dueAt(t0.Add(7202*time.Second), ""); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b m2/cart-due-c m1/cart-due-d]" {
		t.Fatalf("everything due: %v", got)
	}
	tx(t, s, func(tx omnicart.Tx) error {
		keys, err := tx.DueCarts(ctx, t0.Add(7202*time.Second), "", 2)
		if err != nil {
			return err
		}
		if fmt.Sprint(keys) != "[{m1 cart-due-a} {m1 cart-due-b}]" {
			t.Errorf("DueCarts with limit 2 = %v", keys)
		}
		return nil
	})
	// Saving without a deadline takes the cart off the list; a cart
	// created without one is never listed.
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-due-a")
		if err != nil {
			return err
		}
		if err := tx.SaveCart(ctx, got, time.Time{}); err != nil {
			return err
		}
		e := newCart(t, m2, "cart-due-e", "", false, t0)
		return tx.CreateCart(ctx, e, []byte("tok-e"), time.Time{})
	})
	if got := dueAt(t0.Add(1000*time.Hour), ""); fmt.Sprint(got) != "[m1/cart-due-b m2/cart-due-c m1/cart-due-d]" {
		t.Fatalf("after removing a deadline: %v", got)
	}
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "nope", time.Hour) })
	if !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("advancing an unknown merchant: %v", err)
	}
}

// testDueClaimsRace has workers fire due deadlines concurrently, each as
// the scheduler does: in one transaction, DueCarts, then LockCart, Tick
// and SaveCart with the next deadline for every cart listed. Every cart
// must be processed exactly once per due moment, whichever worker gets it:
// a cart listed is due when locked. Advancing a merchant's clock brings
// its deadlines, and only its, forward.
func testDueClaimsRace(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	const perMerchant = 12
	merchants := map[string]*omnicart.Merchant{"m1": merchant(t, s, "m1"), "m2": merchant(t, s, "m2")}
	// Carts with a timer fall due at +600 s (timer) and +7200 s (expiry),
	// the others at +7200 s; creation times are a millisecond apart.
	tx(t, s, func(tx omnicart.Tx) error {
		for _, m := range merchants {
			for i := range perMerchant {
				c := newCart(t, m, fmt.Sprintf("cart-%02d", i), fmt.Sprint("cust-", i), i%2 == 0, t0.Add(time.Duration(i)*time.Millisecond))
				if err := tx.CreateCart(ctx, c, []byte(m.ID+c.ID), due(c, m)); err != nil {
					return err
				}
			}
		}
		return nil
	})

	// race runs workers until none finds anything due at real time now;
	// each processing is recorded in the cart as a Decline at the moment
	// fired, with the worker's name.
	race := func(now time.Time, merchantID string) {
		t.Helper()
		const workers = 6
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for round := 0; ; round++ {
					if round > 4*perMerchant*len(merchants) {
						errs <- fmt.Errorf("worker %d: still finding due carts after %d rounds", w, round)
						return
					}
					n := 0
					err := s.Tx(ctx, func(tx omnicart.Tx) error {
						n = 0
						keys, err := tx.DueCarts(ctx, now, merchantID, 3)
						if err != nil {
							return err
						}
						for _, k := range keys {
							if merchantID != "" && k.MerchantID != merchantID {
								return fmt.Errorf("DueCarts for %s listed %v", merchantID, k)
							}
							m, err := tx.Merchant(ctx, k.MerchantID)
							if err != nil {
								return err
							}
							c, err := tx.LockCart(ctx, k.MerchantID, k.CartID)
							if err != nil {
								return fmt.Errorf("lock %v: %w", k, err)
							}
							lead := m.AutoActionLead()
							d, ok := c.NextDeadline(lead)
							if !ok || d.After(m.Now(now)) {
								return fmt.Errorf("DueCarts listed %v, which is due at %v (now %v in merchant time)", k, d, m.Now(now))
							}
							c.Tick(d, lead, func() string { return "op" })
							c.Declines = append(c.Declines, omnicart.Decline{At: d, Reason: fmt.Sprint("worker ", w)})
							if err := tx.SaveCart(ctx, c, due(c, m)); err != nil {
								return err
							}
							n++
						}
						return nil
					})
					if err != nil {
						errs <- fmt.Errorf("worker %d: %w", w, err)
						return
					}
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	// fired checks the moments each cart fired at, as offsets from its
	// creation (merchant time).
	fired := func(merchantID string, timerCart, other []time.Duration) {
		t.Helper()
		view(t, s, func(tx omnicart.Tx) error {
			for i := range perMerchant {
				c, err := tx.Cart(ctx, merchantID, fmt.Sprintf("cart-%02d", i))
				if err != nil {
					return err
				}
				want := other
				if i%2 == 0 {
					want = timerCart
				}
				var got []time.Duration
				for _, d := range c.Declines {
					got = append(got, d.At.Sub(c.CreatedAt))
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s/%s fired at %v, want %v (by %+v)", merchantID, c.ID, got, want, c.Declines)
				}
			}
			return nil
		})
	}
	timer, expiry := 600*time.Second, 7200*time.Second

	race(t0.Add(timer+time.Second), "")
	fired("m1", []time.Duration{timer}, nil)
	fired("m2", []time.Duration{timer}, nil)

	// m1's clock two hours ahead: its expiries are due at the same real
	// time, m2's are not. Fired for m1 only, as AdvanceClock does.
	tx(t, s, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "m1", 2*time.Hour) })
	race(t0.Add(timer+time.Second), "m1")
	fired("m1", []time.Duration{timer, expiry}, []time.Duration{expiry})
	fired("m2", []time.Duration{timer}, nil)
	race(t0.Add(timer+time.Second), "")
	fired("m2", []time.Duration{timer}, nil)

	race(t0.Add(expiry+time.Second), "")
	fired("m1", []time.Duration{timer, expiry}, []time.Duration{expiry})
	fired("m2", []time.Duration{timer, expiry}, []time.Duration{expiry})
	tx(t, s, func(tx omnicart.Tx) error {
		keys, err := tx.DueCarts(ctx, t0.Add(1000*time.Hour), "", 100)
		if err == nil && len(keys) != 0 {
			t.Errorf("carts left due after everything fired: %v", keys)
		}
		return err
	})
}
