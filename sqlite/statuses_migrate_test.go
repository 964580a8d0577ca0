package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestItemStatusesMigrationBackfills opens a database made before
// migration 0011 with carts of several shapes and checks that
// cart_item_statuses then holds each cart's distinct item statuses.
func TestItemStatusesMigrationBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, exec := databaseBefore(t, path, "0011")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0), ('m2', 'N', '{}', 0)`)
	for i, c := range []struct{ merchant, doc string }{
		{"m1", `{"items":[{"id":"a","status":"completed"},{"id":"b","status":"refunded"},{"id":"c","status":"completed"}]}`},
		{"m1", `{"items":[]}`},
		{"m1", `{"items":null}`},
		{"m1", `{}`},
		{"m1", `{"items":[{"id":"a"},{"id":"b","status":""},{"id":"c","status":"expired"}]}`},
		{"m2", `{"items":[{"id":"a","status":"refunded"}]}`},
	} {
		exec(`INSERT INTO carts(pk, merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)`,
			i+1, c.merchant, "c"+string(rune('1'+i)), []byte{byte(i)}, c.doc)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(ctx, `SELECT merchant_id || ' ' || status || ' ' || cart_pk FROM cart_item_statuses
		ORDER BY merchant_id, status, cart_pk`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"m1 completed 1", "m1 expired 5", "m1 refunded 1", "m2 refunded 6"}; !slices.Equal(got, want) {
		t.Errorf("cart_item_statuses after the migration: %v, want %v", got, want)
	}
}
