package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestCartPrefetchSavesTheRoundTrip checks that on PostgreSQL a status
// request's cart, read with its API key (omnicart.CartPrefetch), costs the
// read that follows no round trip. What the prefetch answers (the key's
// merchant's cart only, taken once, never by a View or a write
// transaction) is storetest's CartPrefetch, which this engine runs too.
func TestCartPrefetchSavesTheRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	s := NewStore(db)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := &omnicart.Merchant{ID: "m1", Name: "Shop m1", Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: at}
	var sp omnicart.StagedProblems
	c := omnicart.NewCart(&omnicart.InitSpec{CartID: "cart-of-m1-01", Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250}}}, m, at, &sp)
	if c == nil {
		t.Fatalf("NewCart: %+v", sp)
	}
	if err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(ctx, m); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, &omnicart.APIKey{Prefix: "ock_test_pre1", MerchantID: "m1", Hash: []byte("h1"), CreatedAt: at}); err != nil {
			return err
		}
		return tx.CreateCart(ctx, c, []byte("t1"), time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	rctx := omnicart.WithCartPrefetch(ctx, "cart-of-m1-01")
	if err := s.Read(rctx, func(tx omnicart.Tx) error {
		_, err := tx.APIKeyByHash(rctx, []byte("h1"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := db.trips.n.Load()
	var got *omnicart.Cart
	if err := s.Read(rctx, func(tx omnicart.Tx) error {
		var err error
		got, err = tx.Cart(rctx, "m1", "cart-of-m1-01")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Items[0].Full != 250 {
		t.Fatalf("the prefetched cart: %+v", got)
	}
	if n := db.trips.n.Load() - before; n != 0 {
		t.Errorf("reading the prefetched cart took %d round trips, want 0", n)
	}
}
