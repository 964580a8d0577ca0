package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestPipeTxBeginFailed checks that a transaction whose BEGIN never ran
// (here: its first statement cannot even be encoded, so nothing is sent)
// runs nothing after it: a later write must not commit on its own.
func TestPipeTxBeginFailed(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	s := NewStore(db)
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		q := tx.(*txn).q
		// A channel cannot be encoded: the batch fails before sending.
		if _, err := q.Exec(ctx, `SELECT $1::text`, make(chan int)); err == nil {
			t.Error("a statement with an unencodable argument ran")
		}
		// Ignoring the error, go on writing: this must not commit.
		if _, err := q.Exec(ctx, `INSERT INTO settings(name, value) VALUES ('pipe-test', 'x')`); err == nil {
			t.Error("a write after a failed BEGIN ran")
		}
		return nil
	})
	if err == nil {
		t.Error("the transaction committed after its BEGIN failed")
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM settings WHERE name = 'pipe-test'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows written outside any transaction", n)
	}
	if errors.Is(err, omnicart.ErrUnavailable) {
		t.Errorf("a client-side error reported as an outage: %v", err)
	}
}

// openInternal opens a new database for a test of this package's
// internals, closed when the test ends (before pgtest drops it).
func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
