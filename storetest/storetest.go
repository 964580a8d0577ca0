package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// Run runs the suite. open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) omnicart.Store) {
	t.Run("Merchants", func(t *testing.T) { t.Parallel(); testMerchants(t, open(t)) })
	t.Run("APIKeys", func(t *testing.T) { t.Parallel(); testAPIKeys(t, open(t)) })
	t.Run("Catalog", func(t *testing.T) { t.Parallel(); testCatalog(t, open(t)) })
	t.Run("Carts", func(t *testing.T) { t.Parallel(); testCarts(t, open(t)) })
	t.Run("ActiveTimers", func(t *testing.T) { t.Parallel(); testActiveTimers(t, open(t)) })
	t.Run("Deadlines", func(t *testing.T) { t.Parallel(); testDeadlines(t, open(t)) })
	t.Run("Operations", func(t *testing.T) { t.Parallel(); testOperations(t, open(t)) })
	t.Run("Rollback", func(t *testing.T) { t.Parallel(); testRollback(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { t.Parallel(); testConcurrent(t, open(t)) })
	t.Run("IdempotencyKeys", func(t *testing.T) { t.Parallel(); testIdempotency(t, open(t)) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func tx(t *testing.T, s omnicart.Store, fn func(omnicart.Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func merchant(t *testing.T, s omnicart.Store, id string) *omnicart.Merchant {
	t.Helper()
	m := &omnicart.Merchant{ID: id, Name: "Shop " + id, Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: t0}
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateMerchant(context.Background(), m) })
	return m
}

func testMerchants(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.CreateMerchant(ctx, m) })
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("duplicate merchant: %v, want ErrConflict", err)
	}
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.Merchant(ctx, "m1")
		if err != nil || got.Name != "Shop m1" || got.Privileges != m.Privileges || !got.CreatedAt.Equal(t0) {
			t.Errorf("Merchant = %+v, %v", got, err)
		}
		if _, err := tx.Merchant(ctx, "nope"); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("unknown merchant: %v, want ErrNotFound", err)
		}
		all, err := tx.Merchants(ctx)
		if err != nil || len(all) != 1 {
			t.Errorf("Merchants = %d, %v", len(all), err)
		}
		return nil
	})
}

func testAPIKeys(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	merchant(t, s, "m1")
	k1 := &omnicart.APIKey{Prefix: "ock_test_AAAAAAA", MerchantID: "m1", Hash: []byte("hash-1"), CreatedAt: t0}
	k2 := &omnicart.APIKey{Prefix: "ock_test_AAAABBB", MerchantID: "m1", Hash: []byte("hash-2"), Methods: []string{"status"}, CreatedAt: t0}
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.CreateAPIKey(ctx, k1); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k2)
	})
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.APIKeyByHash(ctx, []byte("hash-2"))
		if err != nil || got.MerchantID != "m1" || len(got.Methods) != 1 || got.Methods[0] != "status" {
			t.Errorf("APIKeyByHash = %+v, %v", got, err)
		}
		return nil
	})
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "m1", "ock_test_AAAA", t0) })
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("ambiguous prefix: %v, want ErrConflict", err)
	}
	err = s.Tx(ctx, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "other", "ock_test_AAAAB", t0) })
	if !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("other merchant's key: %v, want ErrNotFound", err)
	}
	tx(t, s, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "m1", "ock_test_AAAAB", t0) })
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.APIKeyByHash(ctx, []byte("hash-2")); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("revoked key found: %v", err)
		}
		if _, err := tx.APIKeyByHash(ctx, []byte("hash-1")); err != nil {
			t.Errorf("other key lost: %v", err)
		}
		keys, err := tx.APIKeys(ctx, "m1")
		if err != nil || len(keys) != 2 || (keys[0].RevokedAt == nil) == (keys[1].RevokedAt == nil) {
			t.Errorf("APIKeys = %+v, %v", keys, err)
		}
		return nil
	})
}

func testCatalog(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	merchant(t, s, "m1")
	merchant(t, s, "m2")
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}, {ItemID: "naga", DisplayName: "naga"}}); err != nil {
			return err
		}
		return tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "naga", DisplayName: "Naga Queen"}})
	})
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.CatalogItems(ctx, "m1", []string{"naga", "lich", "pegasus"})
		names := map[string]string{}
		for _, it := range got {
			names[it.ItemID] = it.DisplayName
		}
		if err != nil || len(got) != 2 || names["naga"] != "Naga Queen" || names["pegasus"] != "Pegasus" {
			t.Errorf("CatalogItems = %+v, %v", got, err)
		}
		if got, _ := tx.CatalogItems(ctx, "m2", []string{"naga"}); len(got) != 0 {
			t.Errorf("catalog leaked to another merchant: %+v", got)
		}
		return nil
	})
}

func newCart(t *testing.T, m *omnicart.Merchant, id, customer string, timer bool, now time.Time) *omnicart.Cart {
	t.Helper()
	spec := &omnicart.InitSpec{CartID: id, CustomerID: customer, Currency: "EUR",
		Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250}, {ID: "naga", Amount: 1100, Tag: "tower"}}}
	if timer {
		on, trig, val := true, "initiated", int64(600)
		spec.Items[0].Level = omnicart.Level{EnableTimer: &on, Trigger: &trig, TimerValue: &val}
	}
	var sp omnicart.StagedProblems
	c := omnicart.NewCart(spec, m, now, &sp)
	if c == nil {
		t.Fatalf("NewCart: %+v", sp)
	}
	return c
}

