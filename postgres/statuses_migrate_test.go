package postgres

import (
	"context"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestItemStatusesMigrationBackfills opens a database made before
// migration 0007 with carts of several shapes and checks that
// cart_item_statuses then holds each cart's distinct item statuses.
func TestItemStatusesMigrationBackfills(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if version >= "0007" {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations(version) VALUES ($1)`, version)
	}
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
