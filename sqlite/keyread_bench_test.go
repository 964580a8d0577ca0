package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
)

// BenchmarkKeyRead is authentication's read for GET /status, one at a
// time: the API key, its merchant and the requested cart in one statement
// (APIKeyByHash in a Read with a cart prefetch), through rawReads.
func BenchmarkKeyRead(b *testing.B) {
	ctx := context.Background()
	s := openEngine(sqlite.Options{})(b).Store
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
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rctx := omnicart.WithCartPrefetch(ctx, "cart-01")
		if err := s.Read(rctx, func(tx omnicart.Tx) error {
			_, err := tx.APIKeyByHash(rctx, []byte("h1"))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
