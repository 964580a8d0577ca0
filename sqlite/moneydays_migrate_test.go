package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestMoneyDaysMigrationBackfills opens a database made before migration
// 0013 with settled and unsettled operations and checks that MoneyDays
// then adds up the succeeded ones by day, currency and kind, and that the
// carts are counted by status.
func TestMoneyDaysMigrationBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, exec := databaseBefore(t, path, "0013")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0)`)
	for i := 1; i <= 3; i++ {
		exec(`INSERT INTO carts(pk, merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES (?, 'm1', ?, ?, '{}', 0, 0)`,
			i, fmt.Sprintf("c%d", i), []byte{byte(i)})
	}
	exec(`INSERT INTO cart_item_statuses(merchant_id, status, cart_pk) VALUES ('m1', 'completed', 1), ('m1', 'refunded', 1),
		('m1', 'completed', 2), ('m1', 'expired', 3)`)
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range []struct {
		merchant, kind, currency string
		amount                   int64
		outcome                  any
		at                       time.Time
	}{
		{"m1", "authorize", "EUR", 1000, "succeeded", day.Add(time.Hour)},
		{"m1", "capture", "EUR", 600, "succeeded", day.Add(2 * time.Hour)},
		{"m1", "release", "EUR", 400, "succeeded", day.Add(25 * time.Hour)},
		{"m1", "refund", "EUR", 100, "succeeded", day.Add(26 * time.Hour)},
		{"m1", "refund", "EUR", 50, "failed", day.Add(26 * time.Hour)},
		{"m1", "authorize", "EUR", 70, "declined", day.Add(26 * time.Hour)},
		{"m1", "capture", "USD", 5, "succeeded", day.Add(3 * time.Hour)},
		{"m1", "capture", "EUR", 999, nil, time.Time{}},
		{"m2", "capture", "EUR", 8, "succeeded", day.Add(time.Hour)},
	} {
		body := fmt.Sprintf(`{"opId":"op%d","kind":%q,"merchantId":%q,"cartId":"c","itemIds":["a"],"currency":%q,"amount":%d}`,
			i, o.kind, o.merchant, o.currency, o.amount)
		var settled any
		if !o.at.IsZero() {
			settled = o.at.UnixMilli()
		}
		exec(`INSERT INTO operations(op_id, body, outcome, created_at, settled_at) VALUES (?, ?, ?, 0, ?)`,
			fmt.Sprintf("op%d", i), body, o.outcome, settled)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := NewPanel(db).MoneyDays(ctx, "m1", day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []omnicart.MoneyDay{
		{Day: day, Currency: "EUR", Authorized: 1000, Captured: 600},
		{Day: day, Currency: "USD", Captured: 5},
		{Day: day.Add(24 * time.Hour), Currency: "EUR", Released: 400, Refunded: 100},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("MoneyDays after the migration =\n%v\nwant\n%v", got, want)
	}
	counts, err := NewPanel(db).CartStatusCounts(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(counts), "map[completed:2 expired:1 refunded:1]"; got != want {
		t.Errorf("CartStatusCounts after the migration = %s, want %s", got, want)
	}
}
