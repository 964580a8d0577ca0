package postgres

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestItemStatusesMigrationBackfills opens a database made before
// migration 0007 with carts of several shapes and checks that
// cart_item_statuses then holds each cart's distinct item statuses.
func TestItemStatusesMigrationBackfills(t *testing.T) {
	ctx := t.Context()
	url, conn, exec := databaseBefore(t, "0007")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0), ('m2', 'N', '{}', 0)`)
	for i, c := range []struct{ merchant, doc string }{
		{"m1", `{"items":[{"id":"a","status":"completed"},{"id":"b","status":"refunded"},{"id":"c","status":"completed"}]}`},
		{"m1", `{"items":[]}`},
		{"m1", `{"items":null}`},
		{"m1", `{}`},
		{"m1", `{"items":[{"id":"a"},{"id":"b","status":""},{"id":"c","status":"expired"}]}`},
		{"m2", `{"items":[{"id":"a","status":"refunded"}]}`},
	} {
		exec(`INSERT INTO carts(merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0)`,
			c.merchant, "c"+string(rune('1'+i)), []byte{byte(i)}, c.doc)
	}

	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := conn.Query(ctx, `SELECT s.merchant_id || ' ' || s.status || ' ' || c.cart_id FROM cart_item_statuses s
		JOIN carts c ON c.pk = s.cart_pk ORDER BY s.merchant_id, s.status, c.cart_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"m1 completed c1", "m1 expired c5", "m1 refunded c1", "m2 refunded c6"}; !slices.Equal(got, want) {
		t.Errorf("cart_item_statuses after the migration: %v, want %v", got, want)
	}
}
