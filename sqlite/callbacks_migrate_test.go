package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestOutboxMigrationKeepsTheCursorsBacklog opens a database made before
// migration 0008, with the fan-out cursor half way through the events, and
// checks that exactly the events the cursor had not reached are in the
// outbox afterwards, and that new events are added to it.
func TestOutboxMigrationKeepsTheCursorsBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, exec := databaseBefore(t, path, "0008")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0)`)
	exec(`INSERT INTO carts(pk, merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES (7, 'm1', 'c1', x'01', '{}', 0, 0)`)
	for seq := 1; seq <= 5; seq++ {
		exec(`INSERT INTO events(id, cart_pk, sequence, type, body, created_at) VALUES (?, 7, ?, 't', '{}', 0)`, 10+seq, seq)
	}
	exec(`UPDATE callback_cursor SET event_pk = 13 WHERE name = 'fanout'`)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox := func() []int64 {
		t.Helper()
		rows, err := db.SQL().QueryContext(ctx, `SELECT event_pk FROM callback_outbox WHERE cart_pk = 7 ORDER BY event_pk`)
		if err != nil {
			t.Fatal(err)
		}
		pks, err := scanInts(rows)
		if err != nil {
			t.Fatal(err)
		}
		return pks
	}
	if got := outbox(); !slices.Equal(got, []int64{14, 15}) {
		t.Fatalf("outbox after the migration: %v, want the events past the cursor (14, 15)", got)
	}
	var cursors int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'callback_cursor'`).Scan(&cursors); err != nil || cursors != 0 {
		t.Fatalf("the cursor table is still there: %d %v", cursors, err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO events(cart_pk, sequence, type, body, created_at) VALUES (7, 6, 't', '{}', 0)`); err != nil {
		t.Fatal(err)
	}
	if got := outbox(); !slices.Equal(got, []int64{14, 15, 16}) {
		t.Fatalf("outbox after a new event: %v", got)
	}
}

// databaseBefore creates an SQLite database at path with the migrations
// before version applied (and recorded, as Open records them), and returns
// it with an exec that fails the test on an error: a database as an older
// server left it, for testing what a migration does to existing rows.
func databaseBefore(t *testing.T, path, version string) (*sql.DB, func(q string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	old, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY) STRICT`)
	for _, name := range names {
		v := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if v >= version {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations(version) VALUES (?)`, v)
	}
	return old, exec
}