func due(c *omnicart.Cart, m *omnicart.Merchant) time.Time {
	d, _ := c.NextDeadline(m.AutoActionLead())
	return d
}

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
				t.Fatal(err)
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
	// Saving a cart after the advance stores its deadline against the new
	// offset.
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-due-b")
		if err != nil {
			return err
		}
		return tx.SaveCart(ctx, got, t0.Add(2*time.Hour))
	})
	if got := dueAt(t0.Add(time.Hour), "m1"); fmt.Sprint(got) != "[m1/cart-due-a m1/cart-due-b]" {
		t.Fatalf("re-saved deadline: %v", got)
	}
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "nope", time.Hour) })
	if !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("advancing an unknown merchant: %v", err)
	}
}

func testOperations(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-ops-1", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok"), time.Time{}) })
	ops := []omnicart.Operation{
		{OpID: "op-1", Kind: omnicart.OpCapture, MerchantID: "m1", CartID: "cart-ops-1", ItemIDs: []string{"pegasus"}, Currency: "EUR", Amount: 250, AuthRef: "auth"},
		{OpID: "op-2", Kind: omnicart.OpRelease, MerchantID: "m1", CartID: "cart-ops-1", ItemIDs: []string{"naga"}, Currency: "EUR", Amount: 1100, AuthRef: "auth"},
	}
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateOperations(ctx, ops, t0) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-1", "succeeded", t0) })
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.UnfinishedOperations(ctx, t0.Add(time.Second), 10)
		if err != nil || len(got) != 1 || got[0].OpID != "op-2" || got[0].Amount != 1100 || got[0].ItemIDs[0] != "naga" {
			t.Errorf("UnfinishedOperations = %+v, %v", got, err)
		}
		if got, _ := tx.UnfinishedOperations(ctx, t0, 10); len(got) != 0 {
			t.Errorf("operations newer than the cut-off listed: %+v", got)
		}
		return nil
	})
}

func testRollback(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		c := newCart(t, m, "cart-rollback", "", false, t0)
		if err := tx.CreateCart(ctx, c, []byte("tok"), time.Time{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx error = %v", err)
	}
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		if ok, _ := tx.CartExists(ctx, "m1", "cart-rollback"); ok {
			t.Errorf("a rolled-back cart exists")
		}
		return nil
	})
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
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Tx(ctx, func(tx omnicart.Tx) error {
				got, err := tx.LockCart(ctx, "m1", "cart-concurrent")
				if err != nil {
					return err
				}
				got.Items[0].Payment.Amount++
				return tx.SaveCart(ctx, got, time.Time{})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
	}
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.Cart(ctx, "m1", "cart-concurrent")
		if err != nil || got.Items[0].Payment.Amount != 250+writers {
			t.Errorf("amount after %d increments = %d, %v", writers, got.Items[0].Payment.Amount, err)
		}
		return nil
	})
}

func testIdempotency(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	put := func(key, hash string, at time.Time) error {
		t.Helper()
		return s.Tx(ctx, func(tx omnicart.Tx) error {
			return tx.PutIdempotencyRecord(ctx, "m1", key, omnicart.IdempotentRecord{
				RequestHash: []byte(hash), Method: "POST", Path: "/capture", Status: 200, Code: "000000",
				Body: []byte("body-" + hash), CreatedAt: at,
			}, at.Add(-omnicart.IdempotencyTTL))
		})
	}
	get := func(key string) (omnicart.IdempotentRecord, error) {
		var rec omnicart.IdempotentRecord
		err := s.View(ctx, func(tx omnicart.Tx) error {
			var err error
			rec, err = tx.IdempotencyRecord(ctx, "m1", key)
			return err
		})
		return rec, err
	}
	if _, err := get("k1"); !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("record of an unused key: %v", err)
	}
	if err := put("k1", "h1", t0); err != nil {
		t.Fatalf("first record: %v", err)
	}
	if err := put("k1", "h2", t0.Add(time.Hour)); !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("second record under a live key: %v, want ErrConflict", err)
	}
	rec, err := get("k1")
	if err != nil || string(rec.RequestHash) != "h1" || rec.Status != 200 || rec.Code != "000000" ||
		string(rec.Body) != "body-h1" || rec.Method != "POST" || rec.Path != "/capture" || !rec.CreatedAt.Equal(t0) {
		t.Fatalf("stored record: %+v, %v", rec, err)
	}
	if err := put("k1", "h3", t0.Add(omnicart.IdempotencyTTL+time.Second)); err != nil {
		t.Fatalf("a record older than the TTL must be replaceable: %v", err)
	}
	if rec, _ := get("k1"); string(rec.RequestHash) != "h3" {
		t.Fatalf("replaced record: %+v", rec)
	}
	// Racing writers: exactly one wins a key.
	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() { errs <- put("race", fmt.Sprintf("h%d", i), t0) }()
	}
	won := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, omnicart.ErrConflict):
			t.Errorf("racing record: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racing writers stored a record under one key, want 1", won)
	}
	// Pruning removes what expired, and only that.
	if err := put("old", "h1", t0.Add(-2*omnicart.IdempotencyTTL)); err != nil {
		t.Fatal(err)
	}
	var n int
	tx(t, s, func(tx omnicart.Tx) error {
		var err error
		n, err = tx.PruneIdempotencyRecords(ctx, t0.Add(-omnicart.IdempotencyTTL), 100)
		return err
	})
	if _, err := get("old"); n != 1 || !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("prune: %d deleted, old record: %v", n, err)
	}
	if _, err := get("race"); err != nil {
		t.Errorf("prune deleted a live record: %v", err)
	}
}
