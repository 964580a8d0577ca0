package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
)

// TestStatusReadsTheCartWithTheKey checks that a Read authenticating a
// status request reads the requested cart in the key's statement and
// keeps it for the read that follows (storetest checks that what is kept
// is right; this, that SQLite keeps it at all).
func TestStatusReadsTheCartWithTheKey(t *testing.T) {
	ctx := context.Background()
	s := openEngine(sqlite.Options{})(t).Store
	seedKeyAndCart(t, s)
	rctx := omnicart.WithCartPrefetch(ctx, "cart-01")
	if err := s.Read(rctx, func(tx omnicart.Tx) error {
		_, err := tx.APIKeyByHash(rctx, []byte("h1"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := omnicart.CartPrefetchOf(rctx).Take("m1", "cart-01")
	if !ok || err != nil || got == nil || got.ID != "cart-01" || got.Items[0].Full != 250 {
		t.Fatalf("kept with the key: %+v, %v, %v", got, ok, err)
	}
}

// seedKeyAndCart stores merchant m1, its API key with hash "h1" and its
// cart "cart-01" (one item of 250).
func seedKeyAndCart(tb testing.TB, s omnicart.Store) {
	tb.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := &omnicart.Merchant{ID: "m1", Name: "Shop", Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: at}
	var sp omnicart.StagedProblems
	c := omnicart.NewCart(&omnicart.InitSpec{CartID: "cart-01", Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250}}}, m, at, &sp)
	if err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(ctx, m); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, &omnicart.APIKey{Prefix: "ock_test_pre1", MerchantID: "m1", Hash: []byte("h1"), CreatedAt: at}); err != nil {
			return err
		}
		return tx.CreateCart(ctx, c, []byte("t1"), time.Time{})
	}); err != nil {
		tb.Fatal(err)
	}
}
