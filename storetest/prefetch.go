package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/omnicart/omnicart"
)

// testCartPrefetch reads the way authentication and GET /status do, with
// a cart asked for with the API key (omnicart.CartPrefetch): an engine
// may read it in the key's statement or ignore the request, but either
// way the read that follows gets the key's merchant's cart, "not found"
// for a cartId only another merchant has, and the merchant read with the
// key; a View and a write transaction never answer from a kept cart, and
// a write transaction sees its own change to the merchant.
func testCartPrefetch(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	mine, theirs := newCart(t, m1, "cart-of-m1-01", "", false, t0), newCart(t, m2, "cart-of-m2-01", "", false, t0)
	mine.Items[0].Full = 251 // tells the two apart beyond their ids
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.CreateAPIKey(ctx, &omnicart.APIKey{Prefix: "ock_test_pre1", MerchantID: "m1", Hash: []byte("h1"), CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.CreateCart(ctx, mine, []byte("t1"), due(mine, m1)); err != nil {
			return err
		}
		return tx.CreateCart(ctx, theirs, []byte("t2"), due(theirs, m2))
	})

	// authThenRead authenticates with h1 asking for cartID, then reads
	// merchantID's cartID in a Read of its own, as GET /status does.
	authThenRead := func(cartID, merchantID string) (*omnicart.Cart, error) {
		t.Helper()
		rctx := omnicart.WithCartPrefetch(ctx, cartID)
		if err := s.Read(rctx, func(tx omnicart.Tx) error {
			k, err := tx.APIKeyByHash(rctx, []byte("h1"))
			if err != nil {
				return err
			}
			m, err := tx.Merchant(rctx, k.MerchantID)
			if err != nil {
				return err
			}
			if k.MerchantID != "m1" || m.ID != "m1" || m.Name != "Shop m1" {
				t.Errorf("authenticated as %q, merchant %+v", k.MerchantID, m)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var c *omnicart.Cart
		var rerr error
		if err := s.Read(rctx, func(tx omnicart.Tx) error {
			c, rerr = tx.Cart(rctx, merchantID, cartID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := omnicart.CartPrefetchOf(rctx).Take(merchantID, cartID); ok {
			t.Errorf("%s: a kept cart was left after the read, or was taken twice", cartID)
		}
		return c, rerr
	}

	c, err := authThenRead("cart-of-m1-01", "m1")
	if err != nil || c == nil || docOf(t, c) != docOf(t, mine) {
		t.Fatalf("the key's merchant's cart: %+v, %v", c, err)
	}
	for _, id := range []string{"cart-of-m2-01", "no-such-cart-01"} {
		if c, err := authThenRead(id, "m1"); !errors.Is(err, omnicart.ErrNotFound) || c != nil {
			t.Errorf("%s through m1's key: %+v, %v; want not found", id, c, err)
		}
	}

	// A stale "not found" kept for the request must not be used by a
	// View or a write transaction.
	rctx := omnicart.WithCartPrefetch(ctx, "cart-of-m1-01")
	omnicart.CartPrefetchOf(rctx).Keep("m1", nil)
	view(t, s, func(tx omnicart.Tx) error {
		if c, err := tx.Cart(rctx, "m1", "cart-of-m1-01"); err != nil || c == nil {
			t.Errorf("a View answered from the kept cart: %+v, %v", c, err)
		}
		return nil
	})
	tx(t, s, func(tx omnicart.Tx) error {
		if c, err := tx.Cart(rctx, "m1", "cart-of-m1-01"); err != nil || c == nil {
			t.Errorf("a write transaction answered from the kept cart: %+v, %v", c, err)
		}
		// The merchant read with the key, then changed here: the
		// transaction reads its change.
		if _, err := tx.APIKeyByHash(rctx, []byte("h1")); err != nil {
			return err
		}
		renamed := *m1
		renamed.Name = "Renamed m1"
		if err := tx.UpdateMerchant(rctx, &renamed); err != nil {
			return err
		}
		if m, err := tx.Merchant(rctx, "m1"); err != nil || m.Name != "Renamed m1" {
			t.Errorf("after renaming in the transaction, Merchant: %+v, %v", m, err)
		}
		return nil
	})
}
