package sqlite_test

import (
	"context"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
)

// BenchmarkKeyRead is authentication's read for GET /status, one at a
// time: the API key, its merchant and the requested cart in one statement
// (APIKeyByHash in a Read with a cart prefetch), through rawReads.
func BenchmarkKeyRead(b *testing.B) {
	ctx := context.Background()
	s := openEngine(sqlite.Options{})(b).Store
	seedKeyAndCart(b, s)
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
