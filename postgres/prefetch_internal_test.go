package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestCartPrefetchWithKey checks that a status request's cart read with
// its API key (omnicart.CartPrefetch) is the key's merchant's cart, is
// taken once by the read that follows, says "not found" for a cartId the
// merchant does not have (even when another merchant has it), and is not
// used by a View or a write transaction.
func TestCartPrefetchWithKey(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	s := NewStore(db)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var sp omnicart.StagedProblems
	mk := func(m *omnicart.Merchant, id string, amount int64) *omnicart.Cart {
		c := omnicart.NewCart(&omnicart.InitSpec{CartID: id, Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: amount}}}, m, at, &sp)
		if c == nil {
			t.Fatalf("NewCart: %+v", sp)
		}
		return c
	}
	merchant := func(id string) *omnicart.Merchant {
		return &omnicart.Merchant{ID: id, Name: "Shop " + id, Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
			Privileges: omnicart.DefaultPrivileges(), CreatedAt: at}
	}
	m1, m2 := merchant("m1"), merchant("m2")
	if err := s.Tx(ctx, func(tx omnicart.Tx) error {
		for _, m := range []*omnicart.Merchant{m1, m2} {
			if err := tx.CreateMerchant(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.CreateAPIKey(ctx, &omnicart.APIKey{Prefix: "ock_test_pre1", MerchantID: "m1", Hash: []byte("h1"), CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.CreateCart(ctx, mk(m1, "cart-of-m1-01", 250), []byte("t1"), time.Time{}); err != nil {
			return err
		}
		return tx.CreateCart(ctx, mk(m2, "cart-of-m2-01", 999), []byte("t2"), time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	// authThenRead authenticates with h1 asking for cartID, then reads
	// merchantID's cartID the way GET /status does, the read's round trips
	// counted in reads.
	var reads int64
	authThenRead := func(cartID, merchantID string) (*omnicart.Cart, error, *omnicart.CartPrefetch) {
		t.Helper()
		rctx := omnicart.WithCartPrefetch(ctx, cartID)
		var c *omnicart.Cart
		var rerr error
		if err := s.Read(rctx, func(tx omnicart.Tx) error {
			if _, err := tx.APIKeyByHash(rctx, []byte("h1")); err != nil {
				return err
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		before := db.trips.n.Load()
		_ = s.Read(rctx, func(tx omnicart.Tx) error {
			c, rerr = tx.Cart(rctx, merchantID, cartID)
			return nil
		})
		reads = db.trips.n.Load() - before
		return c, rerr, omnicart.CartPrefetchOf(rctx)
	}

	c, err, pre := authThenRead("cart-of-m1-01", "m1")
	if err != nil || c == nil || c.ID != "cart-of-m1-01" || c.Items[0].Full != 250 {
		t.Fatalf("the key's merchant's cart: %+v, %v", c, err)
	}
	if reads != 0 {
		t.Errorf("reading the prefetched cart took %d round trips, want 0", reads)
	}
	if _, ok, _ := pre.Take("m1", "cart-of-m1-01"); ok {
		t.Error("the prefetched cart was taken twice")
	}

	// Another merchant's cartId: the key's merchant has none; the read
	// says so, and the other merchant's cart was not fetched.
	c, err, _ = authThenRead("cart-of-m2-01", "m1")
	if !errors.Is(err, omnicart.ErrNotFound) || c != nil || reads != 0 {
		t.Errorf("another merchant's cart through m1's key: %+v, %v (%d round trips)", c, err, reads)
	}

	// A View reads its own snapshot; a write transaction locks and reads.
	rctx := omnicart.WithCartPrefetch(ctx, "cart-of-m1-01")
	pre = omnicart.CartPrefetchOf(rctx)
	pre.Keep("m1", nil) // a stale "not found" must not be used by them
	if err := s.View(rctx, func(tx omnicart.Tx) error {
		c, err := tx.Cart(rctx, "m1", "cart-of-m1-01")
		if err != nil || c == nil {
			t.Errorf("a View took the prefetch: %+v, %v", c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(rctx, func(tx omnicart.Tx) error {
		c, err := tx.Cart(rctx, "m1", "cart-of-m1-01")
		if err != nil || c == nil {
			t.Errorf("a write transaction took the prefetch: %+v, %v", c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
