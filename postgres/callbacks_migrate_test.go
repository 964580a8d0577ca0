package postgres

import (
	"context"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestCallbacksMigrationBackfillsTheOutbox opens a database made before
// migration 0004_callbacks, with events written and one being written (its
// transaction open while the migration starts), and checks that every
// event is in the outbox once afterwards, and that new events are added to
// it by the trigger.
func TestCallbacksMigrationBackfillsTheOutbox(t *testing.T) {
	ctx := t.Context()
	url, conn, exec := databaseBefore(t, "0004")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0)`)
	exec(`INSERT INTO carts(merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES ('m1', 'c1', '\x01', '{}', 0, 0)`)
	exec(`INSERT INTO carts(merchant_id, cart_id, token_hash, doc, created_at, updated_at) VALUES ('m1', 'c2', '\x02', '{}', 0, 0)`)
	event := `INSERT INTO events(cart_pk, sequence, type, body, created_at)
		SELECT pk, $2, 't', '{}', 0 FROM carts WHERE cart_id = $1`
	for seq := 1; seq <= 3; seq++ {
		exec(event, "c1", seq)
	}

	// c2's first event is being written while the migration starts.
	writer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, event, "c2", 1); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	var db *DB
	go func() {
		var err error
		db, err = Open(ctx, url)
		opened <- err
	}()
	waitForLockWait(t, conn)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox := func() []string {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT c.cart_id || '#' || o.sequence FROM callback_outbox o JOIN carts c ON c.pk = o.cart_pk
			ORDER BY o.event_pk`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := outbox(), []string{"c1#1", "c1#2", "c1#3", "c2#1"}; !slices.Equal(got, want) {
		t.Fatalf("outbox after the migration: %v, want %v", got, want)
	}
	// New events, several in one statement, are added by the trigger.
	exec(`INSERT INTO events(cart_pk, sequence, type, body, created_at)
		SELECT pk, s, 't', '{}', 0 FROM carts, generate_series(2, 3) AS s WHERE cart_id = 'c2'`)
	if got, want := outbox(), []string{"c1#1", "c1#2", "c1#3", "c2#1", "c2#2", "c2#3"}; !slices.Equal(got, want) {
		t.Fatalf("outbox after new events: %v, want %v", got, want)
	}
}

// waitForLockWait returns once some session of conn's database waits for
// a lock.
func waitForLockWait(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND a.datname = current_database()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("the migration never waited for the open transaction")
}

// databaseBefore creates a new database with the migrations before version
// applied and recorded, and returns its URL, a connection to it (closed
// when the test ends) and an exec that fails the test on an error: a
// database as an older server left it.
func databaseBefore(t *testing.T, version string) (string, *pgx.Conn, func(q string, args ...any)) {
	t.Helper()
	ctx := t.Context()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
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
		v := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if v >= version {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations(version) VALUES ($1)`, v)
	}
	return url, conn, exec
}
