package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sqlite"
)

// BenchmarkFireDue measures firing item-timer deadlines in batches of 200:
// b.N carts whose timers all end at the same moment.
func BenchmarkFireDue(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	svc := &gateway.Service{Store: sqlite.NewStore(db), Now: func() time.Time { return clock }, KeyPepper: []byte("p"),
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Provider: func(*omnicart.Merchant) (omnicart.Provider, error) { return nil, gateway.ErrNoProvider }}
	m, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "B", Mode: omnicart.ModeTest, Privileges: omnicart.AllPrivileges(),
		Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}}})
	if err != nil {
		b.Fatal(err)
	}
	err = svc.Store.Tx(ctx, func(tx omnicart.Tx) error {
		for i := range b.N {
			on, trig, val := true, "initiated", int64(60)
			spec := &omnicart.InitSpec{CartID: fmt.Sprintf("bench-%09d", i), CustomerID: fmt.Sprintf("c%d", i), Currency: "EUR",
				Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 100, Level: omnicart.Level{EnableTimer: &on, Trigger: &trig, TimerValue: &val}}}}
			var sp omnicart.StagedProblems
			c := omnicart.NewCart(spec, m, now, &sp)
			d, _ := c.NextDeadline(time.Hour)
			if err := tx.CreateCart(ctx, c, []byte(spec.CartID), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	clock = now.Add(61 * time.Second)
	b.ResetTimer()
	fired := 0
	for fired < b.N {
		n, err := svc.FireDue(ctx, 200)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("only %d of %d fired", fired, b.N)
		}
		fired += n
	}
}
